// The client's lifecycle against the real worker and model: cancellation while the worker loads,
// the watchdog on a worker that stops answering, requests made during a restart, and the
// back-off between restarts of a crashing worker.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalBackend } from '../src/backend/local/localBackend';
import type { BackendError, BackendState } from '../src/backend/backend';
import { MODEL_DIR, ROOT, WORKER, client, modelCopy } from './helpers';

const SHIPPED_VOCAB = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'denoiser.json'), 'utf8')).vocab_size;

const SOURCE =
  'export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport const answer = add(40, 2);\n';
const LINE = { start: SOURCE.indexOf('  return'), end: SOURCE.indexOf('}\n') };
// A request or model folder whose text or path holds this marker makes the worker block forever:
// the clients here fork the real worker through test/fixtures/hangingWorker.cjs, which inherits
// the two variables.
const HANG = 'diffuse-test-hang-here';
process.env.DIFFUSE_TEST_HANG_MARKER = HANG;
process.env.DIFFUSE_TEST_INNER_WORKER = WORKER;
const HANGING_WORKER = path.join(ROOT, 'test', 'fixtures', 'hangingWorker.cjs');

describe('denoiser client lifecycle', () => {
  const clients: LocalBackend[] = [];
  const make = (o: Parameters<typeof client>[0] = {}): LocalBackend => {
    const c = client({ workerPath: HANGING_WORKER, ...o });
    clients.push(c);
    return c;
  };
  after(() => clients.forEach((c) => c.dispose()));

  test('a request cancelled while the model loads fails at once as cancelled and never runs', async () => {
    const c = make();
    const ac = new AbortController();
    let progressed = 0;
    const pending = c.refine(
      { text: SOURCE, ...LINE, strength: 1, sampler: { tokensPerStep: 1 } },
      { signal: ac.signal, onProgress: () => progressed++ },
    );
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(pending, (e: BackendError) => e.code === 'cancelled');
    assert.equal(c.state.kind, 'starting', 'rejected without waiting for the model to load');
    // the worker is not left busy with it: the next request is answered, and nothing ran
    const r = await c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    assert.equal(r.edits.length, 1);
    assert.equal(progressed, 0, 'no step of the cancelled request ran');
  });

  test('a request aborted as the load finishes is not sent', async () => {
    const c = make();
    const ac = new AbortController();
    void c.start().then(() => ac.abort());
    let progressed = 0;
    const pending = c.refine(
      { text: SOURCE, ...LINE, strength: 1, sampler: { tokensPerStep: 1 } },
      { signal: ac.signal, onProgress: () => progressed++ },
    );
    await assert.rejects(pending, (e: BackendError) => e.code === 'cancelled');
    assert.equal(progressed, 0, 'no step of the cancelled request ran');
  });

  test('a worker that stops answering fails the request with a clear message and is replaced', async () => {
    const c = make({ requestTimeoutMs: 1500 });
    await c.start();
    const pid = c.pid;
    const t0 = Date.now();
    await assert.rejects(
      c.complete({ prefix: `${HANG}\nlet a = `, suffix: ';\n', maxTokens: 4 }),
      (e: BackendError) => e.code === 'timeout' && /did not answer within 1\.5 s; it was restarted/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 5000, 'the watchdog fired in time');
    const r = await c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    assert.equal(r.edits.length, 1);
    assert.notEqual(c.pid, pid, 'a new worker answered');
  });

  test('a model load that never finishes is reported as a model error, not waited on for ever', {
    timeout: 20_000,
  }, async () => {
    const dir = modelCopy();
    // a folder whose path holds the marker: the worker blocks while loading it
    const c = make({ modelDir: path.join(dir, HANG), loadTimeoutMs: 1500 });
    fs.symlinkSync(dir, path.join(dir, HANG));
    const t0 = Date.now();
    await assert.rejects(
      c.start(),
      (e: BackendError) => e.code === 'model' && /did not finish loading .* within 1\.5 s/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(c.state.kind, 'error');
  });

  test('a long request that keeps reporting progress is not cut off by the watchdog', async () => {
    // a fill at 10 cursors, one slot a step: it runs for longer than the watchdog's 0.4 s, each step
    // well within it (a fill has no rating after its steps, which a strength-1 refine has)
    const c = make({ requestTimeoutMs: 400 });
    await c.start();
    const big = 'const value = compute(input, options);\n'.repeat(10);
    const cursors = [...big.matchAll(/\n/g)].map((m) => m.index);
    let steps = 0;
    const t0 = Date.now();
    const r = await c.fill(
      { text: big, cursors, maxTokens: 4, sampler: { tokensPerStep: 1, steps: 400 } },
      { onProgress: () => steps++ },
    );
    const ms = Date.now() - t0;
    assert.ok(ms > 400, `the request outlasts the watchdog, or this test shows nothing: ${r.steps} steps, ${ms} ms`);
    assert.equal(r.edits.length, cursors.length);
    assert.equal(steps, r.steps);
  });

  test('a request made while a restart loads the new worker waits for it', async () => {
    const c = make();
    void c.start().catch(() => undefined);
    const pending = c.refine({ text: SOURCE, ...LINE, strength: 1 });
    await sleep(20);
    const restarted = c.restart();
    const r = await pending;
    assert.equal(r.edits.length, 1);
    assert.equal((await restarted).vocabSize, SHIPPED_VOCAB);
  });

  test('a request made just before restart() is served by the new worker', async () => {
    const c = make();
    const first = await c.start();
    const pid = c.pid;
    const pending = c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    void c.restart();
    const r = await pending;
    assert.equal(r.edits.length, 1);
    assert.notEqual(c.pid, pid);
    assert.equal(first.vocabSize, SHIPPED_VOCAB);
  });

  test('a worker that keeps crashing is restarted with doubling delays; a restart by request resets them', async () => {
    const states: BackendState[] = [];
    const c = make({ restartDelayMs: 40, onState: (s) => states.push(s) });
    for (let i = 0; i < 3; i++) {
      await c.start();
      const pid = c.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => c.state.kind === 'ready' && c.pid !== undefined && c.pid !== pid);
    }
    const delays = states
      .filter((s): s is Extract<BackendState, { kind: 'restarting' }> => s.kind === 'restarting')
      .map((s) => s.inMs);
    assert.deepEqual(delays, [40, 80, 160]);
    await c.restart();
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state.kind === 'restarting');
    assert.equal((c.state as { inMs: number }).inMs, 40);
    // a worker that has answered a request has recovered: its next crash gets the first delay again
    await waitFor(() => c.state.kind === 'ready');
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state.kind === 'restarting');
    assert.equal((c.state as { inMs: number }).inMs, 80);
    await c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 4 });
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state.kind === 'restarting');
    assert.equal((c.state as { inMs: number }).inMs, 40);
  });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await sleep(10);
  }
}
