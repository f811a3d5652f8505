// Folders made by `npm run model:convert` (training/convert.py) from tiny random checkpoints of
// Dream (Qwen2 layers, grouped-query attention, the logit shift baked into the graph) and LLaDA
// (LLaMA blocks under LLaDA's names, no shift) in the real file layout
// (training/tests/tiny_checkpoints.py): the real worker loads them and serves fill, refine with
// the corrector and complete; the context cache with the shift gives the full call's logits; an
// execution provider that cannot load falls back to CPU; the memory check refuses clearly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ContextCache } from '../src/core/sampler/contextCache';
import { MASK_GLYPH } from '../src/core/text/spanText';
import type { LocalBackend } from '../src/backend/local/localBackend';
import type { BackendState, LoadProgress } from '../src/backend/backend';
import { summarizeFolder } from '../src/modelFolder/summary';
import { ModelFolderError, loadModelFolder } from '../src/worker/loadModel';
import { HfTokenCodec } from '../src/worker/tokenCodec';
import { ROOT, client } from './helpers';

const PYTHON = '/usr/bin/python3';
const SOURCE = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n\nconsole.log(add(2, 3));\n';
let tmp: string;
const folders: Record<string, string> = {};

function convert(arch: string, dtype: string): string {
  const ck = path.join(tmp, `ck-${arch}`);
  const out = path.join(tmp, `${arch}-${dtype}`);
  const env = { ...process.env, OMP_NUM_THREADS: '1' };
  execFileSync(PYTHON, [path.join(ROOT, 'training', 'tests', 'tiny_checkpoints.py'), arch, ck], { env, stdio: 'pipe' });
  execFileSync(
    PYTHON,
    [path.join(ROOT, 'training', 'convert.py'), '--from', ck, '--out', out, '--dtype', dtype, '--threads', '1'],
    { env, stdio: 'pipe' },
  );
  return out;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-converted-'));
  folders.dream = convert('dream', 'fp32');
  folders.dreamon = convert('dreamon', 'fp32');
  folders.llada = convert('llada', 'int8');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const arch of ['dream', 'dreamon', 'llada'] as const) {
  describe(`a converted ${arch} folder in the real worker`, () => {
    let c: LocalBackend;
    before(async () => {
      c = client({ modelDir: folders[arch] });
      const info = await c.start();
      const manifest = JSON.parse(fs.readFileSync(path.join(folders[arch], 'denoiser.json'), 'utf8'));
      assert.equal(info.vocabSize, manifest.vocab_size);
    });
    after(() => c.dispose());

    test('fill at two cursors: both spans in one canvas, at the cursors', async () => {
      const a = SOURCE.indexOf('  return a + b;');
      const b = SOURCE.indexOf('console.log');
      const r = await c.fill({ text: SOURCE, cursors: [a, b], maxTokens: 8 });
      assert.deepEqual(
        r.edits.map((e) => [e.start, e.end]),
        [
          [a, a],
          [b, b],
        ],
      );
      for (const e of r.edits) assert.doesNotMatch(e.text, new RegExp(MASK_GLYPH));
    });

    test('refine below strength 1 runs the corrector and changes nothing outside the selection', async () => {
      const start = SOURCE.indexOf('  return a + b;');
      const end = start + '  return a + b;'.length;
      const r = await c.refine({ text: SOURCE, start, end, strength: 0.5 });
      assert.equal(r.edits.length, 1);
      assert.deepEqual([r.edits[0].start, r.edits[0].end], [start, end]);
      assert.doesNotMatch(r.edits[0].text, new RegExp(MASK_GLYPH));
    });

    test('refine at strength 1 streams its steps and masked slots only decrease', async () => {
      const start = SOURCE.indexOf('  return a + b;');
      const masked: number[] = [];
      const r = await c.refine(
        { text: SOURCE, start, end: start + 16, strength: 1, sampler: { seed: 1 } },
        { onProgress: (p) => masked.push(p.spans[0].masked) },
      );
      assert.equal(masked.length, r.steps);
      assert.deepEqual(
        masked,
        [...masked].sort((x, y) => y - x),
      );
      assert.equal(masked[masked.length - 1], 0);
    });

    test('complete (ghost text) inserts at the cursor within its slots and step budget', async () => {
      const prefix = 'function add(a, b) {\n  return ';
      const r = await c.complete({ prefix, suffix: ';\n}\n', maxTokens: 8 });
      assert.deepEqual([r.edits[0].start, r.edits[0].end], [prefix.length, prefix.length]);
      assert.ok(r.steps >= 1 && r.steps <= 8, `${r.steps} model calls`);
      assert.doesNotMatch(
        r.edits[0].text,
        new RegExp(`${MASK_GLYPH}|<\\|(mask|mdm_mask|endoftext|beginoftext|startoftext|expand|delete)\\|>`),
      );
    });
  });
}

