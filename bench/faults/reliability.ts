// `npm run reliability`: reliability in figures, from the real worker and model (and the real
// VS Code for the editor's part), written to bench/results/reliability.json so they can be
// tracked across versions:
//   worker_kills   SIGKILL of the worker at a random step of 20 requests: every in-flight request
//                  fails with its cause; recovery_ms is kill → the next request answered
//   bad_inputs     malformed model folders, requests and files (badInputs.ts)
//   cancel_storm   1,000 ghost-text requests, each superseded by the next, as typing makes them
//   no_network     inet sockets held by this process (the client, the extension host's role) and
//                  every worker, polled throughout the run (sockets.ts)
//   edits_during_refine, large_refine  the VS Code suite's test/vscode/reliability.test.ts
//   remote         requests through the mercury and diffuse backends while a loopback server
//                  injects faults (remoteFaults.ts); run after the no_network watch has stopped,
//                  since its loopback servers are sockets of this process
// `--no-editor` leaves the VS Code part out (its keys are then null). `--only remote` runs that
// part alone and replaces only its key in the last run's JSON.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { BackendError } from '../../src/backend/backend';
import { runBadInputs } from './badInputs';
import { runRemote, type RemoteFigures } from './remoteFaults';
import { readArgs } from '../shared/args';
import { ROOT, quantile, round } from '../shared/cases';
import { SocketWatch } from './sockets';

const { values: FLAGS } = readArgs({
  'no-editor': { type: 'boolean', default: false },
  only: { type: 'string' },
});
const MODEL = path.join(ROOT, 'models', SHIPPED_MODEL);
const WORKER = path.join(ROOT, 'dist', 'worker.js');
const OUT = path.join(ROOT, 'bench', 'results', 'reliability.json');
// the VS Code run's own figures, merged into OUT
const EDITOR_OUT = path.join(ROOT, 'out', 'reliability-editor.json');
const EDITOR_TEST = path.join(ROOT, 'test', 'vscode', 'reliability.test.ts');

const SOURCE = fs.readFileSync(path.join(ROOT, 'examples', 'sample.ts'), 'utf8');

/** Seeded, so every run kills at the same steps and types the same prefixes. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x + 0x6d2b79f5) | 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** VmRSS (resident now) or VmHWM (the most it has ever been resident) of a process, in MB. */
function rssMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  if (!pid) return Number.NaN;
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

/**
 * 20 SIGKILLs of the worker, each as the client hears of a random step of a long refine. Every
 * request in flight at a kill must fail with the kill as its cause: the refine, and a follow-up
 * sent before the client has seen the worker die. A refine whose answer had left the worker
 * before the kill is answered, rightly, and is not in flight. recovery_ms: kill → the next
 * request answered by the restarted worker.
 */
async function workerKills(client: LocalBackend, random: () => number): Promise<Record<string, number>> {
  const recoveries: number[] = [];
  let kills = 0;
  let inFlight = 0;
  let failedWithCause = 0;
  let answeredFirst = 0;
  const otherOutcomes = new Set<string>();
  const judge = (e: unknown): void => {
    inFlight++;
    if (
      e instanceof BackendError &&
      e.code === 'crash' &&
      /^the denoiser process was killed by SIGKILL while handling the request$/.test(e.message)
    )
      failedWithCause++;
    else otherOutcomes.add(e instanceof Error ? e.message : String(e));
  };
  while (kills < 20) {
    await client.start();
    const pid = client.pid!;
    const killStep = 1 + Math.floor(random() * 12);
    let killedAt = 0;
    const pending = client.refine(
      { text: SOURCE, start: 0, end: SOURCE.length, strength: 1, sampler: { tokensPerStep: 1, steps: 40 } },
      {
        onProgress: (p) => {
          if (p.step !== killStep) return;
          killedAt = Date.now();
          process.kill(pid, 'SIGKILL');
        },
      },
    );
    try {
      await pending;
      if (killedAt === 0) continue; // finished before step k: no kill, try again
      answeredFirst++;
    } catch (e) {
      judge(e);
    }
    kills++;
    for (;;) {
      try {
        await client.complete({ prefix: 'let total = ', suffix: ';\n', maxTokens: 4 });
        break;
      } catch (e) {
        judge(e); // sent to the killed worker before its exit was seen
        if (inFlight > 100) throw e;
      }
    }
    recoveries.push(Date.now() - killedAt);
  }
  if (otherOutcomes.size) console.log(`worker_kills: other outcomes: ${[...otherOutcomes].join(' | ')}`);
  return {
    kills,
    in_flight: inFlight,
    failed_with_cause: failedWithCause,
    answered_before_the_kill: answeredFirst,
    recovery_ms_p50: quantile(recoveries, 0.5),
    recovery_ms_max: Math.max(...recoveries),
  };
}

