// `npm run bench`: the shipped model through the same client and worker the editor uses, on
// cases drawn from held-out code (bench/heldout-sample.jsonl: files of packages the model never
// trained on). Writes bench/results/latest.json and latest.md. All figures come from one run,
// so they compare on the same (noisy) machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { loadModelFolder } from '../../src/worker/loadModel';
import type { LogitsModel } from '../../src/core/sampler/sampler';
import type { SamplerSettings } from '../../src/backend/requests';
import { readArgs } from '../shared/args';
import { CaseSource, ROOT, mean, quantile, round, runInfills } from '../shared/cases';
import { GHOST, editorViewMarkdown, runEditorView } from '../quality/editorView';
import { profileGhost } from './profile';
import { runRefineRepair } from '../quality/refineRepair';
import { heldoutCases, runNextEdit } from '../quality/nextEdit';
import {
  CONCURRENT_CLIENTS,
  runServeCost,
  runServeWorkers,
  type ServeFigures,
  type ServeWorkersFigures,
} from './serveCost';
import { type EngineCost, type EngineFigures, runEngineCost } from './engineCost';

const { values: flags } = readArgs({
  // --model DIR benches another folder (say one made by `npm run model:convert`); its results go to
  // bench/results/<folder name>.json and .md, so latest.* stay the shipped model's
  model: { type: 'string' },
  // fewer cases of each part, for a quick look
  quick: { type: 'boolean', default: false },
  // --only serve,workers,engines runs those parts alone (any of them, comma-separated) and replaces
  // only their keys (and their tables) in the last results
  only: { type: 'string' },
});
const MODEL_FLAG = flags.model;
const MODEL = MODEL_FLAG ?? process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
const RESULTS = MODEL_FLAG ? path.basename(path.resolve(MODEL_FLAG)) : 'latest';
const QUICK = flags.quick;
/** The parts that run alone, in the order they run and are written. */
const ALONE = ['serve', 'workers', 'engines'] as const;
type Alone = (typeof ALONE)[number];
const ONLY = flags.only?.split(',').map((x) => x.trim());
const N = {
  ghost: QUICK ? 10 : 100,
  refine: QUICK ? 4 : 20,
  fim: QUICK ? 4 : 20,
  parallel: QUICK ? 10 : 500,
  forward: QUICK ? 5 : 20,
  editorPerKind: QUICK ? 10 : 200,
  repair: QUICK ? 10 : 100,
  serve: QUICK ? 10 : 100,
  serveThroughput: QUICK ? 16 : 160,
  engines: QUICK ? 40 : 300,
};
const SERVE_HEADING = 'Through `diffuse serve`';
const WORKERS_HEADING = '`diffuse serve --workers N`';
const ENGINES_HEADING = "Diffuse's side of a ghost request through the `openai` backend";

const cases = new CaseSource();
let editorMarkdown = '';

function workerRssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? /VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return round(kb / 1024);
}

type Results = Record<string, unknown>;

