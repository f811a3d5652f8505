// Repair checked by tsc, measured: the TypeScript set beside repairCheck.ts's Python one. Its code
// is Diffuse's own pure core (src/core: TypeScript no model here trained on, since the corpus is
// npm and Debian packages), one function per case with one injected fault that `tsc` reports,
// repaired with the shipped model against `tsc --noEmit -p .` in a scratch copy of a project
// holding src/core and a tsconfig that type-checks the one file (and what it imports). A type
// check passing says less than a test passing, so the figure that matters most here is how many
// fixes are exactly the original code (byte-exact, or the same syntax tree printed by TypeScript).
//
//   npm run bench:repair-check-ts [-- --cases=15 --max-checks=40 --timeout-ms=60000 --seed=1 --code=HEAD]
//
// The cases are made of src/core at a commit (--code, default HEAD, read with git, so the working
// tree does not change them); the repair is the working tree's. Writes
// bench/results/repair-check-ts.json. A fault kind that no function's type check notices drops
// out; every case's fault makes tsc fail.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { REPAIR_DEFAULTS, SHIPPED_MODEL } from '../../src/core/defaults';
import { functionRanges } from '../../src/core/repair/functionRanges';
import { SeededRandom } from '../../src/core/sampler/rng';
import { runCommand } from '../../src/repair/projectCheck';
import { repairFile } from '../../src/repair/repairFile';
import { asNumber, readArgs } from '../shared/args';
import { ROOT } from '../shared/cases';
import { caseLine, repairFigures } from '../shared/repairFigures';

export const CHECK = 'node node_modules/typescript/bin/tsc -p .';
/** Faults of one kind tried (one tsc run each) before the kind is given up for the next case. */
const MAX_TRIES = 12;

interface Site {
  /** Path relative to the case project, e.g. src/core/text/textEdit.ts. */
  relPath: string;
  text: string;
  name: string;
  /** 0-based indices of the function's body lines (its header and closing line excluded). */
  body: number[];
}

interface TsFaultCase {
  site: Site;
  fault: string;
  faulty: string;
}

type Injector = (lines: string[], body: number[], rng: SeededRandom) => string[] | undefined;

/** A line with strings, template strings and `//` comments blanked (same length). */
function codeOf(line: string): string {
  return line
    .replace(/(["'`])(?:\\.|(?!\1).)*\1/g, (m) => ' '.repeat(m.length))
    .replace(/\/\/.*$/, (m) => ' '.repeat(m.length));
}

const TS_WORDS = new Set(
  'const let var return if else for while of in new this typeof instanceof null undefined true false function ' +
    'async await break continue switch case default do throw try catch finally void number string boolean any ' +
    'unknown never as type interface extends readonly Math Number String Array Object Map Set JSON Promise Date ' +
    'Infinity NaN'.split(' '),
);

/** One random match of `re` on one random body line, replaced by `f(match)`. */
function onOneMatch(re: RegExp, f: (m: string, names: string[], rng: SeededRandom) => string | undefined): Injector {
  return (lines, body, rng) => {
    const names = [...new Set(body.flatMap((i) => codeOf(lines[i]).match(/\b[a-z_$][\w$]*\b/g) ?? []))].filter(
      (n) => !TS_WORDS.has(n),
    );
    const sites = body.flatMap((i) =>
      [...codeOf(lines[i]).matchAll(re)]
        .filter((m) => m.index === 0 || lines[i][m.index - 1] !== '.') // a property is not a variable
        .map((m) => ({ i, at: m.index, text: m[0] })),
    );
    if (sites.length === 0) return undefined;
    const s = sites[rng.nextInt(sites.length)];
    const out = f(s.text, names, rng);
    if (out === undefined || out === s.text) return undefined;
    const copy = [...lines];
    copy[s.i] = lines[s.i].slice(0, s.at) + out + lines[s.i].slice(s.at + s.text.length);
    return copy;
  };
}

const FAULTS: Record<string, Injector> = {
  'wrong variable': onOneMatch(/\b[a-z_$][\w$]*\b/g, (m, names, rng) => {
    if (TS_WORDS.has(m) || !names.includes(m)) return undefined;
    const others = names.filter((n) => n !== m);
    return others.length ? others[rng.nextInt(others.length)] : undefined;
  }),
  'swapped arguments': onOneMatch(/\(\s*[A-Za-z_$][\w$.]*\s*,\s*[A-Za-z_$][\w$.]*\s*\)/g, (m) => {
    const [a, b] = m
      .slice(1, -1)
      .split(',')
      .map((x) => x.trim());
    return `(${b}, ${a})`;
  }),
  'wrong operator': onOneMatch(
    /===|!==|&&|\|\||\?\?/g,
    (m) => ({ '===': '!==', '!==': '===', '&&': '||', '||': '&&', '??': '||' })[m],
  ),
  'deleted line': (lines, body, rng) => {
    const declarations = body.filter((i) => /^\s*(const|let) [^;]*;\s*$/.test(lines[i]));
    if (declarations.length === 0) return undefined;
    const i = declarations[rng.nextInt(declarations.length)];
    return lines.filter((_, k) => k !== i);
  },
  'duplicated line': (lines, body, rng) => {
    const declarations = body.filter((i) => /^\s*const [^;]*;\s*$/.test(lines[i]));
    if (declarations.length === 0) return undefined;
    const i = declarations[rng.nextInt(declarations.length)];
    return [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)];
  },
};

/** src/core's files at `commit`, path → text: the same cases whatever the working tree holds. */
export function coreAt(commit: string): Map<string, string> {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, maxBuffer: 64 << 20 }).toString();
  const files = git('ls-tree', '-r', '--name-only', commit, 'src/core')
    .split('\n')
    .filter((f) => f.endsWith('.ts'))
    .sort();
  return new Map(files.map((f) => [f, git('show', `${commit}:${f}`)]));
}

