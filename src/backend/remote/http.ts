// HTTP for the remote backends (mercury, openai, diffuse): JSON requests and server-sent-event
// streams over one keep-alive agent per backend (closed with it, so no socket outlives the
// backend), every request under its own deadline and the caller's abort signal, 429 and 503 retried
// after the server's Retry-After, and every failure turned into one line that names the host and
// the cause. Error bodies are never quoted: they can echo the code that was sent.
import http from 'node:http';
import https from 'node:https';
import { createParser } from 'eventsource-parser';
import { BackendError } from '../backend';

/** Tries of a request the server answered 429 or 503 (busy); each waits for Retry-After. */
const BUSY_TRIES = 3;
/** Wait before a retry when the server gives no Retry-After. */
const DEFAULT_RETRY_MS = 1000;
/** A Retry-After longer than this is not waited for: the user would think the editor hung. */
const MAX_RETRY_WAIT_MS = 10_000;
/** Sends of a request whose kept-alive socket turned out closed before any answer. */
const STALE_SOCKET_RETRIES = 2;
/** Largest answer read (a whole-text frame per step of a long rewrite stays far below it). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The server said the prompt is longer than the model's window (OpenAI's `context_length_exceeded`). */
export class ContextTooLongError extends BackendError {
  constructor(host: string) {
    super(`${host}: the request is longer than the model's context`, 'input');
  }
}

/**
 * What a refusal means, read from the error body's machine-readable fields and its message
 * (matched here, never quoted): the endpoint is not there, the `suffix` field is refused (vLLM's
 * "suffix is not currently supported"), or the server does not know the model.
 */
export type RefusalHint = 'no_route' | 'suffix_unsupported' | 'unknown_model';

/** An HTTP status the server answered, with what it means where that is known. */
export class RemoteStatusError extends BackendError {
  constructor(
    message: string,
    code: BackendError['code'],
    readonly status: number,
    readonly hint?: RefusalHint,
  ) {
    super(message, code);
  }
}

export interface PostOptions {
  signal?: AbortSignal;
  /** The whole request (all retries, the whole stream) must end within this. */
  timeoutMs: number;
}

/** One SSE event: its `data` and its `event` name, if any. */
export type StreamEvent = { data: string; event?: string };

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A base URL a backend may send code to: `https://`, or `http://` on this machine only (code and
 * key would cross the network in clear otherwise). Returns it without a trailing slash.
 */
export function checkBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BackendError(`the base URL "${raw}" is not a URL`, 'model');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new BackendError(
      `the base URL ${url.origin} must use https:// (plain http:// only to this machine)`,
      'model',
    );
  }
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