describe('a converted DreamOn folder', () => {
  test('declares its expand token and loads with it, its delete token as pad', async () => {
    const tok = JSON.parse(fs.readFileSync(path.join(folders.dreamon, 'tokenizer.json'), 'utf8')) as {
      added_tokens: { id: number; content: string }[];
    };
    const id = (t: string) => tok.added_tokens.find((a) => a.content === t)!.id;
    const { manifest } = await loadModelFolder(folders.dreamon, 1);
    assert.equal(manifest.special_tokens.expand, id('<|expand|>'));
    assert.equal(manifest.special_tokens.pad, id('<|delete|>'));
  });

  test('an expand id that is another special token is refused in one line', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-expand-'));
    for (const f of fs.readdirSync(folders.dreamon)) fs.copyFileSync(path.join(folders.dreamon, f), path.join(dir, f));
    const d = JSON.parse(fs.readFileSync(path.join(dir, 'denoiser.json'), 'utf8'));
    d.special_tokens.expand = d.special_tokens.mask;
    fs.writeFileSync(path.join(dir, 'denoiser.json'), JSON.stringify(d));
    await assert.rejects(
      loadModelFolder(dir, 1),
      (e: Error) =>
        e instanceof ModelFolderError &&
        /"special_tokens.expand" must be .* differs from pad, mask, bos and eos/.test(e.message),
    );
  });
});

describe('a converted folder before and while it loads', () => {
  test("the client's state names the folder and its size, then each step the worker reports, in order", async () => {
    const states: BackendState[] = [];
    const c = client({ modelDir: folders.dream, onState: (s) => states.push(s) });
    try {
      await c.start();
    } finally {
      c.dispose();
    }
    const loads = states.flatMap((s) => (s.kind === 'starting' && s.load ? [s.load] : [])) as LoadProgress[];
    assert.deepEqual(
      loads.map((l) => l.stage),
      [undefined, 'manifest', 'tokenizer', 'session', 'check'],
    );
    const bytes = fs.statSync(path.join(folders.dream, 'model.onnx')).size;
    for (const l of loads)
      assert.deepEqual(
        [l.name, l.modelDir, l.bytes, l.startedAt],
        ['dream-fp32', folders.dream, bytes, loads[0].startedAt],
      );
    assert.equal(states.find((s) => s.kind !== 'starting')?.kind, 'ready');
  });

  for (const [arch, dtype] of [
    ['dream', 'fp32'],
    ['llada', 'int8'],
  ] as const) {
    test(`the picker's summary of the ${arch} folder: parameters, weights and size, source checkpoint, licence`, () => {
      const f = summarizeFolder(folders[arch]);
      const d = JSON.parse(fs.readFileSync(path.join(folders[arch], 'denoiser.json'), 'utf8'));
      assert.equal(f.problem, undefined);
      assert.deepEqual([f.card.params, f.card.dtype], [d.converted.params, dtype]);
      assert.equal(f.card.source, `${arch}, converted from ${path.join(tmp, `ck-${arch}`)}`);
      assert.match(f.card.licence ?? '', /^not stated in the checkpoint folder; usually (Apache-2\.0|MIT)/);
      assert.equal(f.bytes, fs.statSync(path.join(folders[arch], 'model.onnx')).size);
    });
  }
});

