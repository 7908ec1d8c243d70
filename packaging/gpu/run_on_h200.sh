#!/usr/bin/env bash
# One device call (the `device` tool's `run`, from the repository root there) that trains
# the GPU recipe (training/recipes/photos_gpu.toml) on a packed corpus and brings back a
# slim checkpoint, the exported artifact when export works there, the progress log and an
# onnxruntime throughput line. Prepared here first (README, "Training on a GPU"):
#   gpu_data/   the packed training split (python -m training pack-corpus), carried
#   .whl/       kornia and kornia_rs wheels for Python 3.12, carried
# Evaluation happens back here, on held-out photos that never left this machine.
# Usage there: bash packaging/gpu/run_on_h200.sh [MINUTES [--set KEY=VALUE ...]] (default 7)
set -euo pipefail
MINUTES=${1:-7}
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
if [ -d .whl ]; then  # absent where kornia is installed (the CPU dry run)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
fi
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 SSCQ_TRAINING_CACHE=/tmp/sscq-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt" || true
python3 -m training train --recipe photos_gpu \
  --data gpu_data/tiny-imagenet-200 gpu_data/imagenette2-224 --out /tmp/gpu_run \
  --time-budget-min "$MINUTES" --set run.eval_at_end=false "${@:2}" \
  > "$OUT/progress.jsonl" 2> "$OUT/train.log" || { tail -30 "$OUT/train.log"; exit 1; }
tail -3 "$OUT/progress.jsonl"
python3 packaging/gpu/slim_checkpoint.py /tmp/gpu_run/last.pt "$OUT/gpu_model.pt"
if python3 -m training export "$OUT/gpu_model.pt" --out /tmp/gpu_export/model.onnx \
    --model-id sscq-default-photos-32b-gpu > "$OUT/export.json" 2>> "$OUT/train.log"; then
  cp /tmp/gpu_export/model.onnx "$OUT/model.onnx"
  python3 packaging/gpu/encoder_throughput.py "$OUT/model.onnx" 4096 | tee "$OUT/throughput.json"
else
  echo "export failed there (see train.log): export gpu_model.pt here"
fi