/** Every function of the core of at least four body lines, in a seeded order. */
function sites(core: Map<string, string>, rng: SeededRandom): Site[] {
  const out: Site[] = [];
  for (const [relPath, text] of core) {
    const lines = text.split('\n');
    for (const f of functionRanges(text, 'typescript')) {
      const body = lines.map((_, k) => k).filter((k) => k >= f.first && k < f.last - 1 && lines[k].trim() !== '');
      if (body.length >= 4) out.push({ relPath, text, name: f.name, body });
    }
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * A project in `dir`: the core, the case's file as given, node_modules linked (tsc and the core's
 * two type packages), and a tsconfig that checks the one file.
 */
export function writeProject(dir: string, core: Map<string, string>, relPath: string, text: string): void {
  for (const [f, t] of core) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), f === relPath ? text : t);
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const compilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    lib: ['es2022'],
    types: ['node'],
    target: 'es2022',
    module: 'commonjs',
    moduleResolution: 'node',
    esModuleInterop: true,
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [relPath] }, null, 2));
}

async function typeChecks(core: Map<string, string>, relPath: string, text: string): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-ts-'));
  writeProject(dir, core, relPath, text);
  const r = await runCommand(CHECK, dir, 30_000);
  fs.rmSync(dir, { recursive: true, force: true });
  return r.passed;
}

/** One fault per function, the kinds in turn; a kind takes the next function its fault makes tsc refuse. */
export async function faultCases(core: Map<string, string>, count: number, seed: number): Promise<TsFaultCase[]> {
  const rng = new SeededRandom(seed);
  const left = sites(core, rng);
  const kinds = Object.keys(FAULTS);
  const out: TsFaultCase[] = [];
  for (let turn = 0; out.length < count && kinds.length > 0; ) {
    const kind = kinds[turn % kinds.length];
    let made: TsFaultCase | undefined;
    let tries = 0;
    for (const site of left) {
      if (tries >= MAX_TRIES) break; // a kind tsc seldom notices (an operator) is not chased through every function
      const lines = FAULTS[kind](site.text.split('\n'), site.body, rng);
      if (!lines) continue;
      const faulty = lines.join('\n');
      if (faulty === site.text) continue;
      tries++;
      if (await typeChecks(core, site.relPath, faulty)) continue;
      made = { site, fault: kind, faulty };
      break;
    }
    if (!made) {
      kinds.splice(kinds.indexOf(kind), 1);
      continue;
    }
    out.push(made);
    // one case per file: a second fault in the same file would be the same code twice
    for (let k = left.length - 1; k >= 0; k--) if (left[k].relPath === made.site.relPath) left.splice(k, 1);
    turn++;
  }
  return out;
}

