// `npm run bench:next-edit`: next edit on held-out code (bench/heldout-sample.jsonl, packages
// the model never saw). From each file, realistic first edits with a follow-up: a local name
// renamed at its declaration or at one of its uses (the other uses must follow), a repeated
// literal changed at one place (its copies must follow), a parameter added to a function (its
// calls below must follow); and the same files with an edit that needs nothing after it (a
// comment line added, a literal used once changed). Figures:
//   cases                     follow-up cases
//   proposed                  share of follow-up cases with a proposal
//   exact_follow_up           share of follow-up cases whose proposal is exactly needed follow-ups
//                             (one or more neighbouring ones, nothing else changed)
//   wrong                     share of all proposals that are not exact follow-ups
//   quiet_when_nothing_needed share of no-follow-up cases with no proposal (goal ≥ 0.95)
// Which argument a call needs after a parameter was added is the user's choice, not the file's:
// a call counts as followed up when it gains exactly one argument, whatever its text.
import fs from 'node:fs';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { LocalBackend } from '../../src/backend/local/localBackend';
import type { Backend } from '../../src/backend/backend';
import { asNumber, readArgs } from '../shared/args';
import { HELDOUT_SAMPLE, ROOT } from '../shared/cases';

interface Replacement {
  start: number;
  end: number;
  text: string;
}

/** An edit that must follow; `argument`: a call gains one argument here, any text (see above). */
export interface FollowUp extends Replacement {
  argument?: 'only' | 'after-others';
}

export interface NextEditCase {
  kind: 'rename-declaration' | 'rename-use' | 'literal' | 'parameter' | 'quiet-comment' | 'quiet-literal';
  path: string;
  before: string;
  after: string;
  cursor: number;
  /** The edits that must follow, in `after` (none for a quiet case). */
  followUps: FollowUp[];
}

/** Lines of a file a case looks at: the edit and its follow-ups lie within this many lines. */
const WINDOW_LINES = 40;
const IDENT = /\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/g;
const NUMBER = /(?<![\w.$])\d{2,}(?![\w.])/g;

