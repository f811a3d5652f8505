// Starts the denoiser worker as a child process and talks to it over vscode-jsonrpc on Node's IPC
// channel. Used by both the extension and the CLI. A worker that dies fails its in-flight
// requests with a clear error and is restarted with back-off; one that stops answering is killed
// by a watchdog and restarted the same way; a model that fails to load is reported once and not
// retried (restarting would not fix the folder). A request waits for the worker to load, also
// across a restart, and can be cancelled while it waits.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  CancellationTokenSource,
  ResponseError,
  createMessageConnection,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import { IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import {
  BackendError,
  instructionUnsupported,
  type BackendInfo,
  type Capabilities,
  type CompleteInput,
  type Backend,
  type BackendState,
  type NextEditInput,
  type ScoreInput,
  type AlternativesInput,
  type FillInput,
  type LoadProgress,
  type RefineInput,
  type RequestOptions,
} from '../backend';
import { knownWeightBytes } from '../../modelFolder/manifest';
import type { AlternativesResult, DenoiseResult, ProgressParams, ScoreResult } from '../requests';
import {
  CompleteRequest,
  ScoreRequest,
  AlternativesRequest,
  ErrorCodes,
  FillRequest,
  LoadProgressNotification,
  LoadRequest,
  NextEditRequest,
  ProgressNotification,
  RefineRequest,
  type ModelInfo,
} from './protocol';

export interface LocalBackendOptions {
  /** The bundled worker script (dist/worker.js). */
  workerPath: string;
  modelDir: string;
  threads: number;
  /** onnxruntime execution provider ('cpu' when unset). */
  executionProvider?: string;
  onState?: (s: BackendState) => void;
  /** Worker stderr lines and lifecycle events. */
  log?: (line: string) => void;
  /** Restart back-off: first delay, doubled per crash up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /**
   * Watchdog: while a request is outstanding, a worker that sends nothing (no answer, no progress)
   * for this long is taken as hung, killed and restarted; its requests fail with code 'timeout'.
   */
  requestTimeoutMs?: number;
  /**
   * A load that has not finished after this long, plus LOAD_MS_PER_GB for each whole GB of weights,
   * fails as a model error (the folder is suspect).
   */
  loadTimeoutMs?: number;
}

/**
 * The longest a worker may stay silent while it owes an answer. A request makes at most 48
 * model calls of a few tens of ms each on a laptop CPU, so half a minute of silence is a hang,
 * not a slow model; a queue of requests does not add up, since every answer resets the clock.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Loading the shipped model takes under a second; two minutes allow for a slow, busy machine. */
export const DEFAULT_LOAD_TIMEOUT_MS = 120_000;

/**
 * What a big folder adds to the load's time limit per whole GB of weights: onnxruntime reads them
 * all and optimises the graph, and a 7.6 GB folder on a laptop's disk takes minutes (at 30 s per
 * GB its limit is 2 + 3.5 minutes).
 */
export const LOAD_MS_PER_GB = 30_000;

/** The first restart after a crash waits this long; each further crash doubles it (see below). */
export const DEFAULT_RESTART_DELAY_MS = 500;

/** The back-off stops doubling here: a worker that cannot start is still retried twice a minute. */
export const DEFAULT_MAX_RESTART_DELAY_MS = 30_000;

/** A worker that stays up this long has recovered: earlier crashes are forgotten. */
const STABLE_AFTER_MS = 60_000;

/** The local engine does everything but follow an instruction (it is not a chat model). */
export const LOCAL_CAPABILITIES: Capabilities = {
  instruction: false,
  corrector: true,
  frames: true,
  jointSpans: true,
  confidence: true,
  candidates: true,
  nextEdit: true,
  score: true,
};

/** What the client adds to a request's input before sending it (see RequestBase in ../requests.ts). */
type Stamped<I> = I & { requestId: string; progress?: boolean; sentAt?: number };

let nextRequestId = 1;

const cancelled = (): BackendError => new BackendError('request cancelled', 'cancelled');

/** The `local` backend: the worker process and its model folder. */
export class LocalBackend implements Backend {
  readonly kind = 'local';
  readonly capabilities = LOCAL_CAPABILITIES;
  private child: ChildProcess | undefined;
  private connection: MessageConnection | undefined;
  private ready: Promise<ModelInfo> | undefined;
  /** Rejecters of the requests sent to the current worker and not yet answered. */
  private readonly inFlight = new Set<(e: Error) => void>();
  /** Rejecter of the current worker's load request, while it loads. */
  private loading: ((e: Error) => void) | undefined;
  private readonly progress = new Map<string, (p: ProgressParams) => void>();
  private crashes = 0;
  /** Counts restart() and dispose() calls: a load they cut short is waited past, not failed. */
  private replacements = 0;
  /** Why the watchdog killed the worker, for the exit that follows. */
  private hangCause: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private disposed = false;
  private current: BackendState = { kind: 'stopped' };

  constructor(private readonly opts: LocalBackendOptions) {}

  /** Where the worker is in its lifecycle; every change is also reported through `onState`. */
  get state(): BackendState {
    return this.current;
  }

  /** Starts the worker and loads the model (once; later calls return the same promise). */
  start(): Promise<BackendInfo> {
    if (!this.ready) this.ready = this.spawn();
    return this.ready.then(backendInfo);
  }

  refine(p: RefineInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    if (p.instruction) return Promise.reject(instructionUnsupported(this.kind));
    return this.request(RefineRequest, p, o);
  }

  fill(p: FillInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(FillRequest, p, o);
  }

  complete(p: CompleteInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(CompleteRequest, p, o);
  }

  nextEdit(p: NextEditInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.request(NextEditRequest, p, o);
  }

  score(p: ScoreInput, o: RequestOptions = {}): Promise<ScoreResult> {
    return this.request(ScoreRequest, p, o);
  }

  alternatives(p: AlternativesInput, o: RequestOptions = {}): Promise<AlternativesResult> {
    return this.request(AlternativesRequest, p, o);
  }

  /** Stops the worker and starts a new one (for example with another model folder). */
  async restart(change: Partial<Pick<LocalBackendOptions, 'modelDir' | 'threads'>> = {}): Promise<BackendInfo> {
    Object.assign(this.opts, change);
    this.replacements++;
    this.kill('restarted by request');
    this.crashes = 0;
    this.ready = undefined;
    return this.start();
  }

  dispose(): void {
    this.disposed = true;
    this.replacements++;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    clearTimeout(this.watchdog);
    this.kill('the denoiser was shut down');
    this.setState({ kind: 'stopped' });
  }

  /** Process id of the current worker, if one runs (for tests and the status menu). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private async request<I, R = DenoiseResult>(
    type: RequestType<Stamped<NoInfer<I>>, R, void>,
    params: I,
    o: RequestOptions,
  ): Promise<R> {
    const signal = o.signal;
    if (signal?.aborted) throw cancelled();
    // Listen for the abort before waiting for the worker: a request cancelled while the model
    // loads (or reloads after a restart) fails at once and is never sent.
    const cts = new CancellationTokenSource();
    let abortWait!: (e: Error) => void;
    const aborted = new Promise<never>((_, reject) => (abortWait = reject));
    aborted.catch(() => undefined);
    const onAbort = (): void => {
      abortWait(cancelled());
      cts.cancel();
    };
    signal?.addEventListener('abort', onAbort);
    const requestId = String(nextRequestId++);
    let rejectCrash: ((e: Error) => void) | undefined;
    try {
      const connection = await Promise.race([this.connected(), aborted]);
      if (signal?.aborted) throw cancelled();
      const full: Stamped<I> = { ...params, requestId, progress: !!o.onProgress, sentAt: Date.now() };
      if (o.onProgress) this.progress.set(requestId, o.onProgress);
      const crashed = new Promise<never>((_, reject) => {
        rejectCrash = reject;
      });
      this.inFlight.add(rejectCrash!);
      this.armWatchdog();
      // Once sent, a cancelled request is answered by the worker (between two model calls), so
      // the caller knows the worker is free when this settles.
      const result = await Promise.race([connection.sendRequest(type, full, cts.token), crashed]);
      // A worker that answers has recovered: the next crash is restarted after the first delay again
      // (back-off is for a worker that cannot serve at all, not for one killed now and then).
      if (this.connection === connection) this.crashes = 0;
      return result;
    } catch (e) {
      throw toBackendError(e);
    } finally {
      if (rejectCrash) this.inFlight.delete(rejectCrash);
      this.progress.delete(requestId);
      signal?.removeEventListener('abort', onAbort);
      cts.dispose();
      this.armWatchdog();
    }
  }

  /**
   * The connection of a loaded worker. A restart while this waits replaces the worker it waited
   * for: it then waits for the new one instead of failing with the old one's disposal.
   */
  private async connected(): Promise<MessageConnection> {
    for (;;) {
      if (this.disposed) throw new BackendError('the denoiser was shut down', 'cancelled');
      if (!this.ready) this.ready = this.spawn();
      const ready = this.ready;
      const replacements = this.replacements;
      try {
        await ready;
      } catch (e) {
        if (this.replacements !== replacements && !this.disposed) continue;
        throw e;
      }
      if (this.ready === ready && this.connection) return this.connection;
      // replaced (or crashed) between the load and now: wait for the current worker
    }
  }

  /** (Re)starts the watchdog while requests are outstanding; every sign of life resets it. */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    if (this.inFlight.size === 0 || this.disposed) return;
    const ms = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.watchdog = setTimeout(() => this.onHung(ms), ms);
    this.watchdog.unref();
  }

  private onHung(ms: number): void {
    const child = this.child;
    if (!child) return;
    this.hangCause = `the denoiser did not answer within ${+(ms / 1000).toFixed(1)} s; it was restarted`;
    this.opts.log?.(this.hangCause);
    // SIGKILL: a hung worker may not run a SIGTERM handler. It is treated as gone at once (the
    // next request waits for its replacement, restarted with back-off as after a crash); its
    // requests fail there, with the hang as their cause.
    child.kill('SIGKILL');
    this.onExit(child, null, 'SIGKILL');
  }

  private async spawn(): Promise<ModelInfo> {
    const load = loadProgress(this.opts.modelDir);
    this.setState({ kind: 'starting', load });
    const child = fork(this.opts.workerPath, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // the worker must not inherit an inspector port or a debugger from the extension host
      execArgv: [],
    });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) =>
      d
        .split('\n')
        .filter(Boolean)
        .forEach((l) => this.opts.log?.(`[worker] ${l}`)),
    );
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    this.connection = connection;
    connection.onNotification(ProgressNotification, (p) => {
      this.armWatchdog();
      this.progress.get(p.requestId)?.(p);
    });
    connection.onNotification(LoadProgressNotification, (p) => {
      if (this.child === child && this.current.kind === 'starting')
        this.setState({ kind: 'starting', load: { ...load, stage: p.stage } });
    });
    connection.listen();
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    child.on('error', (e) => this.opts.log?.(`worker process error: ${e.message}`));
    const exited = new Promise<never>((_, reject) => {
      this.loading = reject;
    });
    const loadMs =
      (this.opts.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS) + Math.floor((load.bytes ?? 0) / 1e9) * LOAD_MS_PER_GB;
    let loadTimer: NodeJS.Timeout | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      loadTimer = setTimeout(
        () =>
          reject(
            new BackendError(
              `the denoiser did not finish loading ${this.opts.modelDir} within ${+(loadMs / 1000).toFixed(1)} s`,
              'model',
            ),
          ),
        loadMs,
      );
    });
    try {
      const info = await Promise.race([
        connection.sendRequest(LoadRequest, {
          modelDir: this.opts.modelDir,
          threads: this.opts.threads,
          executionProvider: this.opts.executionProvider,
        }),
        exited,
        tooLong,
      ]).finally(() => clearTimeout(loadTimer));
      this.loading = undefined;
      this.opts.log?.(
        `loaded ${info.name} from ${info.modelDir} in ${info.loadMs} ms (${info.threads} thread${info.threads > 1 ? 's' : ''})`,
      );
      this.setState({ kind: 'ready', info: backendInfo(info) });
      // A worker that stays up for a minute has recovered: forget earlier crashes.
      this.stableTimer = setTimeout(() => (this.crashes = 0), STABLE_AFTER_MS);
      this.stableTimer.unref();
      return info;
    } catch (e) {
      if (this.child === child) this.loading = undefined;
      const err = toBackendError(e);
      if (err.code === 'model' && this.child === child) {
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
    const hang = this.hangCause;
    this.hangCause = undefined;
    const message = hang ?? `the denoiser process ${how}`;
    // Fail pending requests with the cause before the connection's own "disposed" rejection.
    this.failPending((during) =>
      hang && during === 'request'
        ? new BackendError(hang, 'timeout')
        : new BackendError(
            `${message} while ${during === 'request' ? 'handling the request' : 'loading the model'}`,
            'crash',
          ),
    );
    this.armWatchdog();
    this.connection?.dispose();
    this.connection = undefined;
    if (this.disposed || this.state.kind === 'error') return;
    this.opts.log?.(message);
    const base = this.opts.restartDelayMs ?? DEFAULT_RESTART_DELAY_MS;
    const inMs = Math.min(this.opts.maxRestartDelayMs ?? DEFAULT_MAX_RESTART_DELAY_MS, base * 2 ** this.crashes);
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
    this.failPending(() => new BackendError(reason, 'cancelled'));
    this.hangCause = undefined;
    this.armWatchdog();
    if (child && child.exitCode === null) child.kill();
  }

  /** Fails every request the current worker owes, and its load if it is loading, with `cause`. */
  private failPending(cause: (during: 'request' | 'load') => BackendError): void {
    for (const reject of this.inFlight) reject(cause('request'));
    this.inFlight.clear();
    this.loading?.(cause('load'));
    this.loading = undefined;
  }

  private setState(s: BackendState): void {
    this.current = s;
    this.opts.onState?.(s);
  }
}

/** The start of a load as the status bar shows it. */
function loadProgress(modelDir: string): LoadProgress {
  return { modelDir, name: path.basename(modelDir), bytes: knownWeightBytes(modelDir), startedAt: Date.now() };
}

function backendInfo(m: ModelInfo): BackendInfo {
  return {
    backend: 'local',
    name: m.name,
    where: m.modelDir,
    contextLength: m.contextLength,
    vocabSize: m.vocabSize,
    loadMs: m.loadMs,
    threads: m.threads,
    executionProvider: m.executionProvider,
    ...(m.providerNote ? { note: m.providerNote } : {}),
  };
}

function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (e instanceof ResponseError) {
    if (e.code === ErrorCodes.modelInvalid) return new BackendError(e.message, 'model');
    if (e.code === ErrorCodes.badInput) return new BackendError(e.message, 'input');
    if (e.code === ErrorCodes.cancelled) return new BackendError('request cancelled', 'cancelled');
    return new BackendError(e.message, 'internal');
  }
  return new BackendError(e instanceof Error ? e.message : String(e), 'internal');
}
