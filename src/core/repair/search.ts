// The repair loop: inside each region where the failure probably is (whereToLook.ts), the model
// proposes replacements for what it doubts, the classic templates add the small edits people get
// wrong, the model's score of the whole region ranks every candidate, and the check decides in
// rank order. Only a candidate that passes is returned; after the first pass a few more of the
// next-ranked smaller candidates are checked and the smallest passing one is kept (a smaller fix
// is more likely the intended one and easier to review). Budgets are a number of checks and a
// deadline; the model and the check are passed in, so the loop is the same for the local model,
// `diffuse serve`, and a test's fakes.

import { textChange } from '../nextEdit/nextEditRegions';
import { applyEdits, type TextEdit } from '../text/textEdit';
import { lineAt, lineStarts } from '../text/textPosition';
import { classicTemplates, commentSpans, missingNameTemplates } from './classicTemplates';
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
  /**
   * The likeliest tokens at each slot of `text[start, end)` masked (one call); their texts include
   * `heal` before the range and `tail` after it.
   */
  alternatives?(text: string, start: number, end: number, candidates?: string[]): Promise<MaskedAlternatives>;
}

export interface MaskedAlternatives {
  heal: string;
  tail: string;
  slots: { text: string; logProb: number }[][];
  /** Per asked candidate, its log-probability in the masked slots (null: it does not fit them). */
  candidates?: (number | null)[];
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

export type CandidateSource = 'model' | 'classic' | 'chat';

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
  | { kind: 'candidates'; count: number; region: RepairRegion; ranked: Candidate[] }
  | { kind: 'checking'; candidate: Candidate; text: string }
  | { kind: 'checked'; candidate: Candidate; outcome: CheckOutcome; checks: number };

export interface RepairSearchOptions {
  text: string;
  language: string;
  regions: RepairRegion[];
  model: RepairModel;
  check: (text: string) => Promise<CheckOutcome>;
  /** The failing check's output on `text` (some templates read it: a name it says is undefined). */
  failure?: string;
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
const INSERT_PROPOSALS = 3;
/** More candidates than this in one region are pre-ordered by line doubt and cut before scoring. */
const MAX_SCORED = 320;
/** The failing output's lines rank a little ahead (nats). */
const POINTED_BONUS = 1;
/**
 * A deleted line ranks this far behind (nats): removing code makes the rest easier to predict and
 * passes weak tests by doing less, so a deletion must win by more than a replacement.
 */
const DELETION_PRIOR = -2;
/** Lines on either side of an edit that its score reads. */
const WINDOW_LINES = 2;
/** The share of the time left that scoring candidates may take (the rest is for checks). */
const SCORING_SHARE = 0.5;
/** A statement written twice in a row, deleted (classicTemplates.ts): checked first, as small as one character. */
const isRepeatDeletion = (c: { template: string }) => c.template === 'repeated line deleted';
/** The model's whole-line proposals take at most every this-many-th place in the check order. */
const LINE_TURN = 3;
const LINE_TEMPLATES = new Set(['line', 'line inserted']);
/** Context the scoring calls read around the region (tokens): the region is what is compared. */
export const SCORE_CONTEXT = { prefixTokens: 64, suffixTokens: 32 };

export async function searchRepair(o: RepairSearchOptions): Promise<RepairSearchResult> {
  const now = o.now ?? Date.now;
  const bySource: Record<CandidateSource, SourceFigures> = {
    model: { candidates: 0, checked: 0, passed: 0 },
    classic: { candidates: 0, checked: 0, passed: 0 },
    chat: { candidates: 0, checked: 0, passed: 0 },
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
    o.onEvent?.({ kind: 'candidates', count: ranked.length, region, ranked });

    let passing: Candidate | undefined;
    let furtherLeft = o.lookFurther ?? 3;
    for (let k = 0; k < ranked.length; ) {
      const stopNow = outOfBudget();
      if (stopNow && !(passing && stopNow !== 'cancelled')) return result(stopNow);
      if (stopNow || (passing && furtherLeft <= 0)) break;
      const room = Math.min(o.parallel, o.maxChecks - state.checks, passing ? furtherLeft : Infinity);
      const batch: Candidate[] = [];
      for (; k < ranked.length && batch.length < room; k++) {
        if (!passing || candidateSize(o.text, ranked[k]) < candidateSize(o.text, passing)) batch.push(ranked[k]);
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
          if (!passing || candidateSize(o.text, c) < candidateSize(o.text, passing)) passing = c;
        } else state.lastFailure = outcome.output;
      });
    }
    if (passing) return result('fixed', { ...passing, text: applyEdits(o.text, [passing.edit]) });
  }
  return result(outOfBudget() ?? 'exhausted');
}

