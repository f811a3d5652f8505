// The repair loop: inside each region where the failure probably is (whereToLook.ts), the model
// proposes replacements for what it doubts, the classic templates add the small edits people get
// wrong, the model's score of the whole region ranks every candidate, and the check decides in
// rank order. Only a candidate that passes is returned; after the first pass a few more of the
// next-ranked smaller candidates are checked and the smallest passing one is kept (a smaller fix
// is more likely the intended one and easier to review). Budgets are a number of checks and a
// deadline; the model and the check are passed in, so the loop is the same for the local model,
// `diffuse serve`, and a test's fakes.

import { applyEdits, type TextEdit } from '../text/textEdit';
import { classicTemplates } from './classicTemplates';
import type { RepairRegion } from './whereToLook';

/** One token of a scored range: where it is in the text, its log-probability, its slot's best token's probability. */
export interface TokenScore {
  start: number;
  end: number;
  logProb: number;
  bestProb: number;
}

/** What the search needs of a model. */
export interface RepairModel {
  /** Every token of `text[start, end)` scored with all of them visible (one model call). */
  score(text: string, start: number, end: number): Promise<TokenScore[]>;
  /** Up to `n` distinct texts the model writes in place of `text[start, end)`, masked, in at most `maxTokens` tokens. */
  propose?(text: string, start: number, end: number, maxTokens: number, n: number): Promise<string[]>;
}

export interface CheckOutcome {
  passed: boolean;
  /** What the check printed (its tail), for the next failure's cause. */
  output: string;
  ms: number;
  /** The check ran past its time limit and was killed. */
  timedOut?: boolean;
  /** The command's exit status (null when a signal ended it). */
  exitCode?: number | null;
}

export type CandidateSource = 'model' | 'classic';

export interface Candidate {
  edit: TextEdit;
  source: CandidateSource;
  template: string;
  /**
   * How much likelier the model finds the region with this edit than without it, in nats: the
   * change in the region's total log-probability, a token removed counted at the region's mean
   * (so that deleting hard code does not look like an improvement).
   */
  score: number;
}

export type RepairEvent =
  | { kind: 'region'; region: RepairRegion }
  | { kind: 'candidates'; count: number; region: RepairRegion }
  | { kind: 'checking'; candidate: Candidate; text: string }
  | { kind: 'checked'; candidate: Candidate; outcome: CheckOutcome; checks: number };

export interface RepairSearchOptions {
  text: string;
  language: string;
  regions: RepairRegion[];
  model: RepairModel;
  check: (text: string) => Promise<CheckOutcome>;
  maxChecks: number;
  /** Epoch ms by which the search stops (a check under way finishes). */
  deadline: number;
  /** Checks run at once. */
  parallel: number;
  /** Checks after the first pass, looking for a smaller passing candidate. */
  lookFurther?: number;
  signal?: AbortSignal;
  onEvent?: (e: RepairEvent) => void;
  now?: () => number;
}

export interface SourceFigures {
  candidates: number;
  checked: number;
  passed: number;
}

export interface RepairSearchResult {
  fix?: Candidate & { text: string };
  checks: number;
  candidates: number;
  stoppedBy: 'fixed' | 'checks' | 'time' | 'exhausted' | 'cancelled';
  /** The last failing check's output (when nothing passed). */
  lastFailure?: string;
  bySource: Record<CandidateSource, SourceFigures>;
}

/** Model proposals per region: doubted tokens, and whole lines. */
const DOUBTED_TOKENS = 6;
const TOKEN_PROPOSALS = 3;
const DOUBTED_LINES = 2;
const LINE_PROPOSALS = 4;
/** More candidates than this in one region are pre-ordered by line doubt and cut before scoring. */
const MAX_SCORED = 320;
/** The failing output's lines rank a little ahead (nats). */
const POINTED_BONUS = 1;
/**
 * A deleted line ranks this far behind (nats): removing code makes the rest easier to predict and
 * passes weak tests by doing less, so a deletion must win by more than a replacement.
 */
const DELETION_PRIOR = -2;
/** Context the scoring calls read around the region (tokens): the region is what is compared. */
export const SCORE_CONTEXT = { prefixTokens: 64, suffixTokens: 32 };

