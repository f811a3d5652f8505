// `npm run bench`: the shipped model through the same client and worker the editor uses, on
// cases drawn from held-out code (bench/heldout-sample.jsonl: files of packages the model never
// trained on). Writes bench/results/latest.json and latest.md. All figures come from one run,
// so they compare on the same (noisy) machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DenoiserClient } from '../src/denoiser/client';
import { loadModelFolder } from '../src/denoiser/modelFolder';

const ROOT = path.resolve(__dirname, '..');
const MODEL = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', 'diffuse-small');
const QUICK = process.argv.includes('--quick');
const N = { ghost: QUICK ? 10 : 100, refine: QUICK ? 4 : 20, fim: QUICK ? 4 : 20, parallel: QUICK ? 10 : 60, forward: QUICK ? 5 : 20 };
/** Ghost-text settings as the editor sends them (diffuse.ghostText.*). */
const GHOST = { maxTokens: 24, timeBudgetMs: 800 };

interface Doc { package: string; path: string; text: string }
const docs: Doc[] = fs.readFileSync(path.join(ROOT, 'bench', 'heldout-sample.jsonl'), 'utf8')
  .split('\n').filter(Boolean).map((l) => JSON.parse(l));

let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** A cursor after some code on a line, as when typing (the ghost-text case). */
function ghostCase(): { prefix: string; suffix: string } {
  for (;;) {
    const d = pick(docs);
    const lines = d.text.split('\n');
    const i = 5 + Math.floor(rand() * (lines.length - 10));
    const line = lines[i];
    if (line.trim().length < 8) continue;
    const indent = line.length - line.trimStart().length;
    const col = indent + 1 + Math.floor(rand() * (line.length - indent - 1));
    const before = lines.slice(0, i).join('\n').length + 1;
    return { prefix: d.text.slice(0, before + col), suffix: d.text.slice(before + line.length) };
  }
}

/** A run of whole lines of about `chars` characters starting at a line start. */
function lineRegion(chars: number): { text: string; start: number; end: number } {
  for (;;) {
    const d = pick(docs);
    const lines = d.text.split('\n');
    const i = 5 + Math.floor(rand() * (lines.length - 15));
    const start = lines.slice(0, i).join('\n').length + 1;
    let end = start;
    let k = i;
    while (end - start < chars && k < lines.length) end += lines[k++].length + 1;
    if (end - start < chars / 2 || end > d.text.length) continue;
    return { text: d.text, start, end };
  }
}

function workerRssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? /VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return round(kb / 1024);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const client = new DenoiserClient({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: MODEL, threads: 1 });
  const loadStart = Date.now();
  const info = await client.start();
  const loadMs = Date.now() - loadStart;
  const results: Record<string, unknown> = {
    model: info.name, date: new Date().toISOString(), machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    threads: 1, quick: QUICK, load_ms: loadMs,
  };

  // Warm-up: the first calls pay for onnxruntime's allocations.
  for (let i = 0; i < 3; i++) await client.complete({ ...ghostCase(), maxTokens: GHOST.maxTokens });

  {
    const ms: number[] = [];
    const calls: number[] = [];
    const inWorker: number[] = [];
    for (let i = 0; i < N.ghost; i++) {
      const c = ghostCase();
      const t = Date.now();
      const r = await client.complete({ ...c, maxTokens: GHOST.maxTokens, sampler: { timeBudgetMs: GHOST.timeBudgetMs } });
      ms.push(Date.now() - t);
      calls.push(r.steps);
      inWorker.push(r.ms);
    }
    results.ghost = {
      cases: N.ghost, p50_ms: quantile(ms, 0.5), p95_ms: quantile(ms, 0.95), mean_model_calls: round(mean(calls), 2),
      // where the time goes: inside the worker (tokenising, canvas, model calls, sampling) and
      // outside it (IPC and JSON both ways)
      worker_ms_mean: round(mean(inWorker)), ipc_ms_mean: round(mean(ms) - mean(inWorker)),
    };
    console.log('ghost', results.ghost);
  }

  for (const [key, n, chars, run] of [
    ['refine64', N.refine, 64 * 3.2, (r: ReturnType<typeof lineRegion>) => client.refine({ text: r.text, start: r.start, end: r.end, strength: 1 })],
    ['fim128', N.fim, 128 * 3.2, (r: ReturnType<typeof lineRegion>) => client.fill({ text: r.text.slice(0, r.start) + r.text.slice(r.end), cursors: [r.start], maxTokens: 128 })],
  ] as const) {
    const ms: number[] = [];
    const calls: number[] = [];
    for (let i = 0; i < n; i++) {
      const region = lineRegion(chars);
      const t = Date.now();
      const r = await run(region);
      ms.push(Date.now() - t);
      calls.push(r.steps);
    }
    results[key] = { cases: n, p50_ms: quantile(ms, 0.5), p95_ms: quantile(ms, 0.95), mean_model_calls: round(mean(calls), 2) };
    console.log(key, results[key]);
  }

  {
    // The same single-line infills decoded with the default schedule and one token per step
    // (the number of calls an autoregressive model would need).
    const cases: { prefix: string; suffix: string; want: string }[] = [];
    while (cases.length < N.parallel) {
      const r = lineRegion(1);
      const line = r.text.slice(r.start, r.end - 1);
      if (line.trim().length < 4 || line.length > 120) continue;
      cases.push({ prefix: r.text.slice(0, r.start), suffix: r.text.slice(r.end - 1), want: line });
    }
    const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
    const decode = async (sampler: { tokensPerStep?: number; steps?: number }) => {
      let ms = 0;
      let chars = 0;
      let exact = 0;
      let calls = 0;
      for (const c of cases) {
        const t = Date.now();
        const r = await client.complete({ prefix: c.prefix, suffix: c.suffix, maxTokens: GHOST.maxTokens, sampler });
        ms += Date.now() - t;
        const got = r.edits[0].text;
        chars += got.length;
        calls += r.steps;
        if (norm(got) === norm(c.want)) exact++;
      }
      return { ms, chars, exact: exact / cases.length, calls: calls / cases.length };
    };
    const parallel = await decode({});
    const sequential = await decode({ tokensPerStep: 1, steps: 1000 });
    // Output characters per second (tokens of different runs differ; characters compare).
    const speedup = (parallel.chars / parallel.ms) / (sequential.chars / sequential.ms);
    results.parallel_vs_sequential = {
      cases: cases.length, speedup: round(speedup, 2),
      exact_parallel: round(parallel.exact * 100), exact_sequential: round(sequential.exact * 100),
      calls_parallel: round(parallel.calls, 2), calls_sequential: round(sequential.calls, 2),
    };
    console.log('parallel_vs_sequential', results.parallel_vs_sequential);
  }
  results.worker_rss_mb = workerRssMb(client.pid);
  client.dispose();

  // One forward pass over canvases of 128/256/512 tokens (32 positions asked for, a typical span).
  const forward: Record<string, number> = {};
  for (const threads of [1, 2]) {
    const m = await loadModelFolder(MODEL, threads);
    if (threads === 1) {
      // Tokenising a ghost-text request's context (what the engine reads: 128 + 64 tokens' worth).
      const texts = Array.from({ length: 50 }, () => ghostCase()).map((c) => [c.prefix.slice(-1024), c.suffix.slice(0, 512)]);
      const t = performance.now();
      for (const [a, b] of texts) {
        m.codec.encode(a);
        m.codec.encode(b);
      }
      results.tokenize_ms_mean = round((performance.now() - t) / texts.length, 2);
    }
    for (const len of [128, 256, 512]) {
      const ids = Int32Array.from({ length: len }, (_, i) => 100 + (i * 37) % 7000);
      const positions = Int32Array.from({ length: 32 }, (_, i) => len - 48 + i);
      await m.model.logits(ids, positions);
      const ms: number[] = [];
      for (let i = 0; i < N.forward; i++) {
        const t = performance.now();
        await m.model.logits(ids, positions);
        ms.push(performance.now() - t);
      }
      forward[`${len}_t${threads}`] = round(quantile(ms, 0.5), 2);
    }
    await m.session.release();
  }
  results.forward_ms = forward;
  results.bench_seconds = Math.round((Date.now() - t0) / 1000);
  console.log('forward_ms', forward);

  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(out, 'latest.md'), markdown(results));
  console.log(markdown(results));
}

function markdown(r: Record<string, any>): string {
  const row = (name: string, x: any, target: string) => `| ${name} | ${x.p50_ms} | ${x.p95_ms} | ${x.mean_model_calls} | ${target} |`;
  const f = r.forward_ms;
  return `Benchmark (\`npm run bench\`, ${r.date.slice(0, 10)}, ${r.machine}, 1 denoiser thread${r.quick ? ', QUICK' : ''})

| case | p50 ms | p95 ms | model calls | target |
|---|---|---|---|---|
${row(`ghost (${r.ghost.cases} cursors, 24 slots)`, r.ghost, 'p50 ≤ 100, p95 ≤ 200')}
${row(`refine64 (${r.refine64.cases} selections, strength 1)`, r.refine64, 'p50 ≤ 400')}
${row(`fim128 (${r.fim128.cases} spans of 128 slots)`, r.fim128, 'p50 ≤ 800')}

| parallel vs sequential (${r.parallel_vs_sequential.cases} single-line infills) | |
|---|---|
| speedup (output chars/s, default schedule ÷ one token per step) | ${r.parallel_vs_sequential.speedup}× (target ≥ 4×) |
| exact match, parallel / sequential | ${r.parallel_vs_sequential.exact_parallel} % / ${r.parallel_vs_sequential.exact_sequential} % |
| model calls per line, parallel / sequential | ${r.parallel_vs_sequential.calls_parallel} / ${r.parallel_vs_sequential.calls_sequential} |

| forward pass (32 positions asked) | 128 tokens | 256 tokens | 512 tokens |
|---|---|---|---|
| 1 thread | ${f['128_t1']} ms | ${f['256_t1']} ms | ${f['512_t1']} ms |
| 2 threads | ${f['128_t2']} ms | ${f['256_t2']} ms | ${f['512_t2']} ms |

Model load ${r.load_ms} ms; worker peak RSS ${r.worker_rss_mb} MB (target ≤ 300); whole bench ${r.bench_seconds} s.

Where a ghost-text request's time goes: ${r.ghost.worker_ms_mean} ms in the worker on average
(${r.ghost.mean_model_calls} model calls; tokenising its context ${r.tokenize_ms_mean} ms), ${r.ghost.ipc_ms_mean} ms outside it (IPC).
`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