/**
 * How big a fix reads: the characters it changes, except that a repeated line taken out counts as
 * one, the size of the slip it undoes (else any one-character edit elsewhere would win over it).
 */
function candidateSize(text: string, c: Candidate): number {
  return isRepeatDeletion(c) ? 1 : size(text, c.edit);
}

/** Characters an edit changes, after what it keeps at either end. */
export function size(text: string, e: TextEdit): number {
  const c = textChange(text.slice(e.start, e.end), e.text);
  return c ? Math.max(c.beforeEnd, c.afterEnd) - c.start : 0;
}

async function rankedCandidates(
  o: RepairSearchOptions,
  region: RepairRegion,
  seen: Set<string>,
  now: () => number,
): Promise<Candidate[]> {
  const starts = lineStarts(o.text);
  const offsetOf = (line: number) => (line <= starts.length ? starts[line - 1] : o.text.length);
  const lineOf = (offset: number) => lineAt(starts, offset) + 1;
  // a function's header (its name and signature) and its docstring are not where a failing
  // test's bug is
  let editFirst = region.header && region.last > region.first ? region.first + 1 : region.first;
  if (region.header) editFirst = afterDocstring(o.text, starts, editFirst, region.last);
  const editStart = offsetOf(editFirst);
  const editEnd = offsetOf(region.last + 1);
  const original = await o.model.score(o.text, editStart, editEnd);
  const doubt = (t: TokenScore) => Math.log(Math.max(t.bestProb, 1e-12)) - t.logProb;
  const lineDoubt = new Map<number, number>();
  for (const t of original) lineDoubt.set(lineOf(t.start), Math.max(lineDoubt.get(lineOf(t.start)) ?? 0, doubt(t)));

  const raw: Omit<Candidate, 'score'>[] = [];
  if (o.model.propose) raw.push(...(await modelProposals(o, region, editFirst, original, doubt, starts, lineDoubt)));
  const templates = [
    ...missingNameTemplates(o.text, o.language, editFirst, o.failure ?? ''),
    ...classicTemplates(o.text, o.language, editFirst, region.last, region.first),
  ];
  for (const t of templates) raw.push({ edit: t.edit, source: 'classic', template: t.template });
  const priority = (c: Omit<Candidate, 'score'>) =>
    (region.pointed.includes(lineOf(c.edit.start)) ? 100 : 0) +
    (isRepeatDeletion(c) ? 50 : 0) +
    (lineDoubt.get(lineOf(c.edit.start)) ?? 0);
  const fresh = raw
    .filter((c) => !seen.has(applyEdits(o.text, [c.edit])))
    .sort((a, b) => priority(b) - priority(a))
    .slice(0, MAX_SCORED);

  // Each candidate is scored on a window of lines around its edit, against the original's score
  // of the same window: the edit changes what is near it, and a short window is a cheap call.
  const windowOf = (c: Omit<Candidate, 'score'>) => {
    const first = Math.max(editFirst, lineOf(c.edit.start) - WINDOW_LINES);
    const last = Math.min(region.last, lineOf(Math.max(c.edit.start, c.edit.end - 1)) + WINDOW_LINES);
    return { start: offsetOf(first), end: offsetOf(last + 1) };
  };
  const originalWindows = new Map<string, { sum: number; mean: number; count: number }>();
  const scoreWindow = async (text: string, start: number, end: number) => {
    const tokens = await o.model.score(text, start, end);
    const sum = tokens.reduce((s, t) => s + t.logProb, 0);
    return { sum, count: tokens.length, mean: tokens.length ? sum / tokens.length : 0 };
  };
  // scoring may take this share of the time left; what is not scored by then is checked after
  const scoringEnds = now() + SCORING_SHARE * (o.deadline - now());
  const maskedScores = await maskedSiteScores(o, original, fresh, () => o.signal?.aborted || now() >= scoringEnds);
  const scored: Candidate[] = [];
  const unscored: Candidate[] = [];
  for (const c of fresh) {
    if (o.signal?.aborted || now() >= scoringEnds) {
      unscored.push({ ...c, score: -Infinity });
      continue;
    }
    const masked = maskedScores.get(c);
    if (masked !== undefined) {
      scored.push({ ...c, score: masked + (region.pointed.includes(lineOf(c.edit.start)) ? POINTED_BONUS : 0) });
      continue;
    }
    const w = windowOf(c);
    const key = `${w.start}:${w.end}`;
    let before = originalWindows.get(key);
    if (!before) {
      before = await scoreWindow(o.text, w.start, w.end);
      originalWindows.set(key, before);
    }
    const delta = c.edit.text.length - (c.edit.end - c.edit.start);
    const after = await scoreWindow(applyEdits(o.text, [c.edit]), w.start, w.end + delta);
    // a token removed counts at the window's mean, so that deleting hard code is no improvement
    const sum = after.sum + (before.count - after.count) * before.mean;
    scored.push({
      ...c,
      score:
        sum -
        before.sum +
        (region.pointed.includes(lineOf(c.edit.start)) ? POINTED_BONUS : 0) +
        (c.template === 'line deleted' ? DELETION_PRIOR : 0),
    });
  }
  // A statement written twice in a row is checked first, whatever the scores: correct code rarely
  // says the same thing twice, one check settles it, and a compensating edit elsewhere that also
  // passes is the wrong fix (5 of 6 duplicated-line fixes were such edits before repeats counted;
  // with a 3-nat prior instead of first place, 1 of 6 Python and 1 of 3 TypeScript still were).
  const ranked = scored.sort((a, b) => b.score - a.score);
  return [
    ...ranked.filter(isRepeatDeletion),
    ...takingTurns(
      ranked.filter((c) => !isRepeatDeletion(c)),
      (c) => c.source === 'model' && LINE_TEMPLATES.has(c.template),
    ),
    ...unscored,
  ];
}

