#!/usr/bin/env bash
# The project's one test command: installs what WebGPU needs on Debian when missing, then type-checks, builds and tests.
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

npm run --silent typecheck
npm run --silent build
npm run --silent test:unit
if [ -d e2e ] && ls e2e/*.spec.ts >/dev/null 2>&1; then npm run --silent test:e2e; fi
