// Refine as a corrector (docs/design.md: "Refine is a corrector first"): the model rates every token of
// the selection with the whole selection visible, only the tokens it finds unlikely next to its
// best alternative are regenerated, and a regenerated stretch is kept only when the model rates
// the new text above the old one. Correct code therefore comes back unchanged. These are the
// pure rules; src/worker/correctSelection.ts runs them against the model.
import type { TextEdit } from '../text/textEdit';

/** A run of token indices [from, to) of the selection. */
export interface TokenRun {
  from: number;
  to: number;
}

/**
 * Runs of tokens whose probability is below `ratio` times the probability of the model's best
 * token at that slot. Runs at most `gap` tokens apart are merged: a wrong token often makes its
 * neighbour look unlikely too, and one regenerated stretch can fix both.
 */
export function suspiciousRuns(
  original: ArrayLike<number>,
  best: ArrayLike<number>,
  ratio: number,
  gap = 1,
): TokenRun[] {
  const runs: TokenRun[] = [];
  for (let i = 0; i < original.length; i++) {
    if (!(original[i] < ratio * best[i])) continue;
    const last = runs[runs.length - 1];
    if (last && i - last.to <= gap) last.to = i + 1;
    else runs.push({ from: i, to: i + 1 });
  }
  return runs;
}

/** Character offset where each token starts in the decoded text, plus the text's length at the end. */
export function tokenOffsets(tokens: ArrayLike<number>, decode: (ids: number[]) => string): number[] {
  const ids = Array.from(tokens);
  // Decoding prefixes (not single tokens) keeps a character split across tokens in one piece.
  return Array.from({ length: ids.length + 1 }, (_, k) => decode(ids.slice(0, k)).length);
}

/**
 * Mean log-probability of the tokens that overlap the characters [from, to), one token of
 * context on each side included: a fix that makes its neighbours fit (the `)` that lets the `;`
 * after it make sense) scores for that too.
 */
export function stretchScore(logProbs: ArrayLike<number>, offsets: number[], from: number, to: number): number {
  let first = 0;
  while (first + 1 < logProbs.length && offsets[first + 1] <= from) first++;
  let last = first;
  while (last + 1 < logProbs.length && offsets[last + 1] < Math.max(to, from + 1)) last++;
  first = Math.max(0, first - 1);
  last = Math.min(logProbs.length - 1, last + 1);
  let sum = 0;
  for (let i = first; i <= last; i++) sum += logProbs[i];
  return sum / Math.max(1, last - first + 1);
}

/** A replacement of text[start, end) within one string. */
/** Where each edit lands in the text after `applyEdits` (edits in order). */
export function shiftedHunks(hunks: readonly TextEdit[]): { from: number; to: number }[] {
  let shift = 0;
  return hunks.map((h) => {
    const from = h.start + shift;
    shift += h.text.length - (h.end - h.start);
    return { from, to: from + h.text.length };
  });
}
