// What `diffuse serve` costs over the in-process worker: the same ghost-text cases asked of the
// LocalBackend directly and through startServer() and the `diffuse` backend (HTTP on loopback,
// SSE, JSON both ways), alternating which goes first so drift on a shared machine falls on both;
// then throughput with 8 ghost clients at once, through serve and directly, on the one worker
// (requests per second counts answers and failures alike: each one freed its client to ask again).
// startServer() runs in this process, so both ends of the HTTP hop are paid on one event loop.
import { BackendError, type Backend } from '../../src/backend/backend';
import { DiffuseRemoteBackend } from '../../src/backend/remote/diffuseRemote';
import type { DenoiseResult } from '../../src/backend/requests';
import { BackendPool } from '../../src/serve/pool';
import { startServer } from '../../src/serve/server';
import { CaseSource, quantile, round } from '../shared/cases';
import { GHOST } from '../quality/editorView';

/** Ghost-text clients at once in the throughput run, as a team's editors would be. */
export const CONCURRENT_CLIENTS = 8;

type Ghost = { prefix: string; suffix: string };

export interface Throughput {
  clients: number;
  requests: number;
  requests_per_s: number;
  p50_ms: number;
  p95_ms: number;
  /** Requests the time budget cut short (answered with the current denoised state): queueing eats the budget. */
  cut_by_budget: number;
  /** Requests that failed, by code (through serve, a ghost request fails as a timeout past its budget + 1 s). */
  failed: Record<string, number>;
}

export interface ServeFigures {
  cases: number;
  direct_p50_ms: number;
  serve_p50_ms: number;
  /** serve p50 − direct p50 (goal ≤ 10 ms). */
  overhead_p50_ms: number;
  /** Median over the cases of (through serve − direct) on the same case. */
  overhead_paired_median_ms: number;
  direct_p95_ms: number;
  serve_p95_ms: number;
  serve_throughput: Throughput;
  direct_throughput: Throughput;
  method: string;
}

const ask = (d: Backend, c: Ghost): Promise<DenoiseResult> =>
  d.complete({ ...c, maxTokens: GHOST.maxTokens, sampler: { timeBudgetMs: GHOST.timeBudgetMs } });

async function timed(d: Backend, c: Ghost): Promise<number> {
  const t = performance.now();
  await ask(d, c);
  return performance.now() - t;
}

