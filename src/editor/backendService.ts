// The extension's one denoiser: builds the backend the settings choose (the local worker by
// default; Mercury, an OpenAI-compatible server or a `diffuse serve` when the user picks one,
// with its key from SecretStorage), rebuilds it when those settings or the key change, times and
// logs every request, and turns a backend that cannot serve into exactly one actionable
// notification (the status bar keeps showing the error). Features talk to a model only here, and
// know no backend: they ask for refine / fill / complete and check `capabilities`.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { windowAround, type TextWindow } from '../core/text/textWindow';
import { createBackend } from '../backend/createBackend';
import {
  BackendError,
  type BackendKind,
  type BackendSource,
  type Capabilities,
  type CompleteInput,
  type Backend,
  type BackendState,
  type FillInput,
  type NextEditInput,
  type RefineInput,
} from '../backend/backend';
import type { DenoiseResult, ProgressParams } from '../backend/requests';
import { apiKeySecret } from './apiKeys';
import { showFailure } from './requestErrors';
import { requestWindow } from './requestWindow';
import { affectsBackend, readSettings, type DiffuseSettings } from './settings';
import { probe } from './testProbe';

export type RequestKind = 'refine' | 'fill' | 'complete' | 'nextEdit' | 'repair';

/** Requests made on pauses in typing (ghost text, next edit): never shown as busy, never holding a restart. */
const BACKGROUND: readonly RequestKind[] = ['complete', 'nextEdit'];

export interface Activity {
  kind: RequestKind;
  step?: number;
  maxSteps?: number;
}

export interface ServiceRequestOptions {
  token?: vscode.CancellationToken;
  signal?: AbortSignal;
  onProgress?: (p: ProgressParams) => void;
  /** Summary of the request for the log, e.g. "412 chars, strength 0.5". */
  describe: string;
}

/** Before the first backend is built. */
const STARTING: BackendState = { kind: 'starting' };

export class BackendService implements vscode.Disposable {
  private denoiser: Backend | undefined;
  /** The backend being built (reading the key is asynchronous); requests wait for it. */
  private building: Promise<Backend>;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly activities = new Set<Activity>();
  private notifiedError: string | undefined;
  /** The last state line logged (see onState). */
  private loggedState: string | undefined;
  /** Settings that need a new backend changed while a Refine or Fill ran (see restartForSettings). */
  private restartPending = false;
  private readonly restarting = new vscode.EventEmitter<void>();
  /** Fires when the backend is about to be replaced (new model or settings): cached answers are stale. */
  readonly onWillRestart = this.restarting.event;
  private readonly disposables: vscode.Disposable[] = [];
  lastLatencyMs: number | undefined;

