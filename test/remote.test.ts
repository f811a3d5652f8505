// The remote backends against servers that answer as they are documented: Mercury's API through
// the loopback stand-in (test/fixtures/mercuryStandIn.ts), and a real `diffuse serve` over the
// real worker and the shipped model.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { answerText, refineMessages, SELECTION_END, SELECTION_START } from '../src/core/prompts/refinePrompt';
import { BackendError } from '../src/backend/backend';
import { DiffuseRemoteBackend } from '../src/backend/remote/diffuseRemote';
import { checkBaseUrl, HttpClient, retryAfterMs } from '../src/backend/remote/http';
import { MERCURY_CHAT_MODEL, MERCURY_FIM_MODEL, OpenAICompatibleBackend } from '../src/backend/remote/openaiCompatible';
import { remoteDefaults } from '../src/backend/createBackend';
import type { ProgressParams } from '../src/backend/requests';
import OpenAI from 'openai';
import type { Backend, CompleteInput, RequestOptions } from '../src/backend/backend';
import type { DenoiseResult } from '../src/backend/requests';
import { BackendPool } from '../src/serve/pool';
import { MAX_BODY_BYTES, startServer, type RunningServer } from '../src/serve/server';
import { startMercuryStandIn, type MercuryStandIn } from './fixtures/mercuryStandIn';
import { client, runCli, tmpFile } from './helpers';

const KEY = 'sk_test_standin';
/** Inception's models as its documentation lists them on 2026-12-07. */
const MERCURY_MODELS = ['mercury-2', 'mercury-3', 'mercury-edit-2'];
const CODE = 'function add(a, b) {\n  return a - b;\n}\n';
const FIXED = '  return a + b;\n';

async function failure(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BackendError, `a BackendError: ${e}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(!e.message.includes(KEY), 'the key is never in a message');
    return e;
  }
  assert.fail('the request succeeded');
}

describe('prompt builders', () => {
  test('a refine prompt names the file and language and marks the selection in its code', () => {
    const [system, user] = refineMessages({
      path: 'src/a.ts',
      language: 'typescript',
      before: 'A\n',
      selection: 'B\n',
      after: 'C\n',
      instruction: 'Make it faster',
    });
    assert.equal(system.role, 'system');
    assert.match(user.content, /^File: src\/a\.ts\nLanguage: typescript\n/);
    assert.ok(user.content.includes(`A\n${SELECTION_START}B\n${SELECTION_END}C\n`));
    assert.match(user.content, /Instruction: Make it faster$/);
    assert.match(
      refineMessages({ path: 'a', language: 'x', before: '', selection: 's', after: '' })[1].content,
      /Fix what is wrong .* keep what is right/,
    );
  });

  test("an answer loses its code fence and echoed markers and keeps the selection's edge newlines", () => {
    assert.equal(
      answerText('Here you go:\n```ts\n  return a + b;\n```\nDone.', '  return a - b;\n'),
      '  return a + b;\n',
    );
    assert.equal(answerText(`${SELECTION_START}x = 1${SELECTION_END}`, 'x = 2'), 'x = 1');
    assert.equal(
      answerText('```python\nx = 1\ny = 2', '\nx = 0\n'),
      '\nx = 1\ny = 2\n',
      'a frame mid-stream has no closing fence yet',
    );
    assert.equal(answerText('plain text', 'plain text'), 'plain text');
  });
});

