// The model contract checked at load, with real ONNX graphs: tiny denoisers exported by PyTorch
// (test/fixtures/tiny_onnx_models.py) next to the shipped tokenizer, loaded by the real worker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MODEL_DIR, ROOT, client, loadError, modelCopy } from './helpers';

// the tiny graphs' logits are as wide as the shipped tokenizer's vocabulary
const VOCAB: number = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8')).vocab_size;
let graphs: string;

/** A model folder with the shipped tokenizer, the given graph and denoiser.json changed by `edit`. */
function folder(graph: string | undefined, edit: (j: Record<string, any>) => void = () => undefined): string {
  const dir = graph ? fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-tiny-')) : modelCopy();
  const j = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8'));
  if (graph) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      fs.copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
    fs.copyFileSync(path.join(graphs, `${graph}.onnx`), path.join(dir, 'model.onnx'));
    delete j.training;
    j.context_length = 256;
    delete j.trained_context_length;
    // the tiny graphs are plain ones: no context cache
    j.inputs = { ids: 'input_ids', positions: 'positions' };
    j.outputs = { logits: 'logits' };
    delete j.cache;
  }
  edit(j);
  fs.writeFileSync(path.join(dir, 'denoiser.json'), JSON.stringify(j));
  return dir;
}

const SOURCE = 'function area(w, h) {\n  const a = w * h;\n  return a;\n}\n\nconsole.log(area(2, 3));\n';

describe('the model contract, checked at load', () => {
  before(() => {
    graphs = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-graphs-'));
    execFileSync(
      '/usr/bin/python3',
      [path.join(ROOT, 'test', 'fixtures', 'tiny_onnx_models.py'), graphs, String(VOCAB)],
      { stdio: 'inherit' },
    );
  });
  after(() => fs.rmSync(graphs, { recursive: true, force: true }));

  test('a graph without the optional positions input gives the same answers as one with it', async () => {
    const withPos = client({ modelDir: folder('with_positions') });
    const noPos = client({ modelDir: folder('no_positions', (j) => delete j.inputs.positions) });
    try {
      const requests = [
        (c: typeof withPos) =>
          c.refine({
            text: SOURCE,
            start: SOURCE.indexOf('  const'),
            end: SOURCE.indexOf('  return'),
            sampler: { tokensPerStep: 1 },
          }),
        (c: typeof withPos) =>
          c.fill({ text: SOURCE, cursors: [SOURCE.indexOf('  return'), SOURCE.indexOf('console')], maxTokens: 6 }),
        (c: typeof withPos) =>
          c.complete({ prefix: 'let total = ', suffix: ';\n', maxTokens: 5, sampler: { temperature: 0.7, seed: 9 } }),
      ];
      for (const ask of requests) {
        const [a, b] = await Promise.all([ask(withPos), ask(noPos)]);
        assert.deepEqual(b.edits, a.edits);
        assert.equal(b.steps, a.steps);
        assert.ok(
          a.edits.some((e) => e.text.length > 0),
          'the tiny model wrote something',
        );
      }
    } finally {
      withPos.dispose();
      noPos.dispose();
    }
  });

  test('logits that are not float32 are refused', async () => {
    assert.match(
      await loadError(folder('float16')),
      /model\.onnx failed a test forward pass of 256 tokens \(context_length\): model\.onnx returned float16 logits; the contract needs float32/,
    );
  });

  test('a graph that takes positions but answers every token is refused', async () => {
    assert.match(
      await loadError(folder('ignores_positions')),
      new RegExp(
        `returned logits of shape \\[1, 256, ${VOCAB}\\] for 2 positions; the contract needs \\[1, 2, ${VOCAB}\\]`,
      ),
    );
  });

  test('a context_length the graph cannot run is refused; one it can is loaded', async () => {
    assert.match(
      await loadError(folder('short_positions')),
      /failed a test forward pass of 256 tokens \(context_length\): /,
    );
    const c = client({ modelDir: folder('short_positions', (j) => (j.context_length = 64)) });
    try {
      assert.equal((await c.start()).contextLength, 64);
    } finally {
      c.dispose();
    }
  });

  test('a context_length beyond the trained window is refused, from trained_context_length or training.args.seq_len', async () => {
    assert.match(
      await loadError(folder('with_positions', (j) => (j.trained_context_length = 128))),
      /"context_length" 256 exceeds the 128 tokens the model was trained on \("trained_context_length"\); set it to at most 128/,
    );
    assert.match(
      await loadError(folder('with_positions', (j) => (j.training = { args: { seq_len: 200 } }))),
      /"context_length" 256 exceeds the 200 tokens the model was trained on \("training\.args\.seq_len"\)/,
    );
    assert.match(
      await loadError(folder('with_positions', (j) => (j.trained_context_length = 'long'))),
      /"trained_context_length" must be a positive integer, got "long"/,
    );
  });

  test('special tokens that share an id are refused', async () => {
    const t = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8')).special_tokens;
    assert.ok(new Set([t.pad, t.mask, t.bos, t.eos]).size === 4, 'the shipped ids differ');
    assert.ok(
      (await loadError(folder(undefined, (j) => (j.special_tokens.mask = j.special_tokens.pad)))).includes(
        `"special_tokens" pad, mask, bos and eos must be four different ids, got pad ${t.pad}, mask ${t.pad}, bos ${t.bos}, eos ${t.eos}`,
      ),
    );
  });

  test('a context_length too small for a canvas states the rule', async () => {
    assert.match(
      await loadError(folder(undefined, (j) => (j.context_length = 12))),
      /"context_length" must be an integer ≥ 16 \(bos, eos, a span of at least 8 slots and as much context\), got 12/,
    );
  });

  test('a cache declaration the graph does not match is refused, naming what is wrong', async () => {
    // the shipped model's graph has the cache inputs (training/add-cache.py)
    assert.ok(
      JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8')).cache,
      'the shipped model has the cache',
    );
    assert.match(
      await loadError(folder(undefined, (j) => (j.cache.heads = 5))),
      /model\.onnx failed a test forward pass of \d+ tokens \(context_length\): .*past_keys/,
    );
    assert.match(
      await loadError(folder(undefined, (j) => (j.cache.head_dim = 0))),
      /"cache\.head_dim" must be a positive integer, got 0/,
    );
    assert.match(
      await loadError(folder(undefined, (j) => delete j.outputs.keys)),
      /"cache" is set, so "outputs\.keys" must name the graph's keys output/,
    );
    assert.match(
      await loadError(
        folder(undefined, (j) => {
          delete j.cache;
          j.inputs = { ids: 'input_ids', positions: 'positions' };
          j.outputs = { logits: 'logits' };
        }),
      ),
      /model\.onnx needs inputs \[token_positions, past_keys, past_values\] that .*denoiser\.json does not describe/,
    );
  });

  test('the shipped model keeps its context_length within its trained window', () => {
    const j = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8'));
    const trained = j.trained_context_length ?? j.training?.args?.seq_len;
    assert.ok(
      Number.isInteger(trained) && j.context_length <= trained,
      `context_length ${j.context_length}, trained on ${trained}`,
    );
  });
});