/** One storm: `n` ghost-text requests, each aborted when the next is sent, as typing makes them. */
async function storm(
  client: LocalBackend,
  random: () => number,
  n: number,
): Promise<{ cancelled: number; leftRunning: number; ms: number; rss: number[] }> {
  const lines = SOURCE.split('\n').filter((l) => l.trim().length > 3);
  const t0 = Date.now();
  const settled: Promise<unknown>[] = [];
  let previous: AbortController | undefined;
  let cancelled = 0;
  const rss: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 0) rss.push(rssMb(client.pid));
    previous?.abort();
    const ac = new AbortController();
    const line = lines[i % lines.length];
    const cut = 1 + Math.floor(random() * (line.length - 1));
    settled.push(
      client
        .complete(
          {
            prefix: `${SOURCE.slice(0, 400)}\n${line.slice(0, cut)}`,
            suffix: '\n',
            maxTokens: 24,
            sampler: { timeBudgetMs: 800 },
          },
          { signal: ac.signal },
        )
        .catch((e) => {
          if (e instanceof BackendError && e.code === 'cancelled') cancelled++;
          else throw e;
        }),
    );
    previous = ac;
    // keystrokes 0–30 ms apart: some requests are cancelled before they are sent, some in the
    // worker's queue, some between two model calls, and some finish first
    await sleep(Math.floor(random() * 30));
  }
  let done = 0;
  settled.forEach((p) => void p.finally(() => done++));
  await Promise.race([Promise.allSettled(settled), sleep(60_000)]);
  rss.push(rssMb(client.pid));
  return { cancelled, leftRunning: settled.length - done, ms: Date.now() - t0, rss };
}

/**
 * RSS growth across a storm of 1,000 once the worker is warm. A cold worker grows by a fifth over
 * its first thousand requests whether they are cancelled or not (onnxruntime's arena and V8's heap
 * reach their working size; the same requests run to the end grow it as much) and levels off by
 * its two thousandth (4,000 cancelled requests: 155 MB at 2,000, 158 MB at 4,000, with or without
 * onnxruntime's memory patterns), so two storms warm it and a third is measured: growth there is
 * what cancellation leaves behind.
 * RSS moves by ±8 % between two reads as garbage is collected, so growth is that of the peak
 * resident size (VmHWM), which rises only when the worker needs more memory than it ever has; the
 * median RSS of the first and last five reads (one per 50 requests) is reported beside it.
 */
