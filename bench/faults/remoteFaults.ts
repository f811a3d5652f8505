// The reliability part `remote`: requests through the real remote backends while the server
// misbehaves as servers do. Mercury's API is played by the loopback stand-in
// (test/fixtures/mercuryStandIn.ts), which serves one injected fault per HTTP request: 429 and 503
// with Retry-After, 500, 401, 402, 400 context_length_exceeded, a connection reset mid-stream, a
// malformed frame, a server that never answers, a slow drip. The `diffuse` backend talks to a real
// `startServer()` of the local worker and the shipped model, with what goes wrong there: a request
// abandoned mid-run, a deadline too short, an input the worker refuses, an instruction it cannot
// follow, a server that is gone. The `openai` backend talks to a loopback stand-in of vLLM serving
// DiffusionGemma (test/fixtures/vllmStandIn.ts): no `/fim/completions` (404), a `suffix` refused
// (400), so a fresh backend finds its way to ask FIM (the chat prompt) on its first request; then a model the server does not serve, a block stream cut
// mid-way, a 500 and a server that never answers.
//
// Every request must answer or fail within its deadline plus SLACK_MS (else a hang); every failure
// must be a BackendError whose message is one line without the key or the error body; a mercury
// case must send exactly its retries (none from a stopped backend) and wait out a Retry-After; the process
// must see no uncaught exception; once the backends are disposed no connection may stay open.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { BackendError, type Backend } from '../../src/backend/backend';
import { DiffuseRemoteBackend, type DiffuseRemoteOptions } from '../../src/backend/remote/diffuseRemote';
import { OpenAICompatibleBackend } from '../../src/backend/remote/openaiCompatible';
import { startServer } from '../../src/serve/server';
import { startMercuryStandIn, type Fault, type MercuryStandIn } from '../../test/fixtures/mercuryStandIn';
import { startVllmStandIn, type VllmFault, type VllmStandIn } from '../../test/fixtures/vllmStandIn';
import { ROOT } from '../shared/cases';
import { socketInodes } from './sockets';

/** A request may take this much longer than its deadline before it counts as a hang. */
const SLACK_MS = 2000;
/** Deadline of a mercury request (ghost text's time budget, and Refine's and Fill's timeout). */
const MERCURY_DEADLINE_MS = 2000;
const DIFFUSE_DEADLINE_MS = 30_000;
/** The stand-in's error body: it must never reach a message. */
const BODY_TEXT = 'Injected fault';

const CODE = 'function add(a, b) {\n  return a - b;\n}\n';
/** A long refine for the diffuse cases that must still be running when they are cut off. */
const LONG = fs.readFileSync(path.join(ROOT, 'examples', 'sample.ts'), 'utf8');
const FIXED = '  return a + b;\n';

type Op = 'complete' | 'fill' | 'refine';
/** What a case should end as: answered, or failed with this code. */
type Expect = 'answered' | BackendError['code'];

interface Case {
  name: string;
  op: Op;
  faults: Fault[];
  expect: Expect;
  /** The case leaves the backend stopped (401, 402 stop it until the user acts): the next case gets a fresh one. */
  thenFresh?: boolean;
  /** HTTP requests the server must see: the retries, or none from a stopped backend (default 1). */
  sends?: number;
  /** The case must take at least this long (a Retry-After honoured). */
  atLeastMs?: number;
}

const status = (s: number, extra: Partial<Extract<Fault, { kind: 'status' }>> = {}): Fault => ({
  kind: 'status',
  status: s,
  ...extra,
});

