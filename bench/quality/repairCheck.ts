// Repair until the check passes, measured: HumanEval's problems (from HumanEval-Infilling, MIT,
// vendored in training/benchmarks/) with their canonical solutions and one injected fault each,
// repaired with the shipped model against their own unit tests (`python3 test_solution.py` in a
// scratch copy of a one-problem project). Counts the cases whose check passes after the proposed
// fix, the fixes equal to the original code (byte-exact or AST-equal), checks and seconds per fix,
// and files written in the project before Accept (must be 0); per fault kind and per source of the
// fix. Beside it, Refine's corrector on the same faulty functions (one call, then the same check).
//
//   npm run bench:repair-check [-- --cases=42 --all --max-checks=40 --timeout-ms=60000]
//
// Writes bench/results/repair-check.json. The faults are this file's own, seeded, and every one
// is kept only when it makes the problem's tests fail; no case is ever used to train.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { REPAIR_DEFAULTS, SHIPPED_MODEL } from '../../src/core/defaults';
import { functionRanges } from '../../src/core/repair/functionRanges';
import { SeededRandom } from '../../src/core/sampler/rng';
import { applyEdits } from '../../src/core/text/textEdit';
import { runCommand } from '../../src/repair/projectCheck';
import { repairFile } from '../../src/repair/repairFile';
import { asNumber, readArgs } from '../shared/args';
import { ROOT } from '../shared/cases';
import { caseLine, repairFigures } from '../shared/repairFigures';

const DATA = path.join(
  ROOT,
  'training',
  'benchmarks',
  'human-eval-infilling',
  'HumanEval-SingleLineInfilling.jsonl.gz',
);
const CHECK = 'python3 test_solution.py';

interface Problem {
  id: string;
  entry: string;
  solution: string;
  test: string;
}

export interface FaultCase {
  problem: Problem;
  fault: string;
  faulty: string;
  /** The 1-based line the fault is on. */
  line: number;
}

