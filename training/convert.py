"""Convert an open diffusion coder's Hugging Face checkpoint into a Diffuse model folder.

    npm run model:convert -- --from HF_DIR --out MODEL_DIR [--dtype int8|fp16|fp32] [--context N]
        [--arch dream|open-dcoder|llada] [--threads N]

HF_DIR is the folder a user downloaded (config.json, generation_config.json, model.safetensors or
shards with model.safetensors.index.json, tokenizer.json, tokenizer_config.json). MODEL_DIR gets
the model contract's files (docs/design.md, "The model contract"): model.onnx with the context cache's
graph (the shipped model's inputs and outputs: export.py --cache), denoiser.json, the tokenizer
files and MODEL_CARD.md. Weights are int8 by default (quantize.py), fp16 or fp32 on request.

The graph is model.py's Denoiser (export.py's cache graph): what an architecture differs in is a
field of its DenoiserConfig (grouped-query attention, q/k/v biases, an untied head, and Dream's
shift: the logit of token i read at position i-1, baked into the graph so the contract's
"logits[i] predicts token i" holds). Each architecture is one small class below naming only what
differs: the table from its tensor names to the Denoiser's, its config keys, and where the mask
id comes from. Every tensor of the checkpoint is mapped or the conversion stops; every shape is
asserted (build_model, as nanoGPT's from_pretrained).

The conversion is checked, not trusted: the graph is run by onnxruntime-node on a code sample and
compared with transformers' own Qwen2 / Llama forward of the same weights (attention made
bidirectional, the shift applied): max |delta logit| and argmax agreement, for a plain call and a
cached one. A folder whose fp32 check fails is not written; the figures go into MODEL_CARD.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export import CACHE_INPUTS, CACHE_OUTPUTS, CONTRACT_VERSION, export_onnx  # noqa: E402
from model import Denoiser, DenoiserConfig  # noqa: E402
from quantize import int8_lookup, quantize_model, quantize_weight, replace_graph  # noqa: E402

ROLES = ("pad", "mask", "bos", "eos")
# fp32 logits of the converted graph against transformers' forward, on the check's code sample.
# Summation order differs (onnxruntime's kernels vs PyTorch's), so the tolerance grows with the
# logits' scale: 1e-4 on the tiny test checkpoints (logits of order 1), more on a trained model's.
FP32_TOLERANCE = 1e-4
# a model this large is written with its weights in model.onnx.data (protobuf's 2 GB limit)
EXTERNAL_DATA_BYTES = 1_800_000_000
CHECK_SAMPLE = '''import json
from pathlib import Path


def load_scores(path: str) -> dict:
    """Read a JSON file of scores and return the mean per name."""
    data = json.loads(Path(path).read_text())
    out = {}
    for name, values in data.items():
        if not values:
            continue
        out[name] = sum(values) / len(values)
    return out


export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
'''


# ---------------------------------------------------------------------------------------------
# Architectures: only what differs
# ---------------------------------------------------------------------------------------------

class Architecture:
    name = ""
    architectures = ()  # config.json "architectures" this class converts
    shift = False  # logit of token i read at position i-1
    # checkpoint tensor name -> model.py Denoiser parameter name ({i}: the layer; [q], [k], [v]:
    # the query, key or value rows of the block's one q/k/v projection)
    tensors = {}
    global_tensors = {}
    ignored = ()  # checkpoint tensors that are not parameters (suffixes)
    default_mask_id = None
    licence_hint = ""

    def __init__(self, config):
        self.config = config

    def model_config(self, vocab=None):
        """model.py's DenoiserConfig of the checkpoint, with a vocabulary of `vocab` tokens (default:
        the checkpoint's embedding rows)."""
        raise NotImplementedError

    def context(self):
        raise NotImplementedError

    def check_config(self):
        pass

    def reference(self, state):
        """transformers' own implementation of the base with the checkpoint's weights (fp32)."""
        raise NotImplementedError

    def table(self, n_layer):
        out = dict(self.global_tensors)
        for i in range(n_layer):
            for src, dst in self.tensors.items():
                out[src.format(i=i)] = dst.format(i=i)
        return out