/** The mercury cases of one round; streamed faults go to Fill and Refine (ghost text is not streamed). */
function mercuryRound(): Case[] {
  return [
    { name: 'normal ghost text', op: 'complete', faults: [], expect: 'answered' },
    { name: 'normal fill', op: 'fill', faults: [], expect: 'answered' },
    { name: 'normal refine', op: 'refine', faults: [], expect: 'answered' },
    {
      name: '429 Retry-After 0.2, then an answer',
      op: 'complete',
      faults: [status(429, { retryAfter: '0.2' })],
      expect: 'answered',
      sends: 2,
      atLeastMs: 200,
    },
    {
      name: '429 Retry-After 1 (seconds), then an answer',
      op: 'refine',
      faults: [status(429, { retryAfter: '1' })],
      expect: 'answered',
      sends: 2,
      atLeastMs: 1000,
    },
    {
      name: '503 then 429, then an answer',
      op: 'fill',
      faults: [status(503, { retryAfter: '0' }), status(429, { retryAfter: '0' })],
      expect: 'answered',
      sends: 3,
    },
    {
      name: '503 three times',
      op: 'complete',
      faults: [status(503, { retryAfter: '0' }), status(503, { retryAfter: '0' }), status(503, { retryAfter: '0' })],
      expect: 'busy',
      sends: 3,
    },
    {
      name: '429 Retry-After 60 (longer than waited for)',
      op: 'complete',
      faults: [status(429, { retryAfter: '60' })],
      expect: 'busy',
    },
    { name: '500', op: 'complete', faults: [status(500)], expect: 'crash' },
    { name: '500 on a refine', op: 'refine', faults: [status(500, { code: 'server_error' })], expect: 'crash' },
    {
      name: '400 context_length_exceeded, retried with half the context',
      op: 'complete',
      faults: [status(400, { code: 'context_length_exceeded' })],
      expect: 'answered',
      sends: 2,
    },
    {
      name: '400 context_length_exceeded twice',
      op: 'refine',
      faults: [status(400, { code: 'context_length_exceeded' }), status(400, { code: 'context_length_exceeded' })],
      expect: 'input',
      sends: 2,
    },
    { name: 'connection reset mid-stream (fill)', op: 'fill', faults: [{ kind: 'reset-mid-stream' }], expect: 'crash' },
    {
      name: 'connection reset mid-stream (refine)',
      op: 'refine',
      faults: [{ kind: 'reset-mid-stream' }],
      expect: 'crash',
    },
    { name: 'malformed frame (fill)', op: 'fill', faults: [{ kind: 'malformed-frame' }], expect: 'crash' },
    { name: 'malformed frame (refine)', op: 'refine', faults: [{ kind: 'malformed-frame' }], expect: 'crash' },
    { name: 'never answers (ghost text)', op: 'complete', faults: [{ kind: 'never-answer' }], expect: 'timeout' },
    { name: 'never answers (refine)', op: 'refine', faults: [{ kind: 'never-answer' }], expect: 'timeout' },
    { name: 'slow drip', op: 'fill', faults: [{ kind: 'slow-drip', everyMs: 20 }], expect: 'timeout' },
    {
      name: '402 insufficient_quota',
      op: 'complete',
      faults: [status(402, { code: 'insufficient_quota' })],
      expect: 'quota',
    },
    {
      name: 'after 402: the stopped backend sends nothing',
      op: 'complete',
      faults: [],
      expect: 'quota',
      thenFresh: true,
      sends: 0,
    },
    {
      name: '401 invalid_api_key',
      op: 'refine',
      faults: [status(401, { code: 'invalid_api_key' })],
      expect: 'auth',
      thenFresh: true,
    },
    { name: 'normal ghost text on a fresh backend', op: 'complete', faults: [], expect: 'answered' },
  ];
}

export interface RemoteFigures {
  requests: number;
  mercury_requests: number;
  /** Through the openai backend against the vLLM stand-in. */
  vllm_requests: number;
  diffuse_requests: number;
  answered: number;
  failures: number;
  one_line_causes: number;
  wrong_outcome: number;
  hangs: number;
  host_crashes: number;
  sockets_left_open: number;
  /** Requests of a failed multi-cursor Fill still open 300 ms after it failed, and frames passed on after it. */
  streams_left_running: number;
  frames_after_a_failed_fill: number;
  /** The check's own proof that it sees sockets: the three listeners (two stand-ins, serve) it must find before they close. */
  listeners_seen_before_close: number;
  standin_http_requests: number;
  slowest_over_deadline_ms: number;
  seconds: number;
  by_case: Record<string, { n: number; outcome: string; message?: string }>;
  not_one_line: string[];
  wrong: string[];
}