export async function searchRepair(o: RepairSearchOptions): Promise<RepairSearchResult> {
  const now = o.now ?? Date.now;
  const bySource: Record<CandidateSource, SourceFigures> = {
    model: { candidates: 0, checked: 0, passed: 0 },
    classic: { candidates: 0, checked: 0, passed: 0 },
  };
  const seen = new Set<string>([o.text]);
  const state = { checks: 0, candidates: 0, lastFailure: undefined as string | undefined };
  const outOfBudget = (): RepairSearchResult['stoppedBy'] | undefined => {
    if (o.signal?.aborted) return 'cancelled';
    if (state.checks >= o.maxChecks) return 'checks';
    if (now() >= o.deadline) return 'time';
    return undefined;
  };
  const result = (stoppedBy: RepairSearchResult['stoppedBy'], fix?: RepairSearchResult['fix']): RepairSearchResult => ({
    fix,
    checks: state.checks,
    candidates: state.candidates,
    stoppedBy,
    lastFailure: fix ? undefined : state.lastFailure,
    bySource,
  });

  for (const region of o.regions) {
    const stop = outOfBudget();
    if (stop) return result(stop);
    o.onEvent?.({ kind: 'region', region });
    const ranked = (await rankedCandidates(o, region, seen, now)).filter((c) => {
      const text = applyEdits(o.text, [c.edit]);
      if (seen.has(text)) return false;
      seen.add(text);
      return true;
    });
    for (const c of ranked) bySource[c.source].candidates++;
    state.candidates += ranked.length;
    o.onEvent?.({ kind: 'candidates', count: ranked.length, region });

    let passing: Candidate | undefined;
    let furtherLeft = o.lookFurther ?? 3;
    for (let k = 0; k < ranked.length; ) {
      const stopNow = outOfBudget();
      if (stopNow && !(passing && stopNow !== 'cancelled')) return result(stopNow);
      if (stopNow || (passing && furtherLeft <= 0)) break;
      const room = Math.min(o.parallel, o.maxChecks - state.checks, passing ? furtherLeft : Infinity);
      const batch: Candidate[] = [];
      for (; k < ranked.length && batch.length < room; k++) {
        if (!passing || size(o.text, ranked[k].edit) < size(o.text, passing.edit)) batch.push(ranked[k]);
      }
      if (batch.length === 0) break;
      const outcomes = await Promise.all(
        batch.map((c) => {
          const text = applyEdits(o.text, [c.edit]);
          o.onEvent?.({ kind: 'checking', candidate: c, text });
          return o.check(text);
        }),
      );
      batch.forEach((c, i) => {
        state.checks++;
        if (passing) furtherLeft--;
        bySource[c.source].checked++;
        const outcome = outcomes[i];
        o.onEvent?.({ kind: 'checked', candidate: c, outcome, checks: state.checks });
        if (outcome.passed) {
          bySource[c.source].passed++;
          if (!passing || size(o.text, c.edit) < size(o.text, passing.edit)) passing = c;
        } else state.lastFailure = outcome.output;
      });
    }
    if (passing) return result('fixed', { ...passing, text: applyEdits(o.text, [passing.edit]) });
  }
  return result(outOfBudget() ?? 'exhausted');
}

/** Characters an edit changes, after what it keeps at either end. */
export function size(text: string, e: TextEdit): number {
  const old = text.slice(e.start, e.end);
  let head = 0;
  while (head < old.length && head < e.text.length && old[head] === e.text[head]) head++;
  let tail = 0;
  while (
    tail < old.length - head &&
    tail < e.text.length - head &&
    old[old.length - 1 - tail] === e.text[e.text.length - 1 - tail]
  )
    tail++;
  return Math.max(old.length, e.text.length) - head - tail;
}

