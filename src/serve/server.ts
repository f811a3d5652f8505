// `diffuse serve`: a denoiser (the local worker and its model folder, or a pool of them) behind
// HTTP, for a team or another machine. It speaks two dialects:
//   POST /v1/completions        OpenAI's completion, with its infilling `suffix` or without (what the
//   POST /v1/fim/completions    official client and editors' OpenAI-compatible providers send) and
//                               Mercury's FIM request: `prompt`, `suffix`, `max_tokens`, `temperature`,
//                               `stop`, `stream`, and Mercury's `diffusing`: one frame per denoising
//                               step, each the whole current text with masked slots as ░
//   POST /v1/chat/completions   a clear 400: an infilling model follows no instructions
//   POST /v1/diffuse/refine|fill|complete|nextEdit
//                               the worker protocol itself (the `diffuse` backend): progress events,
//                               then the result, so Refine keeps its corrector and Fill its joint cursors
//   GET  /v1/models, /v1/diffuse/info
//   GET  /health                 for a load balancer in front of several servers: 200, or 503 when
//                               the queue is full (no token needed; it says nothing else)
// Loopback unless a token is set; every request then needs `Authorization: Bearer <token>`.
// Requests queue for the worker (one at a time each; `--workers N` runs N); the queue and the body are bounded,
// and a client that goes away cancels its request between two denoising steps.
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackendError, type BackendInfo, type Backend, type BackendErrorCode } from '../backend/backend';
import { isLoopbackHost } from '../backend/remote/http';
import type { DenoiseResult, ProgressParams } from '../backend/requests';

/** Largest request body accepted: a file window of a few thousand lines. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Requests waiting for the worker beyond this are told to come back (503, Retry-After). */
export const MAX_QUEUED = 32;

