import type { SeededRandom } from './rng';

/** How a candidate token is drawn from one row of logits. */
export interface ChoiceOptions {
  /** 0 = greedy (argmax); otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. */
  topP: number;
  /** Draws the sample; greedy choice (temperature 0) draws nothing and needs none. */
  rng?: SeededRandom;
  /** 1 where the token may be chosen at this slot. */
  allowed: Uint8Array;
}

export interface TokenChoice {
  id: number;
  /** Probability of the chosen token under the (tempered) distribution over allowed tokens. */
  confidence: number;
}

/**
 * Picks a token for one masked slot. Everything is computed in float64: LLaDA's authors found
 * that low-precision Gumbel/softmax sampling measurably hurts generation quality, and a row is
 * only a few thousand values, so the precision is cheap.
 */
export function chooseToken(logits: Float32Array, row: number, vocab: number, opts: ChoiceOptions): TokenChoice {
  const base = row * vocab;
  const t = opts.temperature > 0 ? opts.temperature : 1;
  let max = -Infinity;
  let argmax = -1;
  for (let v = 0; v < vocab; v++) {
    if (!opts.allowed[v]) continue;
    const l = logits[base + v] / t;
    if (l > max) {
      max = l;
      argmax = v;
    }
  }
  if (argmax < 0) throw new Error('no token is allowed at this slot');
  let sum = 0;
  for (let v = 0; v < vocab; v++) if (opts.allowed[v]) sum += Math.exp(logits[base + v] / t - max);
  if (opts.temperature <= 0) return { id: argmax, confidence: 1 / sum };

  // Sampling: draw from the tempered distribution, truncated to the nucleus when topP < 1.
  const probs = new Float64Array(vocab);
  for (let v = 0; v < vocab; v++) probs[v] = opts.allowed[v] ? Math.exp(logits[base + v] / t - max) / sum : 0;
  let candidates: number[];
  let mass = 1;
  if (opts.topP < 1) {
    // Only tokens at least (1 - topP) / (2 vocab) likely can be in the nucleus: all the others
    // together hold less than 1 - topP, so the sorted walk reaches topP before any of them. At
    // Qwen's 151k tokens sorting every token cost 170 ms a slot (bench/speed/vocabCost.ts).
    const floor = (1 - opts.topP) / (2 * vocab);
    const order = Array.from(probs.keys())
      .filter((v) => probs[v] > 0 && probs[v] >= floor)
      .sort((a, b) => probs[b] - probs[a] || a - b);
    candidates = [];
    mass = 0;
    for (const v of order) {
      candidates.push(v);
      mass += probs[v];
      if (mass >= opts.topP) break;
    }
  } else {
    candidates = [];
    for (let v = 0; v < vocab; v++) if (probs[v] > 0) candidates.push(v);
  }
  if (!opts.rng) throw new Error('sampling at a temperature above 0 needs a random generator');
  let u = opts.rng.nextFloat() * mass;
  for (const v of candidates) {
    u -= probs[v];
    if (u < 0) return { id: v, confidence: probs[v] };
  }
  const last = candidates[candidates.length - 1];
  return { id: last, confidence: probs[last] };
}

/** Probability the model gives `id` at one row (softmax over the allowed tokens, float64). */
export function tokenProbability(
  logits: Float32Array,
  row: number,
  vocab: number,
  id: number,
  allowed: Uint8Array,
): number {
  const base = row * vocab;
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) if (allowed[v] && logits[base + v] > max) max = logits[base + v];
  let sum = 0;
  for (let v = 0; v < vocab; v++) if (allowed[v]) sum += Math.exp(logits[base + v] - max);
  return Math.exp(logits[base + id] - max) / sum;
}
