import type { SpecialTokens } from './specialTokens';

/** One span to denoise, in tokens. */
export interface SpanSpec {
  /** Tokens the span holds now (the selection for Refine; empty for a fill). */
  original: Int32Array;
  /** Slots the span gets on the canvas; more than needed when `variableLength`. */
  slots: number;
  /** The model may write `pad` into surplus slots (dropped from the result). */
  variableLength: boolean;
  /** When set, the span's first slot may only take one of these ids (see boundary.ts). */
  firstAllowed?: Int32Array;
  /**
   * When set, the span must write text: it may not end (take pad) before it holds a token other
   * than these (the ids whose text is only whitespace). See sampler.ts allowedAt.
   */
  blankIds?: Int32Array;
}

/** Token budgets for the context, nearest the spans first. */
export interface ContextBudget {
  prefix: number;
  suffix: number;
  /** Upper bound on the whole canvas (the model's context length). */
  total: number;
}

export interface CanvasSpan extends SpanSpec {
  /** Index of the span's first slot in `Canvas.ids`. */
  offset: number;
}

export interface Canvas {
  /** bos? prefix · span₀ · middle₁ · span₁ · … · suffix eos?, span slots filled with `mask`. */
  ids: Int32Array;
  spans: CanvasSpan[];
}

/**
 * Lays out spans and their context on one canvas. `contexts` has one more entry than `spans`:
 * the prefix, the text between consecutive spans, and the suffix. The prefix is trimmed from
 * its far (left) end and the suffix from its far (right) end, so the tokens nearest the spans
 * survive; `bos`/`eos` mark the file's real start/end only when nothing was trimmed there.
 */
export function buildCanvas(
  contexts: Int32Array[],
  spans: SpanSpec[],
  budget: ContextBudget,
  special: SpecialTokens,
  edges: { fileStart: boolean; fileEnd: boolean },
): Canvas {
  if (contexts.length !== spans.length + 1) throw new Error('buildCanvas needs one more context than spans');
  if (spans.length === 0) throw new Error('buildCanvas needs at least one span');
  const slotTotal = spans.reduce((n, s) => n + s.slots, 0);
  const middles = contexts.slice(1, -1);
  const room = Math.max(0, budget.total - slotTotal - 2);
  // Middles (text between cursors) are kept whole unless they alone overflow the canvas.
  let middleTotal = middles.reduce((n, m) => n + m.length, 0);
  let trimmedMiddles = middles;
  if (middleTotal > room / 2 && middles.length > 0) {
    const keepEach = Math.max(2, Math.floor(room / 2 / middles.length / 2));
    trimmedMiddles = middles.map((m) =>
      m.length <= 2 * keepEach ? m : concat([m.subarray(0, keepEach), m.subarray(m.length - keepEach)]),
    );
    middleTotal = trimmedMiddles.reduce((n, m) => n + m.length, 0);
  }
  const outer = Math.max(0, room - middleTotal);
  const prefixRaw = contexts[0];
  const suffixRaw = contexts[contexts.length - 1];
  // Split what is left between prefix and suffix in proportion to their budgets.
  const share = budget.prefix / Math.max(1, budget.prefix + budget.suffix);
  let prefixKeep = Math.min(prefixRaw.length, budget.prefix, Math.floor(outer * share));
  const suffixKeep = Math.min(suffixRaw.length, budget.suffix, outer - prefixKeep);
  prefixKeep = Math.min(prefixRaw.length, budget.prefix, outer - suffixKeep);
  const prefix = prefixRaw.subarray(prefixRaw.length - prefixKeep);
  const suffix = suffixRaw.subarray(0, suffixKeep);
  const withBos = edges.fileStart && prefixKeep === prefixRaw.length;
  const withEos = edges.fileEnd && suffixKeep === suffixRaw.length;

  const parts: number[] = [];
  if (withBos) parts.push(special.bos);
  pushAll(parts, prefix);
  const placed: CanvasSpan[] = [];
  spans.forEach((span, i) => {
    placed.push({ ...span, offset: parts.length });
    for (let k = 0; k < span.slots; k++) parts.push(special.mask);
    if (i < trimmedMiddles.length) pushAll(parts, trimmedMiddles[i]);
  });
  pushAll(parts, suffix);
  if (withEos) parts.push(special.eos);
  return { ids: Int32Array.from(parts), spans: placed };
}

function pushAll(out: number[], ids: Int32Array): void {
  for (let i = 0; i < ids.length; i++) out.push(ids[i]);
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
