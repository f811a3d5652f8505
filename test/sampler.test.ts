// The sampler's logic against small deterministic fake models. (The real model is exercised by
// engine and CLI tests; these pin down the decoding rules themselves.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCanvas, type SpanSpec } from '../src/core/sampler/canvas';
import { denoise, type LogitsModel, type SamplerOptions, type StepState } from '../src/core/sampler/sampler';
import { SeededRandom } from '../src/core/sampler/rng';
import { commitCount } from '../src/core/sampler/schedule';
import { chooseToken } from '../src/core/sampler/tokenChoice';

const special = { pad: 0, mask: 1, bos: 2, eos: 3 };
const V = 32;

/**
 * A model that "knows" the right token for every canvas position. `strength(p)` is the logit
 * margin it gives the right token at p, so tests control how confident each slot is.
 */
function oracle(target: (ids: Int32Array, p: number) => number, strength: (p: number) => number = () => 8) {
  const calls: { ids: Int32Array; positions: Int32Array }[] = [];
  const model: LogitsModel = {
    vocabSize: V,
    async logits(ids, positions) {
      calls.push({ ids: ids.slice(), positions: positions.slice() });
      const out = new Float32Array(positions.length * V);
      positions.forEach((p, r) => {
        out[r * V + target(ids, p)] = strength(p);
      });
      return out;
    },
  };
  return { model, calls };
}

const opts = (o: Partial<SamplerOptions> = {}): SamplerOptions => ({
  maxSteps: 100,
  threshold: 0.9,
  temperature: 0,
  topP: 1,
  seed: 1,
  remask: 0,
  blockLength: 1000,
  ...o,
});

function canvasOf(
  prefix: number[],
  span: Partial<SpanSpec> & { slots: number },
  suffix: number[],
  spans2?: { middle: number[]; span: Partial<SpanSpec> & { slots: number } },
) {
  const spans: SpanSpec[] = [{ original: new Int32Array(0), variableLength: false, ...span }];
  const contexts = [Int32Array.from(prefix)];
  if (spans2) {
    contexts.push(Int32Array.from(spans2.middle));
    spans.push({ original: new Int32Array(0), variableLength: false, ...spans2.span });
  }
  contexts.push(Int32Array.from(suffix));
  return buildCanvas(contexts, spans, { prefix: 100, suffix: 100, total: 256 }, special, {
    fileStart: true,
    fileEnd: true,
  });
}

