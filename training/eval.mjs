#!/usr/bin/env node
// Evaluates a model folder through the product's own path (`diffuse complete`: the same client,
// worker and sampler as the editor) and writes the tables into the folder's MODEL_CARD.md:
// first HumanEval-Infilling pass@1 (training/humaneval.mjs: all 1,033 single-line problems and
// 200 multi-line ones), then ghost text where the editor asks (bench/quality/editorEval.ts: byte-exact
// after the editor's trimming, the confidence curve), then held-out infill cases of the corpus
// (skipped, with a note, when the corpus is not built here).
//
//   node training/eval.mjs [--model models/diffuse-v2] [--heldout training/work/corpus/heldout.jsonl]
//        [--single 200] [--multi 100] [--seed 1] [--no-card] [--json FILE] [--quick]
//        [--no-humaneval] [--humaneval-multi 200] [--no-editor-eval] [--no-heldout-eval]
//        [--curve-only --history models/diffuse-v2/eval-history.json]   (an older checkpoint's point)
//        [--headline-only --cli-args="--steps 4"]   (the headline schedule with another setting)
//
// Cases: a held-out file, a random non-trivial line (or 3 lines) removed; the model fills it
// with the rest of the file as context. Scores are whitespace-normalised exact match and
// character similarity (1 − edit distance / longer length). The copy-the-previous-line
// baseline is measured on the same cases.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import tokenizers from 'tokenizers';
import { evaluate as humanEval, writeCard as writeHumanEvalCard } from './humaneval.mjs';
import { escapeSpecialTokens } from './special-tokens.mjs';
import { normalise, similarity } from './similarity.mjs';
import { mulberry } from './seeded.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(root, 'models', 'diffuse-v2') },
    heldout: { type: 'string', default: path.join(here, 'work', 'corpus', 'heldout.jsonl') },
    single: { type: 'string', default: '200' },
    multi: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '1' },
    card: { type: 'boolean', default: true },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    // only the headline configuration, appended to the learning curve (for older checkpoints)
    'curve-only': { type: 'boolean', default: false },
    // only the headline schedule (with --cli-args, to compare a setting); writes no card
    'headline-only': { type: 'boolean', default: false },
    // the learning curve to append to (default: the model folder's eval-history.json)
    history: { type: 'string' },
    // extra `diffuse complete` options for every run, e.g. "--block-length 16"
    'cli-args': { type: 'string', default: '' },
    humaneval: { type: 'boolean', default: true },
    'humaneval-multi': { type: 'string', default: '200' },
    'editor-eval': { type: 'boolean', default: true },
    'heldout-eval': { type: 'boolean', default: true },
  },
  allowNegative: true,
});

/** Slots given beyond the true length: the surplus the model must pad away. */
const SURPLUS_SINGLE = 24;
const SURPLUS_MULTI = 64;

/** Held-out infill cases: `lines` consecutive lines removed from a random spot of a random file. */
function makeCases(docs, count, lines, rand) {
  const cases = [];
  let guard = 0;
  while (cases.length < count && guard++ < count * 200) {
    const doc = docs[Math.floor(rand() * docs.length)];
    const all = doc.text.split('\n');
    if (all.length < lines + 4) continue;
    const at = 2 + Math.floor(rand() * (all.length - lines - 3));
    const middle = all.slice(at, at + lines);
    const body = middle.join('\n');
    // a line worth predicting: some code on it, not a giant literal
    if (middle.some((l) => l.trim().length < 4 || l.length > 120)) continue;
    let prevLine = '';
    for (let k = at - 1; k >= 0 && !prevLine; k--) if (all[k].trim()) prevLine = all[k];
    const prefix = all.slice(0, at).join('\n') + '\n';
    const suffix = '\n' + all.slice(at + lines).join('\n');
    cases.push({ id: cases.length, prefix, suffix, middle: body, prevLine, file: `${doc.package}/${doc.path}` });
  }
  return cases;
}

/** Slots the true middle needs, counting the healed boundary token the engine adds. */
async function trueSlots(tok, c) {
  const prefixIds = (await tok.encode(escapeSpecialTokens(c.prefix))).getIds();
  const last = prefixIds.length ? await tok.decode(prefixIds.slice(-1), false) : '';
  const heal = last.endsWith('\n') ? '' : last; // the engine heals no line break (spanText.ts)
  // the engine also takes the newline after the line into the span (spanText.ts)
  return (await tok.encode(escapeSpecialTokens(heal + c.middle + '\n'))).getIds().length;
}

function runComplete(requests, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'diffuse.js'), 'complete', '--model', opts.model,
      '--threads', opts.threads, ...args, ...opts['cli-args'].split(' ').filter(Boolean)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`diffuse complete exited with ${code}`));
      resolve(out.trim().split('\n').map((l) => JSON.parse(l)));
    });
    child.stdin.end(requests.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
}

