#!/usr/bin/env node
// HumanEval-Infilling pass@1 of a model folder, through the product's own decoding.
//
//   node training/humaneval.mjs [--model models/diffuse-v2] [--single all|N] [--multi 200]
//        [--seed 1] [--threads 1] [--jobs 2] [--timeout 10] [--no-card] [--json FILE] [--quick]
//        [--cli-args="--steps 8"]
//
// Every problem goes to `diffuse complete` (the client, worker, engine and sampler the editor
// uses; greedy, the default step budget) with the problem's prompt as prefix and its suffix as
// suffix, and `maxTokens` 48 for single-line and 160 for multi-line problems: the model decides
// the span's length itself (no oracle length). The program prompt + completion + suffix + test +
// `check(entry_point)` then runs in python3, in a throw-away folder with a time limit; pass@1 is
// the share that exits 0. Single-line: all 1,033 problems; multi-line: a fixed sample of 200 of
// the 5,815 (seeded, so every model is scored on the same ones). Writes the result into the
// folder's MODEL_CARD.md between `<!-- humaneval:begin -->` and `<!-- humaneval:end -->`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { mulberry } from './seeded.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
export const DATA_DIR = path.join(here, 'benchmarks', 'human-eval-infilling');
export const SETS = {
  single: { file: 'HumanEval-SingleLineInfilling.jsonl.gz', maxTokens: 48, title: 'single-line' },
  multi: { file: 'HumanEval-MultiLineInfilling.jsonl.gz', maxTokens: 160, title: 'multi-line' },
};

export function loadProblems(set) {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(DATA_DIR, SETS[set].file))).toString('utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** `count` problems drawn without replacement by a seeded shuffle, kept in the file's order. */
export function sample(problems, count, seed) {
  if (count >= problems.length) return problems;
  const rand = mulberry(seed);
  const idx = problems.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, count).sort((a, b) => a - b).map((i) => problems[i]);
}

/**
 * The program the original harness runs. The prompt ends at a line start and the suffix starts
 * at one, so the span is whole lines: a completion that stops short of its line's end gets the
 * newline it needs (the editor would have one after the cursor), nothing else is changed.
 */
export function program(problem, completion) {
  const body = completion && !completion.endsWith('\n') && problem.suffix ? completion + '\n' : completion;
  return `${problem.prompt}${body}${problem.suffix}\n${problem.test}\ncheck(${problem.entry_point})\n`;
}

/** Runs one program with python3 in its own folder; true when it exits 0 within the limit. */
export function runProgram(code, timeoutS, dir) {
  return new Promise((resolve) => {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'program.py');
    fs.writeFileSync(file, code);
    // -I: no user site-packages, no PYTHON* variables, the script's folder not on sys.path
    const child = spawn('python3', ['-I', file], { cwd: dir, stdio: 'ignore', timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => {
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(code === 0);
    });
  });
}

/**
 * Decodes `problems` with `diffuse complete` and runs each answer as soon as it arrives, at most
 * `jobs` programs at a time. Returns per-problem results in order.
 */
export function decodeAndRun(problems, { model, maxTokens, threads, jobs, timeoutS, cliArgs, onResult }) {
  return new Promise((resolve, reject) => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-humaneval-'));
    const child = spawn(process.execPath, [path.join(root, 'bin', 'diffuse.js'), 'complete', '--model', model,
      '--threads', String(threads), ...cliArgs], { stdio: ['pipe', 'pipe', 'inherit'] });
    const results = new Array(problems.length);
    const waiting = [];
    let running = 0;
    let received = 0;
    let decodeDone = false;
    let failed = false;
    const finish = () => {
      if (decodeDone && running === 0 && waiting.length === 0 && !failed) {
        fs.rmSync(scratch, { recursive: true, force: true });
        resolve(results);
      }
    };
    const pump = () => {
      while (running < jobs && waiting.length) {
        const i = waiting.shift();
        running++;
        const r = results[i];
        const run = r.error ? Promise.resolve(false) : runProgram(program(problems[i], r.completion), timeoutS, path.join(scratch, String(i)));
        run.then((passed) => {
          r.passed = passed;
          running--;
          onResult?.(r, i);
          pump();
          finish();
        });
      }
    };
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const a = JSON.parse(line);
      const i = a.id;
      results[i] = { task_id: problems[i].task_id, completion: a.completion ?? '', error: a.error, steps: a.steps ?? 0, ms: a.ms ?? 0 };
      received++;
      waiting.push(i);
      pump();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || received !== problems.length) {
        failed = true;
        return reject(new Error(`diffuse complete exited with ${code} after ${received} of ${problems.length} answers`));
      }
      decodeDone = true;
      finish();
    });
    child.stdin.end(problems.map((p, id) => JSON.stringify({ id, prefix: p.prompt, suffix: p.suffix, maxTokens })).join('\n') + '\n');
  });
}