class Qwen2Like(Architecture):
    """Qwen2 tensor names and config keys (Dream, DiffuCoder, DreamOn, Open-dCoder)."""
    tensors = {
        "model.layers.{i}.input_layernorm.weight": "blocks.{i}.attn_norm.weight",
        "model.layers.{i}.self_attn.q_proj.weight": "blocks.{i}.attn.qkv.weight[q]",
        "model.layers.{i}.self_attn.q_proj.bias": "blocks.{i}.attn.qkv.bias[q]",
        "model.layers.{i}.self_attn.k_proj.weight": "blocks.{i}.attn.qkv.weight[k]",
        "model.layers.{i}.self_attn.k_proj.bias": "blocks.{i}.attn.qkv.bias[k]",
        "model.layers.{i}.self_attn.v_proj.weight": "blocks.{i}.attn.qkv.weight[v]",
        "model.layers.{i}.self_attn.v_proj.bias": "blocks.{i}.attn.qkv.bias[v]",
        "model.layers.{i}.self_attn.o_proj.weight": "blocks.{i}.attn.proj.weight",
        "model.layers.{i}.post_attention_layernorm.weight": "blocks.{i}.mlp_norm.weight",
        "model.layers.{i}.mlp.gate_proj.weight": "blocks.{i}.mlp.gate.weight",
        "model.layers.{i}.mlp.up_proj.weight": "blocks.{i}.mlp.up.weight",
        "model.layers.{i}.mlp.down_proj.weight": "blocks.{i}.mlp.down.weight",
    }
    global_tensors = {"model.embed_tokens.weight": "embed.weight", "model.norm.weight": "norm.weight",
                      "lm_head.weight": "head.weight"}
    ignored = ("rotary_emb.inv_freq",)

    def check_config(self):
        c = self.config
        assert not c.get("use_sliding_window"), "sliding-window attention is not converted"
        assert c.get("hidden_act", "silu") == "silu", f"hidden_act {c.get('hidden_act')!r}: only silu is converted"
        rs = c.get("rope_scaling")
        assert not rs or rs.get("type", rs.get("rope_type")) == "default", f"rope_scaling {rs} is not converted"

    def model_config(self, vocab=None):
        c = self.config
        return DenoiserConfig(vocab_size=vocab or c["vocab_size"], d_model=c["hidden_size"], n_layer=c["num_hidden_layers"],
                              n_head=c["num_attention_heads"], n_kv_head=c.get("num_key_value_heads") or 0,
                              ffn_hidden=c["intermediate_size"], rope_theta=float(c.get("rope_theta", 10000.0)),
                              norm_eps=float(c.get("rms_norm_eps", 1e-6)), qkv_bias=True,
                              tied=bool(c.get("tie_word_embeddings", False)), logit_shift=self.shift)

    def context(self):
        return int(self.config.get("max_position_embeddings") or 32768)

    def reference(self, state):
        from transformers import Qwen2Config, Qwen2ForCausalLM
        keys = set(Qwen2Config().to_dict())
        cfg = Qwen2Config(**{k: v for k, v in self.config.items() if k in keys and k not in ("architectures", "model_type")})
        cfg._attn_implementation = "eager"
        return load_reference(Qwen2ForCausalLM(cfg), state, {})


class Dream(Qwen2Like):
    """DreamModel (Dream-v0, Dream-Coder, DiffuCoder, DreamOn): Qwen2's layers, full attention;
    Dream's sampler reads token i's logits at position i-1 (`logits = cat([logits[:, :1],
    logits[:, :-1]])`). Its config.json carries mask_token_id."""
    name = "dream"
    architectures = ("DreamModel",)
    shift = True
    licence_hint = "Apache-2.0 (Dream, Dream-Coder, DreamOn); DiffuCoder: Apple's research licence (apple/ml-diffucoder LICENSE)"


class OpenDCoder(Qwen2Like):
    """Open-dCoder: a Qwen2ForCausalLM checkpoint trained as a masked-diffusion model, shifted
    like Dream; its forward defaults to causal attention, but it was trained and samples
    non-causal (is_causal=False), so the graph is bidirectional. The mask token is the one
    its tokenizer added."""
    name = "open-dcoder"
    architectures = ("Qwen2ForCausalLM",)
    shift = True
    licence_hint = "Apache-2.0 (fredzzp/open-dcoder-0.5B)"