async function score(cases, slotsOf, args) {
  const reqs = cases.map((c) => ({ id: c.id, prefix: c.prefix, suffix: c.suffix, maxTokens: slotsOf(c) }));
  const t0 = Date.now();
  const answers = await runComplete(reqs, args);
  let exact = 0;
  let sim = 0;
  let calls = 0;
  let errors = 0;
  const samples = [];
  answers.forEach((a, i) => {
    const c = cases[i];
    if (a.error) {
      errors++;
      return;
    }
    // a completion may run into the suffix's newline: compare the infilled lines only
    const got = a.completion.replace(/\n+$/, '');
    if (normalise(got) === normalise(c.middle)) exact++;
    sim += similarity(got, c.middle);
    calls += a.steps;
    if (samples.length < 3) samples.push({ want: c.middle, got });
  });
  const n = cases.length;
  return { exact: exact / n, similarity: sim / n, callsPerCase: calls / n, errors, seconds: (Date.now() - t0) / 1000, samples };
}

function baseline(cases) {
  let exact = 0;
  let sim = 0;
  for (const c of cases) {
    if (normalise(c.prevLine) === normalise(c.middle)) exact++;
    sim += similarity(c.prevLine, c.middle);
  }
  return { exact: exact / cases.length, similarity: sim / cases.length };
}

/** The editor-view cases (`npm run model:eval:editor`), on this model, into its card. */
function editorEval() {
  const args = ['run', '-s', 'model:eval:editor', '--', ...(opts.quick ? ['--per-kind=20', '--no-card'] : opts.card ? [] : ['--no-card'])];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd: root, stdio: 'inherit', env: { ...process.env, DIFFUSE_BENCH_MODEL: path.resolve(opts.model) } });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`model:eval:editor exited with ${code}`))));
  });
}

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const f2 = (x) => x.toFixed(3);

async function main() {
  const headlineOnly = opts.quick || opts['curve-only'] || opts['headline-only'];
  const cliArgs = opts['cli-args'].split(' ').filter(Boolean);
  if (opts.humaneval && !opts['curve-only'] && !opts['headline-only']) {
    const he = await humanEval({
      model: path.resolve(opts.model), seed: 1, threads: Number(opts.threads), jobs: os.cpus().length, timeoutS: 10, cliArgs,
      counts: opts.quick ? { single: 20, multi: 10 } : { single: Infinity, multi: Number(opts['humaneval-multi']) }, progress: true,
    });
    if (opts.card && !opts.quick) {
      writeHumanEvalCard(opts.model, he, JSON.parse(fs.readFileSync(path.join(opts.model, 'denoiser.json'), 'utf8')), cliArgs);
    }
  }
  if (opts['editor-eval'] && !opts['curve-only'] && !opts['headline-only']) await editorEval();
  if (!opts['heldout-eval']) return;
  if (!fs.existsSync(opts.heldout)) {
    console.log(`held-out eval skipped: no ${path.relative(root, opts.heldout)} (npm run model:corpus writes it)`);
    return;
  }
  const nSingle = opts.quick ? 12 : Number(opts.single);
  const nMulti = opts.quick ? 6 : Number(opts.multi);
  const docs = fs.readFileSync(opts.heldout, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const rand = mulberry(Number(opts.seed));
  const single = makeCases(docs, nSingle, 1, rand);
  const multi = makeCases(docs, nMulti, 3, rand);
  const tok = tokenizers.Tokenizer.fromFile(path.join(opts.model, 'tokenizer.json'));
  for (const c of [...single, ...multi]) c.slots = await trueSlots(tok, c);
  const denoiser = JSON.parse(fs.readFileSync(path.join(opts.model, 'denoiser.json'), 'utf8'));

  const rows = [];
  const schedules = headlineOnly
    ? [{ name: 'threshold 0.8, ≤ 8 calls', args: ['--steps', '8'] }]
    : [
        { name: '1 token/step', args: ['--tokens-per-step', '1', '--steps', '1000'] },
        { name: '2 tokens/step', args: ['--tokens-per-step', '2', '--steps', '1000'] },
        { name: '4 tokens/step', args: ['--tokens-per-step', '4', '--steps', '1000'] },
        { name: '8 tokens/step', args: ['--tokens-per-step', '8', '--steps', '1000'] },
        { name: 'threshold 0.8', args: ['--steps', '1000'] },
        { name: 'threshold 0.8, ≤ 8 calls', args: ['--steps', '8'] },
        { name: 'threshold 0.8, ≤ 4 calls', args: ['--steps', '4'] },
      ];
  for (const s of schedules) {
    for (const slots of headlineOnly ? ['surplus'] : ['true', 'surplus']) {
      const r1 = await score(single, (c) => (slots === 'true' ? c.slots : c.slots + SURPLUS_SINGLE), s.args);
      const r3 = await score(multi, (c) => (slots === 'true' ? c.slots : c.slots + SURPLUS_MULTI), s.args);
      rows.push({ schedule: s.name, slots, single: r1, multi: r3 });
      console.log(`${s.name.padEnd(26)} ${slots.padEnd(8)} 1-line exact ${pct(r1.exact)} sim ${f2(r1.similarity)} calls ${r1.callsPerCase.toFixed(1)} | 3-line sim ${f2(r3.similarity)} calls ${r3.callsPerCase.toFixed(1)} (${(r1.seconds + r3.seconds).toFixed(0)} s)`);
    }
  }
  const base = { single: baseline(single), multi: baseline(multi) };
  const headline = rows.find((r) => r.schedule === 'threshold 0.8, ≤ 8 calls' && r.slots === 'surplus');
  const result = {
    model: denoiser.name,
    tokens_seen: denoiser.training?.tokens_seen ?? null,
    params: denoiser.training?.params ?? null,
    cases: { single: single.length, multi: multi.length, seed: Number(opts.seed), surplus: { single: SURPLUS_SINGLE, multi: SURPLUS_MULTI } },
    date: new Date().toISOString().slice(0, 10),
    headline: { exact_single: headline.single.exact, similarity_single: headline.single.similarity, calls_single: headline.single.callsPerCase, similarity_multi: headline.multi.similarity },
    baseline: base,
    rows,
  };
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(result, null, 1));
  if (opts['curve-only']) updateCurve(appendHistory(result));
  else if (opts.card && !headlineOnly) writeCard(result);
}