describe('HTTP rules', () => {
  test('Retry-After is read in seconds and as an HTTP date', () => {
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 7_000), 3000);
    assert.equal(retryAfterMs(undefined), 1000);
  });

  test('code goes only to https://, or to http:// on this machine', () => {
    assert.equal(checkBaseUrl('https://api.inceptionlabs.ai/v1/').pathname, '/v1');
    assert.equal(checkBaseUrl('http://127.0.0.1:9/v1').hostname, '127.0.0.1');
    assert.throws(() => checkBaseUrl('http://example.com/v1'), /must use https:\/\//);
    assert.throws(() => checkBaseUrl('not a url'), /is not a URL/);
  });

  test('a server that closes its kept-alive socket after each stream (llama.cpp) fails no request', async () => {
    // as llama.cpp's server does: "keep-alive" said, the socket closed right after the streamed
    // answer, and a request that arrives on it meanwhile never read
    const served: string[] = [];
    const doomed = new WeakSet<Socket>();
    const server = http.createServer((req, res) => {
      if (doomed.has(req.socket)) return;
      req.resume();
      req.on('end', () => {
        served.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
        res.end('data: {"text":"x"}\n\n');
        doomed.add(req.socket);
        setTimeout(() => req.socket.destroy(), 20);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const http_ = new HttpClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, undefined);
    try {
      for (const path of ['/infill', '/chat/completions', '/completions']) {
        const events: string[] = [];
        await http_.postStream(path, {}, { timeoutMs: 5_000 }, (e) => events.push(e.data));
        assert.deepEqual(events, ['{"text":"x"}']);
      }
      assert.deepEqual(served, ['/v1/infill', '/v1/chat/completions', '/v1/completions']);
    } finally {
      http_.dispose();
      server.close();
    }
  });
});

describe('mercury backend against the documented API (loopback stand-in)', () => {
  let api: MercuryStandIn;
  const mercury = (o: { timeoutMs?: number; apiKey?: string } = {}) =>
    new OpenAICompatibleBackend({
      kind: 'mercury',
      baseUrl: api.url,
      fimModel: MERCURY_FIM_MODEL,
      chatModel: MERCURY_CHAT_MODEL,
      apiKey: o.apiKey ?? KEY,
      timeoutMs: o.timeoutMs,
    });

  before(async () => {
    api = await startMercuryStandIn({
      key: KEY,
      models: MERCURY_MODELS,
      answer: (kind) => (kind === 'fim' ? 'a + b;' : `Fixed:\n\`\`\`typescript\n${FIXED}\`\`\``),
    });
  });
  after(() => api.close());

  test("the built-in defaults are today's names, and the server's list says what there is", async () => {
    assert.deepEqual(remoteDefaults('mercury'), {
      baseUrl: 'https://api.inceptionlabs.ai/v1',
      fimModel: 'mercury-edit-2',
      chatModel: 'mercury-2',
    });
    const d = mercury();
    try {
      assert.deepEqual((await d.start()).models, MERCURY_MODELS);
      assert.deepEqual(await d.listModels(), MERCURY_MODELS, 'asked again for the pick list');
    } finally {
      d.dispose();
    }
  });

  test('a model the server does not list fails in one line that names the ones it has, and nothing is sent', async () => {
    const d = new OpenAICompatibleBackend({
      kind: 'mercury',
      baseUrl: api.url,
      fimModel: 'mercury-edit',
      chatModel: 'mercury-coder-small',
      apiKey: KEY,
    });
    const n = api.requests.length;
    try {
      const e = await failure(d.complete({ prefix: 'a', suffix: '' }));
      assert.equal(e.code, 'model');
      assert.match(e.message, /has no model "mercury-edit"; it has mercury-2, mercury-3, mercury-edit-2$/);
      assert.match(
        (await failure(d.refine({ text: CODE, start: 0, end: 5, instruction: 'x' }))).message,
        /no model "mercury-coder-small"/,
      );
      assert.equal(api.requests.length, n);
    } finally {
      d.dispose();
    }
  });

  test('ghost text is one FIM request with the documented fields', async () => {
    const d = mercury();
    try {
      const r = await d.complete({
        prefix: 'function add(a, b) {\n  return ',
        suffix: '\n}\n',
        maxTokens: 24,
        sampler: { timeBudgetMs: 2000 },
      });
      assert.equal(r.edits[0].text, 'a + b;');
      const sent = api.requests.at(-1)!;
      assert.equal(sent.path, '/v1/fim/completions');
      assert.equal(sent.authorization, `Bearer ${KEY}`);
      assert.deepEqual(Object.keys(sent.body).sort(), [
        'max_tokens',
        'model',
        'prompt',
        'stream',
        'suffix',
        'temperature',
      ]);
      assert.equal(sent.body.model, 'mercury-edit-2');
      assert.equal(sent.body.stream, false);
    } finally {
      d.dispose();
    }
  });

  test('Refine streams diffusing frames, each the whole current text, and ends with the fence-free answer', async () => {
    const d = mercury();
    const frames: ProgressParams[] = [];
    try {
      const start = CODE.indexOf('  return');
      const r = await d.refine(
        {
          text: CODE,
          start,
          end: start + FIXED.length,
          instruction: 'fix the bug',
          file: { path: 'a.ts', language: 'typescript' },
        },
        { onProgress: (p) => frames.push(p) },
      );
      assert.equal(r.edits[0].text, FIXED);
      const sent = api.requests.at(-1)!;
      assert.equal(sent.path, '/v1/chat/completions');
      assert.equal(sent.body.stream, true);
      assert.equal(sent.body.diffusing, true);
      assert.equal(frames.length, 4, 'one progress per frame');
      assert.deepEqual(
        frames.map((f) => f.step),
        [1, 2, 3, 4],
      );
      // whole-text frames replace each other: never longer than the answer
      for (const f of frames) assert.ok(f.spans[0].text.length <= FIXED.length + 1, JSON.stringify(f.spans[0].text));
      assert.equal(frames.at(-1)!.spans[0].text, FIXED);
    } finally {
      d.dispose();
    }
  });

  test('an openai backend appends stream deltas and sends no Mercury fields', async () => {
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: api.url,
      fimModel: 'mercury-edit-2',
      chatModel: 'mercury-2',
      apiKey: KEY,
    });
    try {
      const r = await d.fill({ text: 'const s = ;\n', cursors: [10], maxTokens: 8 }, { onProgress: () => undefined });
      assert.equal(r.edits[0].text, 'a + b;');
      assert.equal(api.requests.at(-1)!.body.diffusing, undefined);
    } finally {
      d.dispose();
    }
  });

  test('several cursors are one request each, answered together', async () => {
    const d = mercury();
    const n = api.requests.length;
    try {
      const r = await d.fill({ text: 'x = ;\ny = ;\n', cursors: [10, 4], maxTokens: 8 });
      assert.deepEqual(
        r.edits.map((e) => [e.start, e.text]),
        [
          [4, 'a + b;'],
          [10, 'a + b;'],
        ],
      );
      assert.equal(api.requests.length, n + 2);
    } finally {
      d.dispose();
    }
  });

  test('401 stops the backend with a one-line cause that names the key command', async () => {
    const d = mercury({ apiKey: 'sk_wrong' });
    try {
      const e = await failure(d.complete({ prefix: 'a', suffix: '' }));
      assert.equal(e.code, 'auth');
      assert.match(e.message, /Set API Key/);
      assert.equal(d.state.kind, 'error');
      const n = api.requests.length;
      assert.equal((await failure(d.complete({ prefix: 'a', suffix: '' }))).code, 'auth');
      assert.equal(api.requests.length, n, 'a stopped backend sends nothing more');
    } finally {
      d.dispose();
    }
  });

  test('402, 500 and a reset or malformed stream are one-line errors; 429 and 503 are retried after Retry-After', async () => {
    const d = mercury({ timeoutMs: 5000 });
    try {
      api.inject({ kind: 'status', status: 402, code: 'insufficient_quota' });
      assert.equal((await failure(d.complete({ prefix: 'a', suffix: '' }))).code, 'quota');
      assert.equal(
        (await failure(d.complete({ prefix: 'a', suffix: '' }))).code,
        'quota',
        'a stopped backend keeps saying why',
      );
      const d2 = mercury({ timeoutMs: 5000 });
      api.inject({ kind: 'status', status: 429, retryAfter: '0' }, { kind: 'status', status: 503, retryAfter: '0' });
      assert.equal((await d2.complete({ prefix: 'a', suffix: '' })).edits[0].text, 'a + b;', 'third try answers');
      api.inject(
        { kind: 'status', status: 503, retryAfter: '0' },
        { kind: 'status', status: 503, retryAfter: '0' },
        { kind: 'status', status: 503, retryAfter: '0' },
      );
      assert.equal((await failure(d2.complete({ prefix: 'a', suffix: '' }))).code, 'busy');
      api.inject({ kind: 'status', status: 500 });
      assert.match((await failure(d2.complete({ prefix: 'a', suffix: '' }))).message, /failed to answer \(500/);
      api.inject({ kind: 'reset-mid-stream' });
      assert.match((await failure(d2.fill({ text: 'x', cursors: [1] }))).message, /closed the connection|ECONNRESET/);
      api.inject({ kind: 'malformed-frame' });
      assert.match((await failure(d2.fill({ text: 'x', cursors: [1] }))).message, /malformed frame/);
      d2.dispose();
    } finally {
      d.dispose();
    }
  });

  test('400 context_length_exceeded is retried once with half the context', async () => {
    const d = mercury();
    try {
      api.inject({ kind: 'status', status: 400, code: 'context_length_exceeded' });
      const prefix = 'x'.repeat(1000);
      await d.complete({ prefix, suffix: 'y'.repeat(400) });
      const [first, second] = api.requests.slice(-2);
      assert.equal(first.body.prompt, prefix);
      assert.equal((second.body.prompt as string).length, 500);
      assert.equal((second.body.suffix as string).length, 200);
    } finally {
      d.dispose();
    }
  });

  test('a server that never answers times out, a slow drip too, and an abort cancels at once', async () => {
    const d = mercury({ timeoutMs: 300 });
    try {
      api.inject({ kind: 'never-answer' });
      assert.equal(
        (await failure(d.complete({ prefix: 'a', suffix: '', sampler: { timeBudgetMs: 300 } }))).code,
        'timeout',
      );
      api.inject({ kind: 'slow-drip', everyMs: 20 });
      assert.equal((await failure(d.fill({ text: 'x', cursors: [1] }))).code, 'timeout');
      api.inject({ kind: 'never-answer' });
      const abort = new AbortController();
      const pending = d.refine(
        { text: CODE, start: 0, end: 5 },
        { signal: abort.signal, onProgress: () => assert.fail('no frame after the abort') },
      );
      setTimeout(() => abort.abort(), 50);
      assert.equal((await failure(pending)).code, 'cancelled');
    } finally {
      d.dispose();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api.openSockets(), 0, 'no socket is left open once the backend is disposed');
  });

  test('without a key the mercury backend says how to set one, and sends nothing', async () => {
    const d = new OpenAICompatibleBackend({ kind: 'mercury', baseUrl: api.url, fimModel: 'm', chatModel: 'm' });
    const n = api.requests.length;
    assert.match((await failure(d.start())).message, /no Mercury API key: run "Diffuse: Set API Key…"/);
    assert.equal(api.requests.length, n);
    d.dispose();
  });
});

describe('diffuse serve with the real worker and model', () => {
  let running: RunningServer;
  const local = client();

  before(async () => {
    running = await startServer({ denoiser: local, host: '127.0.0.1', port: 0, token: 'team-token' });
  });
  after(async () => {
    await running.close();
    local.dispose();
  });

  test('the diffuse backend refines with the corrector, fills jointly and streams steps', async () => {
    const d = new DiffuseRemoteBackend({ baseUrl: running.url, apiKey: 'team-token' });
    try {
      const info = await d.start();
      assert.equal(info.backend, 'diffuse');
      assert.equal(info.name, 'diffuse-v2');
      assert.equal(d.capabilities.corrector, true);
      const steps: ProgressParams[] = [];
      const fill = await d.fill(
        { text: 'const a = ;\nconst b = ;\n', cursors: [10, 22], maxTokens: 8 },
        { onProgress: (p) => steps.push(p) },
      );
      assert.equal(fill.edits.length, 2, 'both cursors in one request');
      assert.ok(steps.length >= 1 && steps.every((s) => s.spans.length === 2 && s.maxSteps > 0));
      const direct = await local.refine({ text: CODE, start: 0, end: CODE.length });
      const remote = await d.refine({ text: CODE, start: 0, end: CODE.length });
      assert.deepEqual(remote.edits, direct.edits, 'the same engine answers, corrector included');
    } finally {
      d.dispose();
    }
  });

  test("/v1/fim/completions answers in OpenAI's format, one whole-text frame per step when diffusing", async () => {
    const post = (body: unknown, auth = 'Bearer team-token') =>
      fetch(`${running.url}/fim/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify(body),
      });
    const plain = await (
      await post({ prompt: 'function add(a, b) {\n  return ', suffix: ';\n}\n', max_tokens: 8 })
    ).json();
    assert.equal(plain.object, 'text_completion');
    assert.equal(typeof plain.choices[0].text, 'string');
    assert.equal(plain.model, 'diffuse-v2', 'the served folder answers when model is left out');
    const streamed = await (
      await post({ prompt: 'const x = ', suffix: ';\n', max_tokens: 8, stream: true, diffusing: true, temperature: 0 })
    ).text();
    const frames = streamed.split('\n\n').filter(Boolean);
    assert.equal(frames.at(-1), 'data: [DONE]');
    const texts = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')).choices[0].text as string);
    assert.ok(texts.length >= 2, 'frames per step, then the answer');
    assert.match(texts[0], /░/, 'masked slots are shown as a placeholder');
    assert.equal((await post({ prompt: 'x' }, 'Bearer wrong')).status, 401);
    assert.equal((await post('x'.repeat(MAX_BODY_BYTES + 10))).status, 413);
  });

  test('the official openai client completes with and without a suffix, streamed or not, and is told chat is not served', async () => {
    const ai = new OpenAI({ baseURL: running.url, apiKey: 'team-token', maxRetries: 0 });
    assert.deepEqual(
      (await ai.models.list()).data.map((m) => m.id),
      ['diffuse-v2'],
    );
    const ask = { model: 'diffuse-v2', prompt: 'function add(a, b) {\n  return ', max_tokens: 8, temperature: 0 };
    const infill = await ai.completions.create({ ...ask, suffix: ';\n}\n' });
    assert.equal(infill.object, 'text_completion');
    assert.equal(typeof infill.choices[0].text, 'string');
    assert.equal(infill.choices[0].finish_reason, 'stop');
    const plain = await ai.completions.create(ask);
    assert.equal(typeof plain.choices[0].text, 'string', 'without a suffix the model completes the prompt');
    let streamed = '';
    for await (const chunk of await ai.completions.create({ ...ask, suffix: ';\n}\n', stream: true }))
      streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, infill.choices[0].text, 'streamed or not, the same answer');
    await assert.rejects(
      ai.chat.completions.create({ model: 'diffuse-v2', messages: [{ role: 'user', content: 'add two numbers' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /this model cannot follow instructions/.test(e.message),
    );
    await assert.rejects(
      ai.completions.create({ ...ask, model: 'gpt-4o' }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && /this server has diffuse-v2/.test(e.message),
    );
    await assert.rejects(
      new OpenAI({ baseURL: running.url, apiKey: 'wrong', maxRetries: 0 }).completions.create(ask),
      (e: unknown) => e instanceof OpenAI.AuthenticationError,
    );
  });

  test("a load balancer's health check needs no token and learns nothing but ok", async () => {
    const health = await fetch(running.url.replace(/\/v1$/, '/health'));
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
  });

  test('a server beyond loopback refuses to start without a token', async () => {
    await assert.rejects(startServer({ denoiser: local, host: '0.0.0.0', port: 0 }), /give it --token/);
  });
});

/** A worker that answers when the test says so, and records what it ran. */
function heldWorker(name: string, ran: string[]): Backend & { release(): void } {
  const held: (() => void)[] = [];
  return {
    kind: 'local',
    capabilities: {
      instruction: false,
      corrector: true,
      frames: true,
      jointSpans: true,
      confidence: true,
      candidates: true,
    },
    state: { kind: 'stopped' },
    start: async () => ({ backend: 'local', name, where: name }),
    refine: () => Promise.reject(new Error('unused')),
    fill: () => Promise.reject(new Error('unused')),
    complete: (p: CompleteInput, _o?: RequestOptions) =>
      new Promise<DenoiseResult>((resolve) => {
        ran.push(`${name}:${p.prefix}`);
        held.push(() =>
          resolve({
            edits: [{ start: 0, end: 0, text: name, confidence: 1 }],
            steps: 1,
            ms: 0,
            stoppedBy: 'done',
            canvasTokens: 0,
          }),
        );
      }),
    release: () => held.shift()?.(),
    dispose: () => undefined,
  };
}

describe('diffuse serve --workers: a pool of workers behind one queue', () => {
  test('two workers run two requests at once; the third waits, first come first served; one that leaves the line never runs', async () => {
    const ran: string[] = [];
    const a = heldWorker('a', ran);
    const b = heldWorker('b', ran);
    const pool = new BackendPool([a, b]);
    const first = pool.complete({ prefix: '1', suffix: '' });
    const second = pool.complete({ prefix: '2', suffix: '' });
    const leaving = new AbortController();
    const third = pool.complete({ prefix: '3', suffix: '' }, { signal: leaving.signal });
    const fourth = pool.complete({ prefix: '4', suffix: '' });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(ran, ['a:1', 'b:2'], 'both workers busy at once');
    assert.deepEqual(pool.load, { busy: 2, waiting: 2 });
    leaving.abort();
    assert.equal((await failure(third)).code, 'cancelled');
    b.release();
    assert.equal((await second).edits[0].text, 'b');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(ran, ['a:1', 'b:2', 'b:4'], 'the freed worker takes the next in line, not the one that left');
    a.release();
    b.release();
    assert.equal((await first).edits[0].text, 'a');
    assert.equal((await fourth).edits[0].text, 'b');
    assert.deepEqual(pool.load, { busy: 0, waiting: 0 });
    pool.dispose();
  });

  test('diffuse serve with 2 real workers answers concurrent clients, both workers busy at once', async () => {
    const pool = new BackendPool([client(), client()]);
    const served = await startServer({ denoiser: pool, host: '127.0.0.1', port: 0 });
    try {
      const ai = new OpenAI({ baseURL: served.url, apiKey: 'none', maxRetries: 0 });
      let busiest = 0;
      const watch = setInterval(() => {
        busiest = Math.max(busiest, pool.load.busy);
      }, 2);
      const answers = await Promise.all(
        ['const a = ', 'const b = ', 'const c = ', 'const d = '].map((prompt) =>
          ai.completions.create({ model: 'diffuse-v2', prompt, suffix: ';\n', max_tokens: 8, temperature: 0 }),
        ),
      );
      clearInterval(watch);
      assert.equal(answers.length, 4);
      assert.ok(answers.every((r) => typeof r.choices[0].text === 'string'));
      assert.equal(busiest, 2, 'the two workers ran at the same time');
      assert.notEqual(pool.workers[0].pid, pool.workers[1].pid, 'each worker is its own process and model session');
    } finally {
      await served.close();
      pool.dispose();
    }
  });
});

describe('the CLI with remote backends', () => {
  let api: MercuryStandIn;
  before(async () => {
    api = await startMercuryStandIn({
      key: KEY,
      models: MERCURY_MODELS,
      answer: (kind) => (kind === 'fim' ? 'a + b' : `\`\`\`\n${FIXED}\`\`\``),
    });
  });
  after(() => api.close());

  test("complete, fill and refine --instruction go to Mercury's protocol with the key from INCEPTION_API_KEY", async () => {
    const env = { INCEPTION_API_KEY: KEY };
    const c = await runCli(
      ['complete', '--backend', 'mercury', '--base-url', api.url],
      JSON.stringify({ id: 1, prefix: 'return ', suffix: ';' }) + '\n',
      env,
    );
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout), {
      id: 1,
      completion: 'a + b',
      confidence: null,
      steps: 1,
      ms: JSON.parse(c.stdout).ms,
    });
    const file = tmpFile('add.ts', CODE);
    const r = await runCli(
      [
        'refine',
        file,
        '--lines',
        '2',
        '--instruction',
        'fix the sum',
        '--backend',
        'mercury',
        '--base-url',
        api.url,
        '--progress',
      ],
      '',
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^- {2}return a - b;$/m);
    assert.match(r.stdout, /^\+ {2}return a \+ b;$/m);
    assert.match(r.stderr, /── step 1 ──/);
    assert.equal(api.requests.at(-1)!.body.model, 'mercury-2');
    const f = await runCli(
      ['fill', file, '--at', '2:10', '--backend', 'mercury', '--base-url', api.url, '--remote-model', 'mercury-3'],
      '',
      env,
    );
    assert.equal(f.code, 0, f.stderr);
    assert.equal(api.requests.at(-1)!.body.model, 'mercury-3');
  });

  test('a missing key, a plain-http remote host and an instruction to the local model are one-line usage errors', async () => {
    const noKey = await runCli(['complete', '--backend', 'mercury'], '', { INCEPTION_API_KEY: '' });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /^diffuse: --backend mercury needs an API key in INCEPTION_API_KEY\n$/);
    const plain = await runCli(
      ['complete', '--backend', 'openai', '--base-url', 'http://example.com/v1', '--remote-model', 'm'],
      '{"prefix":"a"}\n',
    );
    assert.equal(plain.code, 1);
    assert.match(
      plain.stderr,
      /^diffuse: the base URL http:\/\/example\.com must use https:\/\/ \(plain http:\/\/ only to this machine\)\n$/,
    );
    const local = await runCli(['refine', tmpFile('a.ts', CODE), '--lines', '2', '--instruction', 'x']);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /the local backend cannot follow an instruction/);
  });

  test('diffuse serve --workers takes a whole number from 1', async () => {
    const r = await runCli(['serve', '--workers', '0', '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--workers must be a whole number from 1, got "0"/);
  });

  test('diffuse serve prints its URL, and --backend diffuse refines through it', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('./helpers');
    const server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        server.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const r = await runCli([
        'refine',
        'examples/sample.ts',
        '--lines',
        '9-13',
        '--backend',
        'diffuse',
        '--base-url',
        url,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const direct = await runCli(['refine', 'examples/sample.ts', '--lines', '9-13']);
      assert.equal(r.stdout, direct.stdout, 'the served engine answers as the local one');
    } finally {
      server.kill('SIGTERM');
    }
  });
});
