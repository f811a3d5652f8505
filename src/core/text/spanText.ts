import type { SpanSpec } from '../sampler/canvas';

/** The tokenizer as the core sees it. */
export interface TokenCodec {
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
  /** Ids whose text begins with `text` and, when given, whose remaining text passes `rest` (for boundary healing). */
  idsStartingWith(text: string, rest?: (after: string) => boolean): Int32Array;
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
export function prepareSpans(
  codec: TokenCodec,
  text: string,
  ranges: readonly CharRange[],
  opts: SpanTextOptions,
): PreparedSpans {
  if (ranges.length === 0) throw new Error('no span to denoise');
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (r.start < 0 || r.end > text.length || r.start > r.end)
      throw new Error(`span ${r.start}-${r.end} is outside the text (length ${text.length})`);
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
    const before = text.slice(from, r.start);
    const spanText = text.slice(r.start, r.end);
    const { context, heal, firstAllowed } = /[ \t]$/.test(before)
      ? healAfterWhitespace(codec, before, /^[ \t]/.test(spanText))
      : healLastToken(codec, before);
    // A context cut mid-text may start inside a token: drop that fragment.
    contexts.push(i === 0 && from > 0 && context.length > 1 ? context.subarray(1) : context);
    const tail = tails[i];
    const original = r.end > r.start || heal || tail ? codec.encode(heal + spanText + tail) : new Int32Array(0);
    spans.push({
      original,
      slots: Math.max(1, opts.slotsFor(original)),
      variableLength: opts.variableLength,
      firstAllowed,
    });
    edges.push({ heal, tail });
  });
  const suffixFrom = Math.min(suffixTo, last.end + tails[tails.length - 1].length);
  let suffix = codec.encode(text.slice(suffixFrom, suffixTo));
  if (suffixTo < text.length && suffix.length > 1) suffix = suffix.subarray(0, suffix.length - 1);
  contexts.push(suffix);
  return { contexts, spans, edges, fileStart: prefixFrom === 0, fileEnd: suffixTo === text.length };
}

interface Healing {
  /** The context before the span, without the healed text. */
  context: Int32Array;
  heal: string;
  firstAllowed?: Int32Array;
}

/**
 * Classic token healing: the last token before the span moves into it, and the span's first
 * slot may only take tokens that begin with that text. Not after a line break, which is a
 * natural token boundary (byte-level BPE never merges across it), and where the model learned
 * line-aligned spans to start.
 */
function healLastToken(codec: TokenCodec, before: string): Healing {
  const context = codec.encode(before);
  if (context.length === 0) return { context, heal: '' };
  const candidate = codec.decode(context.subarray(context.length - 1));
  if (candidate.length === 0 || candidate.endsWith('\n') || !before.endsWith(candidate)) return { context, heal: '' };
  return {
    context: context.subarray(0, context.length - 1),
    heal: candidate,
    firstAllowed: codec.idsStartingWith(candidate),
  };
}

/** Words that stand for the code after whitespace (healAfterWhitespace). */
const WHITESPACE_PROBES = ['x', 'return', 'const', 'self', 'if', '('];
/** Enough of the line before the whitespace to tokenise its end as the document does. */
const PROBE_LINE_CHARS = 64;

/**
 * Text before the span that ends in spaces or tabs (the cursor after a line's indentation, or
 * after `x = `). Whitespace tokenises differently alone than before code: `"    "` is one token,
 * but `"    return"` is `"   "` + `" return"`. So the context keeps the whitespace tokens that
 * code following it would leave whole, and the rest (`" "`, or nothing for tabs) is healed into
 * the first slot, which must go on with something other than more horizontal whitespace: the
 * document already has its indentation (a ghost text of `"\treturn"` after a tab-indented cursor
 * is wrong however good the code). A span whose own text starts with whitespace keeps the plain
 * rule.
 */
function healAfterWhitespace(codec: TokenCodec, before: string, spanStartsWithSpace: boolean): Healing {
  const ws = /[ \t]+$/.exec(before)![0];
  const head = before.slice(0, before.length - ws.length);
  // How code after the whitespace would be tokenised: probe words stand for that code, after
  // the line's own text (at a line start the whitespace is indentation, mid-line it is not). A
  // tokenizer may merge a space with a common word (" return") but not with a rare one (" x"),
  // so the context keeps only the whitespace tokens that every probe leaves whole.
  const line = head.slice(Math.max(head.lastIndexOf('\n') + 1, head.length - PROBE_LINE_CHARS));
  let wsIds: number[] = [];
  let kept = Infinity;
  for (const word of WHITESPACE_PROBES) {
    const ids = codec.encode(line + ws + word);
    const whole: number[] = [];
    let chars = 0;
    let at = 0;
    for (let k = 0; k < ids.length && chars < ws.length; k++) {
      const piece = codec.decode(ids.subarray(k, k + 1));
      const start = at;
      at += piece.length;
      if (at <= line.length) continue; // a token of the line's own text
      if (start < line.length || !ws.startsWith(piece, chars)) break; // across the boundary, or past the whitespace
      whole.push(ids[k]);
      chars += piece.length;
    }
    if (chars < kept) [wsIds, kept] = [whole, chars];
  }
  const heal = ws.slice(kept);
  const headIds = codec.encode(head);
  const context = new Int32Array(headIds.length + wsIds.length);
  context.set(headIds);
  context.set(wsIds, headIds.length);
  const firstAllowed = spanStartsWithSpace
    ? heal
      ? codec.idsStartingWith(heal)
      : undefined
    : codec.idsStartingWith(heal, (rest) => rest.length > 0 && !/^[ \t]/.test(rest));
  return { context, heal, firstAllowed };
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
  {
    ids,
    committed,
    pad,
    span: { offset, slots },
    edges,
  }: {
    /** The canvas mid-denoising: its ids, which slots are committed, and the pad id. */
    ids: Int32Array;
    committed: Uint8Array;
    pad: number;
    /** The span's slots in the canvas. */
    span: { offset: number; slots: number };
    edges: SpanEdges;
  },
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