/** Inet sockets of this process that are not listening (connections), and all of them. */
function ownSockets(): { connections: number; all: number } {
  const mine = new Set(socketInodes(process.pid));
  let connections = 0;
  let all = 0;
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = fs.readFileSync(`/proc/${process.pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (!cols[9] || !mine.has(cols[9])) continue;
      all++;
      if (!(table.startsWith('tcp') && cols[3] === '0A')) connections++; // 0A: LISTEN
    }
  }
  return { connections, all };
}

/** What every step of the run shares: the figures it adds to, the key, and the backends to dispose. */
interface Run {
  figures: RemoteFigures;
  key: string;
  disposed: Backend[];
  /** Runs one request under its deadline + slack, scores how it ended and returns its time. */
  measure(
    name: string,
    deadlineMs: number,
    expect: Expect,
    run: (signal: AbortSignal) => Promise<unknown>,
  ): Promise<number>;
}

export async function runRemote(o: {
  workerPath: string;
  modelDir: string;
  hostCrashes: () => number;
  rounds?: number;
}): Promise<RemoteFigures> {
  const t0 = Date.now();
  const crashesBefore = o.hostCrashes();
  const key = `sk_reliability_${randomBytes(12).toString('hex')}`;
  const api = await startMercuryStandIn({
    key,
    answer: (kind) => (kind === 'fim' ? 'a + b;' : `Fixed:\n\`\`\`typescript\n${FIXED}\`\`\``),
  });
  const figures = emptyFigures();
  const run: Run = { figures, key, disposed: [], measure: measurer(figures, key) };
  await mercuryCases(run, api, o.rounds ?? 4);
  await failedTwoCursorFills(run);
  const vllm = await startVllmStandIn({
    model: GEMMA,
    apiKey: key,
    blockChars: 8, // several blocks, so a stream can be cut between two
    blockMs: 5,
    answer: (kind) => (kind === 'chat' ? `\`\`\`typescript\n${FIXED}\`\`\`` : 'a + b;<|endoftext|>'),
  });
  await vllmCases(run, vllm, o.rounds ?? 4);
  const local = new LocalBackend({ workerPath: o.workerPath, modelDir: o.modelDir, threads: 1 });
  const running = await diffuseCases(run, local);
  await countSockets(run, [api, vllm], async () => {
    await running.close();
    await api.close();
    await vllm.close();
    local.dispose();
  });
  figures.host_crashes = o.hostCrashes() - crashesBefore;
  figures.seconds = Math.round((Date.now() - t0) / 1000);
  return figures;
}

function emptyFigures(): RemoteFigures {
  return {
    requests: 0,
    mercury_requests: 0,
    vllm_requests: 0,
    diffuse_requests: 0,
    answered: 0,
    failures: 0,
    one_line_causes: 0,
    wrong_outcome: 0,
    hangs: 0,
    host_crashes: 0,
    sockets_left_open: 0,
    streams_left_running: 0,
    frames_after_a_failed_fill: 0,
    listeners_seen_before_close: 0,
    standin_http_requests: 0,
    slowest_over_deadline_ms: 0,
    seconds: 0,
    by_case: {},
    not_one_line: [],
    wrong: [],
  };
}

/** Scores requests into `figures`; a message holding `key` is not a clean one-line cause. */
function measurer(figures: RemoteFigures, key: string): Run['measure'] {
  return (name, deadlineMs, expect, run) => measure(figures, key, { name, deadlineMs, expect }, run);
}