class LLaDA(Architecture):
    """LLaDAModelLM (ML-GSAI/LLaDA): OLMo's code with LLaMA blocks under other names
    (ff_proj is the gate, up_proj the up projection, ff_out the down projection and, outside
    the blocks, the output head), full attention, no shift; mask id 126336."""
    name = "llada"
    architectures = ("LLaDAModelLM",)
    default_mask_id = 126336
    tensors = {
        "model.transformer.blocks.{i}.attn_norm.weight": "blocks.{i}.attn_norm.weight",
        "model.transformer.blocks.{i}.q_proj.weight": "blocks.{i}.attn.qkv.weight[q]",
        "model.transformer.blocks.{i}.q_proj.bias": "blocks.{i}.attn.qkv.bias[q]",
        "model.transformer.blocks.{i}.k_proj.weight": "blocks.{i}.attn.qkv.weight[k]",
        "model.transformer.blocks.{i}.k_proj.bias": "blocks.{i}.attn.qkv.bias[k]",
        "model.transformer.blocks.{i}.v_proj.weight": "blocks.{i}.attn.qkv.weight[v]",
        "model.transformer.blocks.{i}.v_proj.bias": "blocks.{i}.attn.qkv.bias[v]",
        "model.transformer.blocks.{i}.attn_out.weight": "blocks.{i}.attn.proj.weight",
        "model.transformer.blocks.{i}.ff_norm.weight": "blocks.{i}.mlp_norm.weight",
        "model.transformer.blocks.{i}.ff_proj.weight": "blocks.{i}.mlp.gate.weight",
        "model.transformer.blocks.{i}.up_proj.weight": "blocks.{i}.mlp.up.weight",
        "model.transformer.blocks.{i}.ff_out.weight": "blocks.{i}.mlp.down.weight",
    }
    global_tensors = {"model.transformer.wte.weight": "embed.weight", "model.transformer.ln_f.weight": "norm.weight",
                      "model.transformer.ff_out.weight": "head.weight"}
    licence_hint = "MIT (GSAI-ML/LLaDA-8B-Base, LLaDA-8B-Instruct)"

    def check_config(self):
        c = self.config
        want = {"block_type": "llama", "activation_type": "silu", "layer_norm_type": "rms", "rope": True,
                "alibi": False, "include_bias": False, "scale_logits": False, "attention_layer_norm": False}
        for k, v in want.items():
            if k in c:
                assert c[k] == v, f"config.json {k} = {c[k]!r}: only {v!r} is converted"

    def model_config(self, vocab=None):
        c = self.config
        return DenoiserConfig(vocab_size=vocab or c.get("embedding_size") or c["vocab_size"], d_model=c["d_model"],
                              n_layer=c["n_layers"], n_head=c["n_heads"], n_kv_head=c.get("n_kv_heads") or 0,
                              ffn_hidden=c.get("mlp_hidden_size") or c["mlp_ratio"] * c["d_model"],
                              rope_theta=float(c.get("rope_theta", 10000.0)), norm_eps=float(c.get("rms_norm_eps", 1e-5)),
                              qkv_bias=bool(c.get("include_qkv_bias", False)), tied=bool(c.get("weight_tying", False)))

    def context(self):
        return int(self.config.get("max_sequence_length") or 4096)

    def reference(self, state):
        from transformers import LlamaConfig, LlamaForCausalLM
        s = self.model_config()
        assert not s.qkv_bias, "transformers' Llama has no q/k/v-only bias: no reference for this checkpoint"
        cfg = LlamaConfig(vocab_size=s.vocab_size, hidden_size=s.d_model, intermediate_size=s.ffn_hidden,
                          num_hidden_layers=s.n_layer, num_attention_heads=s.n_head, num_key_value_heads=s.n_kv_head,
                          rms_norm_eps=s.norm_eps, rope_theta=s.rope_theta, tie_word_embeddings=s.tied,
                          max_position_embeddings=self.context(), attention_bias=False, mlp_bias=False)
        cfg._attn_implementation = "eager"
        names = {"model.transformer.wte.": "model.embed_tokens.", "model.transformer.ln_f.": "model.norm.",
                 "model.transformer.ff_out.": "lm_head.", "model.transformer.blocks.": "model.layers.",
                 ".attn_norm.": ".input_layernorm.", ".q_proj.": ".self_attn.q_proj.", ".k_proj.": ".self_attn.k_proj.",
                 ".v_proj.": ".self_attn.v_proj.", ".attn_out.": ".self_attn.o_proj.", ".ff_norm.": ".post_attention_layernorm.",
                 ".ff_proj.": ".mlp.gate_proj.", ".up_proj.": ".mlp.up_proj.", ".ff_out.": ".mlp.down_proj."}
        return load_reference(LlamaForCausalLM(cfg), state, names)


ARCHITECTURES = {a.name: a for a in (Dream, OpenDCoder, LLaDA)}


def load_reference(model, state, renames):
    """Copy the checkpoint's tensors into a transformers model; every parameter must be set."""
    ours = {}
    for k, v in state.items():
        for a, b in renames.items():
            if k.startswith(a) or (a.startswith(".") and a in k):
                k = k.replace(a, b, 1)
        ours[k] = v.float()
    missing, unexpected = model.load_state_dict(ours, strict=False)
    missing = [k for k in missing if not (k == "lm_head.weight" and model.config.tie_word_embeddings)]
    assert not missing and not unexpected, f"reference model: missing {missing[:4]}, unexpected {unexpected[:4]}"
    return model.eval()


@torch.no_grad()
def reference_logits(ref, ids, shift):
    """transformers' forward over the whole canvas with bidirectional attention (a 4-D additive
    mask of zeros replaces the causal one) and, for a shifted model, the logits moved one place
    right as Dream's sampler does: logits[i] is the output at i-1 (logits[0] stays)."""
    n = ids.shape[1]
    out = ref(input_ids=ids, attention_mask=torch.zeros(1, 1, n, n), use_cache=False).logits.float()
    if shift:
        out = torch.cat([out[:, :1], out[:, :-1]], dim=1)
    return out


