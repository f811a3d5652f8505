/**
 * One number for how sure the model is of a span's text, from the probabilities its committed
 * slots had when they were committed (the ending pad included: a span that ends where the model
 * doubts it ends is doubtful too). A slot forced in by the deadline or the step budget counts
 * as 0. The geometric mean is the per-token likelihood the model assigned to the whole text.
 */
export function spanConfidence(slotProbabilities: ArrayLike<number>): number {
  const n = slotProbabilities.length;
  if (n === 0) return 0;
  let logSum = 0;
  for (let i = 0; i < n; i++) logSum += Math.log(Math.max(slotProbabilities[i], 1e-9));
  return Math.exp(logSum / n);
}
