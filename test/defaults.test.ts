// One home for defaults: the settings VS Code shows (package.json) are the ones the code falls
// back to (src/core/defaults.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULTS, SETTING_DEFAULTS, SHIPPED_MODEL, STRENGTH_RANGE } from '../src/core/defaults';
import { ROOT } from './helpers';

test('every diffuse.* setting in package.json has the default src/core/defaults.ts gives it', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;
  const fromPackage = Object.fromEntries(
    Object.entries(props).map(([k, v]) => [k.replace(/^diffuse\./, ''), v.default]),
  );
  assert.deepEqual(fromPackage, { ...SETTING_DEFAULTS });
});

test('the scripts that cannot import src/core/defaults.ts name the shipped model it names', () => {
  assert.ok(
    fs.existsSync(path.join(ROOT, 'models', SHIPPED_MODEL, 'model.onnx')),
    `models/${SHIPPED_MODEL} is in the repository`,
  );
  for (const f of [
    '.vscodeignore',
    'scripts/package.mjs',
    'scripts/vscode-test/test.mjs',
    'test/package/vsixContents.test.mjs',
    'training/eval.mjs',
    'training/humaneval.mjs',
    'training/model-card.mjs',
  ]) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    const named = new Set([...text.matchAll(/diffuse-(?:small|v\d+)/g)].map((m) => m[0]));
    assert.deepEqual([...named], [SHIPPED_MODEL], f);
  }
});

test("training's frontier rows show the window of masks the sampler shows (train.py frontier_window)", () => {
  // A model trained on another width would judge a span's end from a mask count it never sees
  // while the editor asks (the pad-probability measurement, npm run model:span-end).
  const text = fs.readFileSync(path.join(ROOT, 'training', 'train.py'), 'utf8');
  const m = /^\s*frontier_window=(\d+),/m.exec(text);
  assert.ok(m, 'train.py CONFIG has frontier_window');
  assert.equal(Number(m[1]), DEFAULTS.blockLength);
});

test('no setting description states a model window the shipped model does not have', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', SHIPPED_MODEL, 'denoiser.json'), 'utf8'));
  for (const [key, p] of Object.entries<{ description?: string; markdownDescription?: string }>(
    pkg.contributes.configuration.properties,
  )) {
    const text = `${p.description ?? ''} ${p.markdownDescription ?? ''}`;
    for (const m of text.matchAll(/(\d+)-token windows?/g))
      assert.equal(Number(m[1]), manifest.context_length, `${key}: "${m[0]}"`);
    for (const m of text.matchAll(/window is (\d+) tokens/g))
      assert.equal(Number(m[1]), manifest.context_length, `${key}: "${m[0]}"`);
  }
});

test('the strength range is one: package.json bounds diffuse.refine.strength by STRENGTH_RANGE', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const p = pkg.contributes.configuration.properties['diffuse.refine.strength'];
  assert.deepEqual({ min: p.minimum, max: p.maximum }, { ...STRENGTH_RANGE });
});