function lineOffsets(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

async function rankedCandidates(
  o: RepairSearchOptions,
  region: RepairRegion,
  seen: Set<string>,
  now: () => number,
): Promise<Candidate[]> {
  const starts = lineOffsets(o.text);
  const start = starts[region.first - 1] ?? o.text.length;
  const end = region.last < starts.length ? starts[region.last] : o.text.length;
  const lineOf = (offset: number) => {
    let line = 0;
    while (line < starts.length && starts[line] <= offset) line++;
    return line;
  };
  // a function's header (its name and signature) is not where a failing test's bug is
  const editFirst = region.header && region.last > region.first ? region.first + 1 : region.first;
  const editStart = starts[editFirst - 1] ?? start;
  const original = await o.model.score(o.text, start, end);
  const originalSum = original.reduce((s, t) => s + t.logProb, 0);
  const originalMean = original.length ? originalSum / original.length : 0;
  const doubt = (t: TokenScore) => Math.log(Math.max(t.bestProb, 1e-12)) - t.logProb;
  const lineDoubt = new Map<number, number>();
  for (const t of original) lineDoubt.set(lineOf(t.start), Math.max(lineDoubt.get(lineOf(t.start)) ?? 0, doubt(t)));

  const raw: Omit<Candidate, 'score'>[] = [];
  const editable = original.filter((t) => t.start >= editStart);
  if (o.model.propose) raw.push(...(await modelProposals(o, region, editFirst, editable, doubt, starts, lineDoubt)));
  for (const t of classicTemplates(o.text, o.language, editFirst, region.last)) {
    raw.push({ edit: t.edit, source: 'classic', template: t.template });
  }
  const priority = (c: Omit<Candidate, 'score'>) =>
    (region.pointed.includes(lineOf(c.edit.start)) ? 100 : 0) + (lineDoubt.get(lineOf(c.edit.start)) ?? 0);
  const fresh = raw.filter((c) => !seen.has(applyEdits(o.text, [c.edit])));
  const kept =
    fresh.length > MAX_SCORED ? [...fresh].sort((a, b) => priority(b) - priority(a)).slice(0, MAX_SCORED) : fresh;

  const scored: Candidate[] = [];
  for (const c of kept) {
    if (o.signal?.aborted || now() >= o.deadline) break;
    const text = applyEdits(o.text, [c.edit]);
    const delta = c.edit.text.length - (c.edit.end - c.edit.start);
    const tokens = await o.model.score(text, start, end + delta);
    const sum = tokens.reduce((s, t) => s + t.logProb, 0) + (original.length - tokens.length) * originalMean;
    scored.push({
      ...c,
      score:
        sum -
        originalSum +
        (region.pointed.includes(lineOf(c.edit.start)) ? POINTED_BONUS : 0) +
        (c.template === 'line deleted' ? DELETION_PRIOR : 0),
    });
  }
  return scored.sort((a, b) => b.score - a.score);
}

async function modelProposals(
  o: RepairSearchOptions,
  region: RepairRegion,
  editFirst: number,
  original: TokenScore[],
  doubt: (t: TokenScore) => number,
  starts: number[],
  lineDoubt: Map<number, number>,
): Promise<Omit<Candidate, 'score'>[]> {
  const propose = o.model.propose!;
  const out: Omit<Candidate, 'score'>[] = [];
  const tokens = original.filter((t) => o.text.slice(t.start, t.end).trim() !== '');
  for (const t of [...tokens].sort((a, b) => doubt(b) - doubt(a)).slice(0, DOUBTED_TOKENS)) {
    // the token without the whitespace before it, so that the model writes only the token
    const lead = /^\s*/.exec(o.text.slice(t.start, t.end))![0].length;
    for (const text of await propose(o.text, t.start + lead, t.end, 2, TOKEN_PROPOSALS)) {
      if (!/^\S+$/.test(text)) continue; // a token's place holds one word or operator
      out.push({ edit: { start: t.start + lead, end: t.end, text }, source: 'model', template: 'doubted token' });
    }
  }
  const lines = [
    ...region.pointed,
    ...[...lineDoubt.entries()].sort((a, b) => b[1] - a[1]).map(([line]) => line),
  ].filter((l, i, all) => all.indexOf(l) === i && l >= editFirst && l <= region.last);
  for (const line of lines.slice(0, region.pointed.length + DOUBTED_LINES)) {
    const lineStart = starts[line - 1];
    const lineEnd = line < starts.length ? starts[line] - 1 : o.text.length;
    const body = o.text.slice(lineStart, lineEnd);
    const indent = /^\s*/.exec(body)![0].length;
    if (body.trim() === '') continue;
    const slots = Math.min(48, Math.ceil((body.length - indent) / 2) + 4);
    for (const text of await propose(o.text, lineStart + indent, lineEnd, slots, LINE_PROPOSALS)) {
      if (text.trim() === '' || text.includes('\n')) continue; // a one-line template writes one line
      out.push({ edit: { start: lineStart + indent, end: lineEnd, text }, source: 'model', template: 'line' });
    }
  }
  return out;
}