def pick_architecture(config, override=""):
    if override:
        if override not in ARCHITECTURES:
            raise SystemExit(f"--arch {override}: one of {', '.join(ARCHITECTURES)}")
        return ARCHITECTURES[override](config)
    names = config.get("architectures") or []
    for a in ARCHITECTURES.values():
        if any(n in a.architectures for n in names):
            return a(config)
    raise SystemExit(f"config.json architectures {names}: not a diffusion model this converter knows "
                     f"({', '.join(n for a in ARCHITECTURES.values() for n in a.architectures)}); --arch picks one")


# ---------------------------------------------------------------------------------------------
# Reading the checkpoint folder
# ---------------------------------------------------------------------------------------------

def read_json(path, required=True):
    if not os.path.exists(path):
        if required:
            raise SystemExit(f"{path} is missing")
        return {}
    with open(path) as f:
        return json.load(f)


def read_state(folder):
    """Every tensor of model.safetensors or of the shards model.safetensors.index.json names."""
    from safetensors.torch import load_file
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(read_json(index)["weight_map"].values()))
    elif os.path.exists(os.path.join(folder, "model.safetensors")):
        files = ["model.safetensors"]
    else:
        raise SystemExit(f"{folder}: no model.safetensors or model.safetensors.index.json (only safetensors are read)")
    state = {}
    for f in files:
        part = load_file(os.path.join(folder, f))
        dup = set(part) & set(state)
        assert not dup, f"{f}: tensors {sorted(dup)[:3]} also in another shard"
        state.update(part)
    if os.path.exists(index):
        named = set(read_json(index)["weight_map"])
        assert named == set(state), f"{index} names {len(named)} tensors, the shards hold {len(state)}"
    return state


def token_ids(folder):
    """{text: id} of tokenizer.json's vocabulary and added tokens, and its size (largest id + 1,
    as the extension's tokenizer counts it)."""
    tok = read_json(os.path.join(folder, "tokenizer.json"))
    by_text = dict(tok.get("model", {}).get("vocab", {}) or {})
    by_text.update({t["content"]: t["id"] for t in tok.get("added_tokens", [])})
    return by_text, max(by_text.values()) + 1


def special_ids(folder, config, arch):
    """pad, mask, bos and eos from the checkpoint's own files, with where each came from. The
    contract needs four different ids; these models often use one id for pad, bos and eos, so a
    role whose id is taken falls back to the next candidate the files name."""
    by_text, size = token_ids(folder)
    tcfg = read_json(os.path.join(folder, "tokenizer_config.json"))
    gen = read_json(os.path.join(folder, "generation_config.json"), required=False)
    for i, t in (tcfg.get("added_tokens_decoder") or {}).items():
        by_text.setdefault(t["content"], int(i))

    def from_tokenizer(role):
        text = tcfg.get(f"{role}_token")
        if isinstance(text, dict):
            text = text.get("content")
        return (by_text[text], f"tokenizer_config.json {role}_token {text!r}") if text in by_text else None

    def from_text(text):
        return [(by_text[text], f"tokenizer.json {text!r}")] if text in by_text else []

    def from_config(cfg, name, key):
        v = cfg.get(key)
        vals = v if isinstance(v, list) else [v]
        return [(int(x), f"{name} {key} {x}") for x in vals if isinstance(x, int)]

    candidates = {
        "mask": [from_config(config, "config.json", "mask_token_id"), [from_tokenizer("mask")],
                 from_config(gen, "generation_config.json", "mask_token_id"),
                 [(arch.default_mask_id, f"{arch.name}'s mask id")] if arch.default_mask_id is not None else []],
        # DreamOn fills a middle's surplus masks with its delete token (pad_delete_to_right: once
        # one is written every later mask is deleted too), which is what the contract's pad means.
        "pad": [from_config(gen, "generation_config.json", "delete_token_id"), from_text("<|delete|>"),
                [from_tokenizer("pad")], from_config(config, "config.json", "pad_token_id"),
                from_config(gen, "generation_config.json", "pad_token_id")],
        "eos": [[from_tokenizer("eos")], from_config(config, "config.json", "eos_token_id"),
                from_config(gen, "generation_config.json", "eos_token_id"),
                [(by_text[t], f"tokenizer.json {t!r}") for t in ("<|eot_id|>", "<|im_end|>", "<|end_of_text|>") if t in by_text]],
        "bos": [[from_tokenizer("bos")], from_config(config, "config.json", "bos_token_id"),
                from_config(gen, "generation_config.json", "bos_token_id"),
                [(by_text[t], f"tokenizer.json {t!r}") for t in ("<|beginoftext|>", "<|startoftext|>", "<|begin_of_text|>", "<|im_start|>") if t in by_text]],
    }
    ids, source = {}, {}
    for role in ("mask", "pad", "eos", "bos"):
        for group in candidates[role]:
            for c in group:
                if c and c[0] not in ids.values() and 0 <= c[0] < size:
                    ids[role], source[role] = c
                    break
            if role in ids:
                break
        if role not in ids:
            raise SystemExit(f"{folder}: no {role} token id in config.json, generation_config.json or tokenizer_config.json "
                             f"that differs from {ids} and lies below the tokenizer's {size} tokens")
    roles = list(ROLES)
    # DreamOn's <|expand|>: a mask that predicts it becomes two (the sampler's variable-length spans).
    expand = (from_config(gen, "generation_config.json", "expand_token_id") + from_text("<|expand|>"))[:1]
    if expand and expand[0][0] not in ids.values() and expand[0][0] < size:
        ids["expand"], source["expand"] = expand[0]
        roles.append("expand")
    return {r: ids[r] for r in roles}, {r: source[r] for r in roles}, size


