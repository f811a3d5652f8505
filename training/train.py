"""Train the Diffuse denoiser on token files (train.bin / heldout.bin / meta.json).

    /usr/bin/python3 training/train.py --max-minutes 60                  # CPU, bf16 autocast
    /usr/bin/python3 training/train.py --init-from models/diffuse-small/model.onnx --max-tokens 2e8
    python3 training/train.py --batch-size 256 --workers 12 ...          # one GPU: compiled, bf16
    torchrun --nproc-per-node 8 training/train.py --batch-size 64 ...     # DDP on GPUs

Every key of CONFIG below is a command-line option (--seq-len 512, --bos-first false).
A run resumes exactly from OUT/last.pt when it exists, so runs chain: constant LR after a
warm-up, with an optional linear cool-down (--cooldown-steps) before a run that ends in an export.

The objective mixes, per row of the batch:
  (a) plain MDLM: mask each token with probability t ~ U(eps,1), cross-entropy on the masked
      tokens weighted 1/t (the ELBO of masked diffusion);
  (b) variable-length infill: 1-3 line-aligned spans, each followed by surplus `pad` slots, masked
      with probability t inside the span regions only; the model learns to end a span with pads.
      A share of these rows instead gets 1-2 spans where the editor puts them (editor_spans): the
      rest of a line after its indentation, the rest of a line after a typed prefix, or a block
      of lines starting after the first line's indentation. Another share (frontier_row) shows one
      span as the sampler does while it writes: the answer's first tokens written, a window of
      masks (answer's end, then pads), the suffix; so the model learns where a span ends from
      the code rather than from how many masks it is shown;
  (c) on some rows, a few visible tokens replaced by random ones, with loss on those and on as many
      unchanged visible tokens, so the logits at a visible position say "this token is right" (Refine).
All loss terms are normalised by the number of tokens in the batch (B*S), as in MDLM.

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
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Denoiser, DenoiserConfig  # noqa: E402
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


# ---------------------------------------------------------------------------------------------- objective
def stratified_t(rng, n, eps):
    """n mask rates covering U(eps,1) evenly (one random offset): lower loss variance than iid."""
    u = (rng.random() + np.arange(n) / max(n, 1)) % 1.0
    return eps + (1.0 - eps) * u


def line_spans(body, is_newline, rng, a):
    """1..max_spans non-overlapping, non-touching spans [s, e) that start at a line start (the row
    start or right after a newline token) and end right after a newline token (or, on a share
    free_span_frac of rows, start and end at any token); their total is
    about U(span_min_frac, span_max_frac) of the row and never above span_max_frac."""
    L = len(body)
    if rng.random() < a.free_span_frac:
        # Cursor-like spans start and end anywhere (ghost text ends before the line's newline,
        # a fill sits mid-line), so the model also learns pads that are not after a newline.
        starts, ends = np.arange(L), np.arange(1, L + 1)
    else:
        nl = is_newline[body]
        starts = np.flatnonzero(np.concatenate([[True], nl[:-1]]))
        ends = np.flatnonzero(nl) + 1
    if len(ends) == 0:
        return []
    k = int(rng.integers(1, a.max_spans + 1))
    each = rng.uniform(a.span_min_frac, a.span_max_frac) * L / k
    budget = int(a.span_max_frac * L)
    spans = []
    for _ in range(k):
        for _attempt in range(8):
            s = int(starts[rng.integers(len(starts))])
            used = sum(e - b for b, e in spans)
            cand = ends[(ends > s) & (ends <= s + budget - used)]
            if len(cand) == 0:
                continue
            e = int(cand[np.argmin(np.abs(cand - s - each))])
            if all(e < s2 or s > e2 for s2, e2 in spans):
                spans.append((s, e))
                break
    return sorted(spans)


def line_table(body, is_newline, is_space):
    """The complete lines of a row (those after its first newline that end with a newline
    token) as int arrays: start (after the newline), content start (after the indentation), end
    (after the line's newline token). The row's first line may be cut, so it is left out."""
    nl = np.flatnonzero(is_newline[body])
    if len(nl) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts, ends = nl[:-1] + 1, nl[1:] + 1
    content = starts.copy()
    space = is_space[body]
    for j in range(len(starts)):
        c = starts[j]
        while c < ends[j] - 1 and space[c]:
            c += 1
        content[j] = c
    return starts, content, ends


def editor_spans(body, is_newline, is_space, rng, a):
    """1-2 spans (s, e, kind) where an editor asks for text, non-overlapping and apart:
    'line': the rest of a line after its indentation (the indentation stays in the prefix), up to
            and with its newline (the engine takes the newline after a cursor into the span);
    'mid':  the rest of a line after a typed prefix (a random point after the first content
            token); a quarter of them end before the newline (text after the cursor stays);
    'block': from after a line's indentation to the end of 2..block_max_lines lines.
    Total length at most span_max_frac of the row."""
    L = len(body)
    _, content, ends = line_table(body, is_newline, is_space)
    has_text = np.flatnonzero(ends - 1 > content)
    if len(has_text) == 0:
        return []
    budget = int(a.span_max_frac * L)
    spans = []
    for _ in range(1 if rng.random() < 0.75 else 2):
        for _attempt in range(8):
            j = int(has_text[rng.integers(len(has_text))])
            c, e = int(content[j]), int(ends[j])
            u = rng.random()
            if u < a.editor_mid_frac:
                if e - 1 - c < 2:
                    continue
                kind, s = "mid", int(rng.integers(c + 1, e - 1))
                if rng.random() < 0.25:
                    e = int(rng.integers(s + 1, e))  # ends before the newline
            elif u < a.editor_mid_frac + a.editor_block_frac:
                last = min(len(ends) - 1, j + int(rng.integers(1, a.block_max_lines)))
                kind, s, e = "block", c, int(ends[last])
            else:
                kind, s = "line", c
            used = sum(e2 - s2 for s2, e2, _ in spans)
            if e - s > budget - used or not all(e < s2 or s > e2 for s2, e2, _ in spans):
                continue
            spans.append((s, e, kind))
            break
    return sorted(spans)


def infill_row(body, spans, rng, pad, *, surplus_max=0, wide_share=0.5):
    """Insert after each span a random number of surplus pad slots, then cut the row back to its
    length. Half the spans (wide_share) get 0 .. len+surplus_max pads (ghost text and fills give
    a short answer many slots: 24 for a completion, 48 for a fill), the others 0 .. len/2+4
    (refine-like slack). Returns the target row, a bool mask of the span regions (true tokens
    and pads) and the regions as (start, true_end, end) in row coordinates, clipped to the row."""
    L = len(body)
    pieces, regions, prev, at = [], [], 0, 0
    for s, e in spans:
        wide = surplus_max > 0 and rng.random() < wide_share
        n_pad = int(rng.integers(0, (e - s) + surplus_max + 1)) if wide else int(rng.integers(0, (e - s) // 2 + 4 + 1))
        pieces += [body[prev:s], body[s:e], np.full(n_pad, pad, dtype=body.dtype)]
        at += s - prev
        regions.append((at, at + e - s, at + e - s + n_pad))
        at += e - s + n_pad
        prev = e
    pieces.append(body[prev:])
    row = np.concatenate(pieces)[:L]
    regions = [(min(s, L), min(t, L), min(e, L)) for s, t, e in regions if s < L]
    region = np.zeros(L, dtype=bool)
    for s, _, e in regions:
        region[s:e] = True
    return row, region, regions


def frontier_row(body, s, e, rng, *, pad, window, is_newline, spare=None):
    """The span [s, e) as the sampler shows it while it writes a variable-length span: the
    answer's first c tokens written (visible), then a window of masks, then the suffix. The
    sampler hides the span's slots beyond the window, so the model must judge from the code, not
    from the number of masks, whether the answer goes on; with plain surplus spans it learnt the
    number of masks instead (model v2, HumanEval lines: 16 masks after a complete line, pad at
    0.03; 4 masks after a line that needs more, pad at 0.83).
    Half the windows are the sampler's width, the rest 1..2x it. Mostly the window covers the
    answer's end, with c the answer's end (a complete answer: only pads are right), a line end or
    any token: its targets are the answer's last tokens, then pads. On a quarter of the rows whose
    answer is longer than the window, it goes on past the window: the window is all answer, the
    rest of the answer is hidden (the row then takes `spare`, the stream's next tokens, to keep
    its length). Returns the row and the window as (start, true_end, end), cut to the body's length."""
    L, n = len(body), e - s
    w = window if rng.random() < 0.5 else int(rng.integers(1, 2 * window + 1))
    goes_on = spare is not None and w < n <= w + len(spare) and rng.random() < 0.25
    lo, hi = (0, n - w) if goes_on else (max(0, n - w), n)
    ends = lo + np.flatnonzero(is_newline[body[s + lo:s + hi]]) + 1  # line ends c in (lo, hi]
    u = rng.random()
    if u < 0.35 and not goes_on:
        c = n
    elif u < 0.7 and len(ends):
        c = int(ends[rng.integers(len(ends))])
    else:
        c = int(rng.integers(lo, hi + 1))
    if goes_on:
        c = min(c, n - w - 1)  # at least one answer token stays hidden
        row, in_window = np.concatenate([body[:s + c + w], body[e:], spare[:n - c - w]]), w
    else:
        tail = body[s + c:e]
        row, in_window = np.concatenate([body[:s + c], tail, np.full(w - len(tail), pad, dtype=body.dtype), body[e:]]), len(tail)
    at = s + c
    return row[:L], (min(at, L), min(at + in_window, L), min(at + w, L))


def loss_slot_count(a, B, S):
    """Loss positions per micro-batch: a fixed number (a multiple of 64), so shapes never change."""
    return max(64, int(math.ceil(a.loss_slots * B * S / 64)) * 64)


def make_batch(windows, rng, a, data, spare=None):
    """windows [B, L] stream tokens -> model inputs and the flat list of loss positions; spare
    [B, X]: the stream's tokens after each window (frontier rows whose answer goes on use them).
    Returns input_ids [B,S], flat positions/targets/weights [M], M = loss_slot_count (fixed)."""
    B, L = windows.shape
    S = L + (1 if a.bos_first else 0)
    n_mdlm = int(round(B * a.mdlm_frac))
    t_rows = np.concatenate([stratified_t(rng, n_mdlm, a.eps), stratified_t(rng, B - n_mdlm, a.eps)])
    ids = np.empty((B, S), dtype=np.int64)
    pos, tgt, wts = [], [], []
    norm = 1.0 / (B * S)  # MDLM: sum over the batch, divided by its number of tokens
    for r in range(B):
        row, region = row_layout(windows[r], r >= n_mdlm, rng, a, data, spare=None if spare is None else spare[r])
        if a.bos_first:  # the bos slot is context, never a target
            row = np.concatenate([[data.bos], row])
            region = np.concatenate([[False], region])
        t = t_rows[r]
        masked = region & (rng.random(S) < t)
        inp = np.where(masked, data.mask, row)
        idx = np.flatnonzero(masked)
        pos.append(r * S + idx)
        tgt.append(row[idx])
        wts.append(np.full(len(idx), norm / t))
        if rng.random() < a.sub_frac:
            chosen = substitute(inp, masked, rng, a, data)
            if chosen is not None:
                pos.append(r * S + chosen)
                tgt.append(row[chosen])  # the original token, both where swapped and where kept
                wts.append(np.full(len(chosen), a.sub_loss_weight * norm))
        ids[r] = inp
    return fixed_loss_slots(ids, np.concatenate(pos), np.concatenate(tgt), np.concatenate(wts), rng, M=loss_slot_count(a, B, S))


def row_layout(body, infill, rng, a, data, *, spare):
    """A row's target tokens and the region where its masks may fall: the whole row (an MDLM row,
    or an infill row without a place for a span), its spans with surplus pads (infill_row), or
    one span as the sampler shows it while it writes (frontier_row)."""
    spans, wide = infill_spans(body, rng, a, data) if infill else ([], 0.5)
    if spans and rng.random() < a.frontier_frac:
        s, e = spans[int(rng.integers(len(spans)))]
        row, (w0, _, w1) = frontier_row(body, s, e, rng, pad=data.pad, window=a.frontier_window,
                                        is_newline=data.is_newline, spare=spare)
        region = np.zeros(len(body), dtype=bool)
        region[w0:w1] = True
        return row, region
    if spans:
        row, region, _ = infill_row(body, spans, rng, data.pad, surplus_max=a.pad_surplus_max, wide_share=wide)
        return row, region
    return body, np.ones(len(body), dtype=bool)


def infill_spans(body, rng, a, data):
    """An infill row's spans and the share of them that get wide pad surpluses (infill_row): on
    editor_span_frac of the rows where the editor asks (editor_spans; ghost text and fills give a
    short answer many slots, hence 0.8), else, or when the row has no such place, line_spans."""
    editor = rng.random() < a.editor_span_frac
    spans = [(s, e) for s, e, _ in editor_spans(body, data.is_newline, data.is_space, rng, a)] if editor else []
    return spans or line_spans(body, data.is_newline, rng, a), 0.8 if editor else 0.5


def substitute(inp, masked, rng, a, data):
    """The Refine signal: n visible tokens of the row `inp` replaced (in place) by random ordinary
    ones, never by the token they had, and n others left as they are. Returns both sets (the loss
    is taken on each, with the original token as target), or None when the row has too few
    visible tokens."""
    visible = np.flatnonzero(~masked & ~data.is_special[inp])
    n = max(1, int(round(rng.uniform(a.sub_rate_min, a.sub_rate_max) * len(visible))))
    if len(visible) < 2 * n:
        return None
    chosen = rng.choice(visible, 2 * n, replace=False)
    swap = chosen[:n]
    k = rng.integers(len(data.ordinary), size=n)
    new = data.ordinary[k]
    same = new == inp[swap]  # a substitution must change the token
    new[same] = data.ordinary[(k[same] + 1) % len(data.ordinary)]
    inp[swap] = new
    return chosen


def fixed_loss_slots(ids, pos, tgt, wts, rng, *, M):
    """The batch with exactly M loss positions, so the compiled graph sees one shape: a rare
    surplus is a uniform subsample, weights scaled so the loss's expectation is unchanged; the
    slots left over are dummy positions (row 0, slot 0) with weight 0."""
    if len(pos) > M:
        keep = np.sort(rng.choice(len(pos), M, replace=False))
        pos, tgt, wts = pos[keep], tgt[keep], wts[keep] * (len(wts) / M)
    extra = M - len(pos)
    return dict(
        live=np.array(len(pos), dtype=np.int64),  # loss positions in use (the rest is padding)
        input_ids=ids,
        positions=np.concatenate([pos, np.zeros(extra, dtype=np.int64)]),
        targets=np.concatenate([tgt, np.zeros(extra, dtype=np.int64)]),
        weights=np.concatenate([wts, np.zeros(extra)]).astype(np.float32),
    )


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
    master = rank == 0
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    assert a.batch_size % a.grad_accum == 0, "batch_size must be a multiple of grad_accum"
    micro = a.batch_size // a.grad_accum

    data = TokenData(a.data)
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "last.pt")
    ck = torch_load(ckpt_path) if os.path.exists(ckpt_path) else None

    raw_model, cfg, run = build_model(a, data, ck, device)
    opt, fused = make_optimizer(raw_model, a, device)
    if ck is not None:
        resume(ck, opt, run)
    model, loss_fn, compiled = wrap_model(raw_model, a, device, ddp)

    peak = peak_flops(a, device)
    device_name = (f"{world} x {torch.cuda.get_device_name(device)}" if device.type == "cuda"
                   else f"{world} x CPU, {a.threads} threads")

    # MFU counts the head only where a loss is taken (not the padded slots it also runs on)
    def batch_flops(live):
        return raw_model.train_flops(micro * a.seq_len, a.seq_len, live)

    if master:
        print(f"model {raw_model.num_params() / 1e6:.2f} M params {asdict(cfg)}; device {device}"
              f"{' ' + torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}, world {world}; "
              f"{'compiled' if compiled else 'eager'}, {'fused AdamW' if fused else 'AdamW'}, {a.workers} loader workers; "
              f"{batch_flops(0.32 * micro * a.seq_len) / (micro * a.seq_len) / 1e6:.0f} MFLOP per token; "
              f"{'resuming' if ck is not None else 'init from ' + a.init_from if a.init_from else 'fresh'} "
              f"at step {run.step}, {run.tokens_seen:,} tokens", flush=True)

    def save():
        if master:
            save_checkpoint(ckpt_path, raw_model, opt, cfg=cfg, a=a, data=data, run=run)

    def run_eval():
        if master:
            evaluate_and_log(raw_model, data, a, device=device, autocast=autocast, run=run)
        run.last_eval_step, run.recent_losses = run.step, []

    def step_micro_batch(b, last):
        window.flops += batch_flops(int(b["live"])) * world
        return forward_backward(model, loss_fn, b, device=device, autocast=autocast, grad_accum=a.grad_accum, no_sync=ddp and not last)

    stop_signal, old_handlers = stop_on_signals()
    tokens_per_step = a.batch_size * a.seq_len * world
    batches = batch_loader(data, a, rank, micro, run.step * a.grad_accum, pin=device.type == "cuda")
    window = LogWindow()  # the compile warm-up's FLOPs land here, not in the first log line
    run.start_time = last_ckpt = last_eval = time.time()
    if compiled and a.max_steps != run.step:
        if not compiles(step_micro_batch, one_batch(data, a, rank, micro, run.step * a.grad_accum), device, master):
            model, compiled, loss_fn = ddp_wrap(raw_model, device) if ddp else raw_model, False, WeightedCrossEntropy.apply
        opt.zero_grad(set_to_none=True)  # the warm-up's gradients
    run.start_step, run.loop_start = run.step, time.time()
    window = LogWindow()  # the log's clock starts here
    # Steps 11.. : past the first steps' allocations and the loader's start.
    profiler = StepProfiler(a.profile_steps if master else 0, run.start_step + 10, device)

    def next_batch():
        """The next batch, counting the time spent waiting for the loader (a GPU kept waiting
        shows here as a large share of the log window)."""
        t = time.time()
        b = next(batches)
        window.wait += time.time() - t
        return b

    model.train()
    while True:
        now = time.time()
        stop, want_ckpt, want_eval = agree(ddp, device, [
            bool(stop_signal) or limit_reached(a, run, now),
            now - last_ckpt >= a.ckpt_minutes * 60,
            now - last_eval >= a.eval_minutes * 60,
        ])
        if stop:
            break
        if want_ckpt or want_eval:
            paused = time.time()
            if want_ckpt:
                save()
                last_ckpt = time.time()
            if want_eval:
                run_eval()
                last_eval = time.time()
            window.start += time.time() - paused  # throughput counts training only

        lr = lr_at(a, run, tokens_per_step)
        profiler.before_step(run.step)
        window.profiled = window.profiled or profiler.active()
        step_loss = optimizer_step(model, opt, lr, a, lambda last: step_micro_batch(next_batch(), last))
        profiler.after_step()
        run.step += 1
        run.tokens_seen += tokens_per_step
        window.losses.append(step_loss)  # a device tensor: read at the log, so steps queue without waiting
        window.tokens += tokens_per_step
        if run.step % a.log_every == 0 or stop_signal:
            log_window(window, run, lr, peak=peak, world=world, device_name=device_name, out=a.out if master else None)
            window = LogWindow()

    run.recent_losses += [float(x) for x in window.losses]
    save()
    if run.last_eval_step != run.step:
        run_eval()
    for sig, h in old_handlers.items():
        signal.signal(sig, h)
    if master:
        reason = f"signal {stop_signal[0]}" if stop_signal else "limit reached"
        print(f"stopped ({reason}) at step {run.step}, {run.tokens_seen / 1e6:.2f} M tokens; checkpoint {ckpt_path}", flush=True)
    if ddp:
        # Every process waits for the others (process 0 still saves and evaluates) and lets go of
        # its DDP wrapper before the group goes: without both, a process sometimes hung in the
        # wrapper's teardown after the group was destroyed (gloo: 2 of 7 runs of the test; 0 of 22 after).
        dist.barrier()
        model = None
        dist.destroy_process_group()
    return dict(step=run.step, tokens_seen=run.tokens_seen, model=raw_model)


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


