"""Train the Diffuse denoiser on token files (train.bin / heldout.bin / meta.json).

    /usr/bin/python3 training/train.py --max-minutes 60                  # CPU, bf16 autocast
    /usr/bin/python3 training/train.py --init-from models/diffuse-small/model.onnx --max-tokens 2e8
    python3 training/train.py --batch-size 256 --workers 12 ...          # one GPU: compiled, bf16
    torchrun --nproc-per-node 8 training/train.py --batch-size 64 ...     # DDP on GPUs

Every key of CONFIG below is a command-line option (--seq-len 512, --bos-first false).
A run resumes exactly from OUT/last.pt when it exists, so runs chain: constant LR after a
warm-up, with an optional linear cool-down (--cooldown-steps) before a run that ends in an export.

The objective (what a batch masks, where the loss is taken and with what weight) is in
objective.py.

Speed (GPU): bf16 autocast, torch.compile, fused attention (scaled_dot_product_attention), fused
AdamW, and fixed shapes: the loss positions of a batch are a fixed number of slots (loss_slots of
the batch's tokens; padding has weight 0, a rare surplus is subsampled without bias), so the
compiled graph never sees a new shape. Batches are built by DataLoader workers into pinned
memory, each from its own seed (seed, rank, batch index): a resumed run sees exactly the batches
the uninterrupted one would have. The log reports tokens/s and model FLOPs utilisation (MFU).
"""
import argparse
import inspect
import json
import math
import os
import random
import signal
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Denoiser, DenoiserConfig  # noqa: E402
from objective import make_batch  # noqa: E402
from step_profile import StepProfiler  # noqa: E402

