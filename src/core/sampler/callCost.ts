// How long the model takes to read a canvas, learned from the calls it makes, so that a request
// with a time budget can size its canvas to fit. With the shipped model a full call over the
// whole window takes a few tens of milliseconds and nothing changes; with a converted 0.5 B model
// on a laptop CPU one full call over the ghost-text window took longer than the whole ghost
// budget (bench/results/open-dcoder-0.5b-shape.md), so ghost text reads less context instead of
// answering late.

/** Weight of the newest call in the running estimate: it follows the machine's load within a few calls. */
const NEWEST_WEIGHT = 0.3;
/**
 * Context a budgeted request keeps however slow the model: a few lines before the cursor and
 * the rest of its line (with less, the model no longer sees what it continues); a model too slow
 * for even that answers late, with what its calls settled by the deadline.
 */
export const MIN_BUDGET_CONTEXT = { prefix: 32, suffix: 8 };

export class CallCost {
  private msPerToken: number | undefined;

  /** One full call (every canvas token read) over `tokens` tokens took `ms`. */
  observe(tokens: number, ms: number): void {
    if (!(tokens > 0) || !(ms >= 0)) return;
    const rate = ms / tokens;
    this.msPerToken =
      this.msPerToken === undefined ? rate : NEWEST_WEIGHT * rate + (1 - NEWEST_WEIGHT) * this.msPerToken;
  }

  /** Canvas tokens a full call reads within `ms`, or undefined while no call was measured. */
  tokensWithin(ms: number): number | undefined {
    return this.msPerToken === undefined ? undefined : Math.floor(ms / Math.max(this.msPerToken, 1e-6));
  }
}

/**
 * The context of a request cut to `maxTokens` (prefix and suffix keep their proportion), never
 * below MIN_BUDGET_CONTEXT and never above what was asked; unchanged when it already fits.
 */
export function contextWithin(
  prefix: number,
  suffix: number,
  maxTokens: number,
): { prefixTokens: number; suffixTokens: number } {
  if (prefix + suffix <= maxTokens) return { prefixTokens: prefix, suffixTokens: suffix };
  const share = Math.max(0, maxTokens) / (prefix + suffix);
  const cut = (asked: number, least: number): number => Math.max(Math.min(asked, least), Math.floor(asked * share));
  return { prefixTokens: cut(prefix, MIN_BUDGET_CONTEXT.prefix), suffixTokens: cut(suffix, MIN_BUDGET_CONTEXT.suffix) };
}
