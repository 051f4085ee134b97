#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it.
#   - Debian's chromium ships SwiftShader, a CPU Vulkan driver: WebGPU tests run on it when the
#     machine has no GPU, and the browser tests drive the same chromium headless.
#   - libvulkan1 is the Vulkan loader Dawn (the `webgpu` package) opens.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
node scripts/fetch-test-weights.mjs
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /dev/nvidia0 >/dev/null 2>&1; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
npm test