# ----------------------------------------------------------------------------------------------
CONFIG = dict(
    # data and output
    data="training/work/data",   # train.bin, heldout.bin (uint16 token streams), meta.json
    out="training/work/ckpt",    # last.pt, log.jsonl, eval.jsonl
    init_from="",                # model.onnx of an exported model: start from its weights (no last.pt yet)
    seq_len=512,
    bos_first=False,             # true: row = [bos] + seq_len-1 stream tokens. Off: the token files already
                                 # put bos … eos around every file, as the canvas marks real file edges
    # model (ignored when resuming: the checkpoint's config wins)
    # 8 x 384 with a 16k vocabulary: 20.5 M parameters, 21 MB as int8 (export.py). Not 8 x 512
    # (34 M): ghost text must answer within 100 ms on 2 CPU cores, and a forward pass of 256 tokens
    # on 1 thread took 41 ms for 8 x 384 against 138 ms for 8 x 512 (random weights, int8, a busy
    # machine where the shipped 4 x 256 took 19 ms); it also trains on 1.7x the tokens per GPU second.
    n_layer=8, d_model=384, n_head=6, ffn_hidden=0, rope_theta=10000.0,
    # objective
    mdlm_frac=0.5,               # share of rows with plain MDLM masking; the rest get span infill
    editor_span_frac=0.5,        # share of infill rows whose spans start where the editor asks (editor_spans)
    editor_mid_frac=0.3,         # of those: mid-line, after a typed prefix of the line
    editor_block_frac=0.3,       # of those: a block of lines; the rest: the rest of one line after its indentation
    block_max_lines=12,
    eps=1e-3,                    # t ~ U(eps, 1): bounds the 1/t weight
    max_spans=3,
    free_span_frac=0.5,          # share of infill rows whose spans ignore line boundaries
    pad_surplus_max=48,          # surplus pad slots after a span reach up to len + this (see infill_row)
    frontier_frac=0.3,           # share of infill rows laid out as the sampler shows a span (frontier_row)
    frontier_window=16,          # the masks the sampler shows beyond a span's written text (DEFAULTS.blockLength
                                 # in src/core/defaults.ts; test/defaults.test.ts checks they agree)
    span_min_frac=0.05, span_max_frac=0.6,   # total span length as a share of the row
    sub_frac=0.1,                # share of rows that also get random substitutions (Refine signal)
    sub_rate_min=0.03, sub_rate_max=0.05,    # share of the visible tokens substituted
    sub_loss_weight=1.0,
    loss_slots=0.45,             # loss positions per batch, as a share of its tokens: one fixed shape
                                 # (compiled graphs, oneDNN's RSS creep); about 0.32 are used on average
    # optimisation
    batch_size=32,               # rows per optimiser step and process
    grad_accum=1,                # micro-batches per step (batch_size must divide evenly)
    lr=2e-3, warmup_steps=300, cooldown_steps=0,
    cooldown_frac=0.0,           # a cool-down over this share of the run's steps (when its end is known); wins over cooldown_steps
    weight_decay=0.1, beta1=0.9, beta2=0.95, grad_clip=1.0,
    # run control: -1 = no limit; 0 stops before the first step (checkpoint + eval of what was
    # loaded, e.g. to turn an exported model into last.pt). max_steps and max_tokens count across resumes.
    max_minutes=-1.0, max_tokens=-1, max_steps=-1,
    ckpt_minutes=5.0, eval_minutes=10.0, log_every=20,
    eval_windows=64, eval_seed=1234,
    seed=1337, threads=2,
    # speed
    workers=0,                   # DataLoader processes building batches (0: in the training process)
    compile="auto",              # torch.compile the model: auto = on CUDA when torch has it
    peak_tflops=0.0,             # the device's dense bf16 peak for MFU; 0 = known GPUs (H100/H200 989), else no MFU
    profile_steps=0,             # >0: profile this many steps from the 11th of the run and print where the time goes
                                 # (step_profile.py; the probe does, the training call does not)
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, default in CONFIG.items():
        if isinstance(default, bool):
            kind = lambda s: s.lower() in ("1", "true", "yes", "on")  # noqa: E731
        elif isinstance(default, int):
            kind = lambda s: int(float(s))  # noqa: E731  accepts 2e8
        else:
            kind = type(default)
        p.add_argument("--" + key.replace("_", "-"), type=kind, default=default)
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------- data
class TokenData:
    def __init__(self, folder):
        with open(os.path.join(folder, "meta.json")) as f:
            self.meta = json.load(f)
        self.vocab_size = self.meta["vocab_size"]
        sp = self.meta["special"]
        self.pad, self.mask, self.bos, self.eos = sp["pad"], sp["mask"], sp["bos"], sp["eos"]
        self.is_newline = np.zeros(self.vocab_size, dtype=bool)
        self.is_newline[self.meta["newline_token_ids"]] = True
        self.is_special = np.zeros(self.vocab_size, dtype=bool)
        self.is_special[list(sp.values())] = True
        self.ordinary = np.flatnonzero(~self.is_special)  # what a substitution may put in
        # Tokens of spaces/tabs only (indentation): editor spans start after them.
        self.is_space = np.zeros(self.vocab_size, dtype=bool)
        self.is_space[space_token_ids(folder, self.meta)] = True
        self.train = np.memmap(os.path.join(folder, "train.bin"), dtype="<u2", mode="r")
        self.heldout = np.memmap(os.path.join(folder, "heldout.bin"), dtype="<u2", mode="r")


def space_token_ids(folder, meta):
    """Ids of tokens made of spaces and tabs only: from meta.json (`indent_token_ids`, corpus v2)
    or else from the byte-level BPE vocabulary of a tokenizer.json in the data folder or its
    sibling tokenizer/ (space is 'Ġ', tab 'ĉ' there). None found: editor spans start at line
    starts instead (tokenizer v1 puts a line's indentation into its newline token anyway)."""
    if "indent_token_ids" in meta:
        return list(meta["indent_token_ids"])
    for candidate in (os.path.join(folder, "tokenizer.json"), os.path.join(folder, "..", "tokenizer", "tokenizer.json")):
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as f:
                vocab = json.load(f)["model"]["vocab"]
            return sorted(i for t, i in vocab.items() if t and set(t) <= {"\u0120", "\u0109"} and i < meta["vocab_size"])
    return []


def sample_windows(tokens, rng, n, length):
    starts = rng.integers(0, len(tokens) - length, size=n)
    return np.stack([tokens[s:s + length] for s in starts]).astype(np.int64)


# ---------------------------------------------------------------------------------------------- loss
class WeightedCrossEntropy(torch.autograd.Function):
    """sum_i weight_i * CE(logits_i, target_i), the same numbers as F.cross_entropy but about twice
    as fast on CPU: with an 8192-token vocabulary the elementwise work on the [M, V] logits (casts,
    log-softmax, the zero-filled one-hot gradient) costs more than the head's matmul. Here the
    backward turns the saved log-probabilities into the gradient in place."""

    @staticmethod
    def forward(ctx, logits, target, weight):
        logp = torch.log_softmax(logits.float(), dim=-1)
        ctx.logp, ctx.dtype = logp, logits.dtype
        ctx.save_for_backward(target, weight)
        return -(logp.gather(1, target[:, None]).squeeze(1) * weight).sum()

    @staticmethod
    def backward(ctx, grad_out):
        target, weight = ctx.saved_tensors
        grad = ctx.logp.exp_()  # softmax
        del ctx.logp
        grad.scatter_add_(1, target[:, None], torch.full_like(weight[:, None], -1.0))
        grad.mul_((weight * grad_out)[:, None])
        return grad.to(ctx.dtype), None, None


def weighted_cross_entropy(logits, target, weight):
    """The same sum as WeightedCrossEntropy in plain operations, for torch.compile on the GPU:
    the compiler fuses the float cast, log-softmax and gather (and their backward) into a few
    kernels, which the hand-written version cannot be (it is the faster one eager, on CPU)."""
    return (F.cross_entropy(logits.float(), target, reduction="none") * weight).sum()


# ---------------------------------------------------------------------------------------------- helpers
def load_onnx_weights(model, onnx_path):
    """Copy an exported model's initializers (named like the state dict) into `model`; int8
    weights (quantize.py) are read back to float, within half a quantisation step."""
    import onnx
    from quantize import dequantized_weights
    weights = dequantized_weights(onnx.load(onnx_path).graph.initializer)
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        raise ValueError(f"{onnx_path}: no initializer for {missing[:5]} ...")
    with torch.no_grad():
        for k, v in state.items():
            v.copy_(torch.from_numpy(weights[k]))


def torch_load(path):
    try:  # torch >= 2.6 defaults to weights_only=True, which refuses the RNG states
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:
        return torch.load(path, map_location="cpu")


@torch.no_grad()
def evaluate(model, data, a, device, autocast):
    """Masked-token loss and accuracy at mask rates 0.15 and 0.5 on a fixed held-out sample."""
    rng = np.random.default_rng(a.eval_seed)  # same windows and masks every time
    L = a.seq_len - (1 if a.bos_first else 0)
    windows = sample_windows(data.heldout, rng, a.eval_windows, L)
    if a.bos_first:
        windows = np.concatenate([np.full((len(windows), 1), data.bos), windows], axis=1)
    out = {}
    for rate in (0.15, 0.5):
        masked = rng.random(windows.shape) < rate
        if a.bos_first:
            masked[:, 0] = False
        loss_sum, correct, count = 0.0, 0, 0
        for i in range(0, len(windows), 16):
            w, m = windows[i:i + 16], masked[i:i + 16]
            ids = torch.from_numpy(np.where(m, data.mask, w)).to(device)
            flat = torch.from_numpy(np.flatnonzero(m)).to(device)
            target = torch.from_numpy(w.reshape(-1)).to(device)[flat]
            with autocast:
                logits = model(ids, flat_positions=flat)
            loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(-1) == target).sum().item()
            count += len(flat)
        pct = int(round(rate * 100))
        out[f"masked_loss_{pct}"] = loss_sum / max(count, 1)
        out[f"masked_acc_{pct}"] = correct / max(count, 1)
    return out


