// The inline diff between a span's original text and the model's proposal, as hunks the user can
// accept or reject one by one. Hunks are line-based (the unit people review); inside a hunk a
// word diff marks exactly which characters go and which arrive, so a one-word change reads as one.
import { diffLines, diffWordsWithSpace } from 'diff';

export type RunStyle = 'same' | 'added' | 'removed';

/** A piece of text with one style. */
export interface StyledRun {
  text: string;
  style: RunStyle;
}

export interface Hunk {
  /** Replaced range of the original text. */
  start: number;
  end: number;
  /** What replaces it. */
  text: string;
  /** Character ranges of the original (absolute) that this hunk removes. */
  removed: { start: number; end: number }[];
  /** The proposal side of the hunk: unchanged and added runs. */
  proposal: StyledRun[];
}

/** Line hunks of `original` → `proposal`, each refined by a word diff; [] when they are equal. */
export function diffHunks(original: string, proposal: string): Hunk[] {
  const hunks: Hunk[] = [];
  let offset = 0;
  let open: { start: number; end: number; text: string } | undefined;
  const close = (): void => {
    if (open) hunks.push(refineHunk(original, open.start, open.end, open.text));
    open = undefined;
  };
  for (const c of diffLines(original, proposal)) {
    if (!c.added && !c.removed) {
      close();
      offset += c.value.length;
      continue;
    }
    open ??= { start: offset, end: offset, text: '' };
    if (c.removed) {
      offset += c.value.length;
      open.end = offset;
    } else open.text += c.value;
  }
  close();
  return hunks;
}

function refineHunk(original: string, start: number, end: number, text: string): Hunk {
  const removed: { start: number; end: number }[] = [];
  const proposal: StyledRun[] = [];
  let at = start;
  for (const c of diffWordsWithSpace(original.slice(start, end), text)) {
    if (c.removed) {
      removed.push({ start: at, end: at + c.value.length });
      at += c.value.length;
    } else {
      pushRun(proposal, c.value, c.added ? 'added' : 'same');
      if (!c.added) at += c.value.length;
    }
  }
  return { start, end, text, removed, proposal };
}

/** The whole proposal as styled runs: text between hunks unchanged, hunks with their added words. */
export function proposalRuns(original: string, hunks: readonly Hunk[]): StyledRun[] {
  const runs: StyledRun[] = [];
  let at = 0;
  for (const h of hunks) {
    pushRun(runs, original.slice(at, h.start), 'same');
    for (const r of h.proposal) pushRun(runs, r.text, r.style);
    at = h.end;
  }
  pushRun(runs, original.slice(at), 'same');
  return runs;
}

/** Splits runs into lines (newlines dropped), keeping styles; an empty added line stays visible. */
export function runsToLines(runs: readonly StyledRun[]): StyledRun[][] {
  const lines: StyledRun[][] = [[]];
  for (const r of runs) {
    const parts = r.text.split('\n');
    parts.forEach((p, i) => {
      if (i > 0) lines.push([]);
      if (p) pushRun(lines[lines.length - 1], p, r.style);
    });
  }
  if (lines.length > 1 && lines[lines.length - 1].length === 0) lines.pop();
  return lines;
}

function pushRun(runs: StyledRun[], text: string, style: RunStyle): void {
  if (!text) return;
  const last = runs[runs.length - 1];
  if (last && last.style === style) last.text += text;
  else runs.push({ text, style });
}