describe('denoise', () => {
  test('a model that knows the answer fills the span with it', async () => {
    const c = canvasOf([10, 11], { slots: 4 }, [12]);
    // canvas: bos 10 11 [4 slots] 12 eos — the right token at slot p is 20 + p
    const { model } = oracle((_ids, p) => 20 + p);
    const r = await denoise(model, c, special, opts());
    assert.deepEqual([...r.spans[0]], [23, 24, 25, 26]);
    assert.equal(r.stoppedBy, 'done');
  });

  test('the threshold commits every confident slot in one step', async () => {
    const c = canvasOf([10], { slots: 6 }, [12]);
    const { model, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 12,
    ); // p ≈ 0.9999 everywhere
    const r = await denoise(model, c, special, opts({ threshold: 0.9 }));
    assert.equal(r.steps, 1);
    assert.equal(calls.length, 1);
  });

  test('below the threshold at least one slot is committed per step', async () => {
    const c = canvasOf([10], { slots: 5 }, [12]);
    const { model } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    ); // p ≈ 0.08: never passes 0.9
    const r = await denoise(model, c, special, opts({ threshold: 0.9 }));
    assert.equal(r.steps, 5);
    assert.deepEqual([...r.spans[0]], [22, 23, 24, 25, 26]);
  });

  test('the most confident slot is committed first', async () => {
    const c = canvasOf([], { slots: 3 }, []);
    // bos [s1 s2 s3] eos; slot 3 is the most confident, then 1, then 2
    const margin: Record<number, number> = { 1: 3, 2: 1, 3: 5 };
    const states: StepState[] = [];
    const { model } = oracle(
      (_ids, p) => 20 + p,
      (p) => margin[p],
    );
    await denoise(model, c, special, opts({ threshold: 1 }), {
      onStep: (s) => states.push({ ...s, committed: s.committed.slice() }),
    });
    assert.deepEqual(
      states.map((s) => [...s.committed.subarray(1, 4)]),
      [
        [0, 0, 1],
        [1, 0, 1],
        [1, 1, 1],
      ],
    );
  });

  test('the fixed-k schedule commits k slots per step', async () => {
    const c = canvasOf([10], { slots: 8 }, [12]);
    const { model } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    );
    const r = await denoise(model, c, special, opts({ tokensPerStep: 3 }));
    assert.equal(r.steps, 3); // 3 + 3 + 2
  });

  test('the step budget bounds the model calls', async () => {
    const c = canvasOf([10], { slots: 10 }, [12]);
    const { model, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    );
    const r = await denoise(model, c, special, opts({ maxSteps: 4 }));
    assert.equal(calls.length, 4);
    assert.equal(r.steps, 4);
    assert.equal(r.spans[0].length, 10);
  });

  test('surplus slots are cast to pad and dropped; a pad pads the rest of its span', async () => {
    const c = canvasOf([10], { slots: 6, variableLength: true }, [12]);
    // bos 10 [slots 2..7] 12 eos: two tokens, then pads
    const { model, calls } = oracle(
      (_ids, p) => (p < 4 ? 20 + p : special.pad),
      () => 12,
    );
    const r = await denoise(model, c, special, opts({ threshold: 0.9 }));
    assert.deepEqual([...r.spans[0]], [22, 23]);
    assert.equal(calls.length, 1, 'confident everywhere: one step');
  });

  test('the step budget spreads the slots the model is shown, not the hidden surplus', async () => {
    const c = canvasOf([10], { slots: 40, variableLength: true }, [12]);
    // slots 2..41 behind a window of 8: four unsure tokens (p ≈ 0.4), then pads (p ≈ 0.2). With
    // 4 calls the 8 shown slots need 2 commits per call; counting all 40 slots would force 10,
    // every token of the span, into the first call.
    const { model, calls } = oracle(
      (_ids, p) => (p < 6 ? 20 + p : special.pad),
      (p) => (p < 6 ? 3 : 2),
    );
    const states: StepState[] = [];
    const r = await denoise(model, c, special, opts({ threshold: 0.9, maxSteps: 4, blockLength: 8 }), {
      onStep: (s) => states.push({ ...s, ids: s.ids.slice(), committed: s.committed.slice() }),
    });
    const written = (s: StepState) =>
      [...s.ids.subarray(2, 42)].filter((id, i) => s.committed[2 + i] && id !== special.pad).length;
    assert.deepEqual(states.map(written), [2, 4, 4]);
    assert.deepEqual([...r.spans[0]], [22, 23, 24, 25]);
    assert.equal(calls.length, 3);
  });

  test('left to right, one per step: slots are written in order and the first pad ends the span', async () => {
    const c = canvasOf([10], { slots: 6, variableLength: true }, [12]);
    // slots 2..7: three tokens, then pads; the model is surest at the far end, which a
    // confidence order would write first
    const { model, calls } = oracle(
      (_ids, p) => (p < 5 ? 20 + p : special.pad),
      (p) => p,
    );
    // after each step: the first slot still open (-1: none)
    const firstOpen: number[] = [];
    const r = await denoise(model, c, special, opts({ tokensPerStep: 1, leftToRight: true }), {
      onStep: (s) => firstOpen.push([...s.committed.subarray(2, 8)].indexOf(0)),
    });
    assert.deepEqual([...r.spans[0]], [22, 23, 24]);
    assert.equal(calls.length, 4, 'three tokens and the pad that ends the span');
    assert.deepEqual(firstOpen, [1, 2, 3, -1]);
  });

  test('a pad waits while a later slot still wants a token', async () => {
    const c = canvasOf([10], { slots: 4, variableLength: true }, [12]);
    // slots 2..5: the model is surest of a pad at slot 3 while slots 4 and 5 want tokens; the
    // pad must not erase them, and once they are written slot 3 wants a token too
    const { model } = oracle(
      (ids, p) => (p === 3 && ids[4] === special.mask ? special.pad : 20 + p),
      (p) => (p === 3 ? 9 : 2),
    );
    const r = await denoise(model, c, special, opts({ threshold: 0.99 }));
    assert.deepEqual([...r.spans[0]], [22, 23, 24, 25]);
  });

  test('a span that must write text does not end before it has', async () => {
    // slots 2..7. The model is surest of pad everywhere (the collapse that left HumanEval lines
    // empty); its next choices: blank token 5 at the first slot, text 20 + p after it.
    const BLANK = 5;
    const model: LogitsModel = {
      vocabSize: V,
      async logits(_ids, positions) {
        const out = new Float32Array(positions.length * V);
        positions.forEach((p, r) => {
          out[r * V + special.pad] = 8;
          out[r * V + (p === 2 ? BLANK : 20 + p)] = 4;
        });
        return out;
      },
    };
    const free = await denoise(model, canvasOf([10], { slots: 6, variableLength: true }, [12]), special, opts());
    assert.deepEqual([...free.spans[0]], [], 'left to itself the span ends at once');
    const must = canvasOf([10], { slots: 6, variableLength: true, blankIds: Int32Array.of(BLANK) }, [12]);
    const r = await denoise(model, must, special, opts());
    assert.deepEqual([...r.spans[0]], [BLANK, 23], 'a blank token is not enough; after text the span may end');
    const inOrder = await denoise(model, must, special, opts({ tokensPerStep: 1, leftToRight: true }));
    assert.deepEqual([...inOrder.spans[0]], [BLANK, 23], 'the same left to right');
  });

  test('a pad that can never go in is replaced by the best token, so decoding never stalls', async () => {
    const c = canvasOf([10], { slots: 3, variableLength: true }, [12]);
    // slots 2..4: slot 4 is written first (surest); then slot 3 wants pad but a token follows it
    const { model, calls } = oracle(
      (ids, p) => (p === 4 || ids[4] === special.mask ? 20 + p : special.pad),
      (p) => (p === 4 ? 9 : 2),
    );
    const r = await denoise(model, c, special, opts({ threshold: 0.99, maxSteps: 50 }));
    assert.equal(r.spans[0].length, 3);
    // only slot 4 ever passes the threshold; below it one slot is committed per call
    assert.equal(calls.length, 3, 'one model call per slot');
  });

  test('a variable-length span is denoised left to right through its window', async () => {
    const c = canvasOf([10], { slots: 12, variableLength: true }, [12]);
    // the model is surest far down the span; with a window of 4 the first slots come first
    const states: Uint8Array[] = [];
    const { model } = oracle(
      (_ids, p) => 10 + p,
      (p) => p,
    );
    await denoise(model, c, special, opts({ blockLength: 4, threshold: 1 }), {
      onStep: (s) => states.push(s.committed.slice(2, 14)),
    });
    assert.deepEqual([...states[0]], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'the surest slot of the first window');
  });

  test('the window widens when the step budget needs it', async () => {
    const c = canvasOf([10], { slots: 12, variableLength: true }, [12]);
    const { model, calls } = oracle(
      (_ids, p) => 10 + p,
      () => 1,
    );
    const r = await denoise(model, c, special, opts({ blockLength: 2, maxSteps: 3 }));
    assert.equal(calls.length, 3);
    assert.equal(r.spans[0].length, 12);
  });

  test('a span whose first slot is pad is empty', async () => {
    const c = canvasOf([10], { slots: 5, variableLength: true }, [12]);
    const { model } = oracle(() => special.pad);
    const r = await denoise(model, c, special, opts());
    assert.equal(r.spans[0].length, 0);
  });

  test('the healed first slot is never pad', async () => {
    const c = canvasOf([10], { slots: 4, variableLength: true, firstAllowed: Int32Array.from([25, 26]) }, [12]);
    const { model } = oracle((_ids, p) => (p === 2 ? 26 : special.pad));
    const r = await denoise(model, c, special, opts());
    assert.deepEqual([...r.spans[0]], [26]);
  });

  test('fixed-length spans never get pad, mask, bos or eos', async () => {
    const c = canvasOf([10], { slots: 4 }, [12]);
    const { model } = oracle(() => special.pad);
    const r = await denoise(model, c, special, opts());
    assert.equal(r.spans[0].length, 4);
    for (const id of r.spans[0]) assert.ok(id > 3);
  });

  test('several spans are denoised jointly in one canvas', async () => {
    const c = canvasOf([10], { slots: 2 }, [12], { middle: [11, 11], span: { slots: 3 } });
    // bos 10 [2 3] 11 11 [6 7 8] 12 eos
    const { model, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 12,
    );
    const r = await denoise(model, c, special, opts());
    assert.deepEqual(
      r.spans.map((s) => [...s]),
      [
        [22, 23],
        [26, 27, 28],
      ],
    );
    assert.equal(calls.length, 1);
    assert.deepEqual([...calls[0].positions], [2, 3, 6, 7, 8]);
  });

  test('a cancelled request stops between steps', async () => {
    const c = canvasOf([10], { slots: 6 }, [12]);
    const { model, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    );
    let steps = 0;
    const r = await denoise(model, c, special, opts(), { onStep: () => steps++, isCancelled: () => steps >= 2 });
    assert.equal(r.stoppedBy, 'cancelled');
    assert.equal(calls.length, 2);
  });

  test('past the deadline the remaining slots take their last candidates', async () => {
    const c = canvasOf([10], { slots: 6 }, [12]);
    const { model, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    );
    let clock = 0;
    const r = await denoise(model, c, special, opts({ deadline: 2 }), { now: () => clock, onStep: () => clock++ });
    assert.equal(r.stoppedBy, 'deadline');
    assert.equal(calls.length, 2);
    assert.deepEqual([...r.spans[0]], [22, 23, 24, 25, 26, 27]);
  });

  test("a call that might end past the deadline (as long as the run's longest) is not started", async () => {
    const c = canvasOf([10], { slots: 6 }, [12]);
    const { model: inner, calls } = oracle(
      (_ids, p) => 20 + p,
      () => 1,
    );
    let clock = 0;
    // a full first call of 40, cheap calls of 10 after it
    const model: LogitsModel = {
      vocabSize: V,
      logits: async (ids, positions) => {
        clock += calls.length === 0 ? 40 : 10;
        return inner.logits(ids, positions);
      },
    };
    const r = await denoise(model, c, special, opts({ deadline: 100 }), { now: () => clock });
    // calls end at 40, 50, 60; a fourth might take 40 again and end at 100
    assert.equal(calls.length, 3);
    assert.equal(clock, 60);
    assert.equal(r.stoppedBy, 'deadline');
    assert.equal(r.spans[0].length, 6, 'the open slots took their last candidates');
  });

  test('sampling is deterministic under a seed', async () => {
    const c = canvasOf([10], { slots: 12 }, [12]);
    const flat: LogitsModel = { vocabSize: V, logits: async (_ids, pos) => new Float32Array(pos.length * V) };
    const run = async (seed: number) => [...(await denoise(flat, c, special, opts({ temperature: 1, seed }))).spans[0]];
    assert.deepEqual(await run(7), await run(7));
    assert.notDeepEqual(await run(7), await run(8));
  });

  test('self-correction re-masks the weakest tokens and denoises them again', async () => {
    const c = canvasOf([10], { slots: 4 }, [12]);
    // First pass: the model answers 20+p; once the span is complete it changes its mind about
    // slot 3 (believes 30), which the correction pass must pick up.
    const { model, calls } = oracle(
      (ids, p) => (p === 3 && ids[4] !== special.mask && ids[2] !== special.mask ? 30 : 20 + p),
      () => 6,
    );
    const r = await denoise(model, c, special, opts({ remask: 0.25, threshold: 0.5 }));
    assert.equal(r.spans[0][1], 30);
    // one call writes all four slots (sure enough for 0.5), one looks again and re-masks
    // round(0.25 × 4) = 1 token, one writes it; the correction pass runs once
    assert.equal(calls.length, 3);
    assert.equal(r.steps, 3);
  });
});

