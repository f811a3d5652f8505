// The training pipeline, on CI too: the Python unit tests (loss goes down, resume is exact,
// export and --init-from round-trip) and the exported ONNX graph run by onnxruntime-node
// against PyTorch's logits on the same random inputs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MODEL_DIR, ROOT } from './helpers';

const PYTHON = '/usr/bin/python3';

function python(args: string[], timeoutMs: number) {
  return spawnSync(PYTHON, args, {
    cwd: ROOT, encoding: 'utf8', timeout: timeoutMs,
    env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '2' },
  });
}

describe('training pipeline', () => {
  test('Python unit tests pass (loss goes down, resume is bit-exact, export round-trips)', () => {
    const r = python(['-m', 'unittest', 'discover', '-s', 'training/tests', '-v'], 15 * 60_000);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /\nOK/);
  });

  test('the exported ONNX graph gives PyTorch\'s logits under onnxruntime-node', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-export-'));
    const ref = path.join(out, 'reference.json');
    const r = python(['training/export.py', '--random-init', '--config', 'n_layer=2,d_model=64,n_head=2',
      '--tokenizer', MODEL_DIR, '--out', out, '--reference', ref], 5 * 60_000);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const { cases } = JSON.parse(fs.readFileSync(ref, 'utf8')) as {
      cases: { input_ids: number[][]; positions: number[][]; shape: number[]; logits: number[] }[];
    };
    assert.equal(cases.length, 2);
    for (const c of cases) {
      const ids = c.input_ids.flat();
      const pos = c.positions.flat();
      const result = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [c.input_ids.length, c.input_ids[0].length]),
        positions: new ort.Tensor('int64', BigInt64Array.from(pos, BigInt), [c.positions.length, c.positions[0].length]),
      });
      const logits = result.logits;
      assert.deepEqual(logits.dims, c.shape);
      const data = logits.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i] - c.logits[i]));
      assert.ok(maxDiff < 1e-3, `max |Δlogit| ${maxDiff}`);
    }
  });
});
