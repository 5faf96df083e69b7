#!/usr/bin/env bash
# The project's one test command: installs what WebGPU needs on Debian when missing, then type-checks, builds and tests:
# the unit and GPU suites on the machine's GPU or SwiftShader, the shader-f16 suites (and a few others again) on
# lavapipe, then the browser tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/bin/chromium ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ] || need_apt+=(chromium)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' || need_apt+=(libvulkan1)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test: installing from Debian: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# onnxruntime-node bundles its CPU runtime; its install script would otherwise fetch CUDA libraries (.npmrc says the same).
[ -d node_modules ] || ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund

# lavapipe, a CPU Vulkan driver with shader-f16, unpacked into .cache/lavapipe from Debian's backports.
bash scripts/lavapipe.sh >/dev/null

npm run --silent typecheck
npm run --silent build
npm run --silent test:unit
npm run --silent test:lavapipe
if [ -d e2e ] && ls e2e/*.spec.ts >/dev/null 2>&1; then npm run --silent test:e2e; fi