describe('the converted graph through the context cache', () => {
  test('denoiser.json declares grouped-query attention and the shift', () => {
    const d = JSON.parse(fs.readFileSync(path.join(folders.dream, 'denoiser.json'), 'utf8'));
    assert.deepEqual([d.cache.heads, d.cache.kv_heads, d.cache.logit_shift], [4, 2, 1]);
    const l = JSON.parse(fs.readFileSync(path.join(folders.llada, 'denoiser.json'), 'utf8'));
    assert.equal(l.cache.logit_shift, undefined);
  });

  test('a cached call with the shift gives the full call logits when nothing changed', async () => {
    const { model, manifest } = await loadModelFolder(folders.dream, 1);
    const s = manifest.special_tokens;
    const ids = Int32Array.from({ length: 40 }, (_, i) => 100 + ((i * 37) % 3000));
    ids[0] = s.bos;
    for (let p = 15; p < 23; p++) ids[p] = s.mask;
    const asked = Int32Array.from([15, 16, 20, 22]);
    const full = await model.logits(ids, asked);
    const run = model.forRun() as ContextCache;
    await run.logits(ids, asked); // the full call that fills the cache
    const cached = await run.logits(ids, asked);
    assert.deepEqual(run.counts, { full: 1, cached: 1 });
    let worst = 0;
    for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - cached[i]));
    assert.ok(worst < 1e-4, `max |full - cached| ${worst}`);
  });

  test('without recomputing position p - 1 the shifted logits would be wrong (the cache must know the shift)', async () => {
    const { model, manifest } = await loadModelFolder(folders.dream, 1);
    const s = manifest.special_tokens;
    const ids = Int32Array.from({ length: 40 }, (_, i) => 100 + ((i * 53) % 3000));
    ids[0] = s.bos;
    const asked = Int32Array.from([20]);
    const full = await model.logits(ids, asked);
    const shape = {
      layers: manifest.cache!.layers,
      heads: manifest.cache!.kv_heads!,
      headDim: manifest.cache!.head_dim,
    };
    const unaware = new ContextCache(model, shape);
    await unaware.logits(ids, asked);
    const wrong = await unaware.logits(ids, asked);
    let worst = 0;
    for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - wrong[i]));
    assert.ok(worst > 1e-2, `a cache without logit_shift reads another row: max diff ${worst}`);
  });
});

describe("a vocabulary of Qwen2.5's size", () => {
  test('a tokenizer with 151,665 ids loads and counts them all (no spread of every id onto the stack)', () => {
    const j = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'diffuse-v2', 'tokenizer.json'), 'utf8'));
    const vocab = j.model.vocab as Record<string, number>;
    for (let id = Object.keys(vocab).length; id < 151_665; id++) vocab[`\u0120unused${id}`] = id;
    const codec = new HfTokenCodec(j, {}, []);
    assert.equal(codec.vocabSize, 151_665);
    assert.equal(codec.decode(codec.encode('return a + b;')), 'return a + b;');
  });
});

describe('loading options', () => {
  test('an execution provider that cannot load falls back to CPU with a one-line note', async () => {
    const loaded = await loadModelFolder(folders.llada, 1, { executionProvider: 'cuda' });
    assert.equal(loaded.executionProvider, 'cpu');
    assert.match(loaded.note ?? '', /^execution provider cuda could not load \(.+\); running on CPU$/);
    assert.ok(!loaded.note!.includes('\n'));
    const logits = await loaded.model.logits(Int32Array.from([5, 6, 7, 8, 9, 10, 11, 12]), Int32Array.from([3]));
    assert.equal(logits.length, loaded.manifest.vocab_size);
  });

  test('cpu asked for is what runs, with no note', async () => {
    const loaded = await loadModelFolder(folders.llada, 1, { executionProvider: 'cpu' });
    assert.deepEqual([loaded.executionProvider, loaded.note], ['cpu', undefined]);
  });

  test('a model that needs more memory than is free is refused before loading, in one line', async () => {
    await assert.rejects(
      loadModelFolder(folders.llada, 1, { freeMemoryBytes: 1_000_000 }),
      (e: Error) =>
        e instanceof ModelFolderError &&
        /needs about [\d.]+ GB of memory to load .* but only 0\.00 GB is free/.test(e.message) &&
        !e.message.includes('\n'),
    );
  });
});