async function measure(
  figures: RemoteFigures,
  key: string,
  { name, deadlineMs, expect }: { name: string; deadlineMs: number; expect: Expect },
  run: (signal: AbortSignal) => Promise<unknown>,
): Promise<number> {
  figures.requests++;
  const abort = new AbortController();
  const t = Date.now();
  let outcome: string;
  let message: string | undefined;
  const hang = Symbol('hang');
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    run(abort.signal).then(
      () => 'answered',
      (e: unknown) => e,
    ),
    new Promise<typeof hang>((resolve) => {
      timer = setTimeout(() => resolve(hang), deadlineMs + SLACK_MS);
    }),
  ]);
  clearTimeout(timer);
  figures.slowest_over_deadline_ms = Math.max(figures.slowest_over_deadline_ms, Date.now() - t - deadlineMs);
  if (settled === hang) {
    figures.hangs++;
    outcome = 'hang';
    abort.abort();
  } else if (settled === 'answered') {
    figures.answered++;
    outcome = 'answered';
  } else {
    figures.failures++;
    const e = settled;
    message = e instanceof Error ? e.message : String(e);
    const oneLine =
      e instanceof BackendError &&
      !message.includes('\n') &&
      !message.includes(key) &&
      !message.includes(BODY_TEXT) &&
      message.length > 0;
    if (oneLine) figures.one_line_causes++;
    else figures.not_one_line.push(`${name}: ${message.slice(0, 200)}`);
    outcome = e instanceof BackendError ? e.code : 'not a BackendError';
  }
  if (outcome !== expect) {
    figures.wrong_outcome++;
    figures.wrong.push(`${name}: expected ${expect}, got ${outcome}${message ? ` (${message.slice(0, 160)})` : ''}`);
  }
  const row = (figures.by_case[name] ??= { n: 0, outcome, message });
  row.n++;
  return Date.now() - t;
}

function mercuryAt(baseUrl: string, key: string): OpenAICompatibleBackend {
  return new OpenAICompatibleBackend({
    kind: 'mercury',
    baseUrl,
    fimModel: 'mercury-edit',
    chatModel: 'mercury-2',
    apiKey: key,
    timeoutMs: MERCURY_DEADLINE_MS,
  });
}

/** One request of kind `op` on `CODE`. */
function ask(d: Backend, op: Op, signal: AbortSignal): Promise<unknown> {
  const start = CODE.indexOf('  return');
  const frames = { onProgress: () => undefined, signal };
  if (op === 'complete')
    return d.complete(
      {
        prefix: 'function add(a, b) {\n  return ',
        suffix: '\n}\n',
        maxTokens: 24,
        sampler: { timeBudgetMs: MERCURY_DEADLINE_MS },
      },
      { signal },
    );
  if (op === 'fill') return d.fill({ text: CODE, cursors: [start], maxTokens: 24 }, frames);
  return d.refine(
    {
      text: CODE,
      start,
      end: start + FIXED.length,
      instruction: 'fix the bug',
      file: { path: 'a.ts', language: 'typescript' },
    },
    frames,
  );
}

/** The mercury rounds through OpenAICompatibleBackend, each case checked for its sends and wait; then aborts. */
async function mercuryCases(run: Run, api: MercuryStandIn, rounds: number): Promise<void> {
  const { figures } = run;
  const fresh = (): OpenAICompatibleBackend => {
    const d = mercuryAt(api.url, run.key);
    run.disposed.push(d);
    return d;
  };
  let mercury = fresh();
  await mercury.start();
  for (let round = 0; round < rounds; round++) {
    for (const c of mercuryRound()) {
      if (c.faults.length) api.inject(...c.faults);
      figures.mercury_requests++;
      const sent = api.requests.length;
      const ms = await run.measure(`mercury: ${c.name}`, MERCURY_DEADLINE_MS, c.expect, (signal) =>
        ask(mercury, c.op, signal),
      );
      const sends = api.requests.length - sent;
      const why =
        sends !== (c.sends ?? 1)
          ? `${sends} HTTP requests sent, ${c.sends ?? 1} expected`
          : c.atLeastMs !== undefined && ms < c.atLeastMs
            ? `answered in ${ms} ms, before its Retry-After (${c.atLeastMs} ms)`
            : undefined;
      if (why) {
        figures.wrong_outcome++;
        figures.wrong.push(`mercury: ${c.name}: ${why}`);
      }
      if (c.thenFresh) mercury = fresh();
    }
  }
  // an abort while the server has not answered: cancelled at once
  for (let i = 0; i < 4; i++) {
    api.inject({ kind: 'never-answer' });
    figures.mercury_requests++;
    await run.measure('mercury: abort while the server is silent', MERCURY_DEADLINE_MS, 'cancelled', (signal) => {
      const ac = new AbortController();
      signal.addEventListener('abort', () => ac.abort());
      setTimeout(() => ac.abort(), 50);
      return ask(mercury, i % 2 ? 'refine' : 'complete', ac.signal);
    });
  }
}

