// The exported ONNX graphs (float32 and int8) run by onnxruntime-node against PyTorch's logits on
// the same random inputs. The slower training tests (the Python unit tests and a tiny GPU run on
// the CPU) are in test/slow/training.test.ts (`npm run test:training`, part of `npm test`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { MODEL_DIR, ROOT, int8Tolerance } from './helpers';

const PYTHON = '/usr/bin/python3';

function python(args: string[], timeoutMs: number) {
  return spawnSync(PYTHON, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '2' },
  });
}

describe('training pipeline', () => {
  /** Exports a random tiny model and returns onnxruntime's and PyTorch's logits, row by row. */
  async function exportedLogits(extraArgs: string[]): Promise<{ got: Float32Array; want: number[]; vocab: number }[]> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-export-'));
    const ref = path.join(out, 'reference.json');
    const r = python(
      [
        'training/export.py',
        '--random-init',
        '--config',
        'n_layer=2,d_model=64,n_head=2',
        '--tokenizer',
        MODEL_DIR,
        '--out',
        out,
        '--reference',
        ref,
        ...extraArgs,
      ],
      5 * 60_000,
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    const { cases } = JSON.parse(fs.readFileSync(ref, 'utf8')) as {
      cases: { input_ids: number[][]; positions: number[][]; shape: number[]; logits: number[] }[];
    };
    assert.equal(cases.length, 2);
    const results = [];
    for (const c of cases) {
      const ids = c.input_ids.flat();
      const pos = c.positions.flat();
      const result = await session.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [
          c.input_ids.length,
          c.input_ids[0].length,
        ]),
        positions: new ort.Tensor('int64', BigInt64Array.from(pos, BigInt), [
          c.positions.length,
          c.positions[0].length,
        ]),
      });
      assert.deepEqual(result.logits.dims, c.shape);
      results.push({ got: result.logits.data as Float32Array, want: c.logits, vocab: c.shape[c.shape.length - 1] });
    }
    return results;
  }

  test("the exported float32 graph gives PyTorch's logits under onnxruntime-node", async () => {
    for (const { got, want } of await exportedLogits(['--fp32'])) {
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
      assert.ok(maxDiff < 1e-3, `max |Δlogit| ${maxDiff}`);
    }
  });

  test("the int8 graph (the default export) stays close to PyTorch's float32 logits", async () => {
    for (const { got, want, vocab } of await exportedLogits([])) {
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < got.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
        maxAbs = Math.max(maxAbs, Math.abs(want[i]));
      }
      // quantisation moves logits a little, never by much, and not to zero (it ran int8)
      assert.ok(maxDiff < int8Tolerance(0.05) * maxAbs, `max |Δlogit| ${maxDiff} against logits up to ${maxAbs}`);
      assert.ok(maxDiff > 1e-6, 'the int8 graph gave exactly the float32 logits');
      let sameArgmax = 0;
      const rows = got.length / vocab;
      for (let r = 0; r < rows; r++) {
        const row = (xs: ArrayLike<number>) => Array.from({ length: vocab }, (_, v) => xs[r * vocab + v]);
        const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
        if (argmax(row(got)) === argmax(row(want))) sameArgmax++;
      }
      assert.ok(sameArgmax >= rows - 1, `argmax agrees on ${sameArgmax} of ${rows} rows`);
    }
  });
});