def append_jsonl(path, record):
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------------------------------------- batches
class Batches(torch.utils.data.Dataset):
    """Batch number i (of this process) is built from its own random stream (seed, rank, i), so
    any number of DataLoader workers give the same batches in the same order, and a run resumed
    at step k sees exactly what an uninterrupted run would have."""

    def __init__(self, data, a, rank, micro):
        self.data, self.a, self.rank, self.micro = data, a, rank, micro

    def __len__(self):
        return 2 ** 62

    def __getitem__(self, i):
        a = self.a
        rng = np.random.default_rng([a.seed, self.rank, int(i)])
        L = a.seq_len - (1 if a.bos_first else 0)
        windows = sample_windows(self.data.train, rng, self.micro, L + L // 2)
        b = make_batch(windows[:, :L], rng, a, self.data, spare=windows[:, L:])
        return {k: torch.from_numpy(v) for k, v in b.items()}


def batch_loader(data, a, rank, micro, first_index, *, pin):
    """Batches first_index, first_index + 1, ... built ahead by `workers` processes."""
    kwargs = dict(batch_size=None, sampler=range(first_index, 2 ** 62), num_workers=a.workers, pin_memory=pin)
    if a.workers > 0:
        kwargs.update(prefetch_factor=4, persistent_workers=True)
    return iter(torch.utils.data.DataLoader(Batches(data, a, rank, micro), **kwargs))


def peak_flops(a, device):
    """Dense bf16 peak of the device, for MFU (None: not reported). H100 and H200 SXM share the
    same tensor cores: 989 TFLOP/s by the datasheet (about 790 measured on an H200 here)."""
    if a.peak_tflops > 0:
        return a.peak_tflops * 1e12
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, tflops in (("H100", 989), ("H200", 989), ("A100", 312)):
            if key in name:
                return tflops * 1e12
    return None


def want_compile(a, device):
    if not hasattr(torch, "compile"):  # torch 1.x (Debian's): nothing to compile with
        return False
    if a.compile == "auto":
        return device.type == "cuda"
    return a.compile.lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------------------------------------- main
def main(argv=None):
    a = parse_args(argv)
    ddp, rank, world, device = init_process(a)
    assert a.batch_size % a.grad_accum == 0, "batch_size must be a multiple of grad_accum"

    data = TokenData(a.data)
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "last.pt")
    ck = torch_load(ckpt_path) if os.path.exists(ckpt_path) else None

    raw_model, cfg, run = build_model(a, data, ck, device)
    opt, fused = make_optimizer(raw_model, a, device)
    if ck is not None:
        resume(ck, opt, run)
    model, loss_fn, compiled = wrap_model(raw_model, a, device, ddp)
    t = Trainer(a=a, data=data, cfg=cfg, raw_model=raw_model, model=model, loss_fn=loss_fn, compiled=compiled,
                opt=opt, device=device, ddp=ddp, rank=rank, world=world, ckpt_path=ckpt_path)
    if t.master:
        print_setup(t, run, fused=fused, resumed=ck is not None)

    stop_signal, old_handlers = stop_on_signals()
    batches = batch_loader(data, a, rank, t.micro, run.step * a.grad_accum, pin=device.type == "cuda")
    run.start_time = time.time()
    if compiled and a.max_steps != run.step:
        t = warm_up_compiler(t, run)
    run.start_step, run.loop_start = run.step, time.time()
    train_until_stopped(t, run, batches, stop_signal)

    save_checkpoint(t, run)
    if run.last_eval_step != run.step:
        evaluate_and_log(t, run)
    for sig, h in old_handlers.items():
        signal.signal(sig, h)
    if t.master:
        reason = f"signal {stop_signal[0]}" if stop_signal else "limit reached"
        print(f"stopped ({reason}) at step {run.step}, {run.tokens_seen / 1e6:.2f} M tokens; checkpoint {ckpt_path}", flush=True)
    if ddp:
        # Every process waits for the others (process 0 still saves and evaluates) and lets go of
        # its DDP wrapper before the group goes: without both, a process sometimes hung in the
        # wrapper's teardown after the group was destroyed (gloo: 2 of 7 runs of the test; 0 of 22 after).
        dist.barrier()
        t.model = model = None
        dist.destroy_process_group()
    return dict(step=run.step, tokens_seen=run.tokens_seen, model=raw_model)