def build_model(arch, state, out_vocab):
    """model.py's Denoiser with the checkpoint's weights, as nanoGPT's from_pretrained fills its
    GPT: every tensor placed by the architecture's table, every shape asserted, every parameter
    filled. The embedding (and head) keep their first out_vocab rows: the tokenizer's tokens."""
    rows = arch.model_config().vocab_size
    assert out_vocab <= rows, f"the tokenizer has {out_vocab} tokens but the embedding only {rows} rows"
    cfg = arch.model_config(out_vocab)
    model = Denoiser(cfg)
    params = model.state_dict()  # shares the parameters' storage: copying into it fills the model
    table = arch.table(cfg.n_layer)
    done = set()
    for src, t in state.items():
        if src.endswith(arch.ignored):
            continue
        assert src in table, f"checkpoint tensor {src} {tuple(t.shape)} has no place in the {arch.name} table"
        dst = table[src]
        name, part = (dst[:-3], dst[-2]) if dst.endswith("]") else (dst, None)
        if name == "head.weight" and cfg.tied:
            raise AssertionError(f"{src}: the config ties the embeddings, yet the checkpoint has an output head")
        assert name in params, f"{src}: the graph has no {name} (config.json says otherwise)"
        t = t.float()
        if name in ("embed.weight", "head.weight"):
            assert t.shape == (rows, cfg.d_model), f"{src}: shape {tuple(t.shape)}, config says {(rows, cfg.d_model)}"
            t = t[:out_vocab]
        target = params[name] if part is None else params[name][qkv_rows(cfg, part)]
        assert tuple(t.shape) == tuple(target.shape), f"{src}: shape {tuple(t.shape)}, the graph needs {tuple(target.shape)}"
        target.copy_(t)
        done.add(dst)
    places = [p for k in params for p in ([f"{k}[{x}]" for x in "qkv"] if ".attn.qkv." in k else [k])]
    missing = [k for k in places if k not in done]
    assert not missing, f"the checkpoint has no tensor for {missing[:5]}"
    return model.eval()


def qkv_rows(cfg, part):
    """The rows of a block's q/k/v projection that hold the queries ("q"), keys or values."""
    kv = cfg.n_kv_head * cfg.head_dim
    start, size = {"q": (0, cfg.d_model), "k": (cfg.d_model, kv), "v": (cfg.d_model + kv, kv)}[part]
    return slice(start, start + size)


def cache_record(cfg):
    """denoiser.json "cache": the keys' and values' shape, with the key-value heads, and Dream's shift."""
    cache = {"layers": cfg.n_layer, "heads": cfg.n_head, "kv_heads": cfg.n_kv_head, "head_dim": cfg.head_dim}
    if cfg.logit_shift:
        cache["logit_shift"] = 1
    return cache


def shape_record(cfg, rows):
    """denoiser.json's converted.shape (and the card's): the graph's shape, `rows` the
    checkpoint's embedding rows."""
    return dict(vocab=rows, d_model=cfg.d_model, n_layer=cfg.n_layer, n_head=cfg.n_head, n_kv_head=cfg.n_kv_head,
                head_dim=cfg.head_dim, ffn_hidden=cfg.ffn_hidden, rope_theta=cfg.rope_theta, norm_eps=cfg.norm_eps,
                qkv_bias=cfg.qkv_bias, tied=cfg.tied, shift=cfg.logit_shift, out_vocab=cfg.vocab_size)


# ---------------------------------------------------------------------------------------------
# Export, dtype, and the check
# ---------------------------------------------------------------------------------------------

