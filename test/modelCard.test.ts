// What the model picker and the status bar say of a model folder: its card summary read from
// denoiser.json and MODEL_CARD.md (the bundled folders as they ship, hand-written cards), the
// one-line reason a folder cannot load, and the label of a load under way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { LOAD_STAGE_WORDS, loadLabel } from '../src/core/view/loadLabel';
import { cardSummary, formatBytes, formatCount, summaryLines } from '../src/core/view/modelCard';
import { modelFoldersIn, summarizeFolder } from '../src/modelFolder/summary';
import { LOAD_STAGES } from '../src/backend/local/protocol';
import { MODEL_DIR, ROOT } from './helpers';

const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');

/** A folder holding `files` (name → content), in the system's temporary folder. */
function folderWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-card-'));
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

describe('the card summary', () => {
  test('of the shipped model: its parameters and tokens from denoiser.json, int8 from its card, no licence stated', () => {
    const s = cardSummary(JSON.parse(read(MODEL_DIR, 'denoiser.json')), read(MODEL_DIR, 'MODEL_CARD.md'));
    assert.equal(s.params, 20_453_760);
    assert.equal(s.source, 'trained by Diffuse on 946.2 M tokens');
    assert.equal(s.dtype, 'int8');
    assert.equal(s.licence, undefined);
    assert.deepEqual(summaryLines(s, 20_900_000), {
      sizes: '20.5 M parameters · int8 · 20.9 MB',
      origin: 'trained by Diffuse on 946.2 M tokens · licence not stated',
    });
  });

  test('of a converted folder: the "converted" record of denoiser.json, which wins over the card', () => {
    const manifest = {
      converted: {
        from: '/models/Dream-Coder-v0-Base-7B',
        architecture: 'dream',
        dtype: 'int8',
        params: 7_615_616_512,
        licence: "apache-2.0 (the checkpoint's README.md)",
      },
    };
    const s = cardSummary(manifest, '- Licence: something else\n- Source: `/elsewhere`\n');
    assert.deepEqual(s, {
      params: 7_615_616_512,
      source: 'dream, converted from /models/Dream-Coder-v0-Base-7B',
      licence: "apache-2.0 (the checkpoint's README.md)",
      dtype: 'int8',
    });
    assert.equal(summaryLines(s, 7_700_000_000).sizes, '7.6 B parameters · int8 · 7.7 GB');
  });

  test('of a hand-written card: licence, source, parameters and weights read from its lines', () => {
    const card =
      '# my-coder\n\n| | |\n|---|---|\n| parameters | 1.54 B |\n\n- Source: `org/my-coder`\n- Licence: MIT. The licence of the weights applies to this folder.\n\nfp16 weights throughout.\n';
    assert.deepEqual(cardSummary({ contract: 1 }, card), {
      params: 1_540_000_000,
      source: 'org/my-coder',
      licence: 'MIT',
      dtype: 'fp16',
    });
  });

  test('of a folder that says nothing: only its size, and that the licence is not stated', () => {
    const s = cardSummary({ contract: 1 }, '');
    assert.deepEqual(s, { params: undefined, source: undefined, licence: undefined, dtype: undefined });
    assert.deepEqual(summaryLines(s, 1500), { sizes: '1.5 KB', origin: 'licence not stated' });
  });

  test('sizes and counts in the units model pages use', () => {
    assert.deepEqual(
      [formatBytes(512), formatBytes(9_400_000), formatBytes(7_615_000_000)],
      ['512 bytes', '9.4 MB', '7.6 GB'],
    );
    assert.deepEqual([formatCount(999), formatCount(2_184_384), formatCount(494_032_768)], ['999', '2.2 M', '494.0 M']);
  });
});

describe('a folder as the picker lists it', () => {
  test('the bundled folders are the subfolders of models/ with denoiser.json and model.onnx', () => {
    const found = modelFoldersIn(path.join(ROOT, 'models')).map((d) => path.basename(d));
    assert.ok(found.includes('diffuse-v2') && found.includes('diffuse-small'), found.join(', '));
    assert.deepEqual(modelFoldersIn(path.join(ROOT, 'no-such-folder')), []);
  });

  test('the shipped folder: its summary and the size of its weights, no problem', () => {
    const f = summarizeFolder(MODEL_DIR);
    assert.equal(f.problem, undefined);
    assert.equal(f.name, path.basename(MODEL_DIR));
    assert.equal(f.bytes, fs.statSync(path.join(MODEL_DIR, 'model.onnx')).size);
    assert.equal(f.card.params, 20_453_760);
  });

  for (const [what, files, reason] of [
    [
      'without model.onnx',
      { 'denoiser.json': '{}', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}' },
      /model\.onnx is missing \(a model folder needs denoiser\.json, model\.onnx/,
    ],
    [
      'with a denoiser.json that is not JSON',
      { 'denoiser.json': '{"contract": 1,', 'model.onnx': 'x', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}' },
      /denoiser\.json is not valid JSON/,
    ],
    [
      'with a denoiser.json of another contract',
      { 'denoiser.json': '{"contract": 9}', 'model.onnx': 'x', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}' },
      /declares contract 9; this version of Diffuse reads contract 1/,
    ],
    [
      'with a denoiser.json that is not an object',
      { 'denoiser.json': 'null', 'model.onnx': 'x', 'tokenizer.json': '{}', 'tokenizer_config.json': '{}' },
      /denoiser\.json is not a JSON object/,
    ],
  ] as const) {
    test(`a folder ${what} is listed with the one-line reason it cannot load`, () => {
      const f = summarizeFolder(folderWith(files));
      assert.match(f.problem ?? '', reason);
      assert.ok(!f.problem!.includes('\n'), 'one line');
    });
  }

  test('a folder that no longer exists says so', () => {
    assert.match(summarizeFolder(path.join(os.tmpdir(), 'diffuse-gone-folder')).problem ?? '', /does not exist/);
  });
});

describe('the label of a load under way', () => {
  test('names the folder, its size, the step and the seconds so far', () => {
    const l = loadLabel({ name: 'dream-coder-7b', bytes: 7_615_000_000, stage: 'session', elapsedMs: 12_400 });
    assert.equal(l.text, 'loading dream-coder-7b (7.6 GB) · weights · 12 s');
    assert.match(l.tooltip, /dream-coder-7b \(7\.6 GB of weights\): step 3 of 4, onnxruntime reads the weights/);
  });

  test('before the worker reports a step, and without a size', () => {
    assert.equal(loadLabel({ name: 'm', elapsedMs: 300 }).text, 'loading m · 0 s');
  });

  test("every step the worker reports has words, in the protocol's order", () => {
    assert.deepEqual(Object.keys(LOAD_STAGE_WORDS), [...LOAD_STAGES]);
  });
});
