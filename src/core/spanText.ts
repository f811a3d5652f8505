import type { SpanSpec } from './canvas';

/** The tokenizer as the core sees it. */
export interface TokenCodec {
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** Ids whose text begins with `text` (for boundary healing). */
  idsStartingWith(text: string): Int32Array;
}

/** A character range of the request text to regenerate (start === end for a fill). */
export interface CharRange {
  start: number;
  end: number;
}

export interface SpanTextOptions {
  /** Characters of context read on each side before tokenising (keeps large files cheap). */
  prefixChars: number;
  suffixChars: number;
  /** Slots for a span whose original text is `original` (refine) or empty (fill). */
  slotsFor: (original: Int32Array) => number;
  /** Surplus slots may be padded away (full regeneration and fills). */
  variableLength: boolean;
}

/** Text a span borrows from its neighbours so that it starts and ends at natural tokens. */
export interface SpanEdges {
  /** The last token of the text before the span; the span's first slot must start with it. */
  heal: string;
  /** A newline right after the span, moved into it (see prepareSpans). */
  tail: string;
}

export interface PreparedSpans {
  contexts: Int32Array[];
  spans: SpanSpec[];
  edges: SpanEdges[];
  fileStart: boolean;
  fileEnd: boolean;
}

/**
 * Turns character ranges of a text into token spans and their contexts.
 *
 * Each piece is tokenised on its own, which would leave an unnatural token at every boundary
 * (a prefix ending in "ret" or in a newline whose indentation sits in the span). So the last
 * token of the text before each span is moved into the span and the span's first slot is
 * restricted to tokens that begin with that text ("token healing"): the model then sees and
 * writes natural tokens across the boundary, and the healed text is put back unchanged.
 * (Not after a line break, which is already a natural boundary.)
 *
 * At the other end, a span followed by a line break (a cursor at the end of a line, a line
 * removed from the middle of a file) takes that newline in: the model was trained on spans
 * that end after a newline and then pad, so it knows where such a span ends; mid-line span
 * ends it learned far less. The newline stays in the document and is dropped from the result.
 */
export function prepareSpans(codec: TokenCodec, text: string, ranges: readonly CharRange[], opts: SpanTextOptions): PreparedSpans {
  if (ranges.length === 0) throw new Error('no span to denoise');
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (r.start < 0 || r.end > text.length || r.start > r.end) throw new Error(`span ${r.start}-${r.end} is outside the text (length ${text.length})`);
    if (i > 0 && r.start < ranges[i - 1].end) throw new Error('spans overlap or are out of order');
  }
  const contexts: Int32Array[] = [];
  const spans: SpanSpec[] = [];
  const edges: SpanEdges[] = [];
  const prefixFrom = Math.max(0, ranges[0].start - opts.prefixChars);
  const last = ranges[ranges.length - 1];
  const suffixTo = Math.min(text.length, last.end + opts.suffixChars);
  const tailAfter = (r: CharRange): string => {
    if (/\n$/.test(text.slice(Math.max(0, r.start - 1), r.end)) && r.end > r.start) return '';
    const m = /^\r?\n/.exec(text.slice(r.end, r.end + 2));
    return m ? m[0] : '';
  };
  const tails = ranges.map(tailAfter);

  ranges.forEach((r, i) => {
    const from = i === 0 ? prefixFrom : ranges[i - 1].end + tails[i - 1].length;
    let ctx = codec.encode(text.slice(from, r.start));
    // A context cut mid-text may start inside a token: drop that fragment.
    if (i === 0 && from > 0 && ctx.length > 1) ctx = ctx.subarray(1);
    let heal = '';
    if (ctx.length > 0) {
      const candidate = codec.decode(ctx.subarray(ctx.length - 1));
      // A line break is a natural token boundary (byte-level BPE never merges across it), and
      // the model learned line-aligned spans as starting right after one: no healing there.
      if (candidate.length > 0 && !candidate.endsWith('\n') && text.slice(from, r.start).endsWith(candidate)) {
        heal = candidate;
        ctx = ctx.subarray(0, ctx.length - 1);
      }
    }
    contexts.push(ctx);
    const tail = tails[i];
    const original = r.end > r.start || heal || tail ? codec.encode(heal + text.slice(r.start, r.end) + tail) : new Int32Array(0);
    spans.push({
      original,
      slots: Math.max(1, opts.slotsFor(original)),
      variableLength: opts.variableLength,
      firstAllowed: heal ? codec.idsStartingWith(heal) : undefined,
    });
    edges.push({ heal, tail });
  });
  const suffixFrom = Math.min(suffixTo, last.end + tails[tails.length - 1].length);
  let suffix = codec.encode(text.slice(suffixFrom, suffixTo));
  if (suffixTo < text.length && suffix.length > 1) suffix = suffix.subarray(0, suffix.length - 1);
  contexts.push(suffix);
  return { contexts, spans, edges, fileStart: prefixFrom === 0, fileEnd: suffixTo === text.length };
}

/** Removes the text a span borrowed from its neighbours (they keep it in the document). */
function withoutEdges(text: string, edges: SpanEdges): string {
  let out = text.startsWith(edges.heal) ? text.slice(edges.heal.length) : text;
  if (edges.tail && out.endsWith(edges.tail)) out = out.slice(0, out.length - edges.tail.length);
  return out;
}

/** The text that replaces a span's range, given the span's final tokens. */
export function spanReplacement(codec: TokenCodec, tokens: ArrayLike<number>, edges: SpanEdges): string {
  return withoutEdges(codec.decode(tokens), edges);
}

/** Placeholder drawn for a still-masked slot in live progress. */
export const MASK_GLYPH = '\u2591';

/**
 * A span's text mid-denoising: committed tokens decoded, each masked slot shown as MASK_GLYPH,
 * pads left out. Runs of committed tokens are decoded together so multi-byte text survives.
 */
export function spanProgressText(
  codec: TokenCodec,
  ids: Int32Array,
  committed: Uint8Array,
  offset: number,
  slots: number,
  pad: number,
  edges: SpanEdges,
): { text: string; masked: number } {
  let text = '';
  let run: number[] = [];
  let masked = 0;
  const flush = (): void => {
    if (run.length) text += codec.decode(run);
    run = [];
  };
  for (let p = offset; p < offset + slots; p++) {
    if (!committed[p]) {
      flush();
      text += MASK_GLYPH;
      masked++;
    } else if (ids[p] !== pad) {
      run.push(ids[p]);
    }
  }
  flush();
  return { text: withoutEdges(text, edges), masked };
}