/**
 * The ranked list with the candidates `isLine` picks given every LINE_TURN-th place at most, each
 * kind in its own order. A whole line the model rewrites is scored over all its masked slots, and
 * the small model rates a short, plain line far above a hard one whatever is right (on tsc's line,
 * rewrites scored 120 to 250 nats, one-token fixes under 65): on one scale they took the first
 * checks of every TypeScript case, and none of the 28 Python fixes was one.
 */
function takingTurns(ranked: Candidate[], isLine: (c: Candidate) => boolean): Candidate[] {
  const lines = ranked.filter(isLine);
  const others = ranked.filter((c) => !isLine(c));
  const out: Candidate[] = [];
  while (lines.length > 0 || others.length > 0) {
    const lineTurn = (out.length + 1) % LINE_TURN === 0;
    const next = (lineTurn && lines.length > 0) || others.length === 0 ? lines.shift() : others.shift();
    out.push(next!);
  }
  return out;
}

/**
 * Candidates that replace whole tokens, ranked the way a masked model reads a fill: the site's
 * tokens masked, the candidate's log-probability in those slots against the original's (one
 * call per site, every candidate of the site in it). No copy of the original to lean on, which
 * is what makes a visible-token score favour the code as written.
 */
async function maskedSiteScores(
  o: RepairSearchOptions,
  tokens: TokenScore[],
  candidates: Omit<Candidate, 'score'>[],
  stop: () => boolean | undefined,
): Promise<Map<Omit<Candidate, 'score'>, number>> {
  const out = new Map<Omit<Candidate, 'score'>, number>();
  if (!o.model.alternatives) return out;
  const starts = new Set(
    tokens.flatMap((t) => [t.start, t.start + /^\s*/.exec(o.text.slice(t.start, t.end))![0].length]),
  );
  const ends = new Set(tokens.map((t) => t.end));
  const bySite = new Map<string, Omit<Candidate, 'score'>[]>();
  for (const c of candidates) {
    if (c.edit.end <= c.edit.start || !starts.has(c.edit.start) || !ends.has(c.edit.end)) continue;
    const key = `${c.edit.start}:${c.edit.end}`;
    bySite.set(key, [...(bySite.get(key) ?? []), c]);
  }
  for (const cs of bySite.values()) {
    if (stop()) break;
    const { start, end } = cs[0].edit;
    const m = await o.model.alternatives(o.text, start, end, [o.text.slice(start, end), ...cs.map((c) => c.edit.text)]);
    const was = m.candidates?.[0];
    if (was === null || was === undefined) continue;
    cs.forEach((c, i) => {
      const lp = m.candidates![i + 1];
      if (lp !== null) out.set(c, lp - was);
    });
  }
  return out;
}

