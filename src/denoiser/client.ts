// Starts the denoiser worker as a child process and talks to it over vscode-jsonrpc on Node's IPC
// channel. Used by both the extension and the CLI. A worker that dies fails its in-flight
// requests with a clear error and is restarted with back-off; a model that fails to load is
// reported once and not retried (restarting would not fix the folder).
import { fork, type ChildProcess } from 'node:child_process';
import {
  CancellationTokenSource, ResponseError, createMessageConnection, type MessageConnection, type RequestType,
} from 'vscode-jsonrpc/node';
import { IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import {
  CompleteRequest, ErrorCodes, FillRequest, LoadRequest, ProgressNotification, RefineRequest,
  type CompleteParams, type DenoiseResult, type FillParams, type ModelInfo, type ProgressParams, type RefineParams,
} from './protocol';

export type DenoiserState =
  | { kind: 'starting' }
  | { kind: 'ready'; info: ModelInfo }
  | { kind: 'error'; message: string }
  | { kind: 'restarting'; message: string; inMs: number }
  | { kind: 'stopped' };

export interface DenoiserClientOptions {
  /** The bundled worker script (dist/worker.js). */
  workerPath: string;
  modelDir: string;
  threads: number;
  onState?: (s: DenoiserState) => void;
  /** Worker stderr lines and lifecycle events. */
  log?: (line: string) => void;
  /** Restart back-off: first delay, doubled per crash up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressParams) => void;
}

/** A request failed for a reason the user should see (bad model, bad input, crash). */
export class DenoiserError extends Error {
  constructor(message: string, readonly code: 'model' | 'input' | 'crash' | 'cancelled' | 'internal') {
    super(message);
  }
}

let nextRequestId = 1;

export class DenoiserClient {
  private child: ChildProcess | undefined;
  private connection: MessageConnection | undefined;
  private ready: Promise<ModelInfo> | undefined;
  private readonly inFlight = new Set<(e: Error) => void>();
  private readonly progress = new Map<string, (p: ProgressParams) => void>();
  private crashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  state: DenoiserState = { kind: 'stopped' };

  constructor(private readonly opts: DenoiserClientOptions) {}

  /** Starts the worker and loads the model (once; later calls return the same promise). */
  start(): Promise<ModelInfo> {
    if (!this.ready) this.ready = this.spawn();
    return this.ready;
  }

  refine(p: Omit<RefineParams, 'requestId'>, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(RefineRequest, p, o);
  }

  fill(p: Omit<FillParams, 'requestId'>, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(FillRequest, p, o);
  }

  complete(p: Omit<CompleteParams, 'requestId'>, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(CompleteRequest, p, o);
  }

  /** Stops the worker and starts a new one (for example with another model folder). */
  async restart(change: Partial<Pick<DenoiserClientOptions, 'modelDir' | 'threads'>> = {}): Promise<ModelInfo> {
    Object.assign(this.opts, change);
    this.kill('restarted by request');
    this.crashes = 0;
    this.ready = undefined;
    return this.start();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    this.kill('the denoiser was shut down');
    this.setState({ kind: 'stopped' });
  }

  /** Process id of the current worker, if one runs (for tests and the status menu). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async request<P extends { requestId: string }>(
    type: RequestType<P, DenoiseResult, void>,
    params: Omit<P, 'requestId'>,
    o: RequestOptions,
  ): Promise<DenoiseResult> {
    if (o.signal?.aborted) throw new DenoiserError('request cancelled', 'cancelled');
    await this.start();
    const connection = this.connection;
    if (!connection) throw new DenoiserError('the denoiser is not running', 'crash');
    const requestId = String(nextRequestId++);
    const full = { ...params, requestId, progress: !!o.onProgress, sentAt: Date.now() } as unknown as P;
    const cts = new CancellationTokenSource();
    const onAbort = (): void => cts.cancel();
    o.signal?.addEventListener('abort', onAbort);
    if (o.onProgress) this.progress.set(requestId, o.onProgress);
    let rejectCrash!: (e: Error) => void;
    const crashed = new Promise<never>((_, reject) => {
      rejectCrash = reject;
    });
    this.inFlight.add(rejectCrash);
    try {
      return await Promise.race([connection.sendRequest(type, full, cts.token), crashed]);
    } catch (e) {
      throw toDenoiserError(e);
    } finally {
      this.inFlight.delete(rejectCrash);
      this.progress.delete(requestId);
      o.signal?.removeEventListener('abort', onAbort);
      cts.dispose();
    }
  }

  private async spawn(): Promise<ModelInfo> {
    this.setState({ kind: 'starting' });
    const child = fork(this.opts.workerPath, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // the worker must not inherit an inspector port or a debugger from the extension host
      execArgv: [],
    });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => d.split('\n').filter(Boolean).forEach((l) => this.opts.log?.(`[worker] ${l}`)));
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    this.connection = connection;
    connection.onNotification(ProgressNotification, (p) => this.progress.get(p.requestId)?.(p));
    connection.listen();
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (e) => this.opts.log?.(`worker process error: ${e.message}`));
    try {
      const info = await connection.sendRequest(LoadRequest, { modelDir: this.opts.modelDir, threads: this.opts.threads });
      this.opts.log?.(`loaded ${info.name} from ${info.modelDir} in ${info.loadMs} ms (${info.threads} thread${info.threads > 1 ? 's' : ''})`);
      this.setState({ kind: 'ready', info });
      // A worker that stays up for a minute has recovered: forget earlier crashes.
      this.stableTimer = setTimeout(() => (this.crashes = 0), 60_000);
      this.stableTimer.unref();
      return info;
    } catch (e) {
      const err = toDenoiserError(e);
      if (err.code === 'model') {
        this.setState({ kind: 'error', message: err.message });
        this.kill('model failed to load');
      }
      throw err;
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const message = `the denoiser process ${how}`;
    // Fail in-flight requests with the cause before the connection's own "disposed" rejection.
    for (const reject of this.inFlight) reject(new DenoiserError(`${message} while handling the request`, 'crash'));
    this.inFlight.clear();
    this.connection?.dispose();
    this.connection = undefined;
    if (this.disposed || this.state.kind === 'error') return;
    this.opts.log?.(message);
    const base = this.opts.restartDelayMs ?? 500;
    const inMs = Math.min(this.opts.maxRestartDelayMs ?? 30_000, base * 2 ** this.crashes);
    this.crashes++;
    this.ready = undefined;
    this.setState({ kind: 'restarting', message, inMs });
    clearTimeout(this.stableTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.disposed && !this.ready) this.start().catch((e) => this.opts.log?.(`restart failed: ${e.message}`));
    }, inMs);
    this.restartTimer.unref();
  }

  private kill(reason: string): void {
    const child = this.child;
    this.child = undefined;
    this.connection?.dispose();
    this.connection = undefined;
    for (const reject of this.inFlight) reject(new DenoiserError(reason, 'cancelled'));
    this.inFlight.clear();
    if (child && child.exitCode === null) child.kill();
  }

  private setState(s: DenoiserState): void {
    this.state = s;
    this.opts.onState?.(s);
  }
}

function toDenoiserError(e: unknown): DenoiserError {
  if (e instanceof DenoiserError) return e;
  if (e instanceof ResponseError) {
    if (e.code === ErrorCodes.modelInvalid) return new DenoiserError(e.message, 'model');
    if (e.code === ErrorCodes.badInput) return new DenoiserError(e.message, 'input');
    if (e.code === ErrorCodes.cancelled) return new DenoiserError('request cancelled', 'cancelled');
    return new DenoiserError(e.message, 'internal');
  }
  return new DenoiserError(e instanceof Error ? e.message : String(e), 'internal');
}
