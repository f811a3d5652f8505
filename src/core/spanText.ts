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

export interface PreparedSpans {
  contexts: Int32Array[];
  spans: SpanSpec[];
  /** Text each span's first slot must start with (the healed boundary token), per span. */
  heals: string[];
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
  const heals: string[] = [];
  const prefixFrom = Math.max(0, ranges[0].start - opts.prefixChars);
  const last = ranges[ranges.length - 1];
  const suffixTo = Math.min(text.length, last.end + opts.suffixChars);

  ranges.forEach((r, i) => {
    const from = i === 0 ? prefixFrom : ranges[i - 1].end;
    let ctx = codec.encode(text.slice(from, r.start));
    // A context cut mid-text may start inside a token: drop that fragment.
    if (i === 0 && from > 0 && ctx.length > 1) ctx = ctx.subarray(1);
    let heal = '';
    if (ctx.length > 0) {
      const candidate = codec.decode(ctx.subarray(ctx.length - 1));
      if (candidate.length > 0 && text.slice(from, r.start).endsWith(candidate)) {
        heal = candidate;
        ctx = ctx.subarray(0, ctx.length - 1);
      }
    }
    contexts.push(ctx);
    const original = r.end > r.start || heal ? codec.encode(heal + text.slice(r.start, r.end)) : new Int32Array(0);
    spans.push({
      original,
      slots: Math.max(1, opts.slotsFor(original)),
      variableLength: opts.variableLength,
      firstAllowed: heal ? codec.idsStartingWith(heal) : undefined,
    });
    heals.push(heal);
  });
  let suffix = codec.encode(text.slice(last.end, suffixTo));
  if (suffixTo < text.length && suffix.length > 1) suffix = suffix.subarray(0, suffix.length - 1);
  contexts.push(suffix);
  return { contexts, spans, heals, fileStart: prefixFrom === 0, fileEnd: suffixTo === text.length };
}

/** The text that replaces a span's range, given the span's final tokens and its healed prefix. */
export function spanReplacement(codec: TokenCodec, tokens: ArrayLike<number>, heal: string): string {
  const decoded = codec.decode(tokens);
  return decoded.startsWith(heal) ? decoded.slice(heal.length) : decoded;
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
  heal: string,
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
  if (heal && text.startsWith(heal)) text = text.slice(heal.length);
  return { text, masked };
}