async function main(): Promise<void> {
  const t0 = Date.now();
  // a converted 0.5 B+ model on CPU needs more than the client's 30 s for the one-token-per-step baseline
  const client = new LocalBackend({
    workerPath: path.join(ROOT, 'dist', 'worker.js'),
    modelDir: MODEL,
    threads: 1,
    ...(MODEL_FLAG ? { requestTimeoutMs: 600_000 } : {}),
  });
  const loadStart = Date.now();
  const info = await client.start();
  const loadMs = Date.now() - loadStart;
  const results: Results = {
    model: info.name,
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    threads: 1,
    quick: QUICK,
    load_ms: loadMs,
  };

  // Warm-up: the first calls pay for onnxruntime's allocations.
  for (let i = 0; i < 3; i++) await client.complete({ ...cases.ghost(), maxTokens: GHOST.maxTokens });

  if (ONLY) {
    const unknown = ONLY.filter((x) => !(ALONE as readonly string[]).includes(x));
    if (unknown.length)
      throw new Error(`--only ${unknown.join(',')}: the parts that run alone are ${ALONE.join(', ')}`);
    await onlyParts(client, ONLY as Alone[]);
    return;
  }

  results.ghost = await ghostLatency(client);
  console.log('ghost', results.ghost);
  await longRequests(client, results);
  const parallel = await parallelVsSequential(client);
  results.parallel_vs_sequential = parallel.figures;
  console.log('parallel_vs_sequential', results.parallel_vs_sequential);
  await editorCases(client, results);
  results.worker_rss_mb = workerRssMb(client.pid);
  client.dispose();

  await inProcess(results, parallel.lines);
  results.bench_seconds = Math.round((Date.now() - t0) / 1000);
  console.log('forward_ms', results.forward_ms);

  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${RESULTS}.json`), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(out, `${RESULTS}.md`), markdown(results));
  console.log(markdown(results));
}

/** Ghost requests as the editor sends them, end to end through the client. */
async function ghostLatency(client: LocalBackend): Promise<Results> {
  const ms: number[] = [];
  const calls: number[] = [];
  const inWorker: number[] = [];
  for (let i = 0; i < N.ghost; i++) {
    const c = cases.ghost();
    const t = Date.now();
    const r = await client.complete({
      ...c,
      maxTokens: GHOST.maxTokens,
      sampler: { timeBudgetMs: GHOST.timeBudgetMs },
    });
    ms.push(Date.now() - t);
    calls.push(r.steps);
    inWorker.push(r.ms);
  }
  return {
    cases: N.ghost,
    p50_ms: quantile(ms, 0.5),
    p95_ms: quantile(ms, 0.95),
    mean_model_calls: round(mean(calls), 2),
    // where the time goes: inside the worker (tokenising, canvas, model calls, sampling) and
    // outside it (IPC and JSON both ways)
    worker_ms_mean: round(mean(inWorker)),
    ipc_ms_mean: round(mean(ms) - mean(inWorker)),
  };
}

/** refine64 (strength 1) and fim128 on held-out regions of about 64 and 128 tokens. */
async function longRequests(client: LocalBackend, results: Results): Promise<void> {
  for (const [key, n, chars, run] of [
    [
      'refine64',
      N.refine,
      64 * 3.2,
      (r: ReturnType<CaseSource['lines']>) => client.refine({ text: r.text, start: r.start, end: r.end, strength: 1 }),
    ],
    [
      'fim128',
      N.fim,
      128 * 3.2,
      (r: ReturnType<CaseSource['lines']>) =>
        client.fill({ text: r.text.slice(0, r.start) + r.text.slice(r.end), cursors: [r.start], maxTokens: 128 }),
    ],
  ] as const) {
    const ms: number[] = [];
    const calls: number[] = [];
    for (let i = 0; i < n; i++) {
      const region = cases.lines(chars);
      const t = Date.now();
      const r = await run(region);
      ms.push(Date.now() - t);
      calls.push(r.steps);
    }
    results[key] = {
      cases: n,
      p50_ms: quantile(ms, 0.5),
      p95_ms: quantile(ms, 0.95),
      mean_model_calls: round(mean(calls), 2),
    };
    console.log(key, results[key]);
  }
}

/**
 * The same single-line infills decoded with the default schedule and one token per step (the
 * number of calls an autoregressive model would need). Returns the figures and the parallel
 * run's lines, whose tokens are counted once the tokenizer is loaded in-process.
 */
async function parallelVsSequential(
  client: LocalBackend,
): Promise<{ figures: Record<string, number>; lines: string[] }> {
  const infills = Array.from({ length: N.parallel }, () => cases.lineInfill());
  const decode = (sampler: SamplerSettings) =>
    runInfills(infills, (c) =>
      client.complete({ prefix: c.prefix, suffix: c.suffix, maxTokens: GHOST.maxTokens, sampler }),
    );
  const parallel = await decode({});
  const sequential = await decode({ tokensPerStep: 1, steps: 1000 });
  // Output characters per second (tokens of different runs differ; characters compare).
  const speedup = parallel.chars / parallel.ms / (sequential.chars / sequential.ms);
  const n = infills.length;
  const figures = {
    cases: n,
    speedup: round(speedup, 2),
    exact_parallel: round((parallel.exact / n) * 100),
    exact_sequential: round((sequential.exact / n) * 100),
    calls_parallel: round(parallel.calls / n, 2),
    calls_sequential: round(sequential.calls / n, 2),
  };
  return { figures, lines: parallel.texts };
}

/** The cases judged as the editor meets them: ghost text where it asks, Refine as a corrector, serve, next edit. */
async function editorCases(client: LocalBackend, results: Results): Promise<void> {
  // Ghost text where the editor asks, scored byte-exact after the editor's trimming, and the
  // confidence threshold that makes at least half of what is shown exactly right.
  const editorView = await runEditorView(client, N.editorPerKind);
  results.editor_view = editorView.summary;
  results.ghost_confidence = editorView.ghost_confidence;
  console.log(
    'editor_view',
    JSON.stringify(editorView.summary),
    'ghost_confidence',
    JSON.stringify(editorView.ghost_confidence),
  );
  // Refine at the default strength on held-out regions with and without one injected fault.
  results.refine_repair = (await runRefineRepair(client, N.repair)).figures;
  console.log('refine_repair', results.refine_repair);
  editorMarkdown = editorViewMarkdown(editorView);
  // What `diffuse serve` adds over the in-process worker (its own cases: the others' are unchanged).
  // (not for a --model folder: serve's deadlines are sized for the shipped model's ~100 ms requests)
  if (!MODEL_FLAG) {
    results.serve = await runServeCost(client, { latency: N.serve, throughput: N.serveThroughput });
    console.log('serve', results.serve);
    results.serve_workers = await serveWorkers(client);
    console.log('serve_workers', results.serve_workers);
    // the openai backend against the vLLM and Mercury stand-ins (no model: Diffuse's side only)
    results.engines = await runEngineCost(N.engines);
    console.log('engines', results.engines);
  }
  // Next edit from the local model on held-out code (bench/quality/nextEdit.ts; alone: npm run bench:next-edit).
  if (!MODEL_FLAG) {
    results.next_edit = await runNextEdit(client, heldoutCases(QUICK ? 20 : Infinity));
    console.log('next_edit', results.next_edit);
  }
}

/**
 * The model loaded in this process, once per thread count: the left-to-right call count and the
 * ghost profile (1 thread), and one forward pass over canvases of 128/256/512 tokens.
 */
async function inProcess(results: Results, parallelLines: string[]): Promise<void> {
  const forward: Record<string, number> = {};
  for (const threads of [1, 2]) {
    const m = await loadModelFolder(MODEL, threads);
    if (threads === 1) {
      // One token per step spends calls on pads too (committed from the far end inward). A
      // left-to-right model would need a call per token written plus one to stop.
      const tokens = mean(parallelLines.map((l) => m.codec.encode(l).length + 1));
      const pvs = results.parallel_vs_sequential as Record<string, number>;
      pvs.autoregressive_calls = round(tokens, 2);
      pvs.calls_ratio_vs_autoregressive = round(tokens / pvs.calls_parallel, 2);
      // Warm, then profile the first 50 ghost cases again in-process.
      const again = new CaseSource();
      const ghostCases = Array.from({ length: QUICK ? 10 : 50 }, () => again.ghost());
      await profileGhost(m, ghostCases.slice(0, 3), GHOST);
      results.ghost_profile = await profileGhost(m, ghostCases, GHOST);
      console.log('ghost_profile', results.ghost_profile);
    }
    Object.assign(forward, await forwardPassMs(m.model, threads));
    await m.session.release();
  }
  results.forward_ms = forward;
}

/** Median time of one forward pass at 128/256/512 tokens, 32 positions asked for (a typical span). */
async function forwardPassMs(model: LogitsModel, threads: number): Promise<Record<string, number>> {
  const forward: Record<string, number> = {};
  for (const len of [128, 256, 512]) {
    const ids = Int32Array.from({ length: len }, (_, i) => 100 + ((i * 37) % 7000));
    const positions = Int32Array.from({ length: 32 }, (_, i) => len - 48 + i);
    await model.logits(ids, positions);
    const ms: number[] = [];
    for (let i = 0; i < N.forward; i++) {
      const t = performance.now();
      await model.logits(ids, positions);
      ms.push(performance.now() - t);
    }
    forward[`${len}_t${threads}`] = round(quantile(ms, 0.5), 2);
  }
  return forward;
}

/** `diffuse serve --workers 1` and `2`: the bench's worker and a second one like it. */
function serveWorkers(client: LocalBackend): Promise<ServeWorkersFigures> {
  const another = () =>
    new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: MODEL, threads: 1 });
  return runServeWorkers(client, another, { throughput: N.serveThroughput });
}

/**
 * `--only serve,workers,engines` (any of them): those parts alone, merged into the last run's
 * JSON; the Markdown is cut at the first of their tables and all three are written again from it.
 */
async function onlyParts(client: LocalBackend, parts: Alone[]): Promise<void> {
  const out = path.join(ROOT, 'bench', 'results');
  const jsonPath = path.join(out, `${RESULTS}.json`);
  const mdPath = path.join(out, `${RESULTS}.md`);
  const stamp = { date: new Date().toISOString(), quick: QUICK };
  const fresh: Results = {};
  if (parts.includes('serve'))
    fresh.serve = { ...(await runServeCost(client, { latency: N.serve, throughput: N.serveThroughput })), ...stamp };
  if (parts.includes('workers')) fresh.serve_workers = { ...(await serveWorkers(client)), ...stamp };
  client.dispose();
  if (parts.includes('engines')) fresh.engines = { ...(await runEngineCost(N.engines)), ...stamp };
  for (const [k, v] of Object.entries(fresh)) console.log(k, JSON.stringify(v, null, 1));
  const last = fs.existsSync(jsonPath)
    ? (JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as Record<string, unknown>)
    : {};
  const merged: Record<string, any> = { ...last, ...fresh };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify(merged, null, 2) + '\n');
  const md = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '';
  const cuts = [SERVE_HEADING, WORKERS_HEADING, ENGINES_HEADING].map((h) => md.indexOf(h)).filter((i) => i >= 0);
  const cut = cuts.length ? Math.min(...cuts) : -1;
  const tail = servingMarkdown(merged, true);
  fs.writeFileSync(
    mdPath,
    (cut >= 0 ? md.slice(0, cut) : md.endsWith('\n') || md === '' ? md + '\n' : md + '\n\n') + tail,
  );
  console.log(tail);
}

/** The tables of the parts that can run alone, for those present in `r`. */
function servingMarkdown(r: Record<string, any>, alone: boolean): string {
  return [
    r.serve ? serveMarkdown(r.serve, alone) : '',
    r.serve_workers ? workersMarkdown(r.serve_workers) : '',
    r.engines ? enginesMarkdown(r.engines) : '',
  ]
    .filter(Boolean)
    .join('\n');
}

function throughputText(x: ServeFigures['serve_throughput']): string {
  const failed = Object.entries(x.failed)
    .map(([code, n]) => `${n} failed: ${code}`)
    .join(', ');
  return `${x.requests_per_s} req/s, p50 ${x.p50_ms} ms, p95 ${x.p95_ms} ms (${x.cut_by_budget} of ${x.requests} cut by the budget${failed ? `; ${failed}` : ''})`;
}

function workersMarkdown(w: ServeWorkersFigures): string {
  return `${WORKERS_HEADING} (${CONCURRENT_CLIENTS} ghost clients at once, one denoiser thread per worker)

| workers | through serve |
|---|---|
| 1 | ${throughputText(w.workers_1)} |
| 2 | ${throughputText(w.workers_2)} |
`;
}

function enginesMarkdown(e: EngineFigures): string {
  const row = (name: string, c: EngineCost) =>
    `| ${name} | ${c.fim_route} | ${c.diffuse_p50_ms} / ${c.diffuse_p95_ms} ms | ${c.client_p50_ms} / ${c.client_p95_ms} ms | ${c.replay_p50_ms} ms |`;
  return `${ENGINES_HEADING} (stand-ins answering at once; goal ≤ ${e.goal_p95_ms} ms p95)

| engine (${e.vllm.requests} ghost requests each) | FIM asked by | Diffuse's side p50 / p95 | whole call p50 / p95 | bare replay p50 |
|---|---|---|---|---|
${row('vLLM, DiffusionGemma (stand-in)', e.vllm)}
${row('vLLM, Qwen2.5-Coder (stand-in)', e.vllm_template)}
${row('Mercury (stand-in)', e.mercury)}
`;
}

function serveMarkdown(s: ServeFigures, alone: boolean): string {
  const t = throughputText;
  return `${SERVE_HEADING} (the diffuse backend against serve() in this process${alone ? `, \`npm run bench -- --only serve\`, ${new Date().toISOString().slice(0, 10)}` : ''})

| ghost text through \`diffuse serve\` (${s.cases} cursors) | |
|---|---|
| p50 in-process / through serve | ${s.direct_p50_ms} ms / ${s.serve_p50_ms} ms |
| serve's cost: p50 difference (median of paired differences) | ${s.overhead_p50_ms} ms (${s.overhead_paired_median_ms} ms) (target ≤ 10) |
| ${CONCURRENT_CLIENTS} ghost clients at once, through serve | ${t(s.serve_throughput)} |
| ${CONCURRENT_CLIENTS} ghost clients at once, in-process | ${t(s.direct_throughput)} |
`;
}