export class HttpClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private disposed = false;

  constructor(
    baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {
    this.base = checkBaseUrl(baseUrl);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 8 });
  }

  get host(): string {
    return this.base.host;
  }

  /** The base URL's path, without a trailing slash ("/v1"). */
  get basePath(): string {
    return this.base.pathname;
  }

  /** POSTs JSON and returns the parsed JSON answer. */
  async postJson<T>(path: string, body: unknown, o: PostOptions): Promise<T> {
    const text = await this.withDeadline(o, (signal) =>
      this.send('POST', path, body, signal, async (res) => readAll(res)),
    );
    return parseJson<T>(text, this.host);
  }

  /** GETs JSON. */
  async getJson<T>(path: string, o: PostOptions): Promise<T> {
    const text = await this.withDeadline(o, (signal) =>
      this.send('GET', path, undefined, signal, async (res) => readAll(res)),
    );
    return parseJson<T>(text, this.host);
  }

  /** POSTs JSON and calls `onEvent` for every server-sent event of the answer, until it ends. */
  async postStream(path: string, body: unknown, o: PostOptions, onEvent: (e: StreamEvent) => void): Promise<void> {
    await this.withDeadline(o, (signal) =>
      this.send(
        'POST',
        path,
        body,
        signal,
        (res) =>
          new Promise<void>((resolve, reject) => {
            let failed: Error | undefined;
            const parser = createParser({
              onEvent: (e) => {
                if (failed) return;
                try {
                  onEvent({ data: e.data, event: e.event });
                } catch (err) {
                  failed = err as Error;
                  res.destroy();
                  reject(failed);
                }
              },
            });
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => parser.feed(chunk));
            res.on('end', () => (failed ? undefined : resolve()));
            res.on('error', (e) => reject(failed ?? e));
            res.on('aborted', () =>
              reject(failed ?? new BackendError(`${this.host} closed the connection mid-answer`, 'crash')),
            );
          }),
      ),
    );
  }

  dispose(): void {
    this.disposed = true;
    this.agent.destroy();
  }

  /** Runs `attempt` with retries on busy answers, all within the deadline and the caller's signal. */
  private async withDeadline<T>(o: PostOptions, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (o.signal?.aborted) throw new BackendError('request cancelled', 'cancelled');
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, o.timeoutMs);
    const onAbort = (): void => abort.abort();
    o.signal?.addEventListener('abort', onAbort);
    try {
      for (let tries = 1; ; tries++) {
        try {
          return await attempt(abort.signal);
        } catch (e) {
          if (!(e instanceof BusyError) || tries >= BUSY_TRIES || e.retryMs > MAX_RETRY_WAIT_MS) {
            throw e instanceof BusyError
              ? new BackendError(
                  `${this.host} is busy (${e.status}) after ${tries} tr${tries > 1 ? 'ies' : 'y'}; try again later`,
                  'busy',
                )
              : e;
          }
          await sleep(e.retryMs, abort.signal);
        }
      }
    } catch (e) {
      if (o.signal?.aborted) throw new BackendError('request cancelled', 'cancelled');
      if (timedOut)
        throw new BackendError(`${this.host} did not answer within ${+(o.timeoutMs / 1000).toFixed(1)} s`, 'timeout');
      if (e instanceof BackendError) throw e;
      throw this.networkError(e);
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private send<T>(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal,
    read: (res: http.IncomingMessage) => Promise<T>,
  ): Promise<T> {
    if (this.disposed) return Promise.reject(new BackendError('the backend was shut down', 'cancelled'));
    const url = new URL(this.base.pathname + path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const lib = url.protocol === 'https:' ? https : http;
    // A kept-alive socket the server has closed in the meantime fails the next request sent on it
    // before any answer (llama.cpp's server closes the connection about 1 ms after each streamed
    // answer while saying keep-alive, and the following request met ECONNRESET every time). Such a
    // request never reached the server, so it is sent again (Node's documentation recommends the
    // retry): the agent has dropped the dead socket by then, and a retry on a new socket that fails
    // is a real failure, as is a reset after the answer began.
    const attempt = (staleRetries: number) =>
      new Promise<T>((resolve, reject) => {
        let answered = false;
        const req = lib.request(
          url,
          {
            method,
            agent: this.agent,
            signal,
            headers: {
              accept: 'application/json, text/event-stream',
              ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
              ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
            },
          },
          (res) => {
            answered = true;
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              read(res).then(resolve, reject);
              return;
            }
            readAll(res).then((text) => reject(this.statusError(status, res.headers, text)), reject);
          },
        );
        req.on('error', (e: NodeJS.ErrnoException) => {
          const stale = !answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
          if (stale && staleRetries > 0 && !signal.aborted) attempt(staleRetries - 1).then(resolve, reject);
          else reject(e);
        });
        req.end(payload);
      });
    return attempt(STALE_SOCKET_RETRIES);
  }

  private statusError(status: number, headers: http.IncomingHttpHeaders, body: string): Error {
    const where = this.host;
    // only the envelope's machine-readable fields are kept: its message can quote the request
    const { code, message } = envelope(body);
    const hint = refusalHint(status, code, message);
    if (status === 429 || status === 503) return new BusyError(status, retryAfterMs(headers['retry-after']));
    if (status === 401 || status === 403)
      return new BackendError(`${where} refused the API key (${status}): set it with "Diffuse: Set API Key…"`, 'auth');
    if (status === 402) return new BackendError(`${where}: the account has no credit left (402)`, 'quota');
    if (status === 400 && /context_length/.test(code)) return new ContextTooLongError(where);
    if (hint === 'unknown_model')
      return new RemoteStatusError(`${where} has no such model (${status})`, 'model', status, hint);
    if (hint === 'suffix_unsupported')
      return new RemoteStatusError(
        `${where} refuses the suffix of a completion (${status})`,
        'unsupported',
        status,
        hint,
      );
    if (status === 404 || status === 405)
      return new RemoteStatusError(`${where} has no such endpoint or model (${status})`, 'model', status, hint);
    if (status >= 400 && status < 500)
      return new RemoteStatusError(
        `${where} rejected the request (${status}${code ? ` ${code}` : ''})`,
        'input',
        status,
      );
    return new RemoteStatusError(`${where} failed to answer (${status}${code ? ` ${code}` : ''})`, 'crash', status);
  }

  private networkError(e: unknown): BackendError {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED')
      return new BackendError(`cannot reach ${this.host}: nothing listens there (ECONNREFUSED)`, 'model');
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return new BackendError(`cannot reach ${this.host}: unknown host (${code})`, 'model');
    if (code === 'ECONNRESET' || code === 'EPIPE')
      return new BackendError(`${this.host} closed the connection mid-answer (${code})`, 'crash');
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return new BackendError(`${this.host}: ${message}${code ? ` (${code})` : ''}`, 'crash');
  }
}

