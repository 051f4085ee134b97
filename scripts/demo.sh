#!/usr/bin/env bash
# The df11 demo: compresses the stories260K demo model (a real trained tiny Llama, BF16) to DF11,
# inspects and verifies the result, generates a story on WebGPU with the weights kept compressed on the
# GPU (decoded just before use), then decompresses the model back and checks that every weight is
# byte-identical to the original.
#
# On a fresh Debian machine it installs what it needs first: the Vulkan loader and SwiftShader
# (scripts/install-system-deps.sh), the npm packages (npm ci, when node_modules is missing) and the
# build (npm run build). The demo model comes from ../shared/models/stories260K when it is there,
# else from the Hugging Face hub (karpathy/tinyllamas, converted from llama2.c, cached in
# .cache/demo). HF_ENDPOINT, HF_HUB_OFFLINE=1 and HF_TOKEN are honoured.
#   bash scripts/demo.sh [output folder, default .cache/demo/run]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MIN_NODE_MAJOR=20
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "$MIN_NODE_MAJOR" ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing nodejs and npm (Debian packages)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ "$(node_major)" -lt "$MIN_NODE_MAJOR" ]; then
  echo "df11 needs Node.js $MIN_NODE_MAJOR or newer (found: $(node --version 2>/dev/null || echo none)); see https://nodejs.org" >&2
  exit 1
fi

bash scripts/install-system-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
# Without a GPU, WebGPU runs on SwiftShader (a CPU Vulkan driver shipped in Debian's chromium).
if [ -z "${VK_ICD_FILENAMES:-}" ] && ! ls /dev/nvidia0 >/dev/null 2>&1 && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

demo=$(node scripts/demo-model.mjs)
out=${1:-.cache/demo/run}
rm -rf "$out"
mkdir -p "$out"
df11() { node dist/src/cli/main.js "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "df11 compress $demo $out/df11"
df11 compress "$demo" "$out/df11"
step "df11 inspect $out/df11"
df11 inspect "$out/df11"
step "df11 verify $out/df11 --against $demo"
df11 verify "$out/df11" --against "$demo"
step "df11 generate $out/df11 --mode df11 --max-tokens 120  (greedy; same tokens as the BF16 model)"
df11 generate "$out/df11" --mode df11 --max-tokens 120
echo
step "df11 decompress $out/df11 $out/restored"
df11 decompress "$out/df11" "$out/restored"

step "byte-identity check: $demo vs $out/restored"
node scripts/compare-tensors.mjs "$demo" "$out/restored"
original=$(du -sb "$demo/model.safetensors" | cut -f1)
compressed=$(du -sbL "$out/df11" | cut -f1)
echo "original model.safetensors: $original bytes; DF11 folder: $compressed bytes"
