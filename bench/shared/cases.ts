// Benchmark cases drawn from held-out code (bench/heldout-sample.jsonl: files of packages the
// model never trained on), from a seeded generator so every run sees the same cases.
import fs from 'node:fs';
import path from 'node:path';
import { normalise, similarity } from '../../training/similarity.mjs';

export { normalise, similarity };

/** The repository: the nearest folder above this code's bundle (out/run/, out/test/) with a package.json. */
export const ROOT = repositoryAbove(__dirname);

function repositoryAbove(dir: string): string {
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = path.dirname(dir);
  }
  return dir;
}

interface Doc {
  package: string;
  path: string;
  text: string;
}
export const HELDOUT_SAMPLE = path.join(ROOT, 'bench', 'heldout-sample.jsonl');

export class CaseSource {
  private readonly docs: Doc[];

  /** `file`: JSON lines of {package, path, text}, e.g. training/work/corpus/heldout.jsonl. */
  constructor(
    private seed = 12345,
    file = HELDOUT_SAMPLE,
  ) {
    this.docs = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((d: Doc) => d.text.split('\n').length >= 20);
  }

  private rand(): number {
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    return this.seed / 4294967296;
  }

  private doc(): Doc {
    return this.docs[Math.floor(this.rand() * this.docs.length)];
  }

  /** A cursor after some code on a line, as when typing (the ghost-text case). */
  ghost(): { prefix: string; suffix: string } {
    for (;;) {
      const d = this.doc();
      const lines = d.text.split('\n');
      const i = 5 + Math.floor(this.rand() * (lines.length - 10));
      const line = lines[i];
      if (line.trim().length < 8) continue;
      const indent = line.length - line.trimStart().length;
      const col = indent + 1 + Math.floor(this.rand() * (line.length - indent - 1));
      const before = lines.slice(0, i).join('\n').length + 1;
      return { prefix: d.text.slice(0, before + col), suffix: d.text.slice(before + line.length) };
    }
  }

  /** A run of whole lines of about `chars` characters starting at a line start. */
  lines(chars: number): { text: string; start: number; end: number } {
    for (;;) {
      const d = this.doc();
      const lines = d.text.split('\n');
      const i = 5 + Math.floor(this.rand() * (lines.length - 15));
      const start = lines.slice(0, i).join('\n').length + 1;
      let end = start;
      let k = i;
      while (end - start < chars && k < lines.length) end += lines[k++].length + 1;
      if (end - start < chars / 2 || end > d.text.length) continue;
      return { text: d.text, start, end };
    }
  }

  /** A whole line (4 to 120 characters of code) to infill, with the text around it. */
  lineInfill(): { prefix: string; suffix: string; want: string } {
    for (;;) {
      const r = this.lines(1);
      const line = r.text.slice(r.start, r.end - 1);
      if (line.trim().length < 4 || line.length > 120) continue;
      return { prefix: r.text.slice(0, r.start), suffix: r.text.slice(r.end - 1), want: line };
    }
  }
}

/** Totals over a run of line infills (ms is wall time around each request). */
export interface InfillRun {
  ms: number;
  chars: number;
  exact: number;
  similarity: number;
  calls: number;
  texts: string[];
}

/**
 * Decodes every infill with `complete` (the worker's client or an in-process engine) and scores
 * what came back against the held-out line.
 */
export async function runInfills(
  infills: { prefix: string; suffix: string; want: string }[],
  complete: (c: { prefix: string; suffix: string }, i: number) => Promise<{ edits: { text: string }[]; steps: number }>,
): Promise<InfillRun> {
  const run: InfillRun = { ms: 0, chars: 0, exact: 0, similarity: 0, calls: 0, texts: [] };
  for (const [i, c] of infills.entries()) {
    const t = performance.now();
    const r = await complete(c, i);
    run.ms += performance.now() - t;
    const got = r.edits[0].text;
    run.texts.push(got);
    run.chars += got.length;
    run.calls += r.steps;
    if (normalise(got) === normalise(c.want)) run.exact++;
    run.similarity += similarity(got, c.want);
  }
  return run;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