def save_onnx(m, path):
    import onnx
    size = sum(len(i.raw_data) for i in m.graph.initializer)
    data = os.path.basename(path) + ".data"
    if os.path.exists(os.path.join(os.path.dirname(path), data)):
        os.remove(os.path.join(os.path.dirname(path), data))
    if size > EXTERNAL_DATA_BYTES:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    else:
        onnx.save_model(m, path)
    onnx.checker.check_model(path)


def to_int8(m, embed_name):
    """quantize.py's int8 MatMuls; an embedding that is not tied to the head (so quantize.py left
    it float) gets the same int8 lookup, one scale per vocabulary row."""
    from onnx import numpy_helper
    n = quantize_model(m)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    if embed_name in inits:
        q, scale = quantize_weight(numpy_helper.to_array(inits[embed_name]))
        added = [numpy_helper.from_array(q, embed_name + ".int8"), numpy_helper.from_array(scale, embed_name + ".scale")]
        replace_graph(g, [new for node in g.node for new in int8_lookup(node, {embed_name}, g, added)], added)
        n += 1
    return n


def to_fp16(m):
    """Weights stored float16 (half the disk and memory), computed float32: each float32
    initializer of 2+ dimensions becomes float16 with a Cast back in front of its users."""
    import onnx
    from onnx import helper, numpy_helper
    g = m.graph
    casts, n = [], 0
    for i in list(g.initializer):
        if i.data_type != onnx.TensorProto.FLOAT or len(i.dims) < 2:
            continue
        w = numpy_helper.to_array(i).astype(np.float16)
        half = numpy_helper.from_array(w, i.name + ".fp16")
        g.initializer.remove(i)
        g.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [i.name], name=i.name + "_cast", to=onnx.TensorProto.FLOAT))
        n += 1
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    return n