describe("DreamOn's expand token in a variable-length span", () => {
  // bos 10 [span] 12 eos: the span must hold `answer`; a DreamOn-like model sees how many slots
  // the span has in its view (L) and, while L is short of the answer, asks for more by `expand`.
  const withExpand = { ...special, expand: 4 };
  const answer = [20, 21, 22, 23, 24];
  /** The view's span slots: the view runs bos 10 [span] 12 eos, so they are 2 … length-3. */
  const spanSlots = (ids: Int32Array) => ids.length - 4;
  function dreamOnLike(expandAt: (L: number, j: number) => boolean) {
    const calls: Int32Array[] = [];
    const model: LogitsModel = {
      vocabSize: V,
      async logits(ids, positions) {
        calls.push(ids.slice());
        const L = spanSlots(ids);
        const out = new Float32Array(positions.length * V);
        positions.forEach((p, r) => {
          const j = p - 2;
          // slots left of an expansion keep their index; those right of it move one to the right
          const shift = L < answer.length ? [...Array(j).keys()].filter((q) => expandAt(L, q)).length : 0;
          const target = j + shift < answer.length ? answer[j + shift] : special.pad;
          if (L < answer.length && expandAt(L, j)) {
            out[r * V + withExpand.expand] = 9;
            out[r * V + (j < answer.length ? answer[j] : special.pad)] = 4; // where it may not expand
          } else out[r * V + target] = 9;
        });
        return out;
      },
    };
    return { model, calls };
  }
  const canvas = (slots: number) => canvasOf([10], { slots, variableLength: true }, [12]);

  test('a span shown too few masks grows by expansions until the answer fits, then writes it', async () => {
    const { model, calls } = dreamOnLike(() => true);
    const r = await denoise(model, canvas(8), withExpand, opts({ blockLength: 2 }));
    assert.deepEqual([...r.spans[0]], answer);
    // 2 masks shown, both expand → 4, all four expand → 8 (the span's slots): then it writes
    assert.deepEqual(calls.map(spanSlots), [2, 4, 8]);
  });

  test('an expansion between written slots moves the later ones right', async () => {
    // 4 masks shown: slot 1 expands while slots 0, 2 and 3 write 20, 22 and 23 (the answer's
    // 0th, 2nd and 3rd once slot 1 is two); then 21 goes between 20 and 22
    const { model, calls } = dreamOnLike((_L, j) => j === 1);
    const r = await denoise(model, canvas(6), withExpand, opts({ blockLength: 4 }));
    assert.deepEqual([...r.spans[0]], answer);
    // one expansion, one slot more; once those are written growWindows shows one more, which ends it
    assert.deepEqual(calls.map(spanSlots), [4, 5, 6]);
  });

  test('a span with no free slot left may not expand, and expand is never text', async () => {
    const { model } = dreamOnLike(() => true);
    const r = await denoise(model, canvas(3), withExpand, opts({ blockLength: 1000 }));
    assert.deepEqual([...r.spans[0]], [20, 21, 22], 'three slots: the answer cut to them, no expand token');
  });

  test('a fixed-length span never takes expand', async () => {
    const { model } = dreamOnLike(() => true);
    const r = await denoise(model, canvasOf([10], { slots: 3 }, [12]), withExpand, opts());
    assert.deepEqual([...r.spans[0]], [20, 21, 22]);
  });
});