def compiles(step_micro_batch, batch, device, master):
    """Compiles the model before the clock of the logs starts, on a batch the run will see anyway
    (the caller drops the gradients; no random stream moves). False: the compiler failed, and
    the run trains eager."""
    t0 = time.time()
    try:
        step_micro_batch(batch, True)
        torch.cuda.synchronize(device) if device.type == "cuda" else None
    except Exception as e:  # noqa: BLE001  any compiler failure: train uncompiled
        if master:
            print(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); training eager", flush=True)
        return False
    if master:
        print(f"compiled in {time.time() - t0:.0f} s", flush=True)
    return True


def optimizer_step(model, opt, lr, a, micro_step):
    """One optimiser step at learning rate lr over grad_accum micro-batches (micro_step(last)
    runs the next one); returns the step's loss as a device tensor."""
    for g in opt.param_groups:
        g["lr"] = lr
    step_loss = 0.0
    for m in range(a.grad_accum):
        step_loss = step_loss + micro_step(m == a.grad_accum - 1)
    torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
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


def log_window(window, run, lr, *, peak, world, device_name, out):
    """Reads the window's losses (waiting for its queued steps), adds them to the run's recent
    losses and prints and appends (to out/log.jsonl; None: not this process) its log line."""
    losses = [float(x) for x in window.losses]
    run.recent_losses += losses
    elapsed = time.time() - window.start
    rec = dict(step=run.step, tokens_seen=run.tokens_seen, loss=float(np.mean(losses)), lr=lr,
               tokens_per_s=window.tokens / elapsed, loader_wait=window.wait / elapsed, time=time.time())
    if window.profiled:
        rec["profiled"] = True  # the profiler's overhead is in this window's speed
    if peak:
        rec["mfu"] = window.flops / elapsed / (peak * world)
    rec["device"] = device_name
    if out is not None:
        append_jsonl(os.path.join(out, "log.jsonl"), rec)
        print(f"step {run.step} tokens {run.tokens_seen / 1e6:.2f}M loss {rec['loss']:.4f} lr {lr:.2e} "
              f"{rec['tokens_per_s']:.0f} tok/s" + (f" MFU {100 * rec['mfu']:.1f} %" if peak else "")
              + f" loader wait {100 * rec['loader_wait']:.0f} %" + (" (profiled)" if window.profiled else ""), flush=True)


def save_checkpoint(path, raw_model, opt, *, cfg, a, data, run):
    obj = dict(model=raw_model.state_dict(), optimizer=opt.state_dict(), model_config=asdict(cfg),
               args=vars(a), meta=data.meta, step=run.step, tokens_seen=run.tokens_seen,
               opt_start_step=run.opt_start_step,
               rng=dict(torch=torch.get_rng_state(), numpy=np.random.get_state(), python=random.getstate()))
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-write never leaves a broken last.pt


def evaluate_and_log(raw_model, data, a, *, device, autocast, run):
    """The held-out evaluation, appended to eval.jsonl with the mean training loss since the last."""
    raw_model.eval()
    r = evaluate(raw_model, data, a, device, autocast)
    raw_model.train()
    r = dict(step=run.step, tokens_seen=run.tokens_seen, **r,
             train_loss=float(np.mean(run.recent_losses)) if run.recent_losses else None, time=time.time())
    append_jsonl(os.path.join(a.out, "eval.jsonl"), r)
    print("eval " + " ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in r.items() if k != "time"), flush=True)


if __name__ == "__main__":
    main()
