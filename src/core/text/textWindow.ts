// Requests carry a window of the document around the span rather than the whole file, so a large
// file costs no more than a small one. The window is wider than the engine's own context budget,
// so the engine still sees where the real file starts and ends.

/**
 * Rough upper bound of characters per token: context is cut to budget × this many characters
 * before it is tokenised, so a large file costs no more than a small one.
 */
export const MAX_CHARS_PER_TOKEN = 8;

export interface TextWindow {
  /** The window's text. */
  text: string;
  /** Offset of the window's first character in the document. */
  offset: number;
}

/** `text` cut to `before` characters before `start` and `after` characters after `end`, at line starts. */
export function windowAround(text: string, start: number, end: number, before: number, after: number): TextWindow {
  let from = Math.max(0, start - before);
  if (from > 0) {
    const nl = text.lastIndexOf('\n', from);
    from = nl >= 0 && nl < start ? nl + 1 : from;
  }
  let to = Math.min(text.length, end + after);
  if (to < text.length) {
    const nl = text.indexOf('\n', to);
    to = nl >= 0 ? nl + 1 : text.length;
  }
  return { text: text.slice(from, to), offset: from };
}

/** The window a request needs: the engine's context budgets in characters, plus a margin on each side. */
export function contextWindow(
  text: string,
  start: number,
  end: number,
  budget: { prefixTokens: number; suffixTokens: number },
  marginChars: number,
): TextWindow {
  return windowAround(
    text,
    start,
    end,
    budget.prefixTokens * MAX_CHARS_PER_TOKEN + marginChars,
    budget.suffixTokens * MAX_CHARS_PER_TOKEN + marginChars,
  );
}
