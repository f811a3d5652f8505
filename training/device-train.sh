#!/usr/bin/env bash
# Trains the denoiser on the lent GPU machine (PyTorch there, no network) within its limits; the
# exact sequence of device calls is in training/GPU-RUN.md. Steps, run in the order given:
#
#   bash training/device-train.sh receive                 # unpack the .gpu/call-NN folder this call carried
#   bash training/device-train.sh probe                   # 30 compiled steps on heldout.bin: tokens/s, MFU,
#                                                         # where a step's time goes (5 profiled steps),
#                                                         # and a warm compile cache for the training call
#   bash training/device-train.sh train BUDGET_S [train.py options]
#        # train until BUDGET_S seconds after this script started (export and packing included),
#        # then export the int8 model into $OUT: model.onnx.part-* (15 MiB each), run.tar.gz
#        # (denoiser.json, tokenizer, curve, logs, SHA-256) and train.log. device-unpack.sh puts
#        # them back together here.
#   e.g. bash training/device-train.sh receive probe      (a data call)
#        bash training/device-train.sh receive train 540  (the last data call, which trains)
#
# Without .gpu/ (data already in training/work/data, e.g. the CPU test) `receive` does nothing.
# Environment: OUT (where files go back; required by train), DIFFUSE_TRAIN_ARGS (replaces the
# model-v2 options below, e.g. a tiny model for the CPU test), DIFFUSE_INIT_FROM (a model.onnx to
# start from when no checkpoint is here), PYTHON (default python3); for tests: DIFFUSE_WORK
# (default training/work), DIFFUSE_GPU_DIR (default .gpu), DIFFUSE_PART_BYTES (default 15M),
# DIFFUSE_EXPORT_RESERVE_S (default 90).
set -uo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
PY=${PYTHON:-python3}
WORK=${DIFFUSE_WORK:-training/work}
GPU=${DIFFUSE_GPU_DIR:-.gpu}
DATA=$WORK/data
CKPT=$WORK/ckpt
LOGS=$WORK/device-logs
mkdir -p "$LOGS"
export PYTHONUNBUFFERED=1
# The compile cache stays on a warm machine between calls (with the data), so the probe's
# compilation serves the training call.
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$(realpath -m "$WORK")/inductor-cache}
# Model v2 on one H200: 8 x 384 (20.5 M parameters), 512-token rows, 256 rows a step (131k tokens),
# 12 processes building batches; LR warm-up 200 steps, the last 20 % of the run a linear cool-down.
TRAIN_ARGS=${DIFFUSE_TRAIN_ARGS:---n-layer 8 --d-model 384 --n-head 6 --seq-len 512 --batch-size 256 --workers 12 --lr 1.5e-3 --warmup-steps 200 --cooldown-frac 0.2}

say() { echo "[device-train +$(( $(date +%s) - T0 ))s] $*"; }

receive() {
  if [ ! -d "$GPU" ]; then
    say "receive: no $GPU/ carried; using $DATA as it is"
    [ -f "$DATA/train.bin" ] || { say "no $DATA/train.bin"; return 1; }
    return 0
  fi
  $PY training/gpu_data.py unpack "$GPU" "$DATA"
  local rc=$?
  case $rc in
    0) say "receive: data complete" ;;
    3) say "receive: pieces still to come (see above)" ;;
    *) say "receive: unpack failed ($rc)"; return 1 ;;
  esac
  DATA_RC=$rc
  return 0
}

probe() {
  # heldout.bin arrives with call-01, so the probe runs before the training data is complete.
  local pd=$WORK/probe-data
  mkdir -p "$pd"
  [ -f "$DATA/heldout.bin" ] && [ -f "$DATA/meta.json" ] || { say "probe: no heldout.bin/meta.json yet"; return 1; }
  ln -sf "$(realpath "$DATA/heldout.bin")" "$pd/train.bin"
  ln -sf "$(realpath "$DATA/heldout.bin")" "$pd/heldout.bin"
  cp "$DATA/meta.json" "$pd/meta.json"
  [ -f "$DATA/tokenizer.json" ] && cp "$DATA/tokenizer.json" "$pd/"
  rm -rf "$WORK/probe-ckpt"
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | tee "$LOGS/nvidia-smi.txt"
  # shellcheck disable=SC2086
  # Steps 11-15 run under the profiler: probe.log says where a step's time goes (step_profile.py).
  $PY training/train.py --data "$pd" --out "$WORK/probe-ckpt" $TRAIN_ARGS --max-steps 30 --log-every 10 \
    --eval-windows 8 --warmup-steps 10 --profile-steps 5 2>&1 | tee "$LOGS/probe.log"
  local rc=${PIPESTATUS[0]}
  [ -n "${OUT:-}" ] && cp "$LOGS/probe.log" "$OUT/probe.log"
  rm -rf "$WORK/probe-ckpt"
  say "probe: exit $rc"
  return "$rc"
}

