"""Tiny random checkpoints of each architecture training/convert.py converts, in the real file
layout: config.json and generation_config.json with the real config keys, bf16 safetensors in
shards named by model.safetensors.index.json under the real tensor names, tokenizer.json and
tokenizer_config.json (the shipped model's byte-level BPE with each model's own special tokens
added, and the embedding padded past the tokenizer to a multiple of 64 as Qwen's and LLaDA's are).

Each is made from a transformers model (Qwen2ForCausalLM for Dream and Open-dCoder, LlamaForCausalLM
for LLaDA, whose tensors are renamed here into LLaDA's names), which the tests keep as the
reference forward.

    /usr/bin/python3 training/tests/tiny_checkpoints.py ARCH OUT_DIR   (dream | dreamon | open-dcoder | llada)
    /usr/bin/python3 training/tests/tiny_checkpoints.py open-dcoder-0.5b OUT_DIR   (random weights, for npm run bench)
"""
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER = os.path.join(ROOT, "models", "diffuse-v2")
SHAPE = dict(hidden=64, ffn=160, layers=2, heads=4, kv_heads=2)

# each model's own special tokens, as its tokenizer files and config name them
SPECIALS = {
    # Dream-v0 / Dream-Coder: pad = bos = eos = <|endoftext|> in config.json, <|beginoftext|> as
    # the tokenizer's bos, mask_token_id in config.json
    "dream": ["<|endoftext|>", "<|beginoftext|>", "<|mask|>", "<|im_start|>", "<|im_end|>"],
    # DreamOn: Dream's, with <|expand|> (a mask that becomes two) and a delete token for the
    # surplus masks, which its generation_config.json names as expand_token_id / delete_token_id
    "dreamon": ["<|endoftext|>", "<|beginoftext|>", "<|mask|>", "<|expand|>", "<|delete|>", "<|im_start|>", "<|im_end|>"],
    # Open-dCoder: Qwen2.5's tokenizer (no bos token) with a mask token added
    "open-dcoder": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<M>"],
    # LLaDA: <|startoftext|> / <|endoftext|>, <|eot_id|>, <|mdm_mask|>
    "llada": ["<|startoftext|>", "<|endoftext|>", "<|eot_id|>", "<|mdm_mask|>"],
}

# LLaDA's names for LlamaForCausalLM's tensors (ML-GSAI/LLaDA modeling_llada.py, LLaDALlamaBlock)
LLADA_NAMES = [
    ("model.embed_tokens.weight", "model.transformer.wte.weight"),
    ("model.norm.weight", "model.transformer.ln_f.weight"),
    ("lm_head.weight", "model.transformer.ff_out.weight"),
    ("model.layers.{i}.input_layernorm.weight", "model.transformer.blocks.{i}.attn_norm.weight"),
    ("model.layers.{i}.self_attn.q_proj.weight", "model.transformer.blocks.{i}.q_proj.weight"),
    ("model.layers.{i}.self_attn.k_proj.weight", "model.transformer.blocks.{i}.k_proj.weight"),
    ("model.layers.{i}.self_attn.v_proj.weight", "model.transformer.blocks.{i}.v_proj.weight"),
    ("model.layers.{i}.self_attn.o_proj.weight", "model.transformer.blocks.{i}.attn_out.weight"),
    ("model.layers.{i}.post_attention_layernorm.weight", "model.transformer.blocks.{i}.ff_norm.weight"),
    ("model.layers.{i}.mlp.gate_proj.weight", "model.transformer.blocks.{i}.ff_proj.weight"),
    ("model.layers.{i}.mlp.up_proj.weight", "model.transformer.blocks.{i}.up_proj.weight"),
    ("model.layers.{i}.mlp.down_proj.weight", "model.transformer.blocks.{i}.ff_out.weight"),
]