describe('chooseToken', () => {
  // probabilities 0.5, 0.3, 0.2 at ids 4, 5, 6 (others -inf through `allowed`)
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const allowed = Uint8Array.from([1, 1, 1]);
  const draws = (topP: number) =>
    new Set(
      Array.from(
        { length: 200 },
        (_, i) => chooseToken(logits, 0, 3, { temperature: 1, topP, rng: new SeededRandom(i), allowed }).id,
      ),
    );

  test('top-p keeps the smallest set of tokens whose probability reaches p', () => {
    assert.deepEqual([...draws(0.5)], [0], 'the 0.5 token alone reaches 0.5');
    assert.deepEqual([...draws(0.7)].sort(), [0, 1]);
    assert.deepEqual([...draws(1)].sort(), [0, 1, 2]);
  });

  test('a drawn token reports its probability under the tempered distribution', () => {
    const c = chooseToken(logits, 0, 3, { temperature: 1, topP: 1, rng: new SeededRandom(1), allowed });
    assert.ok(Math.abs(c.confidence - [0.5, 0.3, 0.2][c.id]) < 1e-6);
  });
});

describe('commitCount', () => {
  test('counts the slots at or above the threshold, at least one', () => {
    assert.equal(commitCount([0.99, 0.95, 0.5], 10, { threshold: 0.9 }), 2);
    assert.equal(commitCount([0.5, 0.4], 10, { threshold: 0.9 }), 1);
  });
  test('commits enough to finish within the remaining steps', () => {
    assert.equal(commitCount([0.5, 0.4, 0.3, 0.2, 0.1, 0.1], 2, { threshold: 0.9 }), 3);
  });
  test('fixed k is capped by the masked count', () => {
    assert.equal(commitCount([0.5, 0.4], 10, { threshold: 0.9, tokensPerStep: 4 }), 2);
  });
});