/**
 * A Fill at two cursors is two requests: when one fails, the other must be aborted, not left
 * streaming (and billed) unseen. A stand-in of its own, pacing its frames (100 ms a chunk), so
 * the other cursor's answer would still be streaming: 300 ms after the failure the backend may
 * hold only the failed request's idle keep-alive connection, and no frame may arrive in the 1.2 s after it.
 */
async function failedTwoCursorFills(run: Run): Promise<void> {
  const { figures } = run;
  const paced = await startMercuryStandIn({ key: run.key, frameMs: 100, answer: () => 'a + b;' });
  for (let i = 0; i < 4; i++) {
    const d = mercuryAt(paced.url, run.key);
    paced.inject(status(500));
    let failedAt = 0;
    figures.mercury_requests++;
    await run.measure('mercury: fill at two cursors, one answered 500', MERCURY_DEADLINE_MS, 'crash', (signal) =>
      d
        .fill(
          { text: 'x = ;\ny = ;\n', cursors: [4, 10], maxTokens: 8 },
          {
            signal,
            onProgress: () => {
              if (failedAt) figures.frames_after_a_failed_fill++;
            },
          },
        )
        .catch((e) => {
          failedAt = Date.now();
          throw e;
        }),
    );
    await sleep(300);
    figures.streams_left_running += Math.max(0, paced.openSockets() - 1);
    await sleep(900); // a stream left running would have passed on whole frames by now
    d.dispose();
    for (let t = 0; t < 150 && paced.openSockets() > 0; t++) await sleep(20);
  }
  await paced.close();
}

const GEMMA = 'google/diffusiongemma-26b-a4b';

interface VllmCase {
  name: string;
  op: Op;
  faults: VllmFault[];
  expect: Expect;
  /** A backend of its own, new to the server (finding the way to ask FIM), for this model. */
  fresh?: string;
  /** POST requests the server must see (default 1). */
  sends: number;
}

/** The vLLM cases of one round, on the backend that found its way in the round's first case. */
function vllmRound(): VllmCase[] {
  return [
    {
      name: 'first ghost text: 404 on /fim/completions and /infill, suffix refused, then the chat prompt',
      op: 'complete',
      faults: [],
      expect: 'answered',
      fresh: GEMMA,
      sends: 4,
    },
    { name: 'ghost text by the way found', op: 'complete', faults: [], expect: 'answered', sends: 1 },
    { name: 'fill (blocks streamed)', op: 'fill', faults: [], expect: 'answered', sends: 1 },
    { name: 'refine with an instruction', op: 'refine', faults: [], expect: 'answered', sends: 1 },
    {
      name: 'block stream cut mid-way (fill)',
      op: 'fill',
      faults: [{ kind: 'cut-mid-stream' }],
      expect: 'crash',
      sends: 1,
    },
    {
      name: 'block stream cut mid-way (refine)',
      op: 'refine',
      faults: [{ kind: 'cut-mid-stream' }],
      expect: 'crash',
      sends: 1,
    },
    { name: '500', op: 'complete', faults: [{ kind: 'status', status: 500 }], expect: 'crash', sends: 1 },
    {
      name: 'never answers (ghost text)',
      op: 'complete',
      faults: [{ kind: 'never-answer' }],
      expect: 'timeout',
      sends: 1,
    },
    { name: 'ghost text after the faults', op: 'complete', faults: [], expect: 'answered', sends: 1 },
    {
      name: 'a model the server does not serve (fails naming its models, sends nothing)',
      op: 'complete',
      faults: [],
      expect: 'model',
      fresh: 'mercury-edit-2',
      sends: 0,
    },
  ];
}