function wordsAt(text: string, word: string, from: number, to: number): number[] {
  const re = new RegExp(`(?<![\\w$.])${word.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
  re.lastIndex = from;
  const out: number[] = [];
  for (let m = re.exec(text); m && m.index < to; m = re.exec(text)) out.push(m.index);
  return out;
}

function lineEndAfter(text: string, at: number, lines: number): number {
  let i = at;
  for (let k = 0; k < lines && i >= 0; k++) i = text.indexOf('\n', i + 1);
  return i < 0 ? text.length : i;
}

function replaceAt(text: string, at: number, len: number, by: string): string {
  return text.slice(0, at) + by + text.slice(at + len);
}

/** A new name a user might give: a different word, not another use already in the file. */
function renamed(name: string, text: string): string {
  const cap = name[0].toUpperCase() + name.slice(1);
  for (const n of [`next${cap}`, `${name}Value`, `the${cap}`]) if (!text.includes(n)) return n;
  return `${name}Renamed`;
}

const FUNCTION = /\bfunction\s+([A-Za-z_$][\w$]*)\s*\(([^()\n]*)\)\s*(?::[^{\n]*)?\{/g;
/** One argument: no top-level comma, at most one level of parentheses. */
const ONE_ARGUMENT = '[^,()\\n]+(?:\\([^()\\n]*\\)[^,()\\n]*)*';

/** Where the argument list of the call whose `(` is at `open` closes on its line, or -1. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length && text[i] !== '\n'; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** A function declared with 1–4 calls on single lines below it gains a parameter at its declaration. */
function parameterCase(file: string, text: string): NextEditCase | undefined {
  for (const m of text.matchAll(FUNCTION)) {
    const [, name, params] = m;
    const declEnd = m.index! + m[0].length;
    const calls = wordsAt(text, name, declEnd, lineEndAfter(text, declEnd, WINDOW_LINES))
      .filter(
        (at) => text[at + name.length] === '(' && !/(?:function|new)\s*$/.test(text.slice(Math.max(0, at - 10), at)),
      )
      .map((at) => ({ open: at + name.length, close: closingParen(text, at + name.length) }));
    if (calls.length < 1 || calls.length > 4 || calls.some((c) => c.close < 0)) continue;
    const added = ['extra', 'flags', 'context', 'extraArg'].find((n) => wordsAt(text, n, 0, text.length).length === 0);
    if (!added) continue;
    const closeParams = m.index! + m[0].indexOf('(') + 1 + params.length;
    const insert = params.trim() ? `, ${added}` : added;
    return {
      kind: 'parameter',
      path: file,
      before: text,
      after: text.slice(0, closeParams) + insert + text.slice(closeParams),
      cursor: closeParams + insert.length,
      followUps: calls.map((c) => ({
        start: c.close + insert.length,
        end: c.close + insert.length,
        text: '',
        argument: text.slice(c.open + 1, c.close).trim() ? 'after-others' : 'only',
      })),
    };
  }
  return undefined;
}

/** The cases of one file (at most one of each kind). */
export function casesOf(file: string, text: string): NextEditCase[] {
  const out: NextEditCase[] = [];
  // a declared local with at least two more uses close below
  for (const m of text.matchAll(IDENT)) {
    const name = m[1];
    if (name.length < 2 || !/[a-z]/.test(name)) continue;
    const decl = m.index! + m[0].indexOf(name, m[0].search(/\s/));
    const end = lineEndAfter(text, decl, WINDOW_LINES);
    const uses = wordsAt(text, name, decl + name.length, end);
    const earlier = wordsAt(text, name, Math.max(0, text.lastIndexOf('\n', Math.max(0, decl - 4000))), decl);
    if (uses.length < 2 || uses.length > 6 || earlier.length > 0) continue;
    const to = renamed(name, text);
    const shift = to.length - name.length;
    // at the declaration: every use follows
    const afterDecl = replaceAt(text, decl, name.length, to);
    out.push({
      kind: 'rename-declaration',
      path: file,
      before: text,
      after: afterDecl,
      cursor: decl + to.length,
      followUps: uses.map((u) => ({ start: u + shift, end: u + shift + name.length, text: to })),
    });
    // at the first use: the declaration and the other uses follow
    const first = uses[0];
    const afterUse = replaceAt(text, first, name.length, to);
    out.push({
      kind: 'rename-use',
      path: file,
      before: text,
      after: afterUse,
      cursor: first + to.length,
      followUps: [decl, ...uses.slice(1)].map((u) =>
        u < first
          ? { start: u, end: u + name.length, text: to }
          : { start: u + shift, end: u + shift + name.length, text: to },
      ),
    });
    break;
  }
  // a literal repeated close below, and one used once
  const seen = new Map<string, number[]>();
  for (const m of text.matchAll(NUMBER)) seen.set(m[0], [...(seen.get(m[0]) ?? []), m.index!]);
  let repeated = false;
  let single = false;
  for (const [lit, at] of seen) {
    const to = String(Number(lit) * 2);
    const shift = to.length - lit.length;
    if (!repeated && at.length >= 2 && at.length <= 4 && at[at.length - 1] < lineEndAfter(text, at[0], WINDOW_LINES)) {
      repeated = true;
      out.push({
        kind: 'literal',
        path: file,
        before: text,
        after: replaceAt(text, at[0], lit.length, to),
        cursor: at[0] + to.length,
        followUps: at.slice(1).map((a) => ({ start: a + shift, end: a + shift + lit.length, text: to })),
      });
    } else if (!single && at.length === 1) {
      single = true;
      out.push({
        kind: 'quiet-literal',
        path: file,
        before: text,
        after: replaceAt(text, at[0], lit.length, to),
        cursor: at[0] + to.length,
        followUps: [],
      });
    }
  }
  const param = parameterCase(file, text);
  if (param) out.push(param);
  // a comment line above a statement in the middle of the file
  const lines = text.split('\n');
  const mid = Math.floor(lines.length / 2);
  for (let k = mid; k < lines.length; k++) {
    const l = lines[k];
    if (!/^\s+\S.*;\s*$/.test(l)) continue;
    const indent = /^\s*/.exec(l)![0];
    const at = lines.slice(0, k).join('\n').length + (k > 0 ? 1 : 0);
    const comment = `${indent}// keep this in step with the caller\n`;
    out.push({
      kind: 'quiet-comment',
      path: file,
      before: text,
      after: text.slice(0, at) + comment + text.slice(at),
      cursor: at + comment.length - 1,
      followUps: [],
    });
    break;
  }
  return out;
}

/**
 * Whether replacing `after[p.start, p.end)` by `p.text` applies exactly the follow-ups it touches
 * and nothing else (compared as whole texts: a proposal trimmed to its changed characters may end
 * inside a name it renames). An `argument` follow-up is met by any one argument added there.
 */
export function isExactFollowUp(after: string, p: Replacement, followUps: FollowUp[]): boolean {
  const touched = followUps.filter((f) => f.start <= p.end && p.start <= f.end).sort((a, b) => a.start - b.start);
  if (touched.length === 0) return false;
  const result = after.slice(0, p.start) + p.text + after.slice(p.end);
  const escapeRegExp = (t: string): string => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let expected = '';
  let at = 0;
  for (const f of touched) {
    const added = f.argument === 'only' ? ONE_ARGUMENT : f.argument ? `, ?${ONE_ARGUMENT}` : escapeRegExp(f.text);
    expected += escapeRegExp(after.slice(at, f.start)) + added;
    at = f.end;
  }
  expected += escapeRegExp(after.slice(at));
  return new RegExp(`^${expected}(?![\\s\\S])`).test(result);
}

export async function runNextEdit(d: Backend, cases: NextEditCase[]) {
  let proposed = 0;
  let exact = 0;
  let wrong = 0;
  let quiet = 0;
  let proposals = 0;
  const byKind: Record<string, { cases: number; proposed: number; exact: number }> = {};
  const t0 = Date.now();
  for (const c of cases) {
    const r = await d.nextEdit!({
      before: c.before,
      text: c.after,
      cursor: c.cursor,
      file: { path: c.path, language: 'typescript' },
    });
    const p = r.edits[0];
    const k = (byKind[c.kind] ??= { cases: 0, proposed: 0, exact: 0 });
    k.cases++;
    if (p) {
      proposals++;
      k.proposed++;
    }
    const ok = !!p && isExactFollowUp(c.after, p, c.followUps);
    if (ok) k.exact++;
    if (p && !ok) wrong++;
    if (c.followUps.length > 0) {
      if (p) proposed++;
      if (ok) exact++;
    } else if (!p) quiet++;
  }
  const follow = cases.filter((c) => c.followUps.length > 0).length;
  const none = cases.length - follow;
  const share = (n: number, of: number): number => (of ? Math.round((n / of) * 1000) / 1000 : 0);
  return {
    cases: follow,
    proposed: share(proposed, follow),
    exact_follow_up: share(exact, follow),
    wrong: share(wrong, proposals),
    quiet_when_nothing_needed: share(quiet, none),
    quiet_cases: none,
    ms_per_case: Math.round((Date.now() - t0) / Math.max(1, cases.length)),
    by_kind: byKind,
  };
}

export function heldoutCases(limit = Infinity): NextEditCase[] {
  const rows = fs
    .readFileSync(HELDOUT_SAMPLE, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { package: string; path: string; text: string });
  const out: NextEditCase[] = [];
  for (const r of rows) {
    if (
      !/\.(?:[cm]?js|[cm]?ts)$/.test(r.path) ||
      r.path.endsWith('.d.ts') ||
      r.path.endsWith('.d.mts') ||
      r.path.endsWith('.d.cts')
    )
      continue;
    out.push(...casesOf(`${r.package}/${r.path}`, r.text.replace(/\r\n/g, '\n')));
    if (out.length >= limit) break;
  }
  return out.slice(0, limit);
}

async function main(): Promise<void> {
  const { values: flags } = readArgs({ cases: { type: 'string', default: 'Infinity' } });
  const n = asNumber(flags.cases, 'cases');
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const figures = await runNextEdit(client, heldoutCases(n));
  client.dispose();
  console.log(JSON.stringify({ next_edit: figures }, null, 2));
}

// run as the bundled script (npm run bench:next-edit), not when a test imports the cases
if (/nextEdit\.js$/.test(process.argv[1] ?? ''))
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
