// Where the local next edit looks after the user changed `before` into `after`: the lines around
// the edit, and every other line of the window that holds a token the edit changed (the old name
// of a renamed variable, the function whose parameters changed, a literal that is repeated).
// Those are the lines the corrector re-scores with the edit as context; the edited lines
// themselves are never among them, so the user's edit is held fixed.
import type { CharRange } from '../text/spanText';
import { lineAt, lineStarts } from '../text/textPosition';

/** Where two texts differ: `after[start, afterEnd)` replaced `before[start, beforeEnd)`. */
export interface TextChange {
  start: number;
  beforeEnd: number;
  afterEnd: number;
}

export interface RegionOptions {
  /** Lines above and below the edit that are re-scored whatever they hold. */
  aroundLines?: number;
  /** Only lines this far from the edit (in lines) are looked at. */
  windowLines?: number;
  /** At most this many lines are re-scored (nearest the edit first). */
  maxRegions?: number;
}

export const AROUND_LINES = 2;
export const WINDOW_LINES = 60;
export const MAX_REGIONS = 8;

/** Identifiers and number literals: the tokens a follow-up edit repeats. */
const TOKEN = /[A-Za-z_$][\w$]*|\d[\w.]*/g;

/** Words that occur everywhere and say nothing about what an edit changed. */
const KEYWORDS = new Set([
  'function',
  'return',
  'const',
  'let',
  'var',
  'if',
  'else',
  'for',
  'while',
  'do',
  'switch',
  'case',
  'break',
  'continue',
  'new',
  'this',
  'class',
  'extends',
  'import',
  'export',
  'from',
  'as',
  'default',
  'async',
  'await',
  'yield',
  'typeof',
  'instanceof',
  'in',
  'of',
  'true',
  'false',
  'null',
  'undefined',
  'void',
  'try',
  'catch',
  'finally',
  'throw',
  'def',
  'self',
  'None',
  'True',
  'False',
  'and',
  'or',
  'not',
  'is',
  'elif',
  'pass',
  'with',
  'lambda',
  'global',
  'public',
  'private',
  'protected',
  'static',
  'readonly',
  'type',
  'interface',
  'string',
  'number',
  'boolean',
  'int',
]);

/** The one changed stretch between two texts (common prefix and suffix taken off), or undefined when equal. */
export function textChange(before: string, after: string): TextChange | undefined {
  if (before === after) return undefined;
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before[start] === after[start]) start++;
  let tail = 0;
  while (tail < max - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  return { start, beforeEnd: before.length - tail, afterEnd: after.length - tail };
}

/** The tokens of `text` worth following (no keywords, no one-letter names but numbers). */
export function tokensOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    if (KEYWORDS.has(t)) continue;
    if (t.length < 2 && !/\d/.test(t)) continue;
    out.add(t);
  }
  return out;
}

/** Line `line` of `text`, whole, without its line break. */
function lineRange(text: string, starts: number[], line: number): CharRange {
  const start = starts[line];
  const next = line + 1 < starts.length ? starts[line + 1] - 1 : text.length;
  return { start, end: Math.max(start, next - (text[next - 1] === '\r' ? 1 : 0)) };
}

/** What the edit took away and what it touched, the first before the second. */
export function changedTokens(
  before: string,
  after: string,
  change: TextChange,
): { removed: string[]; touched: string[] } {
  const bStarts = lineStarts(before);
  const aStarts = lineStarts(after);
  const bLines = [lineAt(bStarts, change.start), lineAt(bStarts, Math.max(change.start, change.beforeEnd - 1))];
  const aLines = [lineAt(aStarts, change.start), lineAt(aStarts, Math.max(change.start, change.afterEnd - 1))];
  const beforeText = before.slice(bStarts[bLines[0]], lineRange(before, bStarts, bLines[1]).end);
  const afterText = after.slice(aStarts[aLines[0]], lineRange(after, aStarts, aLines[1]).end);
  const had = tokensOf(beforeText);
  const has = tokensOf(afterText);
  const removed = [...had].filter((t) => !has.has(t));
  const touched = [...has].filter((t) => had.has(t));
  return { removed, touched };
}

/**
 * The lines of `after` the corrector re-scores after `before` → `after`, nearest the edit first:
 * lines holding a token the edit removed (every other use of a renamed name), then the lines
 * around the edit, then lines holding a token of the edited lines (the calls of a function whose
 * signature changed). The edited lines are left out: the edit is context, never rewritten.
 */