/** `clients` loops, each asking its share of `cases` one after another, all at once. */
async function throughput(backends: Backend[], cases: Ghost[]): Promise<Throughput> {
  const ms: number[] = [];
  let cut = 0;
  const failed: Record<string, number> = {};
  const t0 = performance.now();
  await Promise.all(
    backends.map(async (d, k) => {
      for (let i = k; i < cases.length; i += backends.length) {
        const t = performance.now();
        try {
          const r = await ask(d, cases[i]);
          if (r.stoppedBy !== 'done') cut++;
        } catch (e) {
          const code = e instanceof BackendError ? e.code : 'not a BackendError';
          failed[code] = (failed[code] ?? 0) + 1;
        }
        ms.push(performance.now() - t); // a failure's time too: the client waited that long
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  return {
    clients: backends.length,
    requests: cases.length,
    requests_per_s: round(cases.length / s, 2),
    p50_ms: round(quantile(ms, 0.5)),
    p95_ms: round(quantile(ms, 0.95)),
    cut_by_budget: cut,
    failed,
  };
}

/** `local` is a started local backend (the editor's client and worker). */
export async function runServeCost(local: Backend, n: { latency: number; throughput: number }): Promise<ServeFigures> {
  const running = await startServer({ denoiser: local, host: '127.0.0.1', port: 0 });
  const remotes = Array.from({ length: CONCURRENT_CLIENTS }, () => new DiffuseRemoteBackend({ baseUrl: running.url }));
  try {
    const remote = remotes[0];
    await Promise.all(remotes.map((r) => r.start()));
    const source = new CaseSource(777);
    // warm both paths (the HTTP agent's connection, the worker's allocations)
    for (let i = 0; i < 3; i++) {
      const c = source.ghost();
      await ask(local, c);
      await ask(remote, c);
    }
    const direct: number[] = [];
    const through: number[] = [];
    const paired: number[] = [];
    for (let i = 0; i < n.latency; i++) {
      const c = source.ghost();
      let a: number;
      let b: number;
      if (i % 2 === 0) {
        a = await timed(local, c);
        b = await timed(remote, c);
      } else {
        b = await timed(remote, c);
        a = await timed(local, c);
      }
      direct.push(a);
      through.push(b);
      paired.push(b - a);
    }
    const cases = Array.from({ length: n.throughput }, () => source.ghost());
    const serveThroughput = await throughput(remotes, cases);
    const directThroughput = await throughput(
      Array.from({ length: CONCURRENT_CLIENTS }, () => local),
      cases,
    );
    const p50 = (xs: number[]) => round(quantile(xs, 0.5));
    return {
      cases: n.latency,
      direct_p50_ms: p50(direct),
      serve_p50_ms: p50(through),
      overhead_p50_ms: round(quantile(through, 0.5) - quantile(direct, 0.5)),
      overhead_paired_median_ms: p50(paired),
      direct_p95_ms: round(quantile(direct, 0.95)),
      serve_p95_ms: round(quantile(through, 0.95)),
      serve_throughput: serveThroughput,
      direct_throughput: directThroughput,
      method:
        "ghost text (24 slots, the editor's 800 ms budget) on held-out cases, each asked of the local client directly and through " +
        'startServer() in this process with the diffuse backend, alternating which goes first; throughput: 8 backends (own HTTP agents) ' +
        'or 8 loops on the one client, each asking its share of the cases back to back, one worker behind both',
    };
  } finally {
    remotes.forEach((r) => r.dispose());
    await running.close();
  }
}

export interface ServeWorkersFigures {
  /** `diffuse serve --workers 1` and `--workers 2`: the same cases, 8 clients at once. */
  workers_1: Throughput;
  workers_2: Throughput;
  method: string;
}

/**
 * `diffuse serve --workers N` as the CLI builds it (a BackendPool of local workers behind
 * startServer), N = 1 then 2, each asked the same ghost cases by 8 clients at once. `local` is the
 * started worker of the bench; `another` makes the second worker (its own model session), started
 * here and disposed after.
 */
export async function runServeWorkers(
  local: Backend,
  another: () => Backend,
  n: { throughput: number },
): Promise<ServeWorkersFigures> {
  const second = another();
  try {
    await second.start();
    const source = new CaseSource(2929);
    const cases = Array.from({ length: n.throughput }, () => source.ghost());
    const through = async (workers: Backend[]): Promise<Throughput> => {
      // the pool does not own the workers here: closing the server leaves them running for the next
      const pool = new BackendPool(workers);
      const running = await startServer({ denoiser: pool, host: '127.0.0.1', port: 0 });
      const remotes = Array.from(
        { length: CONCURRENT_CLIENTS },
        () => new DiffuseRemoteBackend({ baseUrl: running.url }),
      );
      try {
        await Promise.all(remotes.map((r) => r.start()));
        // warm: each worker once, the clients' connections
        await Promise.all(remotes.map((r) => ask(r, source.ghost())));
        return await throughput(remotes, cases);
      } finally {
        remotes.forEach((r) => r.dispose());
        await running.close();
      }
    };
    const one = await through([local]);
    const two = await through([local, second]);
    return {
      workers_1: one,
      workers_2: two,
      method:
        "ghost text (24 slots, the editor's 800 ms budget) on held-out cases, 8 diffuse backends (own HTTP agents) each asking its " +
        'share back to back through startServer() in this process over a BackendPool of 1, then 2 local workers (1 denoiser thread each)',
    };
  } finally {
    second.dispose();
  }
}