/** The server is busy: retry after `retryMs`. */
class BusyError extends Error {
  constructor(
    readonly status: number,
    readonly retryMs: number,
  ) {
    super(`busy (${status})`);
  }
}

/** The code and message of an error body: OpenAI's `{error: {…}}`, vLLM's older flat form, or FastAPI's `{detail}`. */
function envelope(body: string): { code: string; message: string } {
  try {
    const j = JSON.parse(body) as {
      error?: { code?: unknown; type?: unknown; message?: unknown } | string;
      code?: unknown;
      type?: unknown;
      message?: unknown;
      detail?: unknown;
    };
    const e = typeof j.error === 'object' && j.error ? j.error : j;
    return {
      code: String(e.code ?? e.type ?? ''),
      message: String(e.message ?? (typeof j.error === 'string' ? j.error : (j.detail ?? ''))),
    };
  } catch {
    return { code: '', message: '' }; // not JSON: nothing of it is kept
  }
}

/** What a refusal means (the message is matched, not kept). */
export function refusalHint(status: number, code: string, message: string): RefusalHint | undefined {
  if (status === 400 && /\bsuffix\b/i.test(message) && /not (currently )?supported|unsupported/i.test(message))
    return 'suffix_unsupported';
  if (
    (status === 404 || status === 400) &&
    (/model_not_found/i.test(code) || /\bmodel\b.*(does not exist|not found|unknown)/i.test(message))
  )
    return 'unknown_model';
  if (status === 404 || status === 405) return 'no_route';
  return undefined;
}

/** Retry-After in seconds or as an HTTP date; the default when absent or unreadable. */
export function retryAfterMs(v: string | string[] | undefined, now = Date.now()): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return DEFAULT_RETRY_MS;
  if (/^\d+(\.\d+)?$/.test(s.trim())) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isFinite(at) ? Math.max(0, at - now) : DEFAULT_RETRY_MS;
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_RESPONSE_BYTES) res.destroy(new Error('the answer is larger than 32 MiB'));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('connection closed mid-answer'), { code: 'ECONNRESET' })));
  });
}

function parseJson<T>(text: string, host: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new BackendError(`${host} sent an answer that is not JSON`, 'crash');
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done(): void {
      signal.removeEventListener('abort', stop);
      resolve();
    }
    function stop(): void {
      clearTimeout(t);
      reject(new Error('aborted'));
    }
    signal.addEventListener('abort', stop, { once: true });
  });
}