async function cancelStorm(client: LocalBackend, random: () => number): Promise<Record<string, number>> {
  await client.start();
  const pid = client.pid;
  const cold = rssMb(pid);
  const warm = await storm(client, random, 2000);
  const peakBefore = rssMb(pid, 'VmHWM');
  const measured = await storm(client, random, 1000);
  // no request left running: a fresh one is answered as fast as one alone
  const q0 = Date.now();
  await client.complete({ prefix: 'let total = ', suffix: ';\n', maxTokens: 24 });
  const nextMs = Date.now() - q0;
  const median = (xs: number[]): number => quantile(xs, 0.5);
  const before = median(measured.rss.slice(0, 5));
  const after = median(measured.rss.slice(-5));
  const peakAfter = rssMb(pid, 'VmHWM');
  if (pid !== client.pid) throw new Error('the worker was replaced during the cancel storm');
  console.log(
    `cancel_storm: warm-up ${warm.ms} ms (${warm.cancelled} cancelled), measured ${measured.ms} ms (${measured.cancelled} cancelled), then one request in ${nextMs} ms`,
  );
  return {
    requests: 1000,
    rss_growth_pct: round(((peakAfter - peakBefore) / peakBefore) * 100),
    left_running: measured.leftRunning + warm.leftRunning,
    peak_rss_before_mb: round(peakBefore),
    peak_rss_after_mb: round(peakAfter),
    median_rss_first_mb: round(before),
    median_rss_last_mb: round(after),
    cancelled: measured.cancelled,
    next_request_ms: nextMs,
    cold_rss_mb: round(cold),
    warmup_growth_pct: round(((before - cold) / cold) * 100),
  };
}

/** Who each watched process was (its parent's command line too), read while it ran: a socket seen is reported with it. */
const whoWas = new Map<number, string>();
function remember(pid: number | undefined): void {
  if (!pid || whoWas.has(pid)) return;
  const cmd = (p: number | string): string => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 160);
    } catch {
      return '?';
    }
  };
  let ppid = '?';
  try {
    ppid = /PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    // gone
  }
  whoWas.set(pid, `${cmd(pid)} (parent ${ppid}: ${cmd(ppid)})`);
}

