#!/usr/bin/env bash
# Runs the merging methods (opcm, merge-ta, merge-avg) on the real-data stream in both task orders, beside the
# per-task oracle and sequential LoRA trained in the same run and on the same code, on the bundled demo model;
# then writes a report per order and one over both orders (experiments/out/report-merge). A stopped run
# continues where it was when this script is started again (clora run --resume). Results go to
# experiments/out/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build:cli
if [ ! -f data/real/manifest.json ]; then
  node --import tsx scripts/data/build-tasks.ts --out data/real
fi
mkdir -p experiments/out
for name in real-stream-merge real-stream-merge-reversed; do
  out="experiments/out/$name"
  resume=()
  [ -f "$out/results.json" ] && resume=(--resume)
  echo "== $name -> $out ($(date -u +%FT%TZ))" >&2
  mkdir -p "$out"
  # Which code each (resumed) part of the run used: the commit, "-dirty" when src/ or shaders/ had changes.
  echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src shaders 2>/dev/null || echo -dirty)" >> "$out/code-versions.log"
  node bin/clora.js run "experiments/$name.json" --out "$out" "${resume[@]}" > "$out.summary.json"
  node bin/clora.js report "$out/results.json" --out "$out/report" --title "$name" > /dev/null
done
node bin/clora.js report experiments/out/real-stream-merge/results.json experiments/out/real-stream-merge-reversed/results.json \
  --names "order 1,order 2" --title "Real-data stream with merging, demo model" --out experiments/out/report-merge > /dev/null