/**
 * The model's own ranked alternatives at a one-token site, masked (one call): the texts that would
 * replace the site, likeliest first; none when the site is more than one token.
 */
async function maskedTexts(
  o: RepairSearchOptions,
  site: { start: number; end: number },
): Promise<string[] | undefined> {
  if (!o.model.alternatives) return undefined;
  const m = await o.model.alternatives(o.text, site.start, site.end);
  if (m.slots.length !== 1 || m.slots[0].length === 0) return undefined;
  const texts = m.slots[0]
    .filter((a) => a.text.startsWith(m.heal) && a.text.endsWith(m.tail))
    .map((a) => a.text.slice(m.heal.length, a.text.length - m.tail.length));
  return [...new Set(texts)];
}

/** The first line at or after `first` that is not the docstring opening the body (Python). */
function afterDocstring(text: string, starts: number[], first: number, last: number): number {
  const line = (n: number) => text.slice(starts[n - 1], n < starts.length ? starts[n] : text.length);
  let n = first;
  while (n <= last && line(n).trim() === '') n++;
  const open = /^\s*[rRbBuU]{0,2}("""|''')/.exec(line(n));
  if (!open) return first;
  let quotes = 0;
  for (let k = n; k <= last; k++) {
    quotes += line(k).split(open[1]).length - 1;
    if (quotes >= 2) return k + 1 <= last ? k + 1 : first;
  }
  return first;
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
  // comments are not where a check's failure is, and the model's doubt is highest in them (prose
  // is hard to predict): a comment line rewritten scored 165 nats above a one-token fix in tsc's
  // line, and took the first checks
  const comments = commentSpans(o.text, o.language);
  const inComment = (at: number) => comments.some(([s, e]) => at >= s && at < e);
  const isComment = (x: string) => (o.language === 'python' ? /^\s*#/ : /^\s*(\/\/|\/\*)/).test(x);
  const tokens = original.filter((t) => {
    const written = o.text.slice(t.start, t.end);
    return written.trim() !== '' && !inComment(t.start + /^\s*/.exec(written)![0].length);
  });
  // a name the file does not hold is a piece of a longer word, not a fix
  const words = new Set(o.text.match(/[A-Za-z_$][\w$]*/g) ?? []);
  const whole = (x: string) => /^\S+$/.test(x) && (!/^[A-Za-z_$]/.test(x) || words.has(x));
  for (const t of [...tokens].sort((a, b) => doubt(b) - doubt(a)).slice(0, DOUBTED_TOKENS)) {
    // the token without the whitespace before it, so that the model writes only the token
    const lead = /^\s*/.exec(o.text.slice(t.start, t.end))![0].length;
    const site = { start: t.start + lead, end: t.end };
    const masked = await maskedTexts(o, site);
    if (masked) {
      // the model's own ranked alternatives at the masked token: no sampling needed
      const was = o.text.slice(site.start, site.end);
      for (const text of masked.filter((x) => whole(x) && x !== was).slice(0, TOKEN_PROPOSALS + 2)) {
        out.push({ edit: { ...site, text }, source: 'model', template: 'doubted token' });
      }
      continue;
    }
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
    if (body.trim() === '' || inComment(lineStart + indent)) continue;
    const slots = Math.min(48, Math.ceil((body.length - indent) / 2) + 4);
    for (const text of await propose(o.text, lineStart + indent, lineEnd, slots, LINE_PROPOSALS)) {
      // a one-line template writes one line, and a line turned into a comment is a deletion
      if (text.trim() === '' || text.includes('\n') || isComment(text)) continue;
      out.push({ edit: { start: lineStart + indent, end: lineEnd, text }, source: 'model', template: 'line' });
    }
    // a line missing below this one: the model writes it where the next line starts
    const next = line < starts.length ? starts[line] : undefined;
    if (next === undefined || line >= region.last) continue;
    const nextIndent = /^[ \t]*/.exec(o.text.slice(next))![0];
    for (const text of await propose(
      o.text,
      next + nextIndent.length,
      next + nextIndent.length,
      16,
      INSERT_PROPOSALS,
    )) {
      const written = text.replace(/\n+$/, '');
      if (written.trim() === '' || written.includes('\n') || isComment(written)) continue;
      out.push({
        edit: { start: next, end: next, text: `${nextIndent}${written.trim()}\n` },
        source: 'model',
        template: 'line inserted',
      });
    }
  }
  return out;
}