def run_onnx(path, feeds, outputs, threads=2):
    """The graph run once by onnxruntime-node (training/onnx-run.mjs): {output: np.ndarray}."""
    with tempfile.TemporaryDirectory() as tmp:
        req = {"model": os.path.abspath(path), "threads": threads, "outputs": outputs, "feeds": {}}
        for k, v in feeds.items():
            v = np.asarray(v)
            req["feeds"][k] = {"type": "int64" if v.dtype.kind == "i" else "float32", "dims": list(v.shape),
                               "data": v.reshape(-1).tolist()}
        with open(os.path.join(tmp, "req.json"), "w") as f:
            json.dump(req, f)
        out = os.path.join(tmp, "out.bin")
        r = subprocess.run(["node", os.path.join(HERE, "onnx-run.mjs"), os.path.join(tmp, "req.json"), out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"onnxruntime-node could not run {path}: {r.stderr.strip().splitlines()[-1:]}")
        dims = read_json(out + ".json")
        flat = np.fromfile(out, dtype=np.float32)
        res, at = {}, 0
        for name, d in zip(outputs, dims):
            size = int(np.prod(d))
            res[name] = flat[at:at + size].reshape(d)
            at += size
        return res


def check_ids(folder, special, context, size):
    """The check's canvas: the code sample tokenised with the checkpoint's tokenizer, a span of
    masks in its middle, bos first and eos last, at most `context` tokens."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    ids = tok.encode(CHECK_SAMPLE, add_special_tokens=False).ids[: max(8, min(context, 160) - 2)]
    ids = [i if i < size else special["pad"] for i in ids]
    mid = len(ids) // 2
    span = list(range(mid, min(mid + 8, len(ids))))
    for p in span:
        ids[p] = special["mask"]
    return torch.tensor([[special["bos"]] + ids + [special["eos"]]]), [p + 1 for p in span]


def compare(path, ref, ids, span, *, cfg):
    """The converted graph against the reference logits `ref` [1,n,V] on canvas `ids`:
    a plain call (every row) and a cached one (the span and the rows its logits are read from
    recomputed, every other token's keys and values from the plain call, not stale)."""
    n = ids.shape[1]
    empty = np.zeros((cfg.n_layer, cfg.n_kv_head, 0, cfg.head_dim), np.float32)
    full = run_onnx(path, {"input_ids": ids.numpy(), "token_positions": np.arange(n)[None], "past_keys": empty,
                           "past_values": empty, "positions": np.arange(n)[None]}, ["logits", "keys", "values"])
    r = ref[0].numpy()
    plain = full["logits"][0]
    active = sorted(set(span) | ({p - 1 for p in span if p > 0} if cfg.logit_shift else set()))
    rest = [p for p in range(n) if p not in active]
    cached = run_onnx(path, {"input_ids": ids[:, active].numpy(), "token_positions": np.array([active]),
                             "past_keys": full["keys"][:, :, rest], "past_values": full["values"][:, :, rest],
                             "positions": np.array([[active.index(p) for p in span]])}, ["logits"])["logits"][0]
    return {
        "max_abs_logit_diff": float(np.abs(plain - r).max()),
        "argmax_agreement": float((plain.argmax(-1) == r.argmax(-1)).mean()),
        "cached_max_abs_logit_diff": float(np.abs(cached - r[span]).max()),
        "cached_argmax_agreement": float((cached.argmax(-1) == r[span].argmax(-1)).mean()),
        "max_abs_logit": float(np.abs(r).max()),
        "positions": n,
    }


def fp32_tolerance(scale):
    return FP32_TOLERANCE * max(1.0, scale)


# ---------------------------------------------------------------------------------------------
# The folder
# ---------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="src", required=True, help="Hugging Face checkpoint folder")
    p.add_argument("--out", required=True, help="the model folder to write")
    p.add_argument("--dtype", choices=("int8", "fp16", "fp32"), default="int8")
    p.add_argument("--context", type=int, default=0, help="denoiser.json context_length (default: 512, at most the trained window)")
    p.add_argument("--arch", default="", help=f"one of {', '.join(ARCHITECTURES)} (default: from config.json architectures)")
    p.add_argument("--name", default="", help="default: the --out folder's name")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads for the check")
    return p.parse_args(argv)


def convert(a):
    """The model folder a.out from the checkpoint folder a.src, or nothing when the check fails."""
    src = a.src
    config, arch = read_config(src, a.arch)
    special, special_source, vocab = special_ids(src, config, arch)
    state = read_state(src)
    model = build_model(arch, state, vocab)
    cfg, params = model.cfg, model.num_params()
    trained = arch.context()
    context = a.context or min(512, trained)
    if context > trained:
        raise SystemExit(f"--context {context} exceeds the {trained}-token window of {src}/config.json")
    rows = arch.model_config().vocab_size
    print(f"{src}: {arch.name}, {params / 1e6:.1f} M parameters in the graph, {cfg.n_layer} layers x {cfg.d_model}, "
          f"{cfg.n_head} query / {cfg.n_kv_head} key-value heads, vocabulary {vocab} (checkpoint {rows}), "
          f"special {special}", flush=True)

    out = os.path.abspath(a.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".convert-", dir=os.path.dirname(out))
    try:
        fp32_path = export_fp32(model, work)
        del model  # a 7 B model's weights: free them before the reference is built
        ref_model = arch.reference(state)
        del state
        ids, span = check_ids(src, special, context, vocab)
        ref = reference_logits(ref_model, ids, cfg.logit_shift)[:, :, :vocab]
        del ref_model
        check = {"fp32": check_fp32(fp32_path, ref, ids, span, cfg=cfg, out=a.out)}
        final = fp32_path
        if a.dtype != "fp32":
            final, n = narrow_weights(fp32_path, os.path.join(work, a.dtype, "model.onnx"), a.dtype)
            check[a.dtype] = compare(final, ref, ids, span, cfg=cfg)
            c = check[a.dtype]
            print(f"check {a.dtype} ({n} weights): max |dlogit| {c['max_abs_logit_diff']:.2e}, argmax agreement "
                  f"{c['argmax_agreement']:.3f} (cached {c['cached_argmax_agreement']:.3f})", flush=True)
        info = {
            "contract": CONTRACT_VERSION,
            "name": a.name or os.path.basename(out),
            "inputs": CACHE_INPUTS,
            "outputs": CACHE_OUTPUTS,
            "cache": cache_record(cfg),
            "context_length": context,
            "trained_context_length": trained,
            "vocab_size": vocab,
            "special_tokens": special,
            "converted": {"from": os.path.abspath(src), "architecture": arch.name, "config_architectures": config.get("architectures"),
                          "dtype": a.dtype, "params": params, "shape": shape_record(cfg, rows),
                          "special_token_sources": special_source, "check": check, "licence": licence_of(src, arch)},
        }
        write_folder(os.path.join(work, "folder"), os.path.dirname(final), src, info)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.replace(os.path.join(work, "folder"), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
    print(f"wrote {a.out}: {size / 1e6:.1f} MB ({a.dtype})", flush=True)
    return info


def read_config(src, arch_name):
    """config.json and the architecture that converts it (--arch, else config.json's own name),
    once the tokenizer files are known to be there."""
    config = read_json(os.path.join(src, "config.json"))
    arch = pick_architecture(config, arch_name)
    arch.check_config()
    for f in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.exists(os.path.join(src, f)):
            raise SystemExit(f"{os.path.join(src, f)} is missing")
    return config, arch


def export_fp32(model, work):
    """The context cache's graph of `model` (export.py's), saved under work/fp32 by save_onnx;
    returns its path."""
    import onnx
    raw = os.path.join(work, "export", "model.onnx")
    os.makedirs(os.path.dirname(raw))
    export_onnx(model, raw, cache=True)
    m = onnx.load(raw)
    shutil.rmtree(os.path.dirname(raw))
    path = os.path.join(work, "fp32", "model.onnx")
    os.makedirs(os.path.dirname(path))
    save_onnx(m, path)
    return path


def check_fp32(path, ref, ids, span, *, cfg, out):
    """compare() of the fp32 graph; stops the conversion (nothing written to `out`) unless every
    logit is within the tolerance and every argmax agrees, plain and cached."""
    f = compare(path, ref, ids, span, cfg=cfg)
    tol = fp32_tolerance(f["max_abs_logit"])
    print(f"check fp32: max |dlogit| {f['max_abs_logit_diff']:.2e} (cached {f['cached_max_abs_logit_diff']:.2e}, "
          f"tolerance {tol:.1e}), argmax agreement {f['argmax_agreement']:.3f} (cached {f['cached_argmax_agreement']:.3f})", flush=True)
    if not (f["max_abs_logit_diff"] <= tol and f["cached_max_abs_logit_diff"] <= tol
            and f["argmax_agreement"] == 1.0 and f["cached_argmax_agreement"] == 1.0):
        raise SystemExit(f"the converted fp32 graph does not match transformers' forward (tolerance {tol:.1e}); "
                         f"{out} not written")
    return f


def narrow_weights(fp32_path, path, dtype):
    """The fp32 graph with int8 (to_int8) or fp16 (to_fp16) weights, saved at path; returns the
    path and how many weights changed."""
    import onnx
    os.makedirs(os.path.dirname(path))
    m = onnx.load(fp32_path)
    n = to_int8(m, "embed.weight") if dtype == "int8" else to_fp16(m)
    save_onnx(m, path)
    return path, n


def write_folder(folder, graph_dir, src, info):
    """The model folder: the graph's files (model.onnx, and model.onnx.data for a large model),
    the checkpoint's tokenizer files, denoiser.json and MODEL_CARD.md."""
    os.makedirs(folder)
    for name in os.listdir(graph_dir):
        shutil.move(os.path.join(graph_dir, name), os.path.join(folder, name))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, name), os.path.join(folder, name))
    with open(os.path.join(folder, "denoiser.json"), "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(folder, "MODEL_CARD.md"), "w") as fh:
        fh.write(model_card(info, src))


def licence_of(src, arch):
    """The licence the checkpoint's README front matter declares, else what this converter knows."""
    readme = os.path.join(src, "README.md")
    if os.path.exists(readme):
        with open(readme, errors="replace") as f:
            text = f.read(4000)
        if text.startswith("---"):
            for line in text.split("---")[1].splitlines():
                if line.strip().lower().startswith(("license:", "licence:")):
                    return line.split(":", 1)[1].strip() + " (the checkpoint's README.md)"
    return f"not stated in the checkpoint folder; usually {arch.licence_hint}: check the model's page"


def model_card(info, src):
    c = info["converted"]
    s = c["shape"]
    rows = []
    for dtype, f in c["check"].items():
        rows.append(f"| {dtype} | {f['max_abs_logit_diff']:.2e} | {100 * f['argmax_agreement']:.1f} % | "
                    f"{f['cached_max_abs_logit_diff']:.2e} | {100 * f['cached_argmax_agreement']:.1f} % |")
    return f"""# {info['name']}

Converted by `npm run model:convert -- --from {src} --out {info['name']} --dtype {c['dtype']}` (training/convert.py)
from a Hugging Face checkpoint of architecture **{c['architecture']}** ({', '.join(c['config_architectures'] or [])}).

- Source: `{c['from']}`
- Licence: {c['licence']}. The licence of the weights applies to this folder.
- {c['params'] / 1e6:.1f} M parameters: {s['n_layer']} layers x {s['d_model']}, {s['n_head']} query / {s['n_kv_head']} key-value heads,
  feed-forward {s['ffn_hidden']}, vocabulary {s['out_vocab']} (the checkpoint's embedding has {s['vocab']} rows); weights {c['dtype']}
- Attention bidirectional; {'logits of token i read at position i-1 (the shift, baked into the graph)' if s['shift'] else 'no logit shift'}
- Context: {info['context_length']} tokens (the checkpoint's window: {info['trained_context_length']})
- Special tokens: {', '.join(f"{r} {i} ({c['special_token_sources'][r]})" for r, i in info['special_tokens'].items())}

## Conversion check

The graph run by onnxruntime-node against transformers' own forward of the same weights
(attention bidirectional, the shift applied) on a {next(iter(c['check'].values()))['positions']}-token code sample with
a span of 8 masks: every position of a plain call, and the span in a cached call (the context's
keys and values from the plain call).

| weights | max abs logit diff | argmax agreement | cached: max abs diff | cached: argmax agreement |
|---|---|---|---|---|
{chr(10).join(rows)}
"""


def main(argv=None):
    a = parse_args(argv)
    torch.manual_seed(0)
    convert(a)


if __name__ == "__main__":
    main()
