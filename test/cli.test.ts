// `diffuse` end to end: a real process, the real worker, the shipped model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { ROOT, runCli, tmpFile } from './helpers';

const SAMPLE = `${ROOT}/examples/sample.ts`;

describe('diffuse CLI', () => {
  test('complete answers each JSON line in order, errors included, without stopping', async () => {
    const input = [
      JSON.stringify({ id: 1, prefix: 'function add(a, b) {\n  return ', suffix: ';\n}\n' }),
      '{ not json',
      JSON.stringify({ id: 3, prefix: 42, suffix: '' }),
      JSON.stringify({ id: 'four', prefix: 'const x = ', suffix: ';\n', maxTokens: 6 }),
    ].join('\n');
    const r = await runCli(['complete'], input + '\n');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.equal(lines[0].id, 1);
    assert.equal(typeof lines[0].completion, 'string');
    assert.ok(lines[0].steps >= 1 && typeof lines[0].ms === 'number');
    assert.match(lines[1].error, /invalid JSON/);
    assert.equal(lines[2].id, 3);
    assert.match(lines[2].error, /"prefix" and "suffix" must be strings/);
    assert.equal(lines[3].id, 'four');
    assert.equal(typeof lines[3].completion, 'string');
  });

  test('refine prints every step and a diff of the selected lines, and leaves the file alone', async () => {
    const before = fs.readFileSync(SAMPLE, 'utf8');
    // --show-anyway: the rewrite is printed whatever the model makes of it (see the next test)
    const r = await runCli([
      'refine',
      SAMPLE,
      '--lines',
      '9-12',
      '--strength',
      '1',
      '--progress',
      '--seed',
      '1',
      '--show-anyway',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /── step 1\/\d+/);
    // the same denominator as the progress: the step budget, and how much of it was used
    const budget = /── step 1\/(\d+)/.exec(r.stderr)![1];
    assert.match(r.stderr, new RegExp(`^\\d+ of ${budget} budgeted model calls, \\d+ ms`, 'm'));
    assert.match(r.stdout, /^--- .*sample\.ts/m);
    assert.match(r.stdout, /^\+\+\+ .*sample\.ts \(diffuse\)/m);
    assert.equal(fs.readFileSync(SAMPLE, 'utf8'), before);
  });

  test('refine at strength 1: a rewrite the model rates below the code gives no diff and says why; --show-anyway prints it', async () => {
    // lines 31-33 of a slice of minimatch's brace-expressions.js (bench/heldout-sample.jsonl): the
    // shipped model rewrites them into `else`, and rates that far below them
    const file = `${ROOT}/test/fixtures/braceRanges.js`;
    const r = await runCli(['refine', file, '--lines', '31-33', '--strength', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no diff');
    assert.match(
      r.stderr,
      /^the model's rewrite scores below your code \(-?[\d.]+ against -?[\d.]+, mean log-probability a token\)/m,
    );
    const shown = await runCli(['refine', file, '--lines', '31-33', '--strength', '1', '--show-anyway']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^-\s+rangeStart = '';$/m, 'the rewrite as a diff');
  });

  test('refine at the default strength leaves correct code alone and says so', async () => {
    const r = await runCli(['refine', SAMPLE, '--lines', '7-8']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no diff');
    assert.match(r.stderr, /^no change the model is sure of$/m);
  });

  test('complete answers each line with the completion and its confidence', async () => {
    const r = await runCli(
      ['complete'],
      JSON.stringify({ id: 7, prefix: 'function add(a, b) {\n  return ', suffix: ';\n}\n' }) + '\n',
    );
    const answer = JSON.parse(r.stdout);
    assert.equal(answer.id, 7);
    assert.equal(typeof answer.completion, 'string');
    assert.ok(answer.confidence >= 0 && answer.confidence <= 1, String(answer.confidence));
  });

  test('fill inserts at LINE:COL', async () => {
    const r = await runCli(['fill', SAMPLE, '--at', '10:3', '--max-tokens', '16']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /model calls/);
  });

  test('a missing model folder is named in a one-line error', async () => {
    const r = await runCli(['complete', '--model', '/no/such/model'], '{"id":1,"prefix":"a","suffix":"b"}\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^diffuse: model folder \/no\/such\/model does not exist\n$/);
  });

  test('a file that is not UTF-8 is refused and left unchanged', async () => {
    const file = tmpFile('latin1.ts', Buffer.from([0x63, 0x6f, 0x6e, 0x73, 0x74, 0x20, 0xe9, 0xff, 0x0a, 0x78, 0x0a]));
    const r = await runCli(['refine', file, '--lines', '1-1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not UTF-8 text/);
  });

  test('lines outside the file are refused with the file length', async () => {
    const r = await runCli(['refine', SAMPLE, '--lines', '500-510']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /lines 500-510 are outside the file \(it has \d+ lines\)/);
  });

  test('an unknown option or a missing value prints the usage and exits 2, without a stack trace', async () => {
    for (const args of [
      ['refine', SAMPLE, '--lines', '9-12', '--bogus'],
      ['refine', SAMPLE, '--lines'],
      ['fill', SAMPLE, '--at'],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^diffuse: /);
      assert.match(r.stderr, /usage:\n {2}diffuse refine FILE/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    }
  });

  test('--help prints the usage and exits 0; no command exits 2', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage:\n {2}diffuse refine FILE/);
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /usage:/);
  });

  test('bad options get a usage message', async () => {
    const r = await runCli(['refine', SAMPLE, '--lines', 'ten']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--lines must look like 10-20/);
  });
});
