// Refine as a corrector, measured: three-line regions of held-out code, each once with one
// realistic fault injected and once clean, refined at the default strength. Counts how often
// clean code comes back unchanged, a fault is repaired exactly, and lines without a fault change.
// Part of `npm run bench`; alone: `npm run bench:repair [-- --cases=100 --strength=S --dump]`.
import fs from 'node:fs';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { SeededRandom } from '../../src/core/sampler/rng';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { asNumber, readArgs } from '../shared/args';
import { HELDOUT_SAMPLE, ROOT } from '../shared/cases';

export interface RepairCase {
  /** The file's text with the region as it is given to Refine (the fault injected or not). */
  text: string;
  start: number;
  end: number;
  /** The region without the fault. */
  clean: string;
  /** Which line of the region has the fault (-1: a clean case). */
  faultLine: number;
  fault: string;
}

const REGION_LINES = 3;

type Fault = { name: string; apply: (line: string, rng: SeededRandom) => string | undefined };

/** A random match of `re` in `line`, replaced by `f(match)`; undefined when there is none. */
function replaceOne(line: string, re: RegExp, rng: SeededRandom, f: (m: string) => string): string | undefined {
  const ms = [...line.matchAll(re)];
  if (ms.length === 0) return undefined;
  const m = ms[rng.nextInt(ms.length)];
  const out = f(m[0]);
  return out === m[0] ? undefined : line.slice(0, m.index) + out + line.slice(m.index! + m[0].length);
}

const OPERATORS: Record<string, string> = {
  '===': '!==',
  '!==': '===',
  '<=': '>=',
  '>=': '<=',
  '&&': '||',
  '||': '&&',
  '+': '-',
  '-': '+',
};
const KEYWORDS: Record<string, string> = {
  return: 'retrun',
  const: 'cosnt',
  function: 'fucntion',
  if: 'fi',
  else: 'esle',
  new: 'nwe',
  this: 'tihs',
};

export const FAULTS: Fault[] = [
  {
    name: 'swapped letters',
    apply: (l, rng) =>
      replaceOne(l, /\b[A-Za-z_]{4,}\b/g, rng, (w) => {
        const i = 1 + rng.nextInt(w.length - 2);
        return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      }),
  },
  {
    name: 'dropped letter',
    apply: (l, rng) =>
      replaceOne(l, /\b[A-Za-z_]{4,}\b/g, rng, (w) => {
        const i = 1 + rng.nextInt(w.length - 2);
        return w.slice(0, i) + w.slice(i + 1);
      }),
  },
  {
    name: 'wrong operator',
    apply: (l, rng) => replaceOne(l, / (===|!==|<=|>=|&&|\|\||\+|-) /g, rng, (m) => ` ${OPERATORS[m.trim()]} `),
  },
  { name: 'missing )', apply: (l, rng) => replaceOne(l, /\)/g, rng, () => '') },
  { name: 'missing ;', apply: (l, rng) => replaceOne(l, /;$/g, rng, () => '') },
  { name: 'missing ,', apply: (l, rng) => replaceOne(l, /,(?=\s)/g, rng, () => '') },
  {
    name: 'wrong keyword',
    apply: (l, rng) => replaceOne(l, /\b(return|const|function|if|else|new|this)\b/g, rng, (k) => KEYWORDS[k]),
  },
];