/** The vLLM rounds through the openai backend, each case checked for the POST requests it sent. */
async function vllmCases(run: Run, vllm: VllmStandIn, rounds: number): Promise<void> {
  const { figures } = run;
  const posts = () => vllm.requests.filter((r) => r.method === 'POST').length;
  const at = (model: string): OpenAICompatibleBackend => {
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: vllm.url,
      fimModel: model,
      chatModel: model,
      apiKey: run.key,
      timeoutMs: MERCURY_DEADLINE_MS,
    });
    run.disposed.push(d);
    return d;
  };
  let d = at(GEMMA);
  for (let round = 0; round < rounds; round++) {
    for (const c of vllmRound()) {
      const backend = c.fresh ? at(c.fresh) : d;
      if (c.fresh === GEMMA) d = backend;
      await backend.start();
      if (c.faults.length) vllm.inject(...c.faults);
      figures.vllm_requests++;
      const sent = posts();
      await run.measure(`vllm: ${c.name}`, MERCURY_DEADLINE_MS, c.expect, (signal) => ask(backend, c.op, signal));
      const sends = posts() - sent;
      if (sends !== c.sends) {
        figures.wrong_outcome++;
        figures.wrong.push(`vllm: ${c.name}: ${sends} HTTP requests sent, ${c.sends} expected`);
      }
    }
  }
}

type DiffuseCase = [name: string, deadlineMs: number, expect: Expect, run: (s: AbortSignal) => Promise<unknown>];

/** The diffuse cases through DiffuseRemoteBackend against startServer() of the real worker; returns the server. */
async function diffuseCases(run: Run, local: LocalBackend): Promise<{ close(): Promise<void> }> {
  const token = `team_${randomBytes(8).toString('hex')}`;
  const running = await startServer({ denoiser: local, host: '127.0.0.1', port: 0, token });
  const remote = new DiffuseRemoteBackend({ baseUrl: running.url, apiKey: token, timeoutMs: DIFFUSE_DEADLINE_MS });
  run.disposed.push(remote);
  const remoteAt = (opts: DiffuseRemoteOptions): DiffuseRemoteBackend => {
    const d = new DiffuseRemoteBackend(opts);
    run.disposed.push(d);
    return d;
  };
  const cases: DiffuseCase[] = [];
  for (let i = 0; i < 6; i++) cases.push(...answeredCases(remote));
  for (let i = 0; i < 3; i++)
    cases.push(
      ...failingCases(
        remote,
        () => remoteAt({ baseUrl: running.url, apiKey: token, timeoutMs: 300 }),
        () => remoteAt({ baseUrl: running.url, apiKey: 'not-the-token' }),
      ),
    );
  // a server that is gone: nothing listens at its port any more
  const gone = await startServer({ denoiser: local, host: '127.0.0.1', port: 0 });
  await gone.close();
  for (let i = 0; i < 3; i++)
    cases.push([
      'diffuse: the server is gone',
      DIFFUSE_DEADLINE_MS,
      'model',
      (s) => ghost(remoteAt({ baseUrl: gone.url }), s),
    ]);
  await remote.start();
  await ghost(remote, new AbortController().signal); // warm: the first call pays onnxruntime's allocations
  for (const [name, deadline, expect, request] of cases) {
    run.figures.diffuse_requests++;
    await run.measure(name, deadline, expect, request);
  }
  return running;
}

