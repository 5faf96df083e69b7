#!/usr/bin/env bash
# The README's start command: installs the npm dependencies on first use, then serves the app.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
node scripts/ensure-webgpu.mjs --browser
exec npx vite --host 127.0.0.1 "$@"