/** The same program: TypeScript's printer over both parses (whitespace and comments aside). */
function sameAst(a: string, b: string): boolean {
  const printer = ts.createPrinter({ removeComments: true });
  const print = (t: string) => printer.printFile(ts.createSourceFile('x.ts', t, ts.ScriptTarget.ES2022, false));
  return print(a) === print(b);
}

function snapshot(dir: string, relPath: string): string {
  const st = fs.statSync(path.join(dir, relPath));
  return `${st.mtimeMs}:${st.size}:${fs.readFileSync(path.join(dir, relPath), 'utf8')}`;
}

async function main(): Promise<void> {
  const { values } = readArgs({
    cases: { type: 'string', default: '15' },
    'max-checks': { type: 'string', default: String(REPAIR_DEFAULTS.maxChecks) },
    'timeout-ms': { type: 'string', default: String(REPAIR_DEFAULTS.timeoutMs) },
    seed: { type: 'string', default: '1' },
    /** The commit whose src/core the cases are made of (the repair code is the working tree's). */
    code: { type: 'string', default: 'HEAD' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results', 'repair-check-ts.json') },
  });
  const commit = execFileSync('git', ['rev-parse', '--short', values.code], { cwd: ROOT }).toString().trim();
  const core = coreAt(commit);
  const cases = await faultCases(core, asNumber(values.cases, 'cases'), asNumber(values.seed, 'seed'));
  const backend = new LocalBackend({
    workerPath: path.join(ROOT, 'dist', 'worker.js'),
    modelDir: path.join(ROOT, 'models', SHIPPED_MODEL),
    threads: 1,
  });
  await backend.start();
  const rows = [];
  for (const [k, c] of cases.entries()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-ts-case-'));
    writeProject(dir, core, c.site.relPath, c.faulty);
    const before = snapshot(dir, c.site.relPath);
    const report = await repairFile({
      backend,
      root: dir,
      relPath: c.site.relPath,
      text: c.faulty,
      language: 'typescript',
      command: CHECK,
      maxChecks: asNumber(values['max-checks'], 'max-checks'),
      timeoutMs: asNumber(values['timeout-ms'], 'timeout-ms'),
      checkTimeoutMs: REPAIR_DEFAULTS.checkTimeoutMs,
      parallel: 1,
    });
    const written = snapshot(dir, c.site.relPath) !== before;
    fs.rmSync(dir, { recursive: true, force: true });
    const fixText = report.status === 'fixed' ? report.fix?.text : undefined;
    const row = {
      file: c.site.relPath,
      function: c.site.name,
      fault: c.fault,
      fixed: fixText !== undefined && (await typeChecks(core, c.site.relPath, fixText)),
      exact: fixText !== undefined && (fixText === c.site.text || sameAst(fixText, c.site.text)),
      source: report.status === 'fixed' ? `${report.fix?.source}: ${report.fix?.template}` : null,
      checks: report.status === 'passes' ? 0 : report.checks,
      candidates: report.status === 'passes' ? 0 : report.candidates,
      seconds: report.ms / 1000,
      files_written: written,
    };
    rows.push(row);
    console.error(caseLine(k, cases.length, `${c.site.relPath} ${c.site.name}`, row));
  }
  backend.dispose();
  const result = {
    command: `npm run bench:repair-check-ts -- --cases=${values.cases} --max-checks=${values['max-checks']} --timeout-ms=${values['timeout-ms']} --seed=${values.seed} --code=${commit}`,
    code: `cases from src/core at ${commit}`,
    check: CHECK,
    model: SHIPPED_MODEL,
    backend: 'local',
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    ...repairFigures(rows),
    rows,
  };
  fs.writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  const { rows: _, ...summary } = result;
  console.log(JSON.stringify(summary, null, 2));
}

// run as the bench (scripts/run-ts.mjs bundles it to repairCheckTs.js), not when a script imports faultCases
if (/repairCheckTs\.js$/.test(process.argv[1] ?? '')) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