def train_until_stopped(t, run, batches, stop_signal):
    """Optimiser steps until a limit or a signal (in stop_signal), with a checkpoint and an
    evaluation whenever their clocks say so, and a log line every log_every steps. The log's
    clock starts here; checkpoint and evaluation clocks at run.start_time."""
    a = t.a
    tokens_per_step = a.batch_size * a.seq_len * t.world
    last_ckpt = last_eval = run.start_time
    window = LogWindow()
    # Steps 11.. : past the first steps' allocations and the loader's start.
    profiler = StepProfiler(a.profile_steps if t.master else 0, run.start_step + 10, t.device)
    t.model.train()
    while True:
        now = time.time()
        stop, want_ckpt, want_eval = agree(t.ddp, t.device, [
            bool(stop_signal) or limit_reached(a, run, now),
            now - last_ckpt >= a.ckpt_minutes * 60,
            now - last_eval >= a.eval_minutes * 60,
        ])
        if stop:
            break
        if want_ckpt or want_eval:
            paused = time.time()
            if want_ckpt:
                save_checkpoint(t, run)
                last_ckpt = time.time()
            if want_eval:
                evaluate_and_log(t, run)
                last_eval = time.time()
            window.start += time.time() - paused  # throughput counts training only

        lr = lr_at(a, run, tokens_per_step)
        profiler.before_step(run.step)
        window.profiled = window.profiled or profiler.active()
        step_loss = optimizer_step(t, batches, window, lr)
        profiler.after_step()
        run.step += 1
        run.tokens_seen += tokens_per_step
        window.losses.append(step_loss)  # a device tensor: read at the log, so steps queue without waiting
        window.tokens += tokens_per_step
        if run.step % a.log_every == 0 or stop_signal:
            log_window(t, window, run, lr)
            window = LogWindow()
    run.recent_losses += [float(x) for x in window.losses]


