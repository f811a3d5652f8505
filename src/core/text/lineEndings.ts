// The engine works on LF text: the model's training data has almost no CRLF, and a `\r` before
// every line break is a token the model barely knows. Requests are converted on the way in and
// every offset and text on the way out, so a CRLF document gets CRLF results.

export interface LfText {
  /** The text with every CRLF as LF (lone CRs are left alone). */
  text: string;
  /** The document's line ending: CRLF when at least half of its line breaks are. */
  crlf: boolean;
  /** An offset of the original text in `text`. */
  toLf(offset: number): number;
  /** An offset of `text` in the original text. */
  fromLf(offset: number): number;
}

export function toLf(original: string): LfText {
  const crAt: number[] = [];
  for (let i = original.indexOf('\r\n'); i >= 0; i = original.indexOf('\r\n', i + 2)) crAt.push(i);
  const breaks = original.split('\n').length - 1;
  if (crAt.length === 0) return { text: original, crlf: false, toLf: (o) => o, fromLf: (o) => o };
  // CRs (by their LF-text position of the LF that follows them), for the reverse mapping.
  const lfAt = crAt.map((c, k) => c - k);
  return {
    text: original.replace(/\r\n/g, '\n'),
    crlf: crAt.length * 2 >= breaks,
    toLf: (o) => o - countBelow(crAt, o),
    fromLf: (o) => o + countBelow(lfAt, o),
  };
}

/** LF line breaks written as CRLF when `crlf` (a CR already there is not doubled). */
export function withEol(text: string, crlf: boolean): string {
  return crlf ? text.replace(/\r?\n/g, '\r\n') : text;
}

/** How many of the sorted `xs` are below `v`. */
function countBelow(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