  constructor(
    private readonly extensionPath: string,
    readonly log: vscode.LogOutputChannel,
    private readonly secrets: vscode.SecretStorage,
  ) {
    // DIFFUSE_LOG_CONSOLE=1 mirrors the log to the extension host's console (integration-test logs)
    if (process.env.DIFFUSE_LOG_CONSOLE) {
      for (const level of ['info', 'warn'] as const) {
        const write = log[level].bind(log);
        log[level] = (m: string) => {
          console.log(`[diffuse ${new Date().toISOString().slice(11, 23)}] ${m}`);
          write(m);
        };
      }
    }
    this.building = this.build();
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affectsBackend(e)) this.restartForSettings();
      }),
      secrets.onDidChange((e) => {
        if (e.key === apiKeySecret(this.settings().backend.kind)) this.restartForSettings();
      }),
    );
  }

  /**
   * A new model folder, thread count, backend or key needs a new backend. A Refine or Fill the
   * user is watching would die with the old one and its proposal be lost, so the restart waits
   * until they end (the proposal was asked for under the old settings; the user can still Escape
   * it); ghost-text requests are cheap to ask again and do not hold it up.
   */
  private restartForSettings(): void {
    const watched = [...this.activities].filter((a) => a.kind !== 'complete');
    if (watched.length === 0) {
      void this.restart();
      return;
    }
    if (!this.restartPending)
      this.log.info(`settings changed: the denoiser restarts when the running ${watched[0].kind} ends`);
    this.restartPending = true;
  }

  /** Shows an information message. */
  inform(text: string): void {
    void vscode.window.showInformationMessage(probe.notice(text));
  }

  /** Shows a warning with actions; resolves to the action chosen. */
  warn(text: string, ...actions: string[]): Thenable<string | undefined> {
    return vscode.window.showWarningMessage(probe.notice(text), ...actions);
  }

  settings(): DiffuseSettings {
    return readSettings(this.extensionPath);
  }

  get state(): BackendState {
    return this.denoiser?.state ?? STARTING;
  }

  /** Which backend answers ('local' until one is built). */
  get backend(): BackendKind {
    return this.denoiser?.kind ?? this.settings().backend.kind;
  }

  get capabilities(): Capabilities | undefined {
    return this.denoiser?.capabilities;
  }

  /** The latest request running, preferring one that reports steps. */
  get activity(): Activity | undefined {
    return this.latest(() => true);
  }

  /**
   * The request the status bar shows: the latest Refine or Fill. Ghost-text requests are left
   * out: they come with every pause in typing, and the item would flicker.
   */
  get watchedActivity(): Activity | undefined {
    return this.latest((a) => !BACKGROUND.includes(a.kind));
  }

  private latest(which: (a: Activity) => boolean): Activity | undefined {
    let shown: Activity | undefined;
    for (const a of this.activities) if (which(a) && (!shown || a.step !== undefined)) shown = a;
    return shown;
  }

  get workerPid(): number | undefined {
    return this.denoiser?.pid;
  }

  /** Loads the model now (activation); failures surface through the state and one notification. */
  start(): void {
    void this.building.then((d) => d.start()).catch(() => undefined);
  }

  async restart(): Promise<void> {
    this.restartPending = false;
    this.restarting.fire();
    this.notifiedError = undefined;
    const old = this.denoiser;
    this.denoiser = undefined;
    old?.dispose();
    this.building = this.build();
    this.changed.fire();
    await this.building.then((d) => d.start()).catch(() => undefined);
  }

  /**
   * The part of a document a Refine or Fill of [start, end) sends: the local model's token budgets
   * (plus a margin), a remote model's `diffuse.remote.contextChars` on each side.
   */
  window(text: string, start: number, end: number): TextWindow {
    const s = this.settings();
    return s.backend.kind === 'local'
      ? requestWindow(text, start, end, s.context)
      : windowAround(text, start, end, s.backend.contextChars, s.backend.contextChars);
  }

  refine(p: RefineInput, o: ServiceRequestOptions): Promise<DenoiseResult> {
    return this.request('refine', (d, ro) => d.refine(p, ro), o);
  }

  fill(p: FillInput, o: ServiceRequestOptions): Promise<DenoiseResult> {
    return this.request('fill', (d, ro) => d.fill(p, ro), o);
  }

  complete(p: CompleteInput, o: ServiceRequestOptions): Promise<DenoiseResult> {
    return this.request('complete', (d, ro) => d.complete(p, ro), o);
  }

  /** The edit that follows the user's last one; a backend without next edit answers none. */
  nextEdit(p: NextEditInput, o: ServiceRequestOptions): Promise<DenoiseResult> {
    return this.request(
      'nextEdit',
      (d, ro) =>
        d.nextEdit && d.capabilities.nextEdit
          ? d.nextEdit(p, ro)
          : Promise.reject(new BackendError(`the ${d.kind} backend cannot propose next edits`, 'unsupported')),
      o,
    );
  }

  /** The backend as built now (the tests' wrapper around it, as every request has). */
  async current(): Promise<Backend> {
    return probe.backend(await this.building);
  }

  /**
   * A job of many calls (Repair's scores, fills and checks) shown as busy while it runs, like one
   * request; a restart the settings asked for waits for it.
   */
  async whileBusy<T>(kind: RequestKind, job: () => Promise<T>): Promise<T> {
    const activity: Activity = { kind };
    probe.requests[kind]++;
    this.activities.add(activity);
    this.changed.fire();
    try {
      return await job();
    } finally {
      this.activities.delete(activity);
      this.changed.fire();
      if (this.restartPending && ![...this.activities].some((a) => !BACKGROUND.includes(a.kind))) void this.restart();
    }
  }

  private async request(
    kind: RequestKind,
    run: (d: Backend, o: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void }) => Promise<DenoiseResult>,
    o: ServiceRequestOptions,
  ): Promise<DenoiseResult> {
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    o.signal?.addEventListener('abort', onAbort);
    const sub = o.token?.onCancellationRequested(onAbort);
    if (o.signal?.aborted || o.token?.isCancellationRequested) abort.abort();
    const activity: Activity = { kind };
    probe.requests[kind]++;
    this.activities.add(activity);
    this.changed.fire();
    const t0 = Date.now();
    try {
      const built = await this.building;
      const denoiser = probe.backend(built);
      const result = await run(denoiser, {
        signal: abort.signal,
        onProgress: (p) => {
          activity.step = p.step;
          activity.maxSteps = p.maxSteps;
          this.changed.fire();
          o.onProgress?.(p);
        },
      });
      this.lastLatencyMs = Date.now() - t0;
      const where =
        built.kind === 'local' || built.kind === 'diffuse'
          ? `${result.ms} ms in the worker, ${this.lastLatencyMs} ms round trip, ${result.canvasTokens}-token canvas`
          : `${this.lastLatencyMs} ms from ${built.kind}`;
      const steps = result.stepBudget
        ? `${result.steps} of ${result.stepBudget} budgeted steps`
        : `${result.steps} steps`;
      this.log.info(`${kind} ${o.describe}: ${steps}, ${where}, stopped by ${result.stoppedBy}`);
      return result;
    } catch (e) {
      const err = e instanceof BackendError ? e : new BackendError(String(e), 'internal');
      if (err.code === 'cancelled') this.log.info(`${kind} ${o.describe}: cancelled after ${Date.now() - t0} ms`);
      else this.log.warn(`${kind} ${o.describe}: ${err.code} error after ${Date.now() - t0} ms: ${err.message}`);
      throw err;
    } finally {
      this.activities.delete(activity);
      o.signal?.removeEventListener('abort', onAbort);
      sub?.dispose();
      this.changed.fire();
      if (this.restartPending && ![...this.activities].some((a) => !BACKGROUND.includes(a.kind))) void this.restart();
    }
  }

  dispose(): void {
    this.denoiser?.dispose();
    void this.building.then(
      (d) => d.dispose(),
      () => undefined,
    );
    this.changed.dispose();
    this.restarting.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private async build(): Promise<Backend> {
    const s = this.settings();
    const source = await this.source(s);
    this.log.info(
      source.kind === 'local'
        ? `denoiser: local model ${source.modelDir} (${source.threads} threads${source.executionProvider ? `, ${source.executionProvider}` : ''})`
        : `denoiser: ${source.kind} at ${source.baseUrl}`,
    );
    const d = createBackend(source, {
      workerPath: path.join(this.extensionPath, 'dist', 'worker.js'),
      log: (line) => this.log.info(line),
      onState: (state) => this.onState(state),
      remoteTimeoutMs: s.backend.timeoutMs,
    });
    this.denoiser = d;
    return d;
  }

  private async source(s: DiffuseSettings): Promise<BackendSource> {
    const b = s.backend;
    if (b.kind === 'local')
      return { kind: 'local', modelDir: s.modelDir, threads: s.threads, executionProvider: s.executionProvider };
    const apiKey = (await this.secrets.get(apiKeySecret(b.kind))) || undefined;
    if (b.kind === 'diffuse') return { kind: 'diffuse', baseUrl: b.baseUrl, apiKey };
    return {
      kind: b.kind,
      baseUrl: b.baseUrl,
      fimModel: b.fimModel,
      chatModel: b.chatModel,
      fimTemplate: b.fimTemplate,
      apiKey,
    };
  }

  private onState(state: BackendState): void {
    // a load reports each of its steps as a new 'starting' state: the log says "starting" once
    const line = `denoiser: ${state.kind}${'message' in state ? ` (${state.message})` : ''}`;
    if (line !== this.loggedState) this.log.info(line);
    this.loggedState = line;
    if (state.kind === 'ready') {
      this.notifiedError = undefined;
      // e.g. the CUDA provider could not load and the model runs on the CPU
      if (state.info.note) void vscode.window.showWarningMessage(probe.notice(`Diffuse: ${state.info.note}`));
    }
    if (state.kind === 'error' && this.notifiedError !== state.message) {
      this.notifiedError = state.message;
      void this.notifyBackendError(state.message);
    }
    this.changed.fire();
  }

  /** The one notification of a backend that cannot serve; a command that fails on it shows it again. */
  notifyBackendError(message: string): Promise<void> {
    const local = this.backend === 'local';
    if (local) return showFailure(`Diffuse could not load its model: ${message}`, ['Choose Model Folder…', 'Show Log']);
    // a refused or missing key is fixed by a key; an unreachable server or unknown model by another backend
    const key = /API key|\b40[13]\b/.test(message);
    return showFailure(
      `Diffuse (${this.backend}) cannot answer: ${message}`,
      key ? ['Set API Key…', 'Choose Backend…', 'Show Log'] : ['Choose Backend…', 'Set API Key…', 'Show Log'],
    );
  }
}
