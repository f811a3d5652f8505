"""Write a Diffuse model folder (the shipped model v2) out as a Hugging Face checkpoint in LLaDA's
layout, so that `npm run model:convert` can bring it back: the one check of the converter that
runs trained weights through it, the worker and the sampler.

    /usr/bin/python3 training/to-hf.py models/diffuse-v2 OUT_HF_DIR
    npm run model:convert -- --from OUT_HF_DIR --out OUT_MODEL_DIR

Why LLaDA's layout: model.py's blocks are LLaMA blocks exactly as LLaDA has them, difference by
difference:
- RMSNorm before attention and before the MLP and after the last block, in float32, times a gain,
  no bias (LLaDA: layer_norm_type "rms", include_bias false), eps norm_eps;
- RoPE on queries and keys in the rotate-half layout, inv_freq = theta^(-2i/head_dim), positions
  0..n-1 (LLaDA's RotaryEmbedding, rope_theta);
- attention over every position (no causal mask; LLaDA's is_causal=False), scale 1/sqrt(head_dim),
  as many key-value heads as query heads (n_kv_heads = n_heads);
- the fused qkv projection is three matrices stacked [q; k; v], split here into q_proj, k_proj
  and v_proj; proj is attn_out;
- SwiGLU: down(silu(gate(x)) * up(x)) is LLaDA's ff_out(act(ff_proj(x)) * up_proj(x));
- the output head is the embedding (LLaDA's weight_tying true), no logit scaling, no shift.
The weights are model.onnx's: int8 read back to float32 (quantize.py's dequantisation), stored
float32, so converting back to int8 gives the same bytes.
"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Denoiser, DenoiserConfig  # noqa: E402
from train import load_onnx_weights  # noqa: E402


def llada_state(model):
    """model.py's state dict under LLaDA's tensor names."""
    c = model.cfg
    sd = model.state_dict()
    out = {"model.transformer.wte.weight": sd["embed.weight"], "model.transformer.ln_f.weight": sd["norm.weight"]}
    for i in range(c.n_layer):
        p, b = f"blocks.{i}.", f"model.transformer.blocks.{i}."
        q, k, v = sd[p + "attn.qkv.weight"].split(c.d_model, dim=0)
        out.update({
            b + "attn_norm.weight": sd[p + "attn_norm.weight"],
            b + "q_proj.weight": q, b + "k_proj.weight": k, b + "v_proj.weight": v,
            b + "attn_out.weight": sd[p + "attn.proj.weight"],
            b + "ff_norm.weight": sd[p + "mlp_norm.weight"],
            b + "ff_proj.weight": sd[p + "mlp.gate.weight"],
            b + "up_proj.weight": sd[p + "mlp.up.weight"],
            b + "ff_out.weight": sd[p + "mlp.down.weight"],
        })
    assert sum(t.numel() for t in out.values()) == model.num_params(), "every parameter written once"
    return {k: v.contiguous().float() for k, v in out.items()}


def main(folder, out):
    from safetensors.torch import save_file
    with open(os.path.join(folder, "denoiser.json")) as f:
        info = json.load(f)
    cfg = DenoiserConfig(**info["training"]["config"])
    model = Denoiser(cfg)
    load_onnx_weights(model, os.path.join(folder, "model.onnx"))
    state = llada_state(model)
    os.makedirs(out, exist_ok=True)
    names = list(state)
    half = len(names) // 2
    weight_map = {}
    for k, chunk in enumerate((names[:half], names[half:])):
        fname = f"model-{k + 1:05d}-of-00002.safetensors"
        save_file({n: state[n] for n in chunk}, os.path.join(out, fname), metadata={"format": "pt"})
        weight_map.update({n: fname for n in chunk})
    s = info["special_tokens"]
    trained = info.get("trained_context_length") or info["training"]["args"]["seq_len"]
    files = {
        "model.safetensors.index.json": {"metadata": {"total_size": sum(t.numel() * 4 for t in state.values())},
                                         "weight_map": weight_map},
        "config.json": {
            "architectures": ["LLaDAModelLM"], "model_type": "llada", "block_type": "llama", "activation_type": "silu",
            "layer_norm_type": "rms", "rope": True, "alibi": False, "include_bias": False, "include_qkv_bias": False,
            "scale_logits": False, "attention_layer_norm": False, "weight_tying": True,
            "d_model": cfg.d_model, "n_heads": cfg.n_head, "n_kv_heads": cfg.n_head, "n_layers": cfg.n_layer,
            "mlp_hidden_size": cfg.ffn_hidden, "rms_norm_eps": cfg.norm_eps, "rope_theta": cfg.rope_theta,
            "vocab_size": cfg.vocab_size, "embedding_size": cfg.vocab_size, "max_sequence_length": trained,
            "mask_token_id": s["mask"], "pad_token_id": s["pad"], "bos_token_id": s["bos"], "eos_token_id": s["eos"],
            "torch_dtype": "float32"},
        "generation_config.json": {"bos_token_id": s["bos"], "eos_token_id": s["eos"], "pad_token_id": s["pad"]},
    }
    for name, obj in files.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(folder, name), os.path.join(out, name))
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(f"---\nlicense: mit\n---\n\n{info['name']} (Diffuse's shipped model) in LLaDA's checkpoint layout, "
                f"written by training/to-hf.py from {folder}.\n")
    print(f"wrote {out}: {model.num_params() / 1e6:.2f} M parameters in LLaDA's layout")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