def write_tokenizer(out, arch):
    """The shipped tokenizer with the model's special tokens appended; returns {text: id}, size."""
    with open(os.path.join(TOKENIZER, "tokenizer.json")) as f:
        tok = json.load(f)
    base = max(tok["model"]["vocab"].values()) + 1
    ids = {}
    for i, text in enumerate(SPECIALS[arch]):
        ids[text] = base + i
        tok["added_tokens"].append({"id": base + i, "content": text, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f)
    decoder = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                        "special": True} for t, i in ids.items()}
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "added_tokens_decoder": decoder, "model_max_length": 4096,
           "clean_up_tokenization_spaces": False}
    if arch in ("dream", "dreamon"):
        cfg.update(bos_token="<|beginoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>", mask_token="<|mask|>")
    elif arch == "open-dcoder":
        cfg.update(bos_token=None, eos_token="<|endoftext|>", pad_token="<|endoftext|>", mask_token="<M>")
    else:
        cfg.update(bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return ids, base + len(ids)


def randomise(model, seed):
    """Weights large enough that every part of the block moves the logits (the default init
    gives norms of exactly 1, zero biases and logits near 0), rounded to bf16 as the file stores them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))
            p.copy_(p.to(torch.bfloat16).float())
    return model.eval()


def write_shards(out, state, parts=3):
    """bf16 safetensors in `parts` shards with model.safetensors.index.json (as the hub stores them)."""
    from safetensors.torch import save_file
    names = list(state)
    per = -(-len(names) // parts)
    weight_map, total = {}, 0
    for k in range(parts):
        chunk = names[k * per:(k + 1) * per]
        fname = f"model-{k + 1:05d}-of-{parts:05d}.safetensors"
        tensors = {n: state[n].to(torch.bfloat16).contiguous() for n in chunk}
        save_file(tensors, os.path.join(out, fname), metadata={"format": "pt"})
        for n in chunk:
            weight_map[n] = fname
            total += tensors[n].numel() * 2
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def dump(out, name, obj):
    with open(os.path.join(out, name), "w") as f:
        json.dump(obj, f, indent=2)


def build(arch, out, seed=0):
    """Writes the checkpoint folder; returns the transformers model it holds (fp32, eval)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    os.makedirs(out, exist_ok=True)
    ids, size = write_tokenizer(out, arch)
    vocab = 64 * -(-size // 64) + 64  # the embedding has rows no token uses
    s = SHAPE
    if arch in ("dream", "dreamon", "open-dcoder"):
        tied = arch == "open-dcoder"  # Qwen2.5-0.5B ties its embeddings, Dream-7B does not
        cfg = Qwen2Config(vocab_size=vocab, hidden_size=s["hidden"], intermediate_size=s["ffn"],
                          num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
                          rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=4096,
                          tie_word_embeddings=tied, attn_implementation="eager")
        model = randomise(Qwen2ForCausalLM(cfg), seed)
        config = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_")}
        eos = ids["<|endoftext|>"]
        if arch in ("dream", "dreamon"):
            config.update(architectures=["DreamModel"], model_type="Dream", mask_token_id=ids["<|mask|>"],
                          pad_token_id=eos, bos_token_id=eos, eos_token_id=eos,
                          auto_map={"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"})
            gen = {"bos_token_id": eos, "eos_token_id": [eos, ids["<|im_end|>"]], "pad_token_id": eos,
                   "mask_token_id": ids["<|mask|>"]}
            if arch == "dreamon":  # the keys DreamOn's generation code reads
                gen.update(expand_token_id=ids["<|expand|>"], delete_token_id=ids["<|delete|>"], pad_delete_to_right=True)
            dump(out, "generation_config.json", gen)
        else:
            config.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", bos_token_id=eos, eos_token_id=eos)
            dump(out, "generation_config.json", {"bos_token_id": eos, "eos_token_id": eos})
        state = {k: v for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    elif arch == "llada":
        cfg = LlamaConfig(vocab_size=vocab, hidden_size=s["hidden"], intermediate_size=s["ffn"], num_hidden_layers=s["layers"],
                          num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"], rms_norm_eps=1e-5,
                          rope_theta=500000.0, max_position_embeddings=4096, tie_word_embeddings=False,
                          attn_implementation="eager")
        model = randomise(LlamaForCausalLM(cfg), seed)
        eos = ids["<|endoftext|>"]
        config = {"architectures": ["LLaDAModelLM"], "model_type": "llada", "activation_type": "silu",
                  "alibi": False, "attention_layer_norm": False, "block_type": "llama", "d_model": s["hidden"],
                  "embedding_size": vocab, "vocab_size": size, "include_bias": False, "include_qkv_bias": False,
                  "layer_norm_type": "rms", "max_sequence_length": 4096, "mlp_hidden_size": s["ffn"],
                  "mlp_ratio": 4, "n_heads": s["heads"], "n_kv_heads": s["kv_heads"], "n_layers": s["layers"],
                  "rms_norm_eps": 1e-5, "rope": True, "rope_theta": 500000.0, "scale_logits": False,
                  "weight_tying": False, "mask_token_id": ids["<|mdm_mask|>"], "pad_token_id": eos, "eos_token_id": eos,
                  "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig", "AutoModel": "modeling_llada.LLaDAModelLM"}}
        dump(out, "generation_config.json", {"bos_token_id": ids["<|startoftext|>"], "eos_token_id": eos, "pad_token_id": eos})
        sd = model.state_dict()
        state = {}
        for i in range(s["layers"]):
            for a, b in LLADA_NAMES:
                if "{i}" in a:
                    state[b.format(i=i)] = sd[a.format(i=i)]
        for a, b in LLADA_NAMES:
            if "{i}" not in a:
                state[b] = sd[a]
        assert len(state) == len(sd), "every Llama tensor has a LLaDA name"
    else:
        raise ValueError(arch)
    dump(out, "config.json", config)
    write_shards(out, state)
    return model


# Open-dCoder-0.5B's shape (fredzzp/open-dcoder-0.5B, Qwen2.5-0.5B's): for `npm run bench` at the
# size a user would run, with random weights (no weights are downloaded)
OPEN_DCODER_05B = dict(hidden=896, ffn=4864, layers=24, heads=14, kv_heads=2, vocab=151936, tokens=151665)


def pad_vocabulary(out, tokens):
    """Grows tokenizer.json's BPE vocabulary to `tokens` ids with entries no text encodes to (no
    merge makes them), so the logits, the sampler's softmax and the tokenizer's per-id tables
    are as wide as Qwen2.5's while the text still tokenises as the shipped tokenizer does."""
    path = os.path.join(out, "tokenizer.json")
    with open(path) as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    added = sorted(t["id"] for t in tok["added_tokens"])
    specials = {t["id"]: t for t in tok["added_tokens"] if t["id"] >= len(vocab)}
    nxt = len(vocab)
    # the added tokens move to the end (ids tokens-k..tokens-1), as Qwen's sit after its BPE vocabulary
    k = len(specials)
    i = 0
    while nxt < tokens - k:
        text = "\u0120unused" + str(i)
        i += 1
        if text not in vocab:
            vocab[text] = nxt
            nxt += 1
    for j, old in enumerate(sorted(specials)):
        specials[old]["id"] = nxt + j
    with open(path, "w") as f:
        json.dump(tok, f)
    cfg_path = os.path.join(out, "tokenizer_config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["added_tokens_decoder"] = {str(t["id"]): {kk: vv for kk, vv in t.items() if kk not in ("id",)}
                                   for t in specials.values()}
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    return {t["content"]: t["id"] for t in specials.values()}, added


def build_open_dcoder_05b(out, seed=0):
    """A random-weight checkpoint of Open-dCoder-0.5B's shape, bf16 shards, Qwen2.5's vocabulary size."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    s = OPEN_DCODER_05B
    os.makedirs(out, exist_ok=True)
    write_tokenizer(out, "open-dcoder")
    ids, _ = pad_vocabulary(out, s["tokens"])
    cfg = Qwen2Config(vocab_size=s["vocab"], hidden_size=s["hidden"], intermediate_size=s["ffn"],
                      num_hidden_layers=s["layers"], num_attention_heads=s["heads"], num_key_value_heads=s["kv_heads"],
                      rms_norm_eps=1e-6, rope_theta=1000000.0, max_position_embeddings=32768,
                      tie_word_embeddings=True, attn_implementation="eager")
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(cfg).eval()  # transformers' own init (std 0.02): logits as flat as a random model's are
    eos = ids["<|endoftext|>"]
    config = {k: v for k, v in cfg.to_dict().items() if not k.startswith("_")}
    config.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", bos_token_id=eos, eos_token_id=eos)
    dump(out, "config.json", config)
    dump(out, "generation_config.json", {"bos_token_id": eos, "eos_token_id": eos})
    write_shards(out, {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}, parts=2)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    if sys.argv[1] == "open-dcoder-0.5b":
        build_open_dcoder_05b(sys.argv[2])
    else:
        build(sys.argv[1], sys.argv[2])
    print(f"wrote a {sys.argv[1]} checkpoint to {sys.argv[2]}")
