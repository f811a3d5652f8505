"""Export a trained denoiser as a model folder (see docs/design.md, "The model contract").

    /usr/bin/python3 training/export.py --ckpt training/work/ckpt/last.pt \
        --tokenizer training/work/tokenizer --out models/diffuse-small [--reference ref.json]
    /usr/bin/python3 training/export.py --random-init --config n_layer=2,d_model=64 \
        --meta training/work/data/meta.json --out /tmp/tiny          # for tests

Writes OUT/model.onnx (input_ids int64 [batch, seq], positions int64 [batch, n] ->
logits float32 [batch, n, vocab], all axes dynamic; weights int8 unless --fp32, see quantize.py),
OUT/denoiser.json, the tokenizer files and OUT/training-curve.json (appended to, so the curve
survives runs chained across machines). MODEL_CARD.md is written by another script.
"""
import argparse
import inspect
import json
import os
import shutil
import sys
import warnings
from dataclasses import fields

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Denoiser, DenoiserConfig  # noqa: E402
from quantize import quantize_file  # noqa: E402
from train import CONFIG, torch_load  # noqa: E402

CONTRACT_VERSION = 1
ROLES = ("pad", "mask", "bos", "eos")
# denoiser.json's names for the plain graph and for the context cache's graph (--cache)
PLAIN_INPUTS = {"ids": "input_ids", "positions": "positions"}
CACHE_INPUTS = {"ids": "input_ids", "token_positions": "token_positions", "past_keys": "past_keys",
                "past_values": "past_values", "positions": "positions"}
CACHE_OUTPUTS = {"logits": "logits", "keys": "keys", "values": "values"}


def cache_shape(cfg):
    """denoiser.json "cache": the keys' and values' shape [layers, heads, tokens, head_dim]."""
    return {"layers": cfg.n_layer, "heads": cfg.n_head, "head_dim": cfg.d_model // cfg.n_head}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default="training/work/ckpt/last.pt")
    p.add_argument("--random-init", action="store_true", help="export an untrained model (tests)")
    p.add_argument("--config", default="", help="with --random-init: DenoiserConfig overrides, k=v,k=v")
    p.add_argument("--seed", type=int, default=0, help="with --random-init")
    p.add_argument("--tokenizer", default="", help="folder with tokenizer.json and tokenizer_config.json")
    p.add_argument("--meta", default="", help="data meta.json (special ids); default: the checkpoint's")
    p.add_argument("--log-dir", default="", help="folder with eval.jsonl/log.jsonl; default: the checkpoint's")
    p.add_argument("--out", default="", help="model folder, e.g. models/diffuse-small")
    p.add_argument("--name", default="", help="default: the name of the --out folder")
    p.add_argument("--context-length", type=int, default=0,
                   help="tokens the editor may send (denoiser.json); default and most: the training window")
    p.add_argument("--reference", default="", help="write PyTorch logits on random inputs here (JSON)")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default: int8, quantize.py)")
    p.add_argument("--cache", action="store_true", help="export the context cache's graph (model.forward_cached), "
                   "which also answers plain calls")
    p.add_argument("--compact", default="", help="instead of a model folder, write the checkpoint's weights as int8 "
                   "(what the int8 ONNX holds, about as small) to this file; --ckpt reads it back")
    return p.parse_args(argv)


def parse_overrides(text):
    kinds = {f.name: f.type for f in fields(DenoiserConfig)}
    out = {}
    for item in filter(None, text.split(",")):
        k, v = item.split("=", 1)
        kind = kinds[k.strip()]
        out[k.strip()] = (float if kind in (float, "float") else int)(v)
    return out


