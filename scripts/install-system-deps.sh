#!/usr/bin/env bash
# Debian packages df11 needs at run time without a GPU: the Vulkan loader and SwiftShader (in chromium).
set -euo pipefail
need=()
[ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || need+=(chromium)
ldconfig -p | grep -q 'libvulkan.so.1 ' || need+=(libvulkan1)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing ${need[*]} (Debian packages)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