function ghost(d: Backend, signal: AbortSignal): Promise<unknown> {
  return d.complete(
    { prefix: 'function add(a, b) {\n  return ', suffix: ';\n}\n', maxTokens: 16, sampler: { timeBudgetMs: 800 } },
    { signal },
  );
}

function answeredCases(remote: Backend): DiffuseCase[] {
  return [
    ['diffuse: ghost text', 800 + 1000, 'answered', (s) => ghost(remote, s)],
    [
      'diffuse: fill at two cursors',
      DIFFUSE_DEADLINE_MS,
      'answered',
      (s) =>
        remote.fill(
          { text: 'const a = ;\nconst b = ;\n', cursors: [10, 22], maxTokens: 8 },
          { signal: s, onProgress: () => undefined },
        ),
    ],
    [
      'diffuse: refine (corrector)',
      DIFFUSE_DEADLINE_MS,
      'answered',
      (s) => remote.refine({ text: CODE, start: 0, end: CODE.length }, { signal: s, onProgress: () => undefined }),
    ],
  ];
}

/** The diffuse cases that must fail, each with its code; `short` and `wrongToken` make their backends when the case runs. */
function failingCases(remote: Backend, short: () => Backend, wrongToken: () => Backend): DiffuseCase[] {
  return [
    [
      'diffuse: abandoned mid-run',
      DIFFUSE_DEADLINE_MS,
      'cancelled',
      (s) => {
        const ac = new AbortController();
        s.addEventListener('abort', () => ac.abort());
        return remote.refine(
          { text: LONG, start: 0, end: LONG.length, strength: 1, sampler: { tokensPerStep: 1, steps: 40 } },
          {
            signal: ac.signal,
            onProgress: (p) => {
              if (p.step === 3) ac.abort();
            },
          },
        );
      },
    ],
    // one token a call and every slot shown at once (no window that a pad can end early): a call
    // for each of the file's ~250 slots, seconds on any machine (shown a window of masks at a
    // time, the span ended after a few dozen calls, within 300 ms on a CPU with AVX512-VNNI)
    [
      'diffuse: a deadline shorter than the refine',
      300,
      'timeout',
      (s) =>
        short().refine(
          {
            text: LONG,
            start: 0,
            end: LONG.length,
            strength: 1,
            sampler: { tokensPerStep: 1, steps: 400, blockLength: 1000 },
          },
          { signal: s },
        ),
    ],
    [
      'diffuse: a cursor outside the text',
      DIFFUSE_DEADLINE_MS,
      'input',
      (s) => remote.fill({ text: 'x', cursors: [99] }, { signal: s }),
    ],
    [
      'diffuse: an instruction',
      DIFFUSE_DEADLINE_MS,
      'unsupported',
      (s) => remote.refine({ text: CODE, start: 0, end: 5, instruction: 'faster' }, { signal: s }),
    ],
    ['diffuse: a wrong token', DIFFUSE_DEADLINE_MS, 'auth', (s) => ghost(wrongToken(), s)],
  ];
}

/** No connection outlives the backends: counted once they are disposed, and again once `closeAll` closed the servers. */
async function countSockets(
  run: Run,
  standIns: { openSockets(): number; requests: unknown[] }[],
  closeAll: () => Promise<void>,
): Promise<void> {
  const { figures } = run;
  for (const d of run.disposed) d.dispose();
  await sleep(300);
  const afterDispose = ownSockets();
  const standIn = standIns.reduce((n, s) => n + s.openSockets(), 0);
  figures.standin_http_requests = standIns.reduce((n, s) => n + s.requests.length, 0);
  await closeAll();
  await sleep(100);
  const afterClose = ownSockets();
  figures.listeners_seen_before_close = afterDispose.all - afterDispose.connections;
  figures.sockets_left_open = Math.max(afterDispose.connections, standIn) + afterClose.all;
}
