// The real path: the worker process loads the shipped ONNX model folder and serves requests
// through the client, as the editor does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MASK_GLYPH } from '../src/core/text/spanText';
import type { BackendError } from '../src/backend/backend';
import type { ProgressParams } from '../src/backend/requests';
import { HfTokenCodec } from '../src/worker/tokenCodec';
import { MODEL_DIR, client, loadError, modelCopy } from './helpers';

const tokenizer = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'));
const codec = new HfTokenCodec(
  tokenizer,
  JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer_config.json'), 'utf8')),
  tokenizer.added_tokens.map((t: { content: string }) => t.content),
);

const SOURCE = `import { readFileSync } from 'node:fs';

export function add(a: number, b: number): number {
  return a + b;
}

export function loadConfig(path: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8');
  return JSON.parse(text);
}
`;

describe('denoiser worker with the shipped model', () => {
  const c = client();
  before(async () => {
    const info = await c.start();
    assert.equal(info.vocabSize, JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8')).vocab_size);
  });
  after(() => c.dispose());

  test('refine streams one progress notification per step and replaces exactly the selection', async () => {
    const start = SOURCE.indexOf('  return a + b;');
    const end = start + '  return a + b;\n'.length;
    const steps: ProgressParams[] = [];
    const r = await c.refine(
      { text: SOURCE, start, end, strength: 1, sampler: { seed: 3 } },
      { onProgress: (p) => steps.push(p) },
    );
    assert.equal(r.edits.length, 1);
    assert.deepEqual([r.edits[0].start, r.edits[0].end], [start, end]);
    assert.equal(steps.length, r.steps);
    assert.ok(steps[0].spans[0].text.includes(MASK_GLYPH), 'the first step still shows masked slots');
    assert.equal(steps[steps.length - 1].spans[0].masked, 0, 'the last step has none');
    const masked = steps.map((s) => s.spans[0].masked);
    assert.deepEqual(
      masked,
      [...masked].sort((a, b) => b - a),
      'masked slots only decrease',
    );
  });

  test('refine below strength 1 is a corrector: correct code comes back unchanged', async () => {
    const start = SOURCE.indexOf('  return a + b;');
    const end = start + '  return a + b;'.length;
    const r = await c.refine({ text: SOURCE, start, end, strength: 0.5 });
    assert.deepEqual(
      r.edits.map((e) => [e.start, e.end, e.text]),
      [[start, end, '  return a + b;']],
    );
  });

  test('fill at two cursors denoises both spans in one canvas', async () => {
    const a = SOURCE.indexOf('  return a + b;');
    const b = SOURCE.indexOf('  return JSON');
    const steps: ProgressParams[] = [];
    const r = await c.fill({ text: SOURCE, cursors: [a, b], maxTokens: 12 }, { onProgress: (p) => steps.push(p) });
    assert.deepEqual(
      r.edits.map((e) => [e.start, e.end]),
      [
        [a, a],
        [b, b],
      ],
    );
    assert.ok(
      steps.every((s) => s.spans.length === 2),
      'every step reports both spans',
    );
  });

  test('complete fills between a prefix and a suffix: new code at the cursor, within its slots and step budget', async () => {
    const prefix = 'function add(a, b) {\n  return ';
    const r = await c.complete({ prefix, suffix: ';\n}\n', maxTokens: 8 });
    assert.equal(r.edits.length, 1);
    const { start, end, text } = r.edits[0];
    assert.deepEqual([start, end], [prefix.length, prefix.length], 'inserted at the cursor, nothing replaced');
    assert.ok(text.trim().length > 0, 'the model wrote code');
    assert.doesNotMatch(
      text,
      new RegExp(`${MASK_GLYPH}|<\\|(pad|mask|bos|eos)\\|>`),
      'no mask or special token is left in the text',
    );
    assert.ok(codec.encode(text).length <= 8, `at most 8 tokens: ${JSON.stringify(text)}`);
    assert.match(text, /\b[ab]\b/, `the completion uses a parameter in scope: ${JSON.stringify(text)}`);
    // 8 slots get the default budget of 4 model calls (engine.ts defaultStepBudget)
    assert.ok(r.steps >= 1 && r.steps <= 4, `${r.steps} model calls`);
    const one = await c.complete({ prefix, suffix: ';\n}\n', maxTokens: 1 });
    assert.ok(
      codec.encode(one.edits[0].text).length <= 1,
      `one slot, one token at most: ${JSON.stringify(one.edits[0].text)}`,
    );
    assert.equal(one.steps, 1, 'one slot takes one model call');
  });

  test('past its time budget a request returns its current state after one model call', async () => {
    const r = await c.complete({
      prefix: 'function add(a, b) {\n  return ',
      suffix: ';\n}\n',
      maxTokens: 24,
      sampler: { timeBudgetMs: 1, threshold: 1 },
    });
    assert.equal(r.stoppedBy, 'deadline');
    assert.equal(r.steps, 1);
  });

  test('same seed, same answer; the result does not depend on earlier requests', async () => {
    const p = {
      prefix: 'const xs = [1, 2, 3];\nconst total = ',
      suffix: ';\n',
      maxTokens: 10,
      sampler: { temperature: 0.8, seed: 42 },
    };
    const one = await c.complete(p);
    await c.complete({ ...p, sampler: { temperature: 0.8, seed: 7 } });
    const two = await c.complete(p);
    assert.equal(one.edits[0].text, two.edits[0].text);
  });

  test('text longer than the context is trimmed, not refused', async () => {
    const big = 'let x = 1;\n'.repeat(5000);
    const r = await c.refine({ text: big, start: 27_500, end: 27_511 });
    assert.equal(r.edits[0].start, 27_500);
    assert.ok(r.canvasTokens <= 1024);
  });

  test('a selection longer than the context is refined as far as it fits; the rest stays', async () => {
    const big = 'let x = 1;\n'.repeat(3000);
    const r = await c.refine({ text: big, start: 0, end: big.length, sampler: { steps: 4 } });
    assert.ok(r.canvasTokens <= 1024);
    assert.equal(r.edits[0].start, 0);
    assert.ok(r.edits[0].end > 0 && r.edits[0].end < big.length, `edit ends at ${r.edits[0].end}`);
  });

  test('an empty selection is refused with a clear message', async () => {
    await assert.rejects(
      c.refine({ text: SOURCE, start: 5, end: 5 }),
      (e: BackendError) => e.code === 'input' && /empty/.test(e.message),
    );
  });

  test('bad sampler settings are refused with a message naming the setting', async () => {
    await assert.rejects(c.complete({ prefix: 'a', suffix: 'b', sampler: { threshold: 2 } }), /threshold/);
    await assert.rejects(c.complete({ prefix: 'a', suffix: 'b', maxTokens: 0 }), /maxTokens/);
  });

  test('a cancelled request stops and the worker serves the next one', async () => {
    const ac = new AbortController();
    const start = SOURCE.indexOf('export function loadConfig');
    const pending = c.refine(
      { text: SOURCE, start, end: SOURCE.length, strength: 1, sampler: { tokensPerStep: 1 } },
      {
        signal: ac.signal,
        onProgress: (p) => p.step === 2 && ac.abort(),
      },
    );
    await assert.rejects(pending, (e: BackendError) => e.code === 'cancelled');
    const r = await c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    assert.equal(r.edits.length, 1);
  });

  test('a worker that dies mid-request fails the request clearly and is restarted', async () => {
    const pid = c.pid!;
    const start = SOURCE.indexOf('export function loadConfig');
    const pending = c.refine(
      { text: SOURCE, start, end: SOURCE.length, strength: 1, sampler: { tokensPerStep: 1 } },
      {
        onProgress: (p) => p.step === 1 && process.kill(pid, 'SIGKILL'),
      },
    );
    await assert.rejects(
      pending,
      (e: BackendError) => e.code === 'crash' && /denoiser process was killed by SIGKILL/.test(e.message),
    );
    const r = await c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    assert.equal(r.edits.length, 1);
    assert.notEqual(c.pid, pid, 'a new worker serves the request');
  });
});

describe('model folders that break the contract', () => {
  test('a missing folder', async () => {
    assert.match(await loadError('/nonexistent/model'), /model folder \/nonexistent\/model does not exist/);
  });

  test('a missing model.onnx', async () => {
    const d = modelCopy();
    fs.rmSync(path.join(d, 'model.onnx'));
    assert.match(await loadError(d), /model\.onnx is missing/);
  });

  test('a corrupt model.onnx', async () => {
    const d = modelCopy();
    fs.writeFileSync(path.join(d, 'model.onnx'), Buffer.from('this is not an onnx graph'));
    assert.match(await loadError(d), /model\.onnx could not be loaded by onnxruntime/);
  });

  test('denoiser.json that is not JSON', async () => {
    const d = modelCopy();
    fs.writeFileSync(path.join(d, 'denoiser.json'), '{ "contract": 1,');
    assert.match(await loadError(d), /denoiser\.json is not valid JSON/);
  });

  test('an input name the graph does not have', async () => {
    const d = modelCopy();
    const j = JSON.parse(fs.readFileSync(path.join(d, 'denoiser.json'), 'utf8'));
    j.inputs.ids = 'tokens';
    fs.writeFileSync(path.join(d, 'denoiser.json'), JSON.stringify(j));
    assert.match(await loadError(d), /has inputs \[.*\] but .*denoiser\.json names input "tokens"/);
  });

  test('a tokenizer whose vocabulary differs from the logits width', async () => {
    const d = modelCopy();
    const j = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8'));
    const vocab = j.model.vocab as Record<string, number>;
    for (const [k, v] of Object.entries(vocab)) if (v >= 8000) delete vocab[k];
    j.model.merges = j.model.merges.filter((m: string | string[]) => {
      const [a, b] = Array.isArray(m) ? m : m.split(' ');
      return a + b in vocab;
    });
    fs.writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(j));
    const declared = JSON.parse(fs.readFileSync(path.join(d, 'denoiser.json'), 'utf8')).vocab_size;
    assert.match(await loadError(d), new RegExp(`tokenizer\\.json has 8000 tokens but .*vocab_size ${declared}`));
  });

  test('a contract version this build does not read', async () => {
    const d = modelCopy();
    const j = JSON.parse(fs.readFileSync(path.join(d, 'denoiser.json'), 'utf8'));
    j.contract = 99;
    fs.writeFileSync(path.join(d, 'denoiser.json'), JSON.stringify(j));
    assert.match(await loadError(d), /declares contract 99/);
  });
});
