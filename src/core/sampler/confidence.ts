/**
 * One number for how sure the model is of a span's text: the lowest probability any of its
 * committed slots had when it was committed (the ending pad included: a span that ends where the
 * model doubts it ends is doubtful too). A slot forced in by the deadline or the step budget
 * counts as 0. One weak token is enough to make ghost text wrong, so the weakest decides:
 * on the editor-view cases (`npm run model:eval:editor`) the minimum separated byte-exact
 * suggestions from wrong ones better than the mean or the geometric mean did (at 0.7, 6 of 11
 * shown were exact with the minimum; the geometric mean's best was 6 of 16, at 0.85).
 */
export function spanConfidence(slotProbabilities: ArrayLike<number>): number {
  if (slotProbabilities.length === 0) return 0;
  let min = 1;
  for (let i = 0; i < slotProbabilities.length; i++) min = Math.min(min, slotProbabilities[i]);
  return min;
}
