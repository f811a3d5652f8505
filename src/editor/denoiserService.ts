// The extension's one denoiser: starts the worker with the configured model, restarts it when
// the model folder or thread count changes, times and logs every request, and turns a model
// that fails to load into exactly one actionable notification (the status bar keeps showing the
// error; requests fail quietly until the folder is fixed). Features talk to the model only here.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DenoiserClient, DenoiserError, type DenoiserState } from '../denoiser/client';
import type { DenoiseResult, ProgressParams } from '../denoiser/protocol';
import { affectsDenoiser, readSettings, type DiffuseSettings } from './settings';

export type RequestKind = 'refine' | 'fill' | 'complete';

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

export class DenoiserService implements vscode.Disposable {
  private client: DenoiserClient;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly activities = new Set<Activity>();
  private notifiedError: string | undefined;
  /** Settings that need a new worker changed while a Refine or Fill ran (see restartForSettings). */
  private restartPending = false;
  private readonly restarting = new vscode.EventEmitter<void>();
  /** Fires when the worker is about to be replaced (new model or settings): cached answers are stale. */
  readonly onWillRestart = this.restarting.event;
  private readonly disposables: vscode.Disposable[] = [];
  lastLatencyMs: number | undefined;
  /** Messages of notifications shown: model errors and `inform` (read by the integration tests). */
  readonly notices: string[] = [];
  /** Requests sent, per kind (the status menu and the integration tests read them). */
  readonly counts: Record<RequestKind, number> = { refine: 0, fill: 0, complete: 0 };

  constructor(
    private readonly extensionPath: string,
    readonly log: vscode.LogOutputChannel,
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
    this.client = this.createClient(this.settings());
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsDenoiser(e)) this.restartForSettings();
    }));
  }

  /**
   * A new model folder or thread count needs a new worker. A Refine or Fill the user is watching
   * would die with the old one and its proposal be lost, so the restart waits until they end (the
   * proposal was asked for under the old settings; the user can still Escape it); ghost-text
   * requests are cheap to ask again and do not hold it up.
   */
  private restartForSettings(): void {
    const watched = [...this.activities].filter((a) => a.kind !== 'complete');
    if (watched.length === 0) {
      void this.restart();
      return;
    }
    if (!this.restartPending) this.log.info(`settings changed: the denoiser restarts when the running ${watched[0].kind} ends`);
    this.restartPending = true;
  }

  /** Shows an information message (recorded for the integration tests). */
  inform(text: string): void {
    this.notices.push(text);
    void vscode.window.showInformationMessage(text);
  }

  settings(): DiffuseSettings {
    return readSettings(this.extensionPath);
  }

  get state(): DenoiserState {
    return this.client.state;
  }

  /** The request shown in the status bar: the latest one that reports steps. */
  get activity(): Activity | undefined {
    let shown: Activity | undefined;
    for (const a of this.activities) if (!shown || a.step !== undefined) shown = a;
    return shown;
  }

  get workerPid(): number | undefined {
    return this.client.pid;
  }

  /** Loads the model now (activation); failures surface through the state and one notification. */
  start(): void {
    this.client.start().catch(() => undefined);
  }

  async restart(): Promise<void> {
    const s = this.settings();
    this.restartPending = false;
    this.restarting.fire();
    this.notifiedError = undefined;
    this.log.info(`restarting the denoiser with ${s.modelDir} (${s.threads} threads)`);
    await this.client.restart({ modelDir: s.modelDir, threads: s.threads }).catch(() => undefined);
  }

  async request(
    kind: RequestKind,
    run: (client: DenoiserClient, o: { signal?: AbortSignal; onProgress?: (p: ProgressParams) => void }) => Promise<DenoiseResult>,
    o: ServiceRequestOptions,
  ): Promise<DenoiseResult> {
    const abort = new AbortController();
    const onAbort = (): void => abort.abort();
    o.signal?.addEventListener('abort', onAbort);
    const sub = o.token?.onCancellationRequested(onAbort);
    if (o.signal?.aborted || o.token?.isCancellationRequested) abort.abort();
    const activity: Activity = { kind };
    this.counts[kind]++;
    this.activities.add(activity);
    this.changed.fire();
    const t0 = Date.now();
    try {
      const result = await run(this.client, {
        signal: abort.signal,
        onProgress: (p) => {
          activity.step = p.step;
          activity.maxSteps = p.maxSteps;
          this.changed.fire();
          o.onProgress?.(p);
        },
      });
      this.lastLatencyMs = Date.now() - t0;
      this.log.info(`${kind} ${o.describe}: ${result.steps} steps, ${result.ms} ms in the worker, `
        + `${this.lastLatencyMs} ms round trip, ${result.canvasTokens}-token canvas, stopped by ${result.stoppedBy}`);
      return result;
    } catch (e) {
      const err = e instanceof DenoiserError ? e : new DenoiserError(String(e), 'internal');
      if (err.code === 'cancelled') this.log.info(`${kind} ${o.describe}: cancelled after ${Date.now() - t0} ms`);
      else this.log.warn(`${kind} ${o.describe}: ${err.code} error after ${Date.now() - t0} ms: ${err.message}`);
      throw err;
    } finally {
      this.activities.delete(activity);
      o.signal?.removeEventListener('abort', onAbort);
      sub?.dispose();
      this.changed.fire();
      if (this.restartPending && ![...this.activities].some((a) => a.kind !== 'complete')) void this.restart();
    }
  }

  dispose(): void {
    this.client.dispose();
    this.changed.dispose();
    this.restarting.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private createClient(s: DiffuseSettings): DenoiserClient {
    return new DenoiserClient({
      workerPath: path.join(this.extensionPath, 'dist', 'worker.js'),
      modelDir: s.modelDir,
      threads: s.threads,
      log: (line) => this.log.info(line),
      onState: (state) => this.onState(state),
    });
  }

  private onState(state: DenoiserState): void {
    this.log.info(`denoiser: ${state.kind}${'message' in state ? ` (${state.message})` : ''}`);
    if (state.kind === 'ready') this.notifiedError = undefined;
    if (state.kind === 'error' && this.notifiedError !== state.message) {
      this.notifiedError = state.message;
      void this.notifyModelError(state.message);
    }
    this.changed.fire();
  }

  private async notifyModelError(message: string): Promise<void> {
    const text = `Diffuse could not load its model: ${message}`;
    this.notices.push(text);
    const choice = await vscode.window.showErrorMessage(text, 'Choose Model Folder…', 'Open Settings', 'Show Log');
    if (choice === 'Choose Model Folder…') void vscode.commands.executeCommand('diffuse.chooseModelFolder');
    else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'diffuse.modelPath');
    else if (choice === 'Show Log') this.log.show(true);
  }
}