function markdown(r: Record<string, any>): string {
  const row = (name: string, x: any, target: string) =>
    `| ${name} | ${x.p50_ms} | ${x.p95_ms} | ${x.mean_model_calls} | ${target} |`;
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
| calls a left-to-right model would make for the parallel run's lines (tokens + 1) | ${r.parallel_vs_sequential.autoregressive_calls} (${r.parallel_vs_sequential.calls_ratio_vs_autoregressive}× the parallel calls) |

| forward pass (32 positions asked) | 128 tokens | 256 tokens | 512 tokens |
|---|---|---|---|
| 1 thread | ${f['128_t1']} ms | ${f['256_t1']} ms | ${f['512_t1']} ms |
| 2 threads | ${f['128_t2']} ms | ${f['256_t2']} ms | ${f['512_t2']} ms |

${editorMarkdown}
| Refine at the default strength (${r.refine_repair.cases} held-out regions, half with one injected fault) | |
|---|---|
| clean regions left unchanged | ${r.refine_repair.clean_unchanged} (target ≥ 0.90) |
| cases where a line without a fault changed | ${r.refine_repair.damaged} (target ≤ 0.05) |
| faults repaired exactly | ${r.refine_repair.repaired_exact} |

Model load ${r.load_ms} ms; worker peak RSS ${r.worker_rss_mb} MB (target ≤ 300); whole bench ${r.bench_seconds} s.

Where a ghost-text request's time goes: ${r.ghost.worker_ms_mean} ms in the worker, ${r.ghost.ipc_ms_mean} ms outside it (IPC).
Inside (the same engine in-process, ${r.ghost_profile.cases} of the cases): ${r.ghost_profile.request_ms} ms = ONNX ${r.ghost_profile.onnx_ms} ms
(${r.ghost_profile.model_calls} calls) + tokenizer ${r.ghost_profile.tokenizer_ms} ms + sampler ${r.ghost_profile.sampler_ms} ms, of which
${r.ghost_profile.softmax_ms} ms is the softmax over the vocabulary at each open slot (the rest: canvas, choosing, committing).

${servingMarkdown(r, false)}`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
