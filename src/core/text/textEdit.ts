// One idea used everywhere a text is changed by ranges (the corrector, the review, the CLI, a
// Refine's changed part): a replacement of [start, end) of the original text, applied all at once.

/** Replace `[start, end)` of the original text by `text`. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** `text` with non-overlapping edits applied; offsets are the original's, the order does not matter. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = '';
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}