export function rescoreRegions(before: string, after: string, o: RegionOptions = {}): CharRange[] {
  const change = textChange(before, after);
  if (!change) return [];
  const around = o.aroundLines ?? AROUND_LINES;
  const window = o.windowLines ?? WINDOW_LINES;
  const max = o.maxRegions ?? MAX_REGIONS;
  const starts = lineStarts(after);
  const first = lineAt(starts, change.start);
  const last = lineAt(starts, Math.max(change.start, change.afterEnd - 1));
  const lo = Math.max(0, first - window);
  const hi = Math.min(starts.length - 1, last + window);
  const { removed, touched } = changedTokens(before, after, change);
  const distance = (line: number): number => (line < first ? first - line : line - last);
  const holding = (tokens: string[]): number[] => {
    if (tokens.length === 0) return [];
    const lines: number[] = [];
    for (let line = lo; line <= hi; line++) {
      if (line >= first && line <= last) continue;
      const r = lineRange(after, starts, line);
      const words = tokensOf(after.slice(r.start, r.end));
      if (tokens.some((t) => words.has(t))) lines.push(line);
    }
    return lines.sort((a, b) => distance(a) - distance(b));
  };
  const near: number[] = [];
  for (let d = 1; d <= around; d++) near.push(first - d, last + d);
  const order = [...holding(removed), ...near.filter((l) => l >= 0 && l < starts.length), ...holding(touched)];
  const seen = new Set<number>();
  const out: CharRange[] = [];
  for (const line of order) {
    if (seen.has(line) || out.length >= max) continue;
    seen.add(line);
    const r = lineRange(after, starts, line);
    if (after.slice(r.start, r.end).trim() !== '') out.push(r);
  }
  return out;
}

/**
 * Whether replacing `after[start, end)` by `text` undoes the user's edit: it brings back a token
 * the edit removed (the old name of a rename), or makes the whole text what it was before.
 */
export function undoesEdit(
  before: string,
  after: string,
  proposal: { start: number; end: number; text: string },
): boolean {
  const next = after.slice(0, proposal.start) + proposal.text + after.slice(proposal.end);
  if (next === before) return true;
  const change = textChange(before, after);
  if (!change) return false;
  const { removed } = changedTokens(before, after, change);
  const was = tokensOf(after.slice(proposal.start, proposal.end));
  const now = tokensOf(proposal.text);
  return removed.some((t) => now.has(t) && !was.has(t));
}

/**
 * Whether a proposal covers every use it is about: when it replaces occurrences of a token the
 * user's edit removed (the old name of a rename, the old value of a changed literal), none of
 * that token may be left within `windowLines` lines of the edit once the proposal is applied.
 * Half a rename leaves code that no longer runs (issue 27: one use of two renamed, then a
 * NameError), so such a proposal is not shown. A proposal about nothing the edit removed passes.
 */
export function coversEveryUse(
  before: string,
  after: string,
  proposal: { start: number; end: number; text: string },
  windowLines = WINDOW_LINES,
): boolean {
  const change = textChange(before, after);
  if (!change) return true;
  const removed = staleTokens(before, after, change);
  if (removed.length === 0) return true;
  const starts = lineStarts(after);
  const first = lineAt(starts, change.start);
  const last = lineAt(starts, Math.max(change.start, change.afterEnd - 1));
  const lo = starts[Math.max(0, first - windowLines)];
  const hi = lineRange(after, starts, Math.min(starts.length - 1, last + windowLines)).end;
  // the edited lines are the user's: what they still hold (the string in `load('fs')`) is not stale
  const edited = { start: starts[first], end: lineRange(after, starts, last).end };
  const p = widened(after, proposal);
  // occurrences in after[from, to) the proposal leaves (it is widened to whole tokens, the stretches are whole lines)
  const left = (from: number, to: number, t: string): number => {
    if (from >= to) return 0;
    const a = Math.max(from, p.start);
    const b = Math.min(to, p.end);
    return countToken(after.slice(from, to), t) - (a < b ? countToken(after.slice(a, b), t) : 0);
  };
  return removed.every((t) => {
    const taken = countToken(p.replaced, t) - countToken(p.text, t);
    if (taken <= 0) return true; // not about this token
    const outside = left(lo, edited.start, t) + left(edited.end, hi, t);
    return outside + countToken(p.text, t) <= 0;
  });
}

/**
 * Whether a proposal only carries the user's edit on: every name, keyword or literal it takes
 * away is one the edit took away (the old name at its other uses, the old value at its copies).
 * A proposal that rewrites anything else (on held-out code: a word of a comment, a type in a
 * JSDoc tag, the tail of a method name) is the model's noise, not a follow-up.
 */