/** `n` faulty cases and their `n` clean twins, from held-out files (seeded). */
export function repairCases(n: number, seed = 777, file = HELDOUT_SAMPLE): RepairCase[] {
  const rng = new SeededRandom(seed);
  const docs = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).text as string)
    .filter((t) => t.split('\n').length >= 20 && !t.includes('\r'));
  const out: RepairCase[] = [];
  for (let tries = 0; out.length < 2 * n && tries < n * 500; tries++) {
    const text = docs[rng.nextInt(docs.length)];
    const lines = text.split('\n');
    const i = 3 + rng.nextInt(lines.length - REGION_LINES - 6);
    const region = lines.slice(i, i + REGION_LINES);
    if (region.some((l) => l.trim().length < 3 || l.length > 120 || /^\s*(\/\/|\*|\/\*|#)/.test(l))) continue;
    const fault = FAULTS[(out.length / 2) % FAULTS.length];
    const k = rng.nextInt(REGION_LINES);
    const broken = fault.apply(region[k], rng);
    if (broken === undefined) continue;
    const start = lines.slice(0, i).join('\n').length + 1;
    const clean = region.join('\n');
    const faulty = region.map((l, j) => (j === k ? broken : l)).join('\n');
    const end = start + clean.length;
    out.push({
      text: text.slice(0, start) + faulty + text.slice(end),
      start,
      end: start + faulty.length,
      clean,
      faultLine: k,
      fault: fault.name,
    });
    out.push({ text, start, end, clean, faultLine: -1, fault: 'none' });
  }
  return out;
}

export interface RepairOutcome {
  case: RepairCase;
  proposal: string;
}

/** The figures: shares of clean regions unchanged, faults repaired exactly, cases damaged. */
export function repairFigures(outcomes: RepairOutcome[]) {
  const faulty = outcomes.filter((o) => o.case.faultLine >= 0);
  const clean = outcomes.filter((o) => o.case.faultLine < 0);
  const damaged = (o: RepairOutcome): boolean => {
    const want = o.case.clean.split('\n');
    const got = o.proposal.split('\n');
    if (got.length !== want.length) return true;
    return want.some((l, j) => j !== o.case.faultLine && got[j] !== l);
  };
  const share = (k: number, of: number): number => Math.round((1000 * k) / Math.max(1, of)) / 1000;
  const byFault: Record<string, { cases: number; repaired: number }> = {};
  for (const o of faulty) {
    const f = (byFault[o.case.fault] ??= { cases: 0, repaired: 0 });
    f.cases++;
    if (o.proposal === o.case.clean) f.repaired++;
  }
  return {
    cases: outcomes.length,
    clean_unchanged: share(clean.filter((o) => o.proposal === o.case.clean).length, clean.length),
    repaired_exact: share(faulty.filter((o) => o.proposal === o.case.clean).length, faulty.length),
    damaged: share(outcomes.filter(damaged).length, outcomes.length),
    faulty_unchanged: share(
      faulty.filter((o) => o.proposal === o.case.text.slice(o.case.start, o.case.end)).length,
      faulty.length,
    ),
    by_fault: byFault,
  };
}

/** Refine at `strength` (the default when undefined) on every case, through the real worker. */
export async function runRefineRepair(client: LocalBackend, n: number, strength?: number) {
  const outcomes: RepairOutcome[] = [];
  for (const c of repairCases(n)) {
    const r = await client.refine({ text: c.text, start: c.start, end: c.end, strength });
    const e = r.edits[0];
    outcomes.push({ case: c, proposal: c.text.slice(c.start, e.start) + e.text + c.text.slice(e.end, c.end) });
  }
  return { figures: repairFigures(outcomes), outcomes };
}

async function main(): Promise<void> {
  const { values: flags } = readArgs({
    cases: { type: 'string', default: '100' },
    strength: { type: 'string' },
    dump: { type: 'boolean', default: false },
  });
  const n = asNumber(flags.cases, 'cases');
  const strength = flags.strength === undefined ? undefined : asNumber(flags.strength, 'strength');
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const { figures, outcomes } = await runRefineRepair(client, n, strength);
  client.dispose();
  if (flags.dump) {
    for (const o of outcomes) {
      const given = o.case.text.slice(o.case.start, o.case.end);
      if (o.proposal !== given)
        console.log(JSON.stringify({ fault: o.case.fault, given, proposal: o.proposal, clean: o.case.clean }));
    }
  }
  console.log(JSON.stringify(figures, null, 2));
}

// run as the bundled script (npm run bench:repair), not when npm run bench imports the cases
if (/refineRepair\.js$/.test(process.argv[1] ?? ''))
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
