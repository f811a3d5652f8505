// The `diffuse` backend: a `diffuse serve` on another machine (or this one), which runs the
// same engine as the local worker, so it can do everything local can: the corrector, live
// denoising steps, joint cursors, candidates and confidence. Requests are the worker protocol
// as JSON; answers stream progress events and then the result (server.ts).
import {
  BackendError,
  instructionUnsupported,
  isBackendErrorCode,
  type BackendInfo,
  type Capabilities,
  type CompleteInput,
  type Backend,
  type BackendErrorCode,
  type BackendState,
  type FillInput,
  type NextEditInput,
  type RefineInput,
  type RequestOptions,
  type ScoreInput,
  type AlternativesInput,
} from '../backend';
import { HttpClient } from './http';
import type { AlternativesResult, DenoiseResult, ProgressParams, ScoreResult } from '../requests';

export interface DiffuseRemoteOptions {
  baseUrl: string;
  apiKey?: string;
  /** Deadline of a Refine or Fill; ghost text uses its time budget plus the network's share. */
  timeoutMs?: number;
  onState?: (s: BackendState) => void;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** The server answers ghost text at its time budget; this much more covers the way there and back. */
const NETWORK_ALLOWANCE_MS = 1000;
const INFO_TIMEOUT_MS = 10_000;

type ServerInfo = BackendInfo & { capabilities: Capabilities };

export class DiffuseRemoteBackend implements Backend {
  readonly kind = 'diffuse';
  /** Until the server says otherwise: what every `diffuse serve` does. */
  capabilities: Capabilities = {
    instruction: false,
    corrector: true,
    frames: true,
    jointSpans: true,
    confidence: true,
    candidates: true,
  };
  state: BackendState = { kind: 'stopped' };
  private readonly http: HttpClient | undefined;
  private readonly configError: BackendError | undefined;
  private ready: Promise<BackendInfo> | undefined;

  constructor(private readonly opts: DiffuseRemoteOptions) {
    let http: HttpClient | undefined;
    try {
      http = new HttpClient(opts.baseUrl, opts.apiKey);
    } catch (e) {
      this.configError = e as BackendError;
    }
    this.http = http;
  }

  start(): Promise<BackendInfo> {
    this.ready ??= this.connect();
    return this.ready;
  }

  refine(p: RefineInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    if (p.instruction) return Promise.reject(instructionUnsupported(this.kind));
    return this.call('refine', p, o, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  fill(p: FillInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.call('fill', p, o, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  complete(p: CompleteInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    const budget = p.sampler?.timeBudgetMs;
    return this.call(
      'complete',
      p,
      o,
      budget !== undefined ? budget + NETWORK_ALLOWANCE_MS : (this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    );
  }

  /** Served by the engine behind the server (its capabilities say whether it can). */
  nextEdit(p: NextEditInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    if (this.capabilities.nextEdit === false)
      return Promise.reject(new BackendError('this diffuse server cannot propose next edits', 'unsupported'));
    return this.call('nextEdit', p, o, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** Repair's measures, served by the engine behind the server (its capabilities say whether it can). */
  score(p: ScoreInput, o: RequestOptions = {}): Promise<ScoreResult> {
    if (!this.capabilities.score)
      return Promise.reject(new BackendError('this diffuse server cannot score code', 'unsupported'));
    return this.call<ScoreResult>('score', p, o, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, (r) =>
      Array.isArray(r.tokens),
    );
  }

  alternatives(p: AlternativesInput, o: RequestOptions = {}): Promise<AlternativesResult> {
    if (!this.capabilities.score)
      return Promise.reject(new BackendError('this diffuse server cannot score code', 'unsupported'));
    return this.call<AlternativesResult>('alternatives', p, o, this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, (r) =>
      Array.isArray(r.slots),
    );
  }

  dispose(): void {
    this.http?.dispose();
    this.setState({ kind: 'stopped' });
  }

  private async connect(): Promise<BackendInfo> {
    this.setState({ kind: 'starting' });
    try {
      if (this.configError) throw this.configError;
      const info = await this.http!.getJson<ServerInfo>('/diffuse/info', { timeoutMs: INFO_TIMEOUT_MS });
      if (!info || typeof info.name !== 'string')
        throw new BackendError(`${this.http!.host} is not a diffuse server (no /v1/diffuse/info)`, 'model');
      if (info.capabilities) this.capabilities = { ...info.capabilities, instruction: false };
      const mine: BackendInfo = { ...info, backend: 'diffuse', where: this.opts.baseUrl };
      delete (mine as Partial<ServerInfo>).capabilities;
      this.setState({ kind: 'ready', info: mine });
      return mine;
    } catch (e) {
      const err = e instanceof BackendError ? e : new BackendError(String(e), 'internal');
      this.setState({ kind: 'error', message: err.message });
      this.ready = undefined; // the server may come up later: the next request tries again
      throw err;
    }
  }

  private async call<R = DenoiseResult>(
    route: string,
    params: unknown,
    o: RequestOptions,
    timeoutMs: number,
    isResult: (r: R) => boolean = (r) => Array.isArray((r as DenoiseResult).edits),
  ): Promise<R> {
    await this.start();
    let result: R | undefined;
    let failure: BackendError | undefined;
    const onProgress = o.onProgress;
    await this.http!.postStream(
      `/diffuse/${route}`,
      onProgress ? { ...(params as object), progress: true } : params,
      { signal: o.signal, timeoutMs },
      (e) => {
        let payload: unknown;
        try {
          payload = JSON.parse(e.data);
        } catch {
          throw new BackendError(`${this.http!.host} sent a malformed event`, 'crash');
        }
        if (e.event === 'progress') onProgress?.(payload as ProgressParams);
        else if (e.event === 'result') result = payload as R;
        else if (e.event === 'error') {
          const { code, message } = payload as { code?: BackendErrorCode; message?: string };
          failure = new BackendError(
            String(message ?? 'the server failed').split('\n')[0],
            isBackendErrorCode(code) ? code : 'internal',
          );
        }
      },
    );
    if (failure) throw failure;
    if (!result || !isResult(result))
      throw new BackendError(`${this.http!.host} ended the answer without a result`, 'crash');
    return result;
  }

  private setState(s: BackendState): void {
    this.state = s;
    this.opts.onState?.(s);
  }
}
