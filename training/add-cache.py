"""Give an exported model folder the context cache's graph (export.py --cache) from its own
model.onnx: the weights are read back and exported again through model.forward_cached, so the
folder keeps one model.onnx that answers plain calls and cached ones (docs/design.md, the model
contract's optional cache inputs).

    /usr/bin/python3 training/add-cache.py models/diffuse-v2

The int8 weights come back exactly: an int8 column read back to float and quantised again gives
the same bytes (its scale is its largest value / 127, and that value is ±127 × scale). The script
checks this, and that the new graph's plain call gives the old graph's logits (PyTorch).
"""
import json
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import CACHE_INPUTS, CACHE_OUTPUTS, cache_shape, check_onnx, export_onnx  # noqa: E402
from model import Denoiser, DenoiserConfig  # noqa: E402
from quantize import quantize_file  # noqa: E402
from train import load_onnx_weights  # noqa: E402


def int8_initializers(path):
    return {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer if i.name.endswith(".int8")}


def main(folder):
    manifest_path = os.path.join(folder, "denoiser.json")
    with open(manifest_path) as f:
        info = json.load(f)
    if "past_keys" in info["inputs"]:
        print(f"{folder}: model.onnx already has the cache inputs")
        return
    model = Denoiser(DenoiserConfig(**info["training"]["config"]))
    onnx_path = os.path.join(folder, "model.onnx")
    load_onnx_weights(model, onnx_path)
    model.eval()
    tmp = onnx_path + ".cache-tmp"
    export_onnx(model, tmp, cache=True)
    quantize_file(tmp, tmp)
    check_onnx(tmp, model)
    before, after = int8_initializers(onnx_path), int8_initializers(tmp)
    if before.keys() != after.keys() or any(not np.array_equal(before[k], after[k]) for k in before):
        os.remove(tmp)
        raise SystemExit(f"{onnx_path}: the int8 weights did not come back exactly; left unchanged")
    with torch.no_grad():  # the cached graph's plain call is forward() exactly
        ids = torch.randint(4, model.cfg.vocab_size, (1, 64), generator=torch.Generator().manual_seed(0))
        pos = torch.tensor([[0, 17, 63]])
        hd = model.cfg.d_model // model.cfg.n_head
        empty = torch.zeros(model.cfg.n_layer, model.cfg.n_head, 0, hd)
        cached, _, _ = model.forward_cached(ids, torch.arange(64)[None], empty, empty, pos)
        assert torch.allclose(cached, model(ids, pos), atol=1e-4)
    os.replace(tmp, onnx_path)
    info["inputs"], info["outputs"], info["cache"] = CACHE_INPUTS, CACHE_OUTPUTS, cache_shape(model.cfg)
    with open(manifest_path, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(f"{folder}: model.onnx now has the context cache's inputs ({os.path.getsize(onnx_path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