describe('buildCanvas', () => {
  const ids = (n: number, from: number) => Int32Array.from({ length: n }, (_, i) => from + i);
  test('keeps the context nearest the span and marks file edges only when untrimmed', () => {
    const c = buildCanvas(
      [ids(50, 100), ids(50, 200)],
      [{ original: new Int32Array(0), slots: 4, variableLength: true }],
      { prefix: 10, suffix: 5, total: 256 },
      special,
      { fileStart: true, fileEnd: true },
    );
    assert.deepEqual([...c.ids.subarray(0, 10)], [...ids(10, 140)], 'prefix: its last 10 tokens, no bos');
    assert.deepEqual([...c.ids.subarray(14)], [...ids(5, 200)], 'suffix: its first 5 tokens, no eos');
    assert.equal(c.spans[0].offset, 10);
  });
  test('puts bos and eos at untrimmed file edges', () => {
    const c = buildCanvas(
      [ids(3, 100), ids(2, 200)],
      [{ original: new Int32Array(0), slots: 2, variableLength: true }],
      { prefix: 10, suffix: 5, total: 256 },
      special,
      { fileStart: true, fileEnd: true },
    );
    assert.deepEqual([...c.ids], [2, 100, 101, 102, 1, 1, 200, 201, 3]);
  });
  test('never exceeds the total budget', () => {
    const c = buildCanvas(
      [ids(500, 100), ids(500, 1000)],
      [{ original: new Int32Array(0), slots: 40, variableLength: true }],
      { prefix: 400, suffix: 400, total: 128 },
      special,
      { fileStart: false, fileEnd: false },
    );
    assert.ok(c.ids.length <= 128, `canvas has ${c.ids.length} tokens`);
  });
});