# ---------------------------------------------------------------------------------------------- main's steps
@dataclass
class RunState:
    """Where the run is: what a checkpoint keeps (step, tokens, where the optimiser state began)
    and, for this process, when and at which step it started and the losses since the last eval."""
    step: int = 0
    tokens_seen: int = 0
    opt_start_step: int = 0  # the warm-up restarts whenever the optimiser state is fresh
    start_step: int = 0
    start_time: float = 0.0
    loop_start: float = 0.0
    recent_losses: list = field(default_factory=list)
    last_eval_step: int = -1


@dataclass
class LogWindow:
    """What a log line reports: the steps since the previous line."""
    losses: list = field(default_factory=list)
    tokens: int = 0
    start: float = field(default_factory=time.time)
    flops: float = 0.0
    wait: float = 0.0  # seconds spent waiting for the loader
    profiled: bool = False


@dataclass
class Trainer:
    """What the steps of this process use and the run does not change: the options, the data, the
    model (raw_model: its parameters; model: what the steps run, DDP-wrapped and compiled when
    wanted) with its loss, the optimiser, the device and this process's place in the group."""
    a: argparse.Namespace
    data: "TokenData"
    cfg: DenoiserConfig
    raw_model: Denoiser
    model: torch.nn.Module
    loss_fn: object
    compiled: bool
    opt: torch.optim.Optimizer
    device: torch.device
    ddp: bool
    rank: int
    world: int
    ckpt_path: str

    @property
    def master(self):
        return self.rank == 0

    @property
    def micro(self):
        """Rows per micro-batch."""
        return self.a.batch_size // self.a.grad_accum

    @property
    def autocast(self):
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    @property
    def peak(self):
        return peak_flops(self.a, self.device)

    @property
    def device_name(self):
        return (f"{self.world} x {torch.cuda.get_device_name(self.device)}" if self.device.type == "cuda"
                else f"{self.world} x CPU, {self.a.threads} threads")

    def batch_flops(self, live):
        """Training FLOPs of one micro-batch; MFU counts the head only where a loss is taken
        (`live` positions, not the padded slots it also runs on)."""
        return self.raw_model.train_flops(self.micro * self.a.seq_len, self.a.seq_len, live)