/** Pids of the denoiser workers VS Code's extension host started from this repository. */
function vscodeWorkers(): number[] {
  const worker = path.join(ROOT, 'dist', 'worker.js');
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(worker)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/**
 * Runs the VS Code suite's reliability tests and returns their figures (or why there are none),
 * watching the sockets of the workers the extension starts there meanwhile.
 */
async function editorFigures(watch: SocketWatch): Promise<{ figures?: Record<string, unknown>; note?: string }> {
  if (FLAGS['no-editor']) return { note: 'the VS Code part was not run (--no-editor)' };
  if (!fs.existsSync(EDITOR_TEST)) return { note: `${path.relative(ROOT, EDITOR_TEST)} is not in the tree yet` };
  fs.rmSync(EDITOR_OUT, { force: true });
  const child = spawn(process.execPath, ['scripts/vscode-test/test.mjs', 'suite'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      DIFFUSE_RELIABILITY_OUT: EDITOR_OUT,
      DIFFUSE_SUITE_TIMEOUT: '1200',
      MOCHA_GREP: 'reliability',
    },
  });
  // new workers are looked for every half second; the ones found are polled with the others
  const finder = setInterval(() => vscodeWorkers().forEach((pid) => watch.extra.add(pid)), 500);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(finder);
  if (!fs.existsSync(EDITOR_OUT)) return { note: `the VS Code reliability run wrote no figures (exit ${status})` };
  const figures = JSON.parse(fs.readFileSync(EDITOR_OUT, 'utf8')) as Record<string, unknown>;
  return { figures, note: status === 0 ? undefined : `the VS Code reliability run exited ${status}` };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const hostCrashes = countHostCrashes();
  if (FLAGS.only === 'remote') return onlyRemote(hostCrashes, t0);
  const clients: LocalBackend[] = [];
  const make = (): LocalBackend => {
    const c = new LocalBackend({ workerPath: WORKER, modelDir: MODEL, threads: 1 });
    clients.push(c);
    return c;
  };
  const watch = await startSocketWatch(clients);
  const random = rng(20261129);

  const main = make();
  const info = await main.start();
  console.log(`model ${info.name}, loaded in ${info.loadMs} ms`);

  const kills = await workerKills(main, random);
  console.log('worker_kills', kills);
  const bad = await runBadInputs(main, hostCrashes);
  for (const d of bad.details) console.log(`  ${d.outcome.padEnd(8)} ${d.name}: ${d.message.slice(0, 160)}`);
  const { details, ...badSummary } = bad;
  console.log('bad_inputs', badSummary);
  const storm = await cancelStorm(make(), random);
  console.log('cancel_storm', storm);
  clients.forEach((c) => c.dispose());

  const editor = await editorFigures(watch);
  watch.stop();
  const remote = await remotePart(hostCrashes);
  if (editor.note) console.log(`editor figures: ${editor.note}`);
  const ef = editor.figures as { edits_during_refine?: unknown; large_refine?: unknown; checked?: unknown } | undefined;
  const result = {
    version: JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}`,
    // other work on the machine slows the worker's restarts most: the 1-minute load average at the end
    load_average: round(os.loadavg()[0]),
    model: info.name,
    edits_during_refine: ef?.edits_during_refine ?? null,
    worker_kills: kills,
    bad_inputs: { ...badSummary, details },
    cancel_storm: storm,
    no_network: noNetworkFigures(watch),
    large_refine: ef?.large_refine ?? null,
    remote,
    editor_checked: ef?.checked ?? null,
    notes: [editor.note].filter(Boolean),
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(result, null, 1) + '\n');
  console.log(`wrote ${path.relative(ROOT, OUT)} in ${result.seconds} s`);
  process.exit(0);
}

/** Counts uncaught exceptions and unhandled rejections in this process (the extension host's part). */
function countHostCrashes(): () => number {
  let hostCrashes = 0;
  process.on('uncaughtException', (e) => {
    hostCrashes++;
    console.error(`host: uncaught ${e.stack}`);
  });
  process.on('unhandledRejection', (e) => {
    hostCrashes++;
    console.error(`host: unhandled rejection ${e instanceof Error ? e.stack : String(e)}`);
  });
  return () => hostCrashes;
}

/** `--only remote`: that part alone, merged into the last run's JSON. */
async function onlyRemote(hostCrashes: () => number, t0: number): Promise<void> {
  const remote = await remotePart(hostCrashes);
  const last = fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, 'utf8')) as Record<string, unknown>) : {};
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ ...last, remote }, null, 1) + '\n');
  console.log(`wrote remote into ${path.relative(ROOT, OUT)} in ${Math.round((Date.now() - t0) / 1000)} s`);
  process.exit(0);
}

/**
 * Watches every worker any of `clients` starts, and this process, for the whole run; first it
 * must see a socket when there is one: a TCP listener of this script's own, for 100 ms.
 */
async function startSocketWatch(clients: LocalBackend[]): Promise<SocketWatch> {
  const watch: SocketWatch = new SocketWatch((): (number | undefined)[] => {
    const pids = [process.pid, ...clients.map((c) => c.pid), ...watch.extra];
    pids.forEach(remember);
    return pids;
  });
  const probe = net.createServer().listen(0, '127.0.0.1');
  await sleep(100);
  probe.close();
  watch.sample();
  const probeSeen = watch.seen.size;
  if (probeSeen !== 1) throw new Error(`the socket watch saw ${probeSeen} sockets while one TCP listener was open`);
  watch.seen.clear();
  return watch;
}

function noNetworkFigures(watch: SocketWatch): Record<string, unknown> {
  return {
    sockets_opened: watch.seen.size,
    // which process held each socket seen, and who started it
    seen: [...watch.seen].map((s) => `${s} ${whoWas.get(Number(s.split('/')[0])) ?? ''}`),
    processes_watched: watch.pids.size,
    samples: watch.samples,
    method:
      'inet (tcp, udp, raw; v4 and v6) sockets among the open fds of the client process and of every worker, polled every 10 ms ' +
      '(in the VS Code part: the workers the extension starts there); checked first on a TCP listener of its own, which it saw',
  };
}

async function remotePart(hostCrashes: () => number): Promise<RemoteFigures> {
  const remote = await runRemote({ workerPath: WORKER, modelDir: MODEL, hostCrashes });
  for (const w of remote.wrong) console.log(`  remote: wrong outcome: ${w}`);
  for (const w of remote.not_one_line) console.log(`  remote: not a one-line cause: ${w}`);
  const { by_case: _cases, ...summary } = remote;
  console.log('remote', summary);
  return remote;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