train() {
  local budget=$1; shift
  [ -n "${OUT:-}" ] || { say "train: OUT is not set"; return 1; }
  if [ "${DATA_RC:-0}" = 3 ]; then say "train: the training data is incomplete; not training"; return 1; fi
  [ -f "$DATA/train.bin" ] || { say "train: no $DATA/train.bin"; return 1; }
  # What is left after training: the last checkpoint and evaluation (~10 s), the ONNX export and
  # int8 rewrite (~20 s at 20 M parameters), packing (~5 s); doubled for safety.
  local reserve=${DIFFUSE_EXPORT_RESERVE_S:-90}
  local left=$(( budget - ($(date +%s) - T0) - reserve ))
  if [ "$left" -lt 30 ]; then say "train: only ${left}s left for training; not training"; return 1; fi
  local minutes
  minutes=$(awk "BEGIN { printf \"%.2f\", $left / 60 }")
  local init=()
  if [ ! -f "$CKPT/last.pt" ] && [ -n "${DIFFUSE_INIT_FROM:-}" ]; then init=(--init-from "$DIFFUSE_INIT_FROM"); fi
  say "train: ${minutes} min (budget ${budget}s), then export"
  # train.py stops itself at --max-minutes (compilation included) with a checkpoint; the timeout
  # is a guard that sends SIGTERM, on which it also checkpoints and stops.
  # shellcheck disable=SC2086
  timeout -s TERM -k 20 $(( left + 60 )) $PY training/train.py --data "$DATA" --out "$CKPT" $TRAIN_ARGS \
    --max-minutes "$minutes" --ckpt-minutes 2 --eval-minutes 1 --log-every 50 "${init[@]}" "$@" 2>&1 | tee "$LOGS/train.log"
  say "train: exit ${PIPESTATUS[0]}"
  [ -f "$CKPT/last.pt" ] || { say "train: no checkpoint"; cp "$LOGS/train.log" "$OUT/"; return 1; }
  pack
}

pack() {
  local model=$WORK/device-model
  rm -rf "$model" && mkdir -p "$model"
  local tok=()
  [ -f "$DATA/tokenizer.json" ] && [ -f "$DATA/tokenizer_config.json" ] && tok=(--tokenizer "$DATA")
  if $PY training/export.py --cache --ckpt "$CKPT/last.pt" "${tok[@]}" --out "$model" 2>&1 | tee "$LOGS/export.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
    (cd "$model" && sha256sum model.onnx > model.onnx.sha256)
    split -b "${DIFFUSE_PART_BYTES:-15M}" "$model/model.onnx" "$OUT/model.onnx.part-"
    rm "$model/model.onnx"
  else
    # The weights still come back: int8, as small as the ONNX file; `export.py --ckpt` reads them.
    say "pack: ONNX export failed; returning a compact int8 checkpoint instead"
    $PY training/export.py --ckpt "$CKPT/last.pt" --compact "$model/compact.pt"
    (cd "$model" && sha256sum compact.pt > compact.pt.sha256)
    split -b "${DIFFUSE_PART_BYTES:-15M}" "$model/compact.pt" "$OUT/compact.pt.part-"
    rm "$model/compact.pt"
  fi
  cp "$CKPT"/log.jsonl "$CKPT"/eval.jsonl "$LOGS"/*.log "$LOGS"/*.txt "$model/" 2>/dev/null
  tar -czf "$OUT/run.tar.gz" -C "$model" .
  cp "$LOGS/train.log" "$OUT/train.log"
  say "pack: $(ls "$OUT" | tr '\n' ' ')"
  ls -la "$OUT"
}

DATA_RC=0
while [ $# -gt 0 ]; do
  cmd=$1; shift
  case $cmd in
    receive) receive || exit 1 ;;
    probe) probe || say "probe failed; the training call falls back to eager if compilation is the cause" ;;
    train) [ $# -gt 0 ] || { echo "train needs BUDGET_S"; exit 2; }; train "$@"; exit $? ;;
    *) echo "unknown step: $cmd (receive | probe | train BUDGET_S [options])"; exit 2 ;;
  esac
done
