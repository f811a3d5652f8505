// A small file for `npm run demo`: lines 9-13 (the body of `median`), corrected, then rewritten.
export interface Stats {
  mean: number;
  median: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 0) {
    return (sorted[mid - 1] + sorted[mid]) / 2;
  }
  return sorted[mid];
}

export function mean(values: number[]): number {
  let total = 0;
  for (const v of values) {
    total += v;
  }
  return values.length === 0 ? 0 : total / values.length;
}

export function stats(values: number[]): Stats {
  return { mean: mean(values), median: median(values) };
}
