// HumanEval-Infilling scoring (training/humaneval.mjs): the vendored data, the fixed multi-line
// sample, and the harness that runs a completed program with python3 under a time limit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Problem } from '../training/humaneval.mjs';
import { SHIPPED_MODEL } from '../src/core/defaults';
import { ROOT } from './helpers';

// Loaded at run time, not bundled: the script finds its data next to itself (import.meta.url).
type HumanEval = typeof import('../training/humaneval.mjs');
let he: HumanEval;

const scratch = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-he-test-')), 'run');

describe('HumanEval-Infilling harness', () => {
  let single: Problem[];
  let multi: Problem[];
  before(async () => {
    he = (await import(pathToFileURL(path.join(ROOT, 'training', 'humaneval.mjs')).href)) as HumanEval;
    single = he.loadProblems('single');
    multi = he.loadProblems('multi');
  });

  test('the vendored data is the whole benchmark', () => {
    assert.equal(single.length, 1033);
    assert.equal(multi.length, 5815);
    for (const p of [single[0], multi[0]]) {
      for (const k of ['task_id', 'entry_point', 'prompt', 'suffix', 'canonical_solution', 'test'] as const)
        assert.equal(typeof p[k], 'string', k);
    }
  });

  test('the multi-line sample is fixed: 200 distinct problems in file order, the same every time', () => {
    const a = he.sample(multi, 200, 1).map((p) => p.task_id);
    const b = he.sample(multi, 200, 1).map((p) => p.task_id);
    assert.deepEqual(a, b);
    assert.equal(new Set(a).size, 200);
    const order = a.map((id) => multi.findIndex((p) => p.task_id === id));
    assert.deepEqual(
      order,
      [...order].sort((x, y) => x - y),
    );
    assert.notDeepEqual(
      he.sample(multi, 200, 2).map((p) => p.task_id),
      a,
    );
    assert.equal(he.sample(single, Infinity, 1).length, 1033);
  });

  test('the canonical span passes, a wrong or empty one fails, a runaway one is stopped', async () => {
    const p = single[0];
    assert.equal(await he.runProgram(he.program(p, p.canonical_solution), 10, scratch()), true);
    // a line without its newline gets one: the span is whole lines
    assert.equal(await he.runProgram(he.program(p, p.canonical_solution.replace(/\n$/, '')), 10, scratch()), true);
    assert.equal(await he.runProgram(he.program(p, ''), 10, scratch()), false);
    assert.equal(
      await he.runProgram(he.program(p, '    for idx, elem in enumerate(numbers[1:]):\n'), 10, scratch()),
      false,
    );
    const m = multi[0];
    assert.equal(await he.runProgram(he.program(m, m.canonical_solution), 10, scratch()), true);
    const t0 = Date.now();
    assert.equal(await he.runProgram('while True:\n    pass\n', 1, scratch()), false);
    assert.ok(Date.now() - t0 < 5000);
  });

  test('a set asked for no problems is left out (the card is not written with a NaN row)', async () => {
    const r = await he.evaluate({
      model: path.join(ROOT, 'models', SHIPPED_MODEL),
      counts: { single: 2, multi: 0 },
      seed: 1,
      threads: 1,
      jobs: 1,
      timeoutS: 10,
      cliArgs: [],
      progress: false,
    });
    assert.equal(r.sets.multi, undefined);
    assert.equal(r.sets.single?.problems, 2);
    assert.equal(r.sets.single?.errors, 0);
  });
});
