// How much of the document a request carries. The engine reads at most its context budget of
// tokens on each side of the span (core/text/textWindow turns that into characters); the editor sends a
// little more, so the engine still sees where the real file starts and ends and token healing has
// whole lines to work with, while a large file costs no more than a small one.
import { contextWindow, type TextWindow } from '../core/text/textWindow';

/** Characters of document sent on each side beyond what the engine's context budget reads (Refine, Fill). */
export const WINDOW_MARGIN_CHARS = 2000;

/** Ghost text sends a plain prefix and suffix: this many characters beyond the prefix budget... */
export const GHOST_PREFIX_MARGIN_CHARS = 1000;
/** ...and this many beyond the suffix budget (the suffix matters less: the engine reads fewer tokens of it). */
export const GHOST_SUFFIX_MARGIN_CHARS = 500;

/** The window of `text` a Refine or Fill request for [start, end) sends. */
export function requestWindow(
  text: string,
  start: number,
  end: number,
  budget: { prefixTokens: number; suffixTokens: number },
): TextWindow {
  return contextWindow(text, start, end, budget, WINDOW_MARGIN_CHARS);
}