export interface ServeOptions {
  denoiser: Backend;
  host: string;
  port: number;
  token?: string;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

type Route = 'refine' | 'fill' | 'complete' | 'nextEdit' | 'score' | 'alternatives';

/** What every request of one server shares: its backend, what it said at start, the token, the queue. */
interface Served {
  denoiser: Backend;
  info: BackendInfo;
  token?: string;
  /** Requests waiting for or running on the denoiser. */
  queued: number;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  if (!isLoopbackHost(o.host) && !o.token) {
    throw new BackendError(
      `diffuse serve on ${o.host} would let anyone on the network send code to the model: give it --token (or DIFFUSE_API_KEY)`,
      'input',
    );
  }
  const info = await o.denoiser.start();
  const served: Served = { denoiser: o.denoiser, info, token: o.token, queued: 0 };
  const server = http.createServer((req, res) => {
    handle(served, req, res).catch((e) => {
      o.log?.(`serve: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) sendError(res, 500, 'internal', 'the server failed');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/v1`;
  o.log?.(`diffuse serve: ${info.name} at ${url}${o.token ? ' (token required)' : ''}`);
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(s: Served, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // a load balancer's health check carries no token; it learns only whether the queue has room
  if (req.method === 'GET' && url.pathname === '/health') {
    const room = s.queued < MAX_QUEUED;
    sendJson(res, room ? 200 : 503, { status: room ? 'ok' : 'full' });
    return;
  }
  if (s.token && !authorized(req.headers.authorization, s.token)) {
    sendError(res, 401, 'auth', 'a valid bearer token is needed');
    return;
  }
  if (req.method === 'GET' && url.pathname === '/v1/models') {
    sendJson(res, 200, { object: 'list', data: [{ id: s.info.name, object: 'model', owned_by: 'diffuse' }] });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/v1/diffuse/info') {
    sendJson(res, 200, { ...s.info, capabilities: s.denoiser.capabilities });
    return;
  }
  const route =
    url.pathname === '/v1/fim/completions' || url.pathname === '/v1/completions'
      ? 'fim'
      : url.pathname === '/v1/chat/completions'
        ? 'chat'
        : (/^\/v1\/diffuse\/(refine|fill|complete|nextEdit|score|alternatives)$/.exec(url.pathname)?.[1] as
            | Route
            | undefined);
  if (req.method !== 'POST' || !route) {
    sendError(res, 404, 'not_found', `no endpoint ${req.method} ${url.pathname}`);
    return;
  }
  const params = await readParams(req, res);
  if (!params) return;
  if (route === 'chat') {
    sendError(
      res,
      400,
      'invalid_request_error',
      `this model cannot follow instructions: ${s.info.name} fills in the middle; ask POST /v1/completions with "prompt" and "suffix"`,
    );
    return;
  }
  // the OpenAI client always names a model: only the served one (or none, as the diffuse backend sends) is answered
  if (route === 'fim' && params.model !== undefined && params.model !== s.info.name) {
    sendError(
      res,
      404,
      'model_not_found',
      `The model "${String(params.model).slice(0, 100)}" does not exist; this server has ${s.info.name}`,
    );
    return;
  }
  if (s.queued >= MAX_QUEUED) {
    res.setHeader('retry-after', '1');
    sendError(res, 503, 'overloaded', `${MAX_QUEUED} requests are waiting for the model`);
    return;
  }
  // a client that goes away cancels its request (the worker stops between two steps)
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  s.queued++;
  try {
    if (route === 'fim') await fim(s, params, res, abort.signal);
    else await native(s.denoiser, route, params, res, abort.signal);
  } finally {
    s.queued--;
  }
}

/** The request's JSON object, or undefined once the client was told why there is none. */
async function readParams(
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<Record<string, unknown> | undefined> {
  const body = await readBody(req);
  if (body === 'too large') {
    sendError(res, 413, 'request_too_large', `the request is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB`);
    return undefined;
  }
  try {
    const params = JSON.parse(body);
    if (!params || typeof params !== 'object') throw new Error();
    return params as Record<string, unknown>;
  } catch {
    sendError(res, 400, 'invalid_json', 'the request body is not a JSON object');
    return undefined;
  }
}

/** A served backend without next edit answers as the client would have been told. */
function nextEdit(d: Backend, params: Record<string, unknown>, signal: AbortSignal): Promise<DenoiseResult> {
  if (!d.nextEdit || !d.capabilities.nextEdit)
    throw new BackendError("this server's backend cannot propose next edits", 'unsupported');
  return d.nextEdit(params as never, { signal });
}

/** Repair's measures of code (the engine's score and masked alternatives), when its backend has them. */
function scoring(d: Backend, route: 'score' | 'alternatives', params: Record<string, unknown>, signal: AbortSignal) {
  if (!d.capabilities.score || !d.score || !d.alternatives)
    throw new BackendError("this server's backend cannot score code", 'unsupported');
  return route === 'score' ? d.score(params as never, { signal }) : d.alternatives(params as never, { signal });
}

/** The worker protocol: progress events, then the result or the error. */
async function native(
  d: Backend,
  route: Route,
  params: Record<string, unknown>,
  res: http.ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  startEvents(res);
  const onProgress = (p: ProgressParams): void => event(res, 'progress', p);
  try {
    const result =
      route === 'refine'
        ? await d.refine(params as never, { signal, onProgress })
        : route === 'fill'
          ? await d.fill(params as never, { signal, onProgress })
          : route === 'nextEdit'
            ? await nextEdit(d, params, signal)
            : route === 'score' || route === 'alternatives'
              ? await scoring(d, route, params, signal)
              : await d.complete(params as never, { signal, onProgress: params.progress ? onProgress : undefined });
    event(res, 'result', result);
  } catch (e) {
    const err = asError(e);
    event(res, 'error', { code: err.code, message: err.message });
  }
  res.end();
}

/** OpenAI's FIM completion, streamed or not; with `diffusing`, one frame per denoising step. */
async function fim(
  s: Served,
  p: Record<string, unknown>,
  res: http.ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  // OpenAI's completions also take `prompt` as an array of one string, and `suffix` null as none
  if (Array.isArray(p.prompt) && p.prompt.length === 1) p.prompt = p.prompt[0];
  if (p.suffix === null) p.suffix = undefined;
  if (typeof p.prompt !== 'string' || (p.suffix !== undefined && typeof p.suffix !== 'string')) {
    sendError(res, 400, 'invalid_request', '"prompt" (and "suffix", if given) must be strings');
    return;
  }
  const stops = (Array.isArray(p.stop) ? p.stop : typeof p.stop === 'string' ? [p.stop] : []).filter(
    (x): x is string => typeof x === 'string' && x !== '',
  );
  const id = `cmpl-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const choice = (text: string, finish: string | null) => ({
    id,
    object: 'text_completion',
    created,
    model: s.info.name,
    choices: [{ index: 0, text, finish_reason: finish }],
  });
  const stream = p.stream === true;
  const diffusing = stream && p.diffusing === true;
  if (stream) startEvents(res);
  let result: DenoiseResult;
  try {
    result = await s.denoiser.complete(
      {
        prefix: p.prompt,
        suffix: (p.suffix as string | undefined) ?? '',
        maxTokens: typeof p.max_tokens === 'number' ? p.max_tokens : undefined,
        sampler: typeof p.temperature === 'number' ? { temperature: p.temperature } : undefined,
      },
      { signal, onProgress: diffusing ? (q) => data(res, choice(q.spans[0]?.text ?? '', null)) : undefined },
    );
  } catch (e) {
    const err = asError(e);
    if (stream) {
      data(res, { error: { message: err.message, type: err.code, code: err.code } });
      res.end();
    } else sendError(res, err.code === 'input' ? 400 : 500, err.code, err.message);
    return;
  }
  const text = cutAtStop(result.edits[0]?.text ?? '', stops);
  if (!stream) {
    sendJson(res, 200, {
      ...choice(text, 'stop'),
      usage: { prompt_tokens: result.canvasTokens, completion_tokens: 0, total_tokens: result.canvasTokens },
    });
    return;
  }
  data(res, choice(text, 'stop'));
  res.write('data: [DONE]\n\n');
  res.end();
}

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage): Promise<string | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too large' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function cutAtStop(text: string, stops: string[]): string {
  let end = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

function asError(e: unknown): BackendError {
  return e instanceof BackendError ? e : new BackendError(e instanceof Error ? e.message : String(e), 'internal');
}

function startEvents(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

function event(res: http.ServerResponse, name: string, payload: unknown): void {
  if (!res.writableEnded) res.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
}

function data(res: http.ServerResponse, payload: unknown): void {
  if (!res.writableEnded) res.write(`data: ${JSON.stringify(payload)}\n\n`);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Errors in OpenAI's envelope, so any OpenAI-compatible client reads them. */
function sendError(res: http.ServerResponse, status: number, code: BackendErrorCode | string, message: string): void {
  sendJson(res, status, { error: { message, type: code, param: null, code } });
}