export function followsEdit(
  before: string,
  after: string,
  proposal: { start: number; end: number; text: string },
): boolean {
  const change = textChange(before, after);
  if (!change) return false;
  const allowed = new Set(staleTokens(before, after, change));
  const p = widened(after, proposal);
  const left = new Map<string, number>();
  for (const m of p.text.matchAll(TOKEN)) left.set(m[0], (left.get(m[0]) ?? 0) + 1);
  for (const m of p.replaced.matchAll(TOKEN)) {
    const n = left.get(m[0]) ?? 0;
    if (n > 0) left.set(m[0], n - 1);
    else if (!allowed.has(m[0])) return false;
  }
  return true;
}

/** A proposal widened to whole tokens at both ends (a change trimmed to its characters may end inside a name). */
function widened(
  after: string,
  p: { start: number; end: number; text: string },
): { start: number; end: number; replaced: string; text: string } {
  const word = /[\w$]/;
  let start = p.start;
  let end = p.end;
  while (start > 0 && word.test(after[start - 1])) start--;
  while (end < after.length && word.test(after[end])) end++;
  return {
    start,
    end,
    replaced: after.slice(start, end),
    text: after.slice(start, p.start) + p.text + after.slice(p.end, end),
  };
}

/**
 * The tokens the edit made stale: those it removed from its lines, and the one it replaced even
 * where the line still holds it (`const fs = load('fs')` renamed: the string keeps it).
 */
function staleTokens(before: string, after: string, change: TextChange): string[] {
  const { removed } = changedTokens(before, after, change);
  const replaced = tokenReplacement(before, after)?.from;
  return replaced && !removed.includes(replaced) ? [...removed, replaced] : removed;
}

/** Whole-token occurrences of `token` in `text` (as TOKEN splits it), member names (`x.token`) left out. */
function countToken(text: string, token: string): number {
  let n = 0;
  for (const m of text.matchAll(TOKEN)) if (m[0] === token && !isMember(text, m.index!)) n++;
  return n;
}

/**
 * Whether the token at `at` is a member name (`fs.stat`, `event.options`): another name than a
 * local of the same spelling, so a rename of the local leaves it alone (a spread, `...name`, is a use).
 */
function isMember(text: string, at: number): boolean {
  return text[at - 1] === '.' && text.slice(Math.max(0, at - 3), at) !== '...';
}

/**
 * The stretches a focused correction regenerates (next edit): the doubted runs that touch one
 * of the `within` ranges (all of them when there are none), plus the `forced` ones (the tokens an
 * edit made stale), merged where they overlap or touch, in order.
 */
export function focusedRuns(
  doubted: readonly CharRange[],
  forced: readonly CharRange[] = [],
  within?: readonly CharRange[],
): CharRange[] {
  const inside = (r: CharRange): boolean => !within || within.some((w) => r.start < w.end && w.start < r.end);
  const all = [...doubted.filter(inside), ...forced].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: CharRange[] = [];
  for (const r of all) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/**
 * The user's edit as one token replaced by another (`count` → `total`, `3000` → `5000`), the
 * change widened to whole tokens on both sides, or undefined when it is not that (a parameter
 * added, a line rewritten).
 */
export function tokenReplacement(before: string, after: string): { from: string; to: string } | undefined {
  const change = textChange(before, after);
  if (!change) return undefined;
  const word = /[\w$]/;
  let start = change.start;
  while (start > 0 && word.test(before[start - 1])) start--;
  let bEnd = change.beforeEnd;
  let aEnd = change.afterEnd;
  while (bEnd < before.length && word.test(before[bEnd])) bEnd++;
  while (aEnd < after.length && word.test(after[aEnd])) aEnd++;
  const from = before.slice(start, bEnd);
  const to = after.slice(start, aEnd);
  const whole = (t: string): boolean => new RegExp(`^(?:${TOKEN.source})$`).test(t);
  return whole(from) && whole(to) && from !== to ? { from, to } : undefined;
}

/**
 * The edit carried to the other occurrences, inside `regions` of `after`, of the token it
 * replaced (every other use of a renamed name, every other copy of a changed literal): the
 * substitutions the local next edit offers the model to rate.
 */
export function carriedReplacements(
  before: string,
  after: string,
  regions: readonly CharRange[],
): { start: number; end: number; text: string }[] {
  const r = tokenReplacement(before, after);
  if (!r) return [];
  const out: { start: number; end: number; text: string }[] = [];
  for (const region of regions) {
    for (const m of after.slice(region.start, region.end).matchAll(TOKEN)) {
      const at = region.start + m.index!;
      if (m[0] === r.from && !isMember(after, at)) out.push({ start: at, end: at + m[0].length, text: r.to });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