function curveTable(history) {
  return [
    '| tokens trained | date | 1-line exact (surplus, ≤ 8 calls) | 1-line similarity | 3-line similarity |',
    '|---|---|---|---|---|',
    ...history.map((h) => `| ${(h.tokens_seen / 1e6).toFixed(1)} M | ${h.date} | ${pct(h.exact_single)} | ${f2(h.similarity_single)} | ${f2(h.similarity_multi)} |`),
  ].join('\n');
}

/** Rewrites the learning-curve table in the card beside the history file. */
function updateCurve(history) {
  const cardFile = path.join(path.dirname(opts.history ?? path.join(opts.model, 'x')), 'MODEL_CARD.md');
  if (!fs.existsSync(cardFile)) return;
  const card = fs.readFileSync(cardFile, 'utf8');
  const re = /(### Learning curve\n\n)[\s\S]*?(\n<!-- eval:end -->)/;
  if (re.test(card)) fs.writeFileSync(cardFile, card.replace(re, (_, a, b) => a + curveTable(history) + b));
}

/** Adds this evaluation's headline to the learning curve; returns the whole curve. */
function appendHistory(result) {
  const historyFile = opts.history ?? path.join(opts.model, 'eval-history.json');
  const history = fs.existsSync(historyFile) ? JSON.parse(fs.readFileSync(historyFile, 'utf8')) : [];
  const entry = { tokens_seen: result.tokens_seen, date: result.date, ...result.headline };
  const i = history.findIndex((h) => h.tokens_seen === entry.tokens_seen);
  if (i >= 0) history[i] = entry; else history.push(entry);
  history.sort((a, b) => a.tokens_seen - b.tokens_seen);
  fs.writeFileSync(historyFile, JSON.stringify(history, null, 1) + '\n');
  return history;
}

function writeCard(result) {
  const history = appendHistory(result);

  const table = [
    '| schedule | slots | 1-line exact | 1-line similarity | calls / line | 3-line similarity | calls / 3 lines |',
    '|---|---|---|---|---|---|---|',
    ...result.rows.map((r) => `| ${r.schedule} | ${r.slots} | ${pct(r.single.exact)} | ${f2(r.single.similarity)} | ${r.single.callsPerCase.toFixed(1)} | ${f2(r.multi.similarity)} | ${r.multi.callsPerCase.toFixed(1)} |`),
    `| copy the previous line (baseline) | — | ${pct(result.baseline.single.exact)} | ${f2(result.baseline.single.similarity)} | 0 | ${f2(result.baseline.multi.similarity)} | 0 |`,
  ].join('\n');
  const curve = curveTable(history);
  const block = `<!-- eval:begin (written by \`npm run model:eval\`; do not edit by hand) -->
Held-out split: ${result.cases.single} single-line and ${result.cases.multi} three-line infill cases from
held-out packages (seed ${result.cases.seed}), decoded by \`diffuse complete\` (greedy). "true" gives the
span exactly the slots the answer needs; "surplus" adds ${result.cases.surplus.single} (1 line) / ${result.cases.surplus.multi} (3 lines) slots the
model must fill with pad. Exact match is whitespace-normalised; similarity is 1 − edit distance / length.
Model: ${(result.tokens_seen / 1e6).toFixed(1)} M tokens trained, ${result.params ?? '?'} parameters; evaluated ${result.date}.

${table}

### Learning curve

${curve}
<!-- eval:end -->`;
  const cardFile = path.join(opts.model, 'MODEL_CARD.md');
  const card = fs.existsSync(cardFile) ? fs.readFileSync(cardFile, 'utf8') : '# Model card\n\n## Evaluation\n\n';
  const re = /<!-- eval:begin[\s\S]*?<!-- eval:end -->/;
  fs.writeFileSync(cardFile, re.test(card) ? card.replace(re, block) : card + '\n' + block + '\n');
  console.log(`eval: wrote ${cardFile}`);
}

await main();
