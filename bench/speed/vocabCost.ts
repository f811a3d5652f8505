// `node scripts/run-ts.mjs bench/speed/vocabCost.ts`: the sampler's cost per slot
// (src/core/sampler/tokenChoice.ts chooseToken, the softmax over the vocabulary in float64) at the
// shipped model's vocabulary and at Qwen2.5's, the one Dream, DiffuCoder and Open-dCoder use.
// Random logits (normal, sd 3), every token allowed.
import { chooseToken } from '../../src/core/sampler/tokenChoice';
import { SeededRandom } from '../../src/core/sampler/rng';

function time(vocab: number, temperature: number, topP: number, rows = 32, reps = 20): number {
  const rng = new SeededRandom(1);
  const logits = new Float32Array(rows * vocab);
  for (let i = 0; i < logits.length; i++)
    logits[i] = 3 * Math.sqrt(-2 * Math.log(rng.nextFloat() || 1e-12)) * Math.cos(2 * Math.PI * rng.nextFloat());
  const allowed = new Uint8Array(vocab).fill(1);
  const opts = { temperature, topP, rng, allowed };
  for (let r = 0; r < rows; r++) chooseToken(logits, r, vocab, opts); // warm
  const t = performance.now();
  for (let k = 0; k < reps; k++) for (let r = 0; r < rows; r++) chooseToken(logits, r, vocab, opts);
  return (performance.now() - t) / (reps * rows);
}

console.log('| vocabulary | greedy ms/slot | temperature 0.8 ms/slot | temperature 0.8, top-p 0.95 ms/slot |');
console.log('|---|---|---|---|');
for (const vocab of [16384, 151665]) {
  const f = (x: number) => x.toFixed(3);
  console.log(
    `| ${vocab} | ${f(time(vocab, 0, 1))} | ${f(time(vocab, 0.8, 1))} | ${f(time(vocab, 0.8, 0.95, 8, 3))} |`,
  );
}