def init_process(a):
    """The process group (under torchrun) and this process's device: (ddp, rank, world, device)."""
    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if ddp:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True  # the few float32 products (norms stay fp32 math)
        torch.backends.cudnn.allow_tf32 = True
    else:
        device = torch.device("cpu")
        torch.set_num_threads(a.threads)
    return ddp, rank, world, device


def build_model(a, data, ck, device):
    """The model from the checkpoint `ck`, from an exported model (init_from; it also says how far
    its training got), or fresh. Returns (model, config, run state)."""
    run = RunState()
    if ck is not None:
        cfg = DenoiserConfig(**ck["model_config"])
    elif a.init_from:
        with open(os.path.join(os.path.dirname(a.init_from), "denoiser.json")) as f:
            info = json.load(f)["training"]
        cfg = DenoiserConfig(**info["config"])
        run.step, run.tokens_seen = int(info.get("steps", 0)), int(info["tokens_seen"])
    else:
        cfg = DenoiserConfig(vocab_size=data.vocab_size, n_layer=a.n_layer, d_model=a.d_model,
                             n_head=a.n_head, ffn_hidden=a.ffn_hidden, rope_theta=a.rope_theta)
    assert cfg.vocab_size == data.vocab_size, f"model vocab {cfg.vocab_size} != data vocab {data.vocab_size}"
    run.opt_start_step = run.step
    torch.manual_seed(a.seed)
    model = Denoiser(cfg)
    if ck is not None:
        model.load_state_dict(ck["model"])
    elif a.init_from:
        load_onnx_weights(model, a.init_from)
    model.to(device)
    return model, cfg, run


