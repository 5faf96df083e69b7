#!/usr/bin/env bash
# Runs `npm run bench` on a machine with an NVIDIA GPU but no Node.js or network access, from a checkout that carries
# gpu-kit/ (made by `npm run gpu:kit`) and, when the machine has no Vulkan loader, .gl/ (Debian's libvulkan1, libegl1
# and libglvnd0 as .deb files, unpacked here). Then the same LoRA training step in PyTorch + PEFT
# (bench/pytorch/peft_train_step.py) when python3 has torch, transformers and peft, then the plan profiler on the same
# step with every dispatch timed by timestamp queries (docs/PROFILER.md): per-kernel-class GPU times, the measured step
# against PyTorch's and against the f32 peak. Figures and JSON go to $OUT (default bench-output/).
# PLAN_MODEL (default smollm2-135m), PLAN_BATCH (8), PLAN_SEQ (256), PLAN_TARGETS (all) and PLAN_PROFILE (h100: the
# profile whose f32 peak the measured rate is compared with) choose the profiled step.
#   bash scripts/gpu/run-bench.sh [bench arguments, e.g. --full]
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-bench-output}"
mkdir -p "$out"
kit=/tmp/clora-gpu-kit
if [ ! -x "$kit/kit/node" ]; then
  [ -f gpu-kit/kit.tar.xz ] || { echo "run-bench: gpu-kit/kit.tar.xz is missing (make it with npm run gpu:kit and carry gpu-kit)" >&2; exit 1; }
  mkdir -p "$kit"
  tar -C "$kit" -xJf gpu-kit/kit.tar.xz
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "run-bench: no Vulkan loader on this machine and no .gl/*.deb to unpack one from" >&2
  fi
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then export VK_DRIVER_FILES="$nvidia_icd"; fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

"$kit/kit/node" "$kit/kit/bench.mjs" "$@" 2>&1 | tee "$out/bench.txt"
[ -f bench-output/engine.json ] && [ "$out" != bench-output ] && cp bench-output/engine.json "$out/engine.json"

if python3 -c 'import torch, transformers, peft' 2>/dev/null; then
  python3 bench/pytorch/peft_train_step.py --out "$out/pytorch.json" 2>&1 | tee "$out/pytorch.txt"
elif python3 -c 'import torch' 2>/dev/null; then
  python3 bench/pytorch/peft_train_step.py --impl plain --out "$out/pytorch.json" 2>&1 | tee "$out/pytorch.txt"
else
  echo "run-bench: python3 lacks torch: no PyTorch comparison" | tee "$out/pytorch.txt"
fi

# The plan profiler with timestamp timings of the same step; --pytorch adds the ratio to PyTorch's step when it ran.
pytorch_arg=()
[ -f "$out/pytorch.json" ] && pytorch_arg=(--pytorch "$out/pytorch.json")
"$kit/kit/node" "$kit/kit/bench.mjs" --plan --timestamps --model "${PLAN_MODEL:-smollm2-135m}" --batch "${PLAN_BATCH:-8}" \
  --seq "${PLAN_SEQ:-256}" --lora-targets "${PLAN_TARGETS:-all}" --record-as "${PLAN_PROFILE:-h100}" \
  --json-out "$out/plan.json" "${pytorch_arg[@]}" 2>&1 | tee "$out/plan.txt"
