// The context cache: its bookkeeping against a fake graph, and the real model v2 graph, whose
// cached calls must give the full call's logits when nothing changed and stay close when a few
// slots did.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ContextCache, type CacheGraph } from '../src/core/sampler/contextCache';
import { loadModelFolder } from '../src/worker/loadModel';
import { ROOT, int8Tolerance } from './helpers';

const V = 8;
const SHAPE = { layers: 2, heads: 1, headDim: 2 };

/** Records what each call computed; a token's "key" is its id and position. */
function fakeGraph() {
  const calls: { ids: number[]; at: number[] | null; past: number; rows: number[] }[] = [];
  const graph: CacheGraph = {
    vocabSize: V,
    async run(ids, at, past, rows) {
      const per = SHAPE.layers * SHAPE.heads * SHAPE.headDim;
      calls.push({ ids: [...ids], at: at && [...at], past: past ? past.keys.length / per : 0, rows: [...rows] });
      const keys = new Float32Array(SHAPE.layers * SHAPE.heads * ids.length * SHAPE.headDim);
      for (let lh = 0; lh < SHAPE.layers * SHAPE.heads; lh++) {
        ids.forEach((id, i) => keys.set([id, at ? at[i] : i], (lh * ids.length + i) * SHAPE.headDim));
      }
      return { logits: new Float32Array(rows.length * V), keys, values: keys.slice() };
    },
  };
  return { graph, calls };
}

describe('context cache', () => {
  test("a full call first, then only the changed and asked slots, against the others' cached keys", async () => {
    const { graph, calls } = fakeGraph();
    const cache = new ContextCache(graph, SHAPE, 4);
    const ids = Int32Array.from([2, 10, 11, 1, 1, 1, 12, 3]); // bos · context · 3 masks · context · eos
    await cache.logits(ids, Int32Array.from([3, 4, 5]));
    assert.deepEqual(calls[0], { ids: [...ids], at: null, past: 0, rows: [3, 4, 5] });
    ids[4] = 7; // slot 4 committed
    await cache.logits(ids, Int32Array.from([3, 5]));
    assert.deepEqual(calls[1], { ids: [1, 7, 1], at: [3, 4, 5], past: 5, rows: [0, 2] });
    assert.deepEqual(cache.counts, { full: 1, cached: 1 });
  });

  test("the past holds the other positions' cached keys in canvas order", async () => {
    let seen: Float32Array | undefined;
    const { graph } = fakeGraph();
    const spy: CacheGraph = {
      ...graph,
      run: async (ids, at, past, rows) => ((seen = past?.keys), graph.run(ids, at, past, rows)),
    };
    const cache = new ContextCache(spy, SHAPE, 4);
    const ids = Int32Array.from([2, 10, 1, 12, 3]);
    await cache.logits(ids, Int32Array.from([2]));
    await cache.logits(ids, Int32Array.from([2]));
    // layer 0 (then layer 1 the same): the keys of positions 0, 1, 3, 4
    assert.deepEqual([...seen!.subarray(0, 8)], [2, 0, 10, 1, 12, 3, 3, 4]);
  });

  test('a full call again every few calls, when the canvas changes length, or when most of it changed', async () => {
    const { graph, calls } = fakeGraph();
    const cache = new ContextCache(graph, SHAPE, 3);
    const ids = Int32Array.from([2, 10, 11, 12, 1, 1, 13, 14, 15, 3]);
    const asked = Int32Array.from([4, 5]);
    for (let i = 0; i < 4; i++) await cache.logits(ids, asked);
    assert.deepEqual(
      calls.map((c) => c.at === null),
      [true, false, false, true],
      'every 3rd call is full',
    );
    await cache.logits(Int32Array.from([...ids, 1]), asked);
    assert.equal(calls[4].at, null, 'a longer canvas');
    await cache.logits(
      Int32Array.from([...ids, 1]).map((id) => id + 1),
      asked,
    );
    assert.equal(calls[5].at, null, 'every id changed');
  });
});

describe('model v2 with the context cache', () => {
  const dir = path.join(ROOT, 'models', 'diffuse-v2');

  test("a cached call gives the full call's logits when nothing changed, and close ones after a commit", async () => {
    const loaded = await loadModelFolder(dir, 1);
    const s = loaded.manifest.special_tokens;
    const text = loaded.codec.encode('function add(a, b) {\n  return a + b;\n}\n\nfunction mul(a, b) {\n');
    const ids = Int32Array.from([s.bos, ...text, ...new Array(12).fill(s.mask), ...loaded.codec.encode('}\n'), s.eos]);
    const asked = Int32Array.from({ length: 12 }, (_, i) => text.length + 1 + i);
    const plain = await loaded.model.logits(ids, asked);
    const run = loaded.model.forRun();
    assert.ok(run instanceof ContextCache);
    await run.logits(ids, asked);
    const again = await run.logits(ids, asked);
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    const range = plain.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    // the activations are quantised per call (one scale for the rows computed), so "the same" is
    // within int8 rounding: the surest token of every slot stays the same
    assert.ok(
      diff(again, plain) < int8Tolerance(0.06) * range,
      `cached vs full: max |Δ| ${diff(again, plain)} of ${range}`,
    );
    const vocab = loaded.manifest.vocab_size;
    const argmax = (l: Float32Array, r: number) => {
      let best = 0;
      for (let v = 1; v < vocab; v++) if (l[r * vocab + v] > l[r * vocab + best]) best = v;
      return best;
    };
    for (let r = 0; r < asked.length; r++) assert.equal(argmax(again, r), argmax(plain, r), `slot ${r}`);
    assert.equal(run.counts.cached, 1);
    // commit the slot the model is surest of; the others' argmax should mostly stay what a full call says
    ids[asked[0]] = loaded.codec.encode('  return')[0];
    const rest = asked.subarray(1);
    const cached = await run.logits(ids, rest);
    const full = await loaded.model.logits(ids, rest);
    const same = rest.reduce((n, _, r) => n + (argmax(cached, r) === argmax(full, r) ? 1 : 0), 0);
    assert.ok(same >= rest.length - 2, `argmax agrees on ${same} of ${rest.length} slots`);
  });
});