def make_optimizer(model, a, device):
    """AdamW, fused on CUDA, with weight decay on matrices only (not on the RMSNorm gains).
    Returns (optimizer, fused)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": a.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    fused = device.type == "cuda" and "fused" in inspect.signature(torch.optim.AdamW).parameters
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(a.beta1, a.beta2), **({"fused": True} if fused else {}))
    return opt, fused


def resume(ck, opt, run):
    """Continue where the checkpoint stopped: its step, optimiser state and random streams."""
    run.step, run.tokens_seen = ck["step"], ck["tokens_seen"]
    if "optimizer" in ck:
        opt.load_state_dict(ck["optimizer"])
        run.opt_start_step = ck["opt_start_step"]
    else:
        run.opt_start_step = run.step
    torch.set_rng_state(ck["rng"]["torch"])
    np.random.set_state(ck["rng"]["numpy"])
    random.setstate(ck["rng"]["python"])


def ddp_wrap(model, device):
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def wrap_model(raw_model, a, device, ddp):
    """The module the steps run (DDP, compiled when wanted) and its loss: (model, loss_fn, compiled)."""
    model = ddp_wrap(raw_model, device) if ddp else raw_model
    compiled = want_compile(a, device)
    loss_fn = WeightedCrossEntropy.apply
    if compiled:
        model = torch.compile(model)
        loss_fn = torch.compile(weighted_cross_entropy)
    return model, loss_fn, compiled


def stop_on_signals():
    """SIGTERM and SIGINT stop the run after the current step, with a checkpoint. Returns the list
    the signals land in and the handlers to put back."""
    stop_signal, old_handlers = [], {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            old_handlers[sig] = signal.signal(sig, lambda s, f: stop_signal.append(s))
        except ValueError:  # not the main thread
            pass
    return stop_signal, old_handlers


def one_batch(data, a, rank, micro, index):
    """Batch `index` of this process, built here (the one the loader will also give)."""
    return next(iter(torch.utils.data.DataLoader(Batches(data, a, rank, micro), batch_size=None, sampler=[index])))


def forward_backward(model, loss_fn, b, *, device, autocast, grad_accum, no_sync):
    """One micro-batch: its loss (a share of the step's) and its gradients, summed into the
    parameters' (no_sync: without DDP's all-reduce, left for the step's last micro-batch)."""
    ids, pos, tgt, w = (b[k].to(device, non_blocking=True) for k in ("input_ids", "positions", "targets", "weights"))
    with (model.no_sync() if no_sync else nullcontext()):
        with autocast:
            logits = model(ids, flat_positions=pos)
        loss = loss_fn(logits, tgt, w) / grad_accum
        loss.backward()
    return loss.detach()


def print_setup(t, run, *, fused, resumed):
    d = t.device
    print(f"model {t.raw_model.num_params() / 1e6:.2f} M params {t.cfg.as_dict()}; device {d}"
          f"{' ' + torch.cuda.get_device_name(d) if d.type == 'cuda' else ''}, world {t.world}; "
          f"{'compiled' if t.compiled else 'eager'}, {'fused AdamW' if fused else 'AdamW'}, {t.a.workers} loader workers; "
          f"{t.batch_flops(0.32 * t.micro * t.a.seq_len) / (t.micro * t.a.seq_len) / 1e6:.0f} MFLOP per token; "
          f"{'resuming' if resumed else 'init from ' + t.a.init_from if t.a.init_from else 'fresh'} "
          f"at step {run.step}, {run.tokens_seen:,} tokens", flush=True)


def warm_up_compiler(t, run):
    """Compiles the model before the clock of the logs starts, on the batch the run starts with
    (its gradients are dropped; no random stream moves). When the compiler fails, the run trains
    eager: returns the Trainer to go on with."""
    t0 = time.time()
    try:
        micro_batch(t, one_batch(t.data, t.a, t.rank, t.micro, run.step * t.a.grad_accum), LogWindow(), last=True)
        torch.cuda.synchronize(t.device) if t.device.type == "cuda" else None
    except Exception as e:  # noqa: BLE001  any compiler failure: train uncompiled
        if t.master:
            print(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); training eager", flush=True)
        t = replace(t, model=ddp_wrap(t.raw_model, t.device) if t.ddp else t.raw_model, compiled=False,
                    loss_fn=WeightedCrossEntropy.apply)
    else:
        if t.master:
            print(f"compiled in {time.time() - t0:.0f} s", flush=True)
    t.opt.zero_grad(set_to_none=True)  # the warm-up's gradients
    return t


def next_batch(batches, window):
    """The next batch, counting the time spent waiting for the loader (a GPU kept waiting shows
    here as a large share of the log window)."""
    start = time.time()
    b = next(batches)
    window.wait += time.time() - start
    return b


def micro_batch(t, b, window, *, last):
    """forward_backward on the batch b, its FLOPs counted in the log window; `last`: the step's
    last micro-batch (the one whose backward DDP all-reduces)."""
    window.flops += t.batch_flops(int(b["live"])) * t.world
    return forward_backward(t.model, t.loss_fn, b, device=t.device, autocast=t.autocast, grad_accum=t.a.grad_accum,
                            no_sync=t.ddp and not last)


def optimizer_step(t, batches, window, lr):
    """One optimiser step at learning rate lr over grad_accum micro-batches from `batches`;
    returns the step's loss as a device tensor."""
    for g in t.opt.param_groups:
        g["lr"] = lr
    step_loss = 0.0
    for m in range(t.a.grad_accum):
        step_loss = step_loss + micro_batch(t, next_batch(batches, window), window, last=m == t.a.grad_accum - 1)
    torch.nn.utils.clip_grad_norm_(t.model.parameters(), t.a.grad_clip)
    t.opt.step()
    t.opt.zero_grad(set_to_none=True)
    return step_loss


def agree(ddp, device, flags):
    """The flags as every process sees them (any process's true wins): checkpointing and
    stopping involve collectives, so all ranks must take them at the same step."""
    if not ddp:
        return flags
    f = torch.tensor([float(x) for x in flags], device=device)
    dist.all_reduce(f, op=dist.ReduceOp.MAX)
    return [bool(x) for x in f.tolist()]


def limit_reached(a, run, now):
    return ((a.max_steps >= 0 and run.step >= a.max_steps)
            or (a.max_tokens >= 0 and run.tokens_seen >= a.max_tokens)
            or (a.max_minutes >= 0 and now - run.start_time >= a.max_minutes * 60))


def planned_end_step(a, run, tokens_per_step):
    """The step this run will end at, if known (for the cool-down)."""
    ends = []
    if a.max_steps >= 0:
        ends.append(a.max_steps)
    if a.max_tokens >= 0:
        ends.append(run.step + max(0, math.ceil((a.max_tokens - run.tokens_seen) / tokens_per_step)))
    if a.max_minutes >= 0 and run.step > run.start_step:
        left = a.max_minutes * 60 - (time.time() - run.start_time)
        ends.append(run.step + int(left / ((time.time() - run.loop_start) / (run.step - run.start_step))))
    return min(ends) if ends else None


def lr_at(a, run, tokens_per_step):
    """Linear warm-up from the optimiser's start, then constant, with a linear cool-down to 10 %
    over the run's last cooldown_steps (or cooldown_frac of its steps) when its end is known."""
    warm = min(1.0, (run.step - run.opt_start_step + 1) / a.warmup_steps) if a.warmup_steps else 1.0
    cool = 1.0
    end = planned_end_step(a, run, tokens_per_step) if a.cooldown_steps or a.cooldown_frac else None
    if end is not None:
        length = max(1, int(a.cooldown_frac * (end - run.start_step))) if a.cooldown_frac else a.cooldown_steps
        into = run.step + 1 - (end - length)  # reaches 10% at the run's last step
        if into > 0:
            cool = 1.0 - 0.9 * min(1.0, into / length)
    return a.lr * warm * cool


def log_window(t, window, run, lr):
    """Reads the window's losses (waiting for its queued steps), adds them to the run's recent
    losses and (process 0) prints its log line and appends it to log.jsonl."""
    peak = t.peak
    losses = [float(x) for x in window.losses]
    run.recent_losses += losses
    elapsed = time.time() - window.start
    rec = dict(step=run.step, tokens_seen=run.tokens_seen, loss=float(np.mean(losses)), lr=lr,
               tokens_per_s=window.tokens / elapsed, loader_wait=window.wait / elapsed, time=time.time())
    if window.profiled:
        rec["profiled"] = True  # the profiler's overhead is in this window's speed
    if peak:
        rec["mfu"] = window.flops / elapsed / (peak * t.world)
    rec["device"] = t.device_name
    if t.master:
        append_jsonl(os.path.join(t.a.out, "log.jsonl"), rec)
        print(f"step {run.step} tokens {run.tokens_seen / 1e6:.2f}M loss {rec['loss']:.4f} lr {lr:.2e} "
              f"{rec['tokens_per_s']:.0f} tok/s" + (f" MFU {100 * rec['mfu']:.1f} %" if peak else "")
              + f" loader wait {100 * rec['loader_wait']:.0f} %" + (" (profiled)" if window.profiled else ""), flush=True)


def save_checkpoint(t, run):
    """Process 0 writes last.pt: the weights, the optimiser, where the run is and its random streams."""
    if not t.master:
        return
    obj = dict(model=t.raw_model.state_dict(), optimizer=t.opt.state_dict(), model_config=t.cfg.as_dict(),
               args=vars(t.a), meta=t.data.meta, step=run.step, tokens_seen=run.tokens_seen,
               opt_start_step=run.opt_start_step,
               rng=dict(torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate()))
    tmp = t.ckpt_path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, t.ckpt_path)  # atomic: a kill mid-write never leaves a broken last.pt


def evaluate_and_log(t, run):
    """Process 0: the held-out evaluation, appended to eval.jsonl with the mean training loss
    since the last. Every process: that loss starts again from here."""
    if t.master:
        t.raw_model.eval()
        r = evaluate(t.raw_model, t.data, t.a, t.device, t.autocast)
        t.raw_model.train()
        r = dict(step=run.step, tokens_seen=run.tokens_seen, **r,
                 train_loss=float(np.mean(run.recent_losses)) if run.recent_losses else None, time=time.time())
        append_jsonl(os.path.join(t.a.out, "eval.jsonl"), r)
        print("eval " + " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in r.items() if k != "time"), flush=True)
    run.last_eval_step, run.recent_losses = run.step, []


if __name__ == "__main__":
    main()
