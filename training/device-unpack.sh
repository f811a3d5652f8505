#!/usr/bin/env bash
# Puts a GPU run's files back together here (see training/GPU-RUN.md):
#
#   bash training/device-unpack.sh FILES_AT MODEL_DIR
#
# FILES_AT holds what device-train.sh left in $OUT: model.onnx.part-* (or, when the export failed
# there, compact.pt.part-*), run.tar.gz and train.log. Writes MODEL_DIR/model.onnx (checked against
# the SHA-256 taken there), denoiser.json, the tokenizer files and training-curve.json (appended to
# the folder's earlier curve, so chained runs keep one curve); the run's logs go to
# training/work/device-runs/<date>/ (DIFFUSE_WORK replaces training/work), and the model card's
# facts (parameters, tokens, throughput, data mix, curve) are written by model-card.mjs. Ends with one
# `diffuse complete` request on the result: the extension's own loader and decoder.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash training/device-unpack.sh FILES_AT MODEL_DIR"; exit 2; }
src=$1
dest=$2
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
[ -f "$src/run.tar.gz" ] || { echo "device-unpack: no run.tar.gz in $src"; exit 1; }
run=${DIFFUSE_WORK:-training/work}/device-runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$run" "$dest"
tar -xzf "$src/run.tar.gz" -C "$run"
if compgen -G "$src/model.onnx.part-*" > /dev/null; then
  cat "$src"/model.onnx.part-* > "$run/model.onnx"
  (cd "$run" && sha256sum -c model.onnx.sha256)
  cp "$run/model.onnx" "$dest/model.onnx"
  for f in denoiser.json tokenizer.json tokenizer_config.json; do
    [ -f "$run/$f" ] && cp "$run/$f" "$dest/$f"
  done
  # export.py named the model after its folder on the device (device-model); it is MODEL_DIR's now
  "$PY" - "$dest/denoiser.json" <<'EOF'
import json, os, sys
path = sys.argv[1]
info = json.load(open(path))
info["name"] = os.path.basename(os.path.dirname(os.path.abspath(path)))
with open(path, "w") as f:
    json.dump(info, f, indent=2)
    f.write("\n")
EOF
  # the run's curve continues the folder's (points before the run's first one are kept)
  "$PY" - "$run/training-curve.json" "$dest/training-curve.json" <<'EOF'
import json, os, sys
new_path, dest = sys.argv[1], sys.argv[2]
new = json.load(open(new_path)) if os.path.exists(new_path) else []
old = json.load(open(dest)) if os.path.exists(dest) else []
if new:
    old = [p for p in old if p["tokens_seen"] < new[0]["tokens_seen"]]
with open(dest, "w") as f:
    json.dump(old + new, f, indent=1)
print(f"device-unpack: curve {len(old)} + {len(new)} points")
EOF
elif compgen -G "$src/compact.pt.part-*" > /dev/null; then
  echo "device-unpack: the export failed on the device; exporting the compact int8 checkpoint here"
  cat "$src"/compact.pt.part-* > "$run/compact.pt"
  (cd "$run" && sha256sum -c compact.pt.sha256)
  tok=()
  [ -f "$run/tokenizer.json" ] || cp "${DIFFUSE_WORK:-training/work}"/data/tokenizer*.json "$run/" 2>/dev/null || true
  [ -f "$run/tokenizer.json" ] && [ -f "$run/tokenizer_config.json" ] && tok=(--tokenizer "$run")
  "$PY" training/export.py --cache --ckpt "$run/compact.pt" "${tok[@]}" --log-dir "$run" --out "$dest"
else
  echo "device-unpack: no model.onnx.part-* or compact.pt.part-* in $src"; exit 1
fi
[ -f "$src/train.log" ] && cp "$src/train.log" "$run/"
grep -E "tok/s|MFU|compiled|model " "$run/train.log" 2>/dev/null | tail -4 || true
node training/model-card.mjs --model "$dest"
echo "device-unpack: $dest ($(du -h "$dest/model.onnx" | cut -f1) model.onnx); logs in $run"
echo '{"id":1,"prefix":"function add(a, b) {\n  ","suffix":"\n}\n","maxTokens":16}' |
  node bin/diffuse.js complete --model "$dest"
