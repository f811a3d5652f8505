"""The masking objective: how a batch of stream windows becomes model inputs and the positions,
targets and weights of the loss (train.py builds every batch with make_batch).

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

The loss positions of a batch are a fixed number of slots (loss_slot_count: loss_slots of the
batch's tokens; padding has weight 0, a rare surplus is subsampled without bias), so a compiled
graph never sees a new shape. `a` is train.py's options (its CONFIG); `data` its TokenData.
"""
import math

import numpy as np


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
