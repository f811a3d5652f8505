// The engine (src/worker/engine.ts) against a fake model that knows the document it should
// write: the window cut, the CRLF mapping, candidate de-duplication and the corrector's choice
// to keep or drop a rewrite. One character is one token, so offsets can be worked out by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MASK_GLYPH, type TokenCodec } from '../src/core/text/spanText';
import type { LogitsModel } from '../src/core/sampler/sampler';
import { Engine } from '../src/worker/engine';
import { MIN_BUDGET_CONTEXT, contextWithin } from '../src/core/sampler/callCost';
import type { ProgressParams } from '../src/backend/requests';

const special = { pad: 0, mask: 1, bos: 2, eos: 3 };
const CHARS = '\n\t' + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const V = 4 + CHARS.length;

/** A tokenizer with one token per character (ids after the four special ones). */
const codec: TokenCodec = {
  encode: (text) =>
    Int32Array.from(text, (c) => {
      const i = CHARS.indexOf(c);
      if (i < 0) throw new Error(`no token for ${JSON.stringify(c)}`);
      return 4 + i;
    }),
  decode: (ids) => Array.from(ids, (id) => (id >= 4 ? CHARS[id - 4] : '')).join(''),
  idsStartingWith: (text, rest) =>
    Int32Array.from(
      [...CHARS].flatMap((c, i) => (c.startsWith(text) && (!rest || rest(c.slice(text.length))) ? [4 + i] : [])),
    ),
};

/**
 * A model that knows the text the document should read (`want`, LF). Shown a canvas, it reads
 * the text before the first slot it is asked about and after the last masked one, and at each
 * slot favours, by a logit margin of `margin`, the character of `want` between the two, or pad
 * past it. With every token visible (the corrector's scoring) it favours `want`'s character at
 * each position, so it doubts the characters that differ.
 */
function knows(want: string, margin = 8): LogitsModel & { calls: number } {
  const model = {
    vocabSize: V,
    calls: 0,
    async logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array> {
      model.calls++;
      const a = positions[0];
      let b = positions[positions.length - 1] + 1;
      for (let i = b; i < ids.length; i++) if (ids[i] === special.mask) b = i + 1;
      assert.equal(ids[0], special.bos, 'the canvas starts at the file start');
      assert.equal(ids[ids.length - 1], special.eos, 'the canvas ends at the file end');
      const before = codec.decode(ids.subarray(0, a));
      const after = codec.decode(ids.subarray(b));
      assert.ok(
        want.startsWith(before) && want.endsWith(after),
        `the model knows ${JSON.stringify(before)} … ${JSON.stringify(after)}`,
      );
      const middle = want.slice(before.length, want.length - after.length);
      const out = new Float32Array(positions.length * V);
      positions.forEach((p, r) => {
        const c = middle[p - a];
        out[r * V + (c === undefined ? special.pad : codec.encode(c)[0])] = margin;
      });
      return out;
    },
  };
  return model;
}

/** A model that writes `writes` into masked slots but, shown every token, rates by `rates`. */
function torn(writes: string, rates: string): LogitsModel & { calls: number } {
  const w = knows(writes);
  const r = knows(rates);
  const model = {
    vocabSize: V,
    calls: 0,
    logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array> {
      model.calls++;
      return (ids.includes(special.mask) ? w : r).logits(ids, positions);
    },
  };
  return model;
}

/** `model` where it denoises; shown every token (the rating of a rewrite), it has no preference. */
function writesOnly(model: LogitsModel): LogitsModel {
  return {
    vocabSize: V,
    logits: (ids, positions) =>
      ids.includes(special.mask)
        ? model.logits(ids, positions)
        : Promise.resolve(new Float32Array(positions.length * V)),
  };
}

const engine = (model: LogitsModel, contextLength = 256): Engine => new Engine(model, codec, special, contextLength);