export async function evaluate(opts) {
  const out = { model: opts.model, seed: opts.seed, sets: {} };
  for (const set of ['single', 'multi']) {
    if (opts.counts[set] === 0) continue; // --multi 0: single-line only, and the other way round
    const all = loadProblems(set);
    const problems = sample(all, opts.counts[set], opts.seed);
    const t0 = Date.now();
    let done = 0;
    let passed = 0;
    const results = await decodeAndRun(problems, {
      model: opts.model, maxTokens: SETS[set].maxTokens, threads: opts.threads, jobs: opts.jobs,
      timeoutS: opts.timeoutS, cliArgs: opts.cliArgs,
      onResult: (r) => {
        done++;
        if (r.passed) passed++;
        if (opts.progress && done % 100 === 0) process.stderr.write(`humaneval ${set}: ${done}/${problems.length}, ${passed} passed\n`);
      },
    });
    const n = results.length;
    const errors = results.filter((r) => r.error).length;
    out.sets[set] = {
      problems: n, of: all.length, maxTokens: SETS[set].maxTokens,
      pass1: results.filter((r) => r.passed).length / n,
      errors, callsPerProblem: results.reduce((s, r) => s + r.steps, 0) / n,
      decodeMsPerProblem: results.reduce((s, r) => s + r.ms, 0) / n,
      seconds: (Date.now() - t0) / 1000,
      results,
    };
    console.log(`HumanEval ${SETS[set].title}: pass@1 ${(100 * out.sets[set].pass1).toFixed(1)} % of ${n}` +
      `${errors ? ` (${errors} errors)` : ''}, ${out.sets[set].callsPerProblem.toFixed(1)} calls and ` +
      `${out.sets[set].decodeMsPerProblem.toFixed(0)} ms per problem, ${out.sets[set].seconds.toFixed(0)} s`);
  }
  return out;
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;

/** The card's HumanEval block, rewritten in place (or appended). */
export function writeCard(modelDir, result, denoiser, cliArgs) {
  const { single, multi } = result.sets;
  const row = (name, s) => `| ${name} | ${s.problems}${s.problems < s.of ? ` of ${s.of} (seed ${result.seed})` : ''} | ${s.maxTokens} | **${pct(s.pass1)}** | ${s.callsPerProblem.toFixed(1)} |`;
  const block = `<!-- humaneval:begin (written by \`npm run model:eval\` / \`node training/humaneval.mjs\`; do not edit by hand) -->
HumanEval-Infilling (\`training/benchmarks/human-eval-infilling\`), greedy pass@1: each problem
decoded by \`diffuse complete\`${cliArgs.length ? ` \`${cliArgs.join(' ')}\`` : ''} with the default step budget and no oracle
length, then its unit tests run with python3.
Model: ${((denoiser.training?.tokens_seen ?? 0) / 1e6).toFixed(1)} M tokens trained, ${denoiser.training?.params ?? '?'} parameters; evaluated ${new Date().toISOString().slice(0, 10)}.

| benchmark | problems | maxTokens | pass@1 | calls / problem |
|---|---|---|---|---|
${row('single-line', single)}
${row('multi-line', multi)}
<!-- humaneval:end -->`;
  const cardFile = path.join(modelDir, 'MODEL_CARD.md');
  const card = fs.existsSync(cardFile) ? fs.readFileSync(cardFile, 'utf8') : '# Model card\n\n## Evaluation\n';
  const re = /<!-- humaneval:begin[\s\S]*?<!-- humaneval:end -->/;
  let next;
  if (re.test(card)) next = card.replace(re, block);
  else if (card.includes('<!-- eval:begin')) next = card.replace('<!-- eval:begin', `${block}\n\n<!-- eval:begin`);
  else next = `${card.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(cardFile, next);
  console.log(`humaneval: wrote ${cardFile}`);
}

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: path.join(root, 'models', 'diffuse-v2') },
      single: { type: 'string', default: 'all' },
      multi: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string', default: '1' },
      jobs: { type: 'string', default: String(Math.max(1, os.cpus().length)) },
      timeout: { type: 'string', default: '10' },
      card: { type: 'boolean', default: true },
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'cli-args': { type: 'string', default: '' },
    },
    allowNegative: true,
  });
  const count = (v) => (v === 'all' ? Infinity : Number(v));
  return {
    model: path.resolve(values.model),
    counts: { single: values.quick ? 20 : count(values.single), multi: values.quick ? 10 : count(values.multi) },
    seed: Number(values.seed), threads: Number(values.threads), jobs: Number(values.jobs), timeoutS: Number(values.timeout),
    card: values.card && !values.quick, json: values.json, cliArgs: values['cli-args'].split(' ').filter(Boolean), progress: true,
  };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const denoiser = JSON.parse(fs.readFileSync(path.join(opts.model, 'denoiser.json'), 'utf8'));
  const result = await evaluate(opts);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 1));
  if (opts.card && !(result.sets.single && result.sets.multi)) console.log('humaneval: the model card is written only when both sets ran');
  else if (opts.card) writeCard(opts.model, result, denoiser, opts.cliArgs);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`humaneval: ${e.message}`);
    process.exit(1);
  });
}