function problems(): Problem[] {
  const rows = zlib
    .gunzipSync(fs.readFileSync(DATA))
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
  const byTask = new Map<string, Problem>();
  for (const r of rows) {
    const id = r.task_id.replace(/^SingleLineInfilling\//, '').replace(/\/L\d+$/, '');
    if (!byTask.has(id)) {
      byTask.set(id, { id, entry: r.entry_point, solution: r.prompt + r.canonical_solution + r.suffix, test: r.test });
    }
  }
  return [...byTask.values()];
}

type Injector = (lines: string[], body: number[], rng: SeededRandom) => { lines: string[]; line: number } | undefined;

/** Replaces one random match of `re` on one random body line by `f(match)`. */
function onOneMatch(re: RegExp, f: (m: string, rng: SeededRandom) => string | undefined): Injector {
  return (lines, body, rng) => {
    const sites = body.flatMap((i) => [...codeOf(lines[i]).matchAll(re)].map((m) => ({ i, at: m.index, text: m[0] })));
    if (sites.length === 0) return undefined;
    const s = sites[rng.nextInt(sites.length)];
    const out = f(s.text, rng);
    if (out === undefined || out === s.text) return undefined;
    const copy = [...lines];
    copy[s.i] = lines[s.i].slice(0, s.at) + out + lines[s.i].slice(s.at + s.text.length);
    return { lines: copy, line: s.i + 1 };
  };
}

/** The line with strings and comments blanked (same length), so faults land in code only. */
function codeOf(line: string): string {
  return line
    .replace(/(["'])(?:\\.|(?!\1).)*\1/g, (m) => ' '.repeat(m.length))
    .replace(/#.*$/, (m) => ' '.repeat(m.length));
}

const SWAP: Record<string, string[]> = {
  '<': ['<=', '>'],
  '<=': ['<', '>='],
  '>': ['>=', '<'],
  '>=': ['>', '<='],
  '==': ['!='],
  '!=': ['=='],
  '+': ['-'],
  '-': ['+'],
  '*': ['+'],
  '//': ['/'],
  and: ['or'],
  or: ['and'],
};

const FAULTS: Record<string, Injector> = {
  'wrong operator': onOneMatch(
    /<=|>=|==|!=|\/\/|(?<![<>=!*/])[<>](?!=)|(?<=\s)[-+*](?=\s)|\b(?:and|or)\b/g,
    (m, rng) => {
      const options = SWAP[m];
      return options?.[rng.nextInt(options.length)];
    },
  ),
  'off-by-one': onOneMatch(/\b\d+\b/g, (m, rng) => String(Math.max(0, Number(m) + (rng.nextInt(2) ? 1 : -1)))),
  'swapped arguments': onOneMatch(/\(\s*[A-Za-z_]\w*\s*,\s*[A-Za-z_]\w*\s*\)/g, (m) => {
    const [a, b] = m
      .slice(1, -1)
      .split(',')
      .map((x) => x.trim());
    return `(${b}, ${a})`;
  }),
  'wrong variable': (lines, body, rng) => {
    const names = [...new Set(body.flatMap((i) => codeOf(lines[i]).match(/\b[a-z_]\w*\b/g) ?? []))].filter(
      (n) => !PY_WORDS.has(n),
    );
    if (names.length < 2) return undefined;
    return onOneMatch(/\b[a-z_]\w*\b/g, (m, r) => {
      if (PY_WORDS.has(m) || !names.includes(m)) return undefined;
      const others = names.filter((n) => n !== m);
      return others[r.nextInt(others.length)];
    })(lines, body, rng);
  },
  'missing condition': onOneMatch(/\bnot\s+|\s+and\s+[^:]+(?=:)|\s+or\s+[^:]+(?=:)/g, () => ''),
  'deleted line': (lines, body, rng) => {
    const candidates = body.filter(
      (i) => lines[i].trim() && !/^\s*(return|def|else|elif|for|while|if)\b/.test(lines[i]),
    );
    if (candidates.length === 0) return undefined;
    const i = candidates[rng.nextInt(candidates.length)];
    return { lines: lines.filter((_, k) => k !== i), line: i };
  },
  'duplicated line': (lines, body, rng) => {
    const candidates = body.filter((i) => /^\s*[a-z_]\w*\s*(\+|-|\*)?=\s/.test(lines[i]));
    if (candidates.length === 0) return undefined;
    const i = candidates[rng.nextInt(candidates.length)];
    return { lines: [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)], line: i + 2 };
  },
};

const PY_WORDS = new Set(
  'def return if elif else for while in not and or is None True False lambda pass break continue import from as try except finally raise with yield len range print int str float list dict set tuple sorted sum min max abs enumerate zip map filter any all isinstance self'.split(
    ' ',
  ),
);

function writeProject(dir: string, p: Problem, solution: string): void {
  fs.writeFileSync(path.join(dir, 'solution.py'), solution);
  fs.writeFileSync(path.join(dir, 'test_solution.py'), `from solution import *\n${p.test}\n\ncheck(${p.entry})\n`);
}

async function passes(p: Problem, solution: string): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-he-'));
  writeProject(dir, p, solution);
  const r = await runCommand(CHECK, dir, 20_000);
  fs.rmSync(dir, { recursive: true, force: true });
  return r.passed;
}

/**
 * One fault per problem, the kinds in turn so that each kind has as many cases as the others: a
 * kind takes the next problem (in a seeded order) it applies to and that its fault makes fail.
 */
export async function faultCases(count: number, seed = 1): Promise<FaultCase[]> {
  const rng = new SeededRandom(seed);
  const kinds = Object.keys(FAULTS);
  const left = problems();
  for (let i = left.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [left[i], left[j]] = [left[j], left[i]];
  }
  const out: FaultCase[] = [];
  let turn = 0;
  while (out.length < count && kinds.length > 0) {
    const kind = kinds[turn % kinds.length];
    const made = await firstFault(left, kind, rng);
    if (!made) {
      kinds.splice(kinds.indexOf(kind), 1); // no problem left that this kind applies to
      continue;
    }
    out.push(made);
    left.splice(left.indexOf(made.problem), 1);
    turn++;
  }
  return out;
}

async function firstFault(problems: Problem[], kind: string, rng: SeededRandom): Promise<FaultCase | undefined> {
  for (const p of problems) {
    const lines = p.solution.split('\n');
    const fn = functionRanges(p.solution, 'python').find((f) => f.name === p.entry);
    if (!fn) continue;
    // the body below the docstring: where HumanEval's canonical solution is
    const header = fn.first - 1;
    const docEnd = docstringEnd(lines, header);
    const body = lines.map((_, k) => k).filter((k) => k > (docEnd ?? header) && k < fn.last && lines[k].trim() !== '');
    const made = FAULTS[kind](lines, body, rng);
    if (!made) continue;
    const faulty = made.lines.join('\n');
    if (faulty === p.solution || (await passes(p, faulty))) continue;
    return { problem: p, fault: kind, faulty, line: made.line };
  }
  return undefined;
}

/** The index of the line that closes the docstring right below line `header`, if there is one. */
function docstringEnd(lines: string[], header: number): number | undefined {
  const first = lines.slice(header + 1).findIndex((l) => l.trim() !== '') + header + 1;
  if (!/^\s*[rub]*("""|''')/i.test(lines[first] ?? '')) return undefined;
  let quotes = 0;
  for (let k = first; k < lines.length; k++) {
    quotes += (lines[k].match(/"""|'''/g) ?? []).length;
    if (quotes >= 2) return k;
  }
  return undefined;
}

function sameAst(a: string, b: string): boolean {
  const r = spawnSync(
    'python3',
    [
      '-c',
      'import ast,sys,json; a,b=json.load(sys.stdin); sys.exit(0 if ast.dump(ast.parse(a))==ast.dump(ast.parse(b)) else 1)',
    ],
    { input: JSON.stringify([a, b]) },
  );
  return r.status === 0;
}

function snapshot(dir: string): string {
  return fs
    .readdirSync(dir)
    .sort()
    .map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return `${f}:${st.mtimeMs}:${st.size}:${fs.readFileSync(path.join(dir, f), 'utf8')}`;
    })
    .join('\n');
}

async function main(): Promise<void> {
  const { values } = readArgs({
    cases: { type: 'string', default: '42' },
    all: { type: 'boolean', default: false },
    'max-checks': { type: 'string', default: String(REPAIR_DEFAULTS.maxChecks) },
    'timeout-ms': { type: 'string', default: String(REPAIR_DEFAULTS.timeoutMs) },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results', 'repair-check.json') },
  });
  const cases = await faultCases(
    values.all ? Infinity : asNumber(values.cases, 'cases'),
    asNumber(values.seed, 'seed'),
  );
  const backend = new LocalBackend({
    workerPath: path.join(ROOT, 'dist', 'worker.js'),
    modelDir: path.join(ROOT, 'models', SHIPPED_MODEL),
    threads: 1,
  });
  await backend.start();
  const rows = [];
  for (const [k, c] of cases.entries()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-he-case-'));
    writeProject(dir, c.problem, c.faulty);
    const before = snapshot(dir);
    const report = await repairFile({
      backend,
      root: dir,
      relPath: 'solution.py',
      text: c.faulty,
      language: 'python',
      command: CHECK,
      maxChecks: asNumber(values['max-checks'], 'max-checks'),
      timeoutMs: asNumber(values['timeout-ms'], 'timeout-ms'),
      checkTimeoutMs: REPAIR_DEFAULTS.checkTimeoutMs,
      parallel: 1,
    });
    const written = snapshot(dir) !== before;
    const fixText = report.status === 'fixed' ? report.fix?.text : undefined;
    const refined = await refineFixes(backend, c);
    const row = {
      id: c.problem.id,
      fault: c.fault,
      fixed: fixText !== undefined && (await passes(c.problem, fixText)),
      exact: fixText !== undefined && (fixText === c.problem.solution || sameAst(fixText, c.problem.solution)),
      source: report.status === 'fixed' ? `${report.fix?.source}: ${report.fix?.template}` : null,
      checks: report.status === 'passes' ? 0 : report.checks,
      candidates: report.status === 'passes' ? 0 : report.candidates,
      seconds: report.ms / 1000,
      files_written: written,
      refine_fixed: refined,
    };
    rows.push(row);
    fs.rmSync(dir, { recursive: true, force: true });
    console.error(caseLine(k, cases.length, c.problem.id, row));
  }
  backend.dispose();
  const result = {
    command: `npm run bench:repair-check -- ${values.all ? '--all' : `--cases=${values.cases}`} --max-checks=${values['max-checks']} --timeout-ms=${values['timeout-ms']} --seed=${values.seed}`,
    model: SHIPPED_MODEL,
    backend: 'local',
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ...repairFigures(rows),
    rows,
  };
  fs.writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
  const { rows: _, ...summary } = result;
  console.log(JSON.stringify(summary, null, 2));
}

/** Refine (the corrector at its default strength) over the faulty function, then the same check. */
async function refineFixes(backend: LocalBackend, c: FaultCase): Promise<boolean> {
  const fn = functionRanges(c.faulty, 'python').find((f) => f.name === c.problem.entry);
  if (!fn) return false;
  const lines = c.faulty.split('\n');
  const start = lines.slice(0, fn.first - 1).join('\n').length + (fn.first > 1 ? 1 : 0);
  const end = lines.slice(0, fn.last).join('\n').length;
  const r = await backend.refine({ text: c.faulty, start, end });
  const text = applyEdits(c.faulty, r.edits);
  return text !== c.faulty && passes(c.problem, text);
}

// run as the bench (scripts/run-ts.mjs bundles it to repairCheck.js), not when a script imports faultCases
if (/repairCheck\.js$/.test(process.argv[1] ?? '')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