describe('engine', () => {
  test('a span longer than the window is cut to the part that fits, and the edit says which part', async () => {
    // 64 tokens of window: the context's share is at most half (32), bos and eos take 2, so the
    // span keeps 30 slots. The 40 characters ask for ceil(41 × 1.25) + 4 = 56 slots (the line's
    // newline rides along); cut to 30, the span keeps its first 30 characters.
    const text = 'a'.repeat(40) + '\nend\n';
    const r = await engine(writesOnly(knows('b'.repeat(40) + '\nend\n')), 64).refine({
      requestId: '1',
      text,
      start: 0,
      end: 40,
      strength: 1,
    });
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 0, end: 30, text: 'b'.repeat(30) }],
    );
    assert.equal(r.canvasTokens, 64 - 32 + 'end\n'.length, 'bos, 30 slots, the suffix, eos');
  });

  test('a CRLF text is answered in its own offsets and line endings, progress too', async () => {
    const text = 'ab\r\ncd\r\nef\r\n';
    const frames: ProgressParams[] = [];
    const r = await engine(knows('ab\nXY\nZ\nef\n')).refine(
      { requestId: '1', text, start: 4, end: 6, strength: 1, progress: true },
      { onProgress: (p) => frames.push(p) },
    );
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 4, end: 6, text: 'XY\r\nZ' }],
    );
    assert.ok(frames.length > 0);
    for (const f of frames)
      assert.doesNotMatch(f.spans[0].text.replaceAll(MASK_GLYPH, ''), /(^|[^\r])\n/, 'no bare LF in progress');
  });

  test('a fill in a CRLF text lands at the cursor of the CRLF text', async () => {
    const text = 'ab\r\n\r\nef\r\n';
    const r = await engine(knows('ab\nxy\nef\n')).fill({ requestId: '1', text, cursors: [4] });
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 4, end: 4, text: 'xy' }],
    );
  });

  test('candidates that decode to the same text come back once', async () => {
    // a model this sure samples what greedy decoding picks: three runs, one text
    const model = knows('let a = 1;\n', 30);
    const one = await engine(model).complete({ requestId: '1', prefix: 'let a = ', suffix: ';\n' });
    const calls = model.calls;
    const r = await engine(model).complete({ requestId: '2', prefix: 'let a = ', suffix: ';\n', candidates: 3 });
    assert.deepEqual(
      r.candidates?.map((c) => c.text),
      ['1'],
    );
    assert.equal(r.edits[0].text, '1');
    assert.equal(r.steps, 3 * one.steps, 'all three were decoded');
    assert.equal(model.calls, 4 * calls);
  });

  test('refine below strength 1 returns text the model finds correct unchanged, after one model call', async () => {
    const text = 'x = a + b\n';
    const model = knows(text);
    const r = await engine(model).refine({ requestId: '1', text, start: 0, end: 9, strength: 0.5 });
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 0, end: 9, text: 'x = a + b' }],
    );
    assert.equal(model.calls, 1);
  });

  // The corrector keeps a rewrite when its stretch (the changed token and one neighbour on each
  // side) gains more than 3 in mean log-probability. The model doubts the "+" it would write as
  // "-" by its margin m: log p("+") ≈ −m, so the stretch rises from about −m/3 to about 0.
  test('refine below strength 1 keeps a rewrite the model clearly prefers', async () => {
    const model = knows('x = a - b\n', 12); // −4 → 0
    const r = await engine(model).refine({ requestId: '1', text: 'x = a + b\n', start: 0, end: 9, strength: 0.5 });
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 0, end: 9, text: 'x = a - b' }],
    );
    assert.equal(model.calls, 3, 'scored, regenerated, scored again');
  });

  test('refine below strength 1 drops a rewrite the model prefers by less than the margin', async () => {
    const model = knows('x = a - b\n', 8); // −2.7 → 0
    const r = await engine(model).refine({ requestId: '1', text: 'x = a + b\n', start: 0, end: 9, strength: 0.5 });
    assert.deepEqual(
      r.edits.map(({ start, end, text }) => ({ start, end, text })),
      [{ start: 0, end: 9, text: 'x = a + b' }],
    );
    assert.equal(model.calls, 3, 'scored, regenerated, scored again');
  });
});