def special_ids_from_tokenizer(folder):
    """Special ids named by tokenizer_config.json (`pad_token`, ...) looked up in tokenizer.json."""
    with open(os.path.join(folder, "tokenizer.json")) as f:
        tok = json.load(f)
    with open(os.path.join(folder, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    by_text = dict(tok.get("model", {}).get("vocab", {}) or {})
    by_text.update({t["content"]: t["id"] for t in tok.get("added_tokens", [])})
    by_text.update({t["content"]: int(i) for i, t in cfg.get("added_tokens_decoder", {}).items()})
    ids = {}
    for role in ROLES:
        text = cfg.get(f"{role}_token")
        if isinstance(text, dict):
            text = text.get("content")
        if text is None:
            continue
        if text not in by_text:
            raise ValueError(f"{folder}/tokenizer_config.json: {role}_token {text!r} is not in tokenizer.json")
        ids[role] = by_text[text]
    return ids


def resolve_special_ids(tokenizer_dir, meta):
    """The tokenizer is what ships, so its ids win; the data's meta.json must agree with them."""
    from_tok = special_ids_from_tokenizer(tokenizer_dir) if tokenizer_dir else {}
    from_meta = (meta or {}).get("special", {})
    for role in set(from_tok) & set(from_meta):
        if from_tok[role] != from_meta[role]:
            raise ValueError(f"special token {role}: tokenizer says {from_tok[role]}, training data {from_meta[role]}")
    ids = {**from_meta, **from_tok}
    missing = [r for r in ROLES if r not in ids]
    if missing:
        raise ValueError(f"no id for special tokens {missing}: pass --tokenizer or --meta")
    return {r: int(ids[r]) for r in ROLES}


def export_onnx(model, path, cache=False):
    """The plain graph (input_ids, positions -> logits), or with `cache` the context cache's graph
    (model.forward_cached: input_ids, token_positions, past_keys, past_values, positions ->
    logits, keys, values; batch 1), which also serves every plain call (no past, positions
    0..n-1), so the folder holds the weights once."""
    if cache:
        c = model.cfg
        ids = torch.randint(4, c.vocab_size, (1, 6))
        past = torch.zeros(c.n_layer, c.n_kv_head, 4, c.head_dim)
        args = (ids, torch.tensor([[0, 2, 5, 7, 8, 9]]), past, past.clone(), torch.tensor([[1, 4]]))
        names = dict(input_names=list(CACHE_INPUTS.values()), output_names=list(CACHE_OUTPUTS.values()))
        axes = {"input_ids": {1: "n"}, "token_positions": {1: "n"}, "past_keys": {2: "m"}, "past_values": {2: "m"},
                "positions": {1: "r"}, "logits": {1: "r"}, "keys": {2: "n"}, "values": {2: "n"}}
    else:
        args = (torch.randint(4, model.cfg.vocab_size, (2, 16)), torch.tensor([[0, 3, 7, 15, 9], [1, 2, 4, 8, 12]]))
        names = dict(input_names=["input_ids", "positions"], output_names=["logits"])
        axes = {"input_ids": {0: "batch", 1: "seq"}, "positions": {0: "batch", 1: "n"}, "logits": {0: "batch", 1: "n"}}
    kwargs = dict(
        **names,
        dynamic_axes=axes,
        opset_version=17,
        do_constant_folding=False,  # folding would store a transposed copy of the tied embedding
        export_params=True,
    )
    params = inspect.signature(torch.onnx.export).parameters
    if "dynamo" in params:
        kwargs["dynamo"] = False  # torch >= 2.9 defaults to the dynamo exporter; keep the TorchScript one
    if "training" in params:
        # In eval mode the exporter merges initializers with equal values (e.g. RMSNorm gains that
        # are all ones), losing their names; in train mode it only merges shared tensors. The model
        # has no dropout or batch norm, so both modes compute the same function.
        kwargs["training"] = torch.onnx.TrainingMode.PRESERVE
    model.train()
    if cache:  # the exporter calls model(...): for this export that is forward_cached
        model.forward = model.forward_cached
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about Python floats that are constants here
            torch.onnx.export(model, args, path, **kwargs)
    finally:
        model.eval()
        model.__dict__.pop("forward", None)


def check_onnx(path, model):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    names = {i.name for i in m.graph.initializer}
    missing = [k for k in model.state_dict() if k not in names and k + ".int8" not in names]
    if missing:  # train.py --init-from relies on the parameter names
        raise RuntimeError(f"{path}: parameters not stored under their own names: {missing[:5]}")
    return os.path.getsize(path)


@torch.no_grad()
def write_reference(model, path, seed=0):
    """PyTorch fp32 logits on random inputs of two shapes, for the onnxruntime test in Node."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for batch, seq, n in ((1, 24, 3), (2, 40, 4)):
        ids = torch.randint(4, model.cfg.vocab_size, (batch, seq), generator=g)
        pos = torch.stack([torch.randperm(seq, generator=g)[:n] for _ in range(batch)])
        logits = model(ids, pos)
        cases.append(dict(input_ids=ids.tolist(), positions=pos.tolist(), shape=list(logits.shape),
                          logits=[float(x) for x in logits.reshape(-1).numpy()]))
    with open(path, "w") as f:
        json.dump({"note": "PyTorch fp32 logits of model.onnx's weights; compare with onnxruntime",
                   "cases": cases}, f)


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def update_curve(dest, log_dir, upto):
    """Append this run's evaluations (up to the exported checkpoint's tokens_seen) to the model
    folder's curve. Points of the destination at or after this run's first point are replaced, so a
    re-export of the same run does not duplicate them."""
    evals = read_jsonl(os.path.join(log_dir, "eval.jsonl")) if log_dir else []
    logs = read_jsonl(os.path.join(log_dir, "log.jsonl")) if log_dir else []
    new = []
    for e in evals:
        if e["tokens_seen"] > upto:
            continue
        while new and new[-1]["tokens_seen"] >= e["tokens_seen"]:
            new.pop()  # a run resumed from an older checkpoint re-did these tokens
        loss = e.get("train_loss")
        if loss is None:  # no steps since the previous evaluation: the latest logged loss
            earlier = [r["loss"] for r in logs if r["tokens_seen"] <= e["tokens_seen"]]
            loss = earlier[-1] if earlier else None
        new.append(dict(tokens_seen=e["tokens_seen"], masked_acc_15=e["masked_acc_15"],
                        masked_acc_50=e["masked_acc_50"], loss=loss,
                        heldout_loss_15=e["masked_loss_15"], heldout_loss_50=e["masked_loss_50"]))
    old = []
    if os.path.exists(dest):
        with open(dest) as f:
            old = json.load(f)
    if new:
        old = [p for p in old if p["tokens_seen"] < new[0]["tokens_seen"]]
    with open(dest, "w") as f:
        json.dump(old + new, f, indent=1)
    return len(old), len(new)


def compact_checkpoint(ck):
    """The checkpoint with its matrices int8 (quantize_weight: one scale per output row, exactly
    what the int8 ONNX stores) and without the optimiser: the fallback a GPU run returns when
    the ONNX export fails there (see device-train.sh). Exporting it gives the same int8 model."""
    from quantize import quantize_weight
    weights = {}
    for k, v in ck["model"].items():
        if v.dim() == 2:
            q, scale = quantize_weight(v.float().numpy())
            weights[k] = (torch.from_numpy(q), torch.from_numpy(scale))
        else:
            weights[k] = v.float()
    keep = ("model_config", "args", "meta", "step", "tokens_seen")
    return dict(model_int8=weights, **{k: ck[k] for k in keep if k in ck})


def state_from_compact(weights):
    """compact_checkpoint's weights back as a float32 state dict (w = (q * scale).T)."""
    state = {}
    for k, v in weights.items():
        if isinstance(v, tuple):
            q, scale = v
            state[k] = (q.float() * scale).T.contiguous()
        else:
            state[k] = v
    return state


def throughput(log_dir, upto):
    """Median tokens/s and MFU of the training log's records up to the exported checkpoint, for
    the model card (each record times its steps alone: compilation, checkpoints and evaluations
    are outside it)."""
    logs = [r for r in read_jsonl(os.path.join(log_dir, "log.jsonl")) if r["tokens_seen"] <= upto] if log_dir else []
    if not logs:
        return None

    def median(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2] if xs else None
    out = {"tokens_per_s": median([r["tokens_per_s"] for r in logs]), "records": len(logs)}
    mfu = median([r["mfu"] for r in logs if "mfu" in r])
    if mfu is not None:
        out["mfu"] = mfu
    if logs[-1].get("device"):
        out["device"] = logs[-1]["device"]
    return out


def main(argv=None):
    a = parse_args(argv)
    if a.compact:
        ck = torch_load(a.ckpt)
        torch.save(compact_checkpoint(ck), a.compact)
        print(f"compact int8 checkpoint {a.compact}: {os.path.getsize(a.compact) / 1e6:.1f} MB", flush=True)
        return
    if not a.out:
        raise SystemExit("export.py: --out (the model folder) is required")
    model, ck, log_dir = load_model(a)
    meta = ck.get("meta")
    if a.meta:
        with open(a.meta) as f:
            meta = json.load(f)
    special = resolve_special_ids(a.tokenizer, meta)

    os.makedirs(a.out, exist_ok=True)
    size = write_graph(model, a)
    info = folder_info(a, model, ck, meta, special=special, log_dir=log_dir)
    with open(os.path.join(a.out, "denoiser.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    if a.tokenizer:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(os.path.join(a.tokenizer, name), os.path.join(a.out, name))
    kept, added = update_curve(os.path.join(a.out, "training-curve.json"), log_dir, info["training"]["tokens_seen"])
    print(f"exported {a.out}: model.onnx {size / 1e6:.1f} MB, {model.num_params() / 1e6:.2f} M params, "
          f"{info['training']['tokens_seen'] / 1e6:.1f} M tokens; curve {kept} + {added} points", flush=True)


def load_model(a):
    """The model to export (fp32, eval mode): random (--random-init) or the checkpoint's, which
    may be a compact one. Returns it, the checkpoint ({} for a random one) and the folder of its
    training logs."""
    if a.random_init:
        torch.manual_seed(a.seed)
        model, ck, log_dir = Denoiser(DenoiserConfig(**parse_overrides(a.config))), {}, a.log_dir
    else:
        ck = torch_load(a.ckpt)
        model = Denoiser(DenoiserConfig(**ck["model_config"]))
        model.load_state_dict(state_from_compact(ck["model_int8"]) if "model_int8" in ck else ck["model"])
        log_dir = a.log_dir or os.path.dirname(a.ckpt)
    model.eval()  # fp32, no autocast: the graph's weights and arithmetic are float32
    return model, ck, log_dir


def write_graph(model, a):
    """OUT/model.onnx (int8 unless --fp32), checked, and the --reference logits; returns its size."""
    onnx_path = os.path.join(a.out, "model.onnx")
    export_onnx(model, onnx_path, cache=a.cache)
    if not a.fp32:
        quantize_file(onnx_path, onnx_path)
    size = check_onnx(onnx_path, model)
    if a.reference:
        write_reference(model, a.reference)
    return size


def folder_info(a, model, ck, meta, *, special, log_dir):
    """denoiser.json: the contract's names, context lengths and special ids, and what the training
    was (tokens, steps, config, options, data mix, throughput)."""
    cfg = model.cfg
    train_args = {k: v for k, v in ck.get("args", {}).items() if k not in ("data", "out", "init_from")}
    # The window the model was trained on is the longest input it is known to handle (RoPE runs on
    # at any length, but attention over positions never seen in training is not what was trained).
    trained = int(train_args.get("seq_len") or a.context_length or CONFIG["seq_len"])
    context_length = a.context_length or trained
    if context_length > trained:
        raise SystemExit(f"--context-length {context_length} exceeds the {trained}-token window the model was trained on")
    info = {
        "contract": CONTRACT_VERSION,
        "name": a.name or os.path.basename(os.path.normpath(a.out)),
        "inputs": CACHE_INPUTS if a.cache else PLAIN_INPUTS,
        "outputs": CACHE_OUTPUTS if a.cache else {"logits": "logits"},
        **({"cache": cache_shape(cfg)} if a.cache else {}),
        "context_length": context_length,
        "trained_context_length": trained,
        "vocab_size": cfg.vocab_size,
        "special_tokens": special,
        "training": {"tokens_seen": int(ck.get("tokens_seen", 0)), "steps": int(ck.get("step", 0)),
                     "params": model.num_params(), "config": cfg.as_dict(), "args": train_args},
    }
    if meta and meta.get("tokens"):  # the data it was trained on, for the card's data mix
        info["training"]["data"] = {"tokens": meta["tokens"]}
        by_lang = (meta.get("tokens_by_lang") or {}).get("train")
        if by_lang:
            info["training"]["data"]["train_tokens_by_lang"] = {k: v.get("tokens") for k, v in by_lang.items()}
    speed = throughput(log_dir, info["training"]["tokens_seen"])
    if speed:
        info["training"]["throughput"] = speed
    return info


if __name__ == "__main__":
    main()
