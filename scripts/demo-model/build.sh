#!/usr/bin/env bash
# Rebuilds the bundled demo model (public/models/demo) and its test fixture from the npm data packages:
# the pretraining text first (scripts/data/build-tasks.ts), then scripts/demo-model/pretrain.py.
# About 36 minutes on 2 CPU cores with OpenBLAS (docs/DEMO-MODEL.md has the measured run). Extra arguments go to pretrain.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
missing=()
$PY -c 'import torch' 2>/dev/null || missing+=(python3-torch)
$PY -c 'import sentencepiece' 2>/dev/null || missing+=(python3-sentencepiece)
if [ ${#missing[@]} -gt 0 ]; then
  echo "demo-model: needs Debian's ${missing[*]}: apt-get install -y ${missing[*]} libopenblas0-pthread" >&2
  exit 1
fi
if ! ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
  echo "demo-model: warning: without libopenblas0-pthread, torch uses the reference BLAS and trains about 5x slower" >&2
fi
mkdir -p data
node --import tsx scripts/data/build-tasks.ts --out data/real --pretrain-out data/pretrain.txt
$PY scripts/demo-model/pretrain.py --corpus data/pretrain.txt --out public/models/demo \
  --fixture test/fixtures/demo-model.json --steps 1300 --warmup 100 "$@"
