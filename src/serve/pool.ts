// `diffuse serve --workers N`: N backends (each a local worker with its own model session) behind
// one queue. A request goes to the first idle worker, or waits in line, first come first served;
// one whose client goes away while it waits leaves the line without using a worker. The pool is
// itself a Backend, so the server serves one worker or many the same way. Several machines are
// several `diffuse serve` behind an existing load balancer; this is one machine's cores.
import {
  BackendError,
  type Backend,
  type BackendInfo,
  type BackendState,
  type Capabilities,
  type CompleteInput,
  type FillInput,
  type NextEditInput,
  type RefineInput,
  type RequestOptions,
} from '../backend/backend';
import type { DenoiseResult } from '../backend/requests';

export class BackendPool implements Backend {
  readonly kind: Backend['kind'];
  private readonly idle: Backend[];
  private readonly waiting: { take: (b: Backend) => void; signal?: AbortSignal; drop: () => void }[] = [];
  private ready: Promise<BackendInfo> | undefined;
  private disposed = false;

  constructor(readonly workers: Backend[]) {
    if (!workers.length) throw new BackendError('a pool needs at least one worker', 'internal');
    this.kind = workers[0].kind;
    this.idle = [...workers];
  }

  get capabilities(): Capabilities {
    return this.workers[0].capabilities;
  }

  /** The first worker that is not ready says why; all ready is ready. */
  get state(): BackendState {
    return this.workers.find((w) => w.state.kind !== 'ready')?.state ?? this.workers[0].state;
  }

  get pid(): number | undefined {
    return this.workers[0].pid;
  }

  /** Starts every worker at once (each loads its own model session); ready when all are. */
  start(): Promise<BackendInfo> {
    this.ready ??= Promise.all(this.workers.map((w) => w.start())).then(([info]) => info);
    return this.ready;
  }

  /** Workers busy now and requests waiting for one (the server's queue bound counts both). */
  get load(): { busy: number; waiting: number } {
    return { busy: this.workers.length - this.idle.length, waiting: this.waiting.length };
  }

  refine(p: RefineInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.on(o, (w) => w.refine(p, o));
  }

  fill(p: FillInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.on(o, (w) => w.fill(p, o));
  }

  complete(p: CompleteInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.on(o, (w) => w.complete(p, o));
  }

  nextEdit(p: NextEditInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    return this.on(o, (w) => {
      if (!w.nextEdit) throw new BackendError("this server's backend cannot propose next edits", 'unsupported');
      return w.nextEdit(p, o);
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const w of this.waiting.splice(0)) w.drop();
    for (const w of this.workers) w.dispose();
  }

  /** Runs `job` on the next free worker, then hands the worker to whoever waits longest. */
  private async on<T>(o: RequestOptions, job: (w: Backend) => Promise<T>): Promise<T> {
    const worker = await this.take(o.signal);
    try {
      return await job(worker);
    } finally {
      this.give(worker);
    }
  }

  private take(signal?: AbortSignal): Promise<Backend> {
    if (this.disposed) return Promise.reject(new BackendError('the server is shutting down', 'cancelled'));
    if (signal?.aborted) return Promise.reject(new BackendError('request cancelled', 'cancelled'));
    const free = this.idle.shift();
    if (free) return Promise.resolve(free);
    return new Promise<Backend>((resolve, reject) => {
      const entry = {
        signal,
        take: (b: Backend) => {
          signal?.removeEventListener('abort', leave);
          resolve(b);
        },
        drop: () => reject(new BackendError('the server is shutting down', 'cancelled')),
      };
      const leave = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new BackendError('request cancelled', 'cancelled'));
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(entry);
    });
  }

  private give(worker: Backend): void {
    const next = this.waiting.shift();
    if (next) next.take(worker);
    else this.idle.push(worker);
  }
}
