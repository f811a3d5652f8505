#!/usr/bin/env bash
# Continues training on a GPU machine that has PyTorch but no network (see DEVELOPERS.md).
# Expects .gpu/ beside the repo root: train.bin.xz, heldout.bin, meta.json, tokenizer/ and,
# when no checkpoint from an earlier call is on this machine, model/ (the model to continue).
# Writes the exported model (model.onnx split into 15 MB parts) and the logs to $OUT.
#   bash training/device-train.sh MINUTES [extra train.py options]
set -euo pipefail
minutes=${1:-8}; shift || true
data=training/work/data
mkdir -p "$data"
[ -f "$data/train.bin" ] || python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/train.bin.xz'), open('$data/train.bin', 'wb'), 1 << 24)"
cp .gpu/heldout.bin .gpu/meta.json "$data/"
init=()
if [ ! -f training/work/ckpt/last.pt ] && [ -f .gpu/model/model.onnx ]; then init=(--init-from .gpu/model/model.onnx); fi
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
PYTHONUNBUFFERED=1 python3 training/train.py --batch-size 256 --max-minutes "$minutes" --ckpt-minutes 2 --eval-minutes 3 \
  --log-every 50 "${init[@]}" "$@"
python3 training/export.py --ckpt training/work/ckpt/last.pt --tokenizer .gpu/tokenizer --out "$OUT/model"
split -b 15M "$OUT/model/model.onnx" "$OUT/model.onnx.part-"
cp "$OUT/model/denoiser.json" "$OUT/model/training-curve.json" training/work/ckpt/log.jsonl training/work/ckpt/eval.jsonl "$OUT/"
rm -rf "$OUT/model"
ls -la "$OUT"
