// How a produced fill is scored against the held-out truth, shared by the model eval
// (training/eval.mjs) and the benchmarks (bench/), so their numbers mean the same thing.

/** Whitespace-insensitive form for exact match: runs of whitespace become one space. */
export const normalise = (s) => s.replace(/\s+/g, ' ').trim();

/** Character similarity of the normalised texts: 1 − edit distance / longer length. */
export function similarity(a, b) {
  const x = normalise(a);
  const y = normalise(b);
  if (!x.length && !y.length) return 1;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return 1 - prev[y.length] / Math.max(x.length, y.length);
}