describe('refine at strength 1 against the original', () => {
  test('a rewrite the model rates below the original comes back flagged, the rewrite kept for "Show anyway"', async () => {
    const model = torn('y = 0\n', 'x = a + b\n');
    const r = await engine(model).refine({ requestId: '1', text: 'x = a + b\n', start: 0, end: 9, strength: 1 });
    assert.equal(r.edits[0].text, 'y = 0');
    assert.ok(r.belowOriginal, 'flagged');
    assert.ok(r.belowOriginal.original > r.belowOriginal.proposal + 1, JSON.stringify(r.belowOriginal));
    assert.equal(model.calls, r.steps + 2, 'the rewrite, then one scoring call for each text');
  });

  test('a rewrite the model rates above the original is a normal proposal', async () => {
    const model = knows('x = a - b\n');
    const r = await engine(model).refine({ requestId: '1', text: 'x = a + b\n', start: 0, end: 9, strength: 1 });
    assert.equal(r.edits[0].text, 'x = a - b');
    assert.equal(r.belowOriginal, undefined);
  });

  test('a rewrite that writes the original back costs no scoring call', async () => {
    const text = 'x = a + b\n';
    const model = knows(text);
    const r = await engine(model).refine({ requestId: '1', text, start: 0, end: 9, strength: 1 });
    assert.equal(r.edits[0].text, 'x = a + b');
    assert.equal(r.belowOriginal, undefined);
    assert.equal(model.calls, r.steps);
  });
});

describe('a time budget and a slow model', () => {
  /** Takes `msPerToken` per canvas token on every call and writes "x", then pad. */
  function slow(msPerToken: number): LogitsModel & { lengths: number[] } {
    const model = {
      vocabSize: V,
      lengths: [] as number[],
      async logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array> {
        model.lengths.push(ids.length);
        await new Promise((r) => setTimeout(r, ids.length * msPerToken));
        const out = new Float32Array(positions.length * V);
        positions.forEach((p, r) => {
          out[r * V + (ids[p - 1] === special.mask || r > 0 ? special.pad : codec.encode('x')[0])] = 8;
        });
        return out;
      },
    };
    return model;
  }
  const prefix = 'let total = 0;\n'.repeat(40) + 'total += ';
  const suffix = ';\n' + 'done();\n'.repeat(40);

  test('once a call was measured, ghost text reads only the context a full call reads in a third of its budget', async () => {
    const model = slow(1); // 1 ms a token: the default 200-token context alone takes longer than the 180 ms budget
    const e = engine(model, 512);
    const ask = () => e.complete({ requestId: 'g', prefix, suffix, maxTokens: 8, sampler: { timeBudgetMs: 180 } });
    await ask(); // the first request has nothing measured: the full default context
    const first = model.lengths[0];
    assert.ok(first >= 200, `first canvas ${first} tokens`);
    model.lengths.length = 0;
    await ask();
    // a third of 180 ms at 1 ms a token or a little more (timer slack): at most 60 tokens, and the
    // 8 slots, bos/eos and the least context (32 + 8) at least
    assert.ok(model.lengths[0] <= 60 && model.lengths[0] >= 8 + 32 + 8, `second canvas ${model.lengths[0]} tokens`);
  });

  test('a request without a budget, or a model fast enough, keeps the whole context', async () => {
    const model = slow(1);
    const e = engine(model, 512);
    await e.complete({ requestId: 'g', prefix, suffix, maxTokens: 8, sampler: { timeBudgetMs: 120 } });
    const first = model.lengths[0];
    model.lengths.length = 0;
    await e.fill({ requestId: 'f', text: prefix + suffix, cursors: [prefix.length], maxTokens: 8 });
    assert.equal(model.lengths[0], first, 'fill has no budget: its context is not cut');
    const fast = slow(0);
    const f = engine(fast, 512);
    await f.complete({ requestId: 'g', prefix, suffix, maxTokens: 8, sampler: { timeBudgetMs: 200 } });
    await f.complete({ requestId: 'g', prefix, suffix, maxTokens: 8, sampler: { timeBudgetMs: 200 } });
    assert.equal(fast.lengths.at(-1), fast.lengths[0], 'a model that reads it all in time keeps it all');
  });
});

describe('contextWithin', () => {
  test('cuts prefix and suffix in proportion, to the least context, never above what was asked', () => {
    assert.deepEqual(contextWithin(150, 50, 400), { prefixTokens: 150, suffixTokens: 50 }, 'it fits: unchanged');
    assert.deepEqual(contextWithin(150, 50, 100), { prefixTokens: 75, suffixTokens: 25 });
    assert.deepEqual(contextWithin(150, 50, 10), {
      prefixTokens: MIN_BUDGET_CONTEXT.prefix,
      suffixTokens: MIN_BUDGET_CONTEXT.suffix,
    });
    assert.deepEqual(
      contextWithin(10, 4, 2),
      { prefixTokens: 10, suffixTokens: 4 },
      'a context smaller than the least is not grown',
    );
  });
});
