// Where the new lines of a proposal are drawn in review: under the lines they replace (a vertical
// diff, as Continue draws one), one editor line per new line, so every new line starts at the
// editor's left edge and is as readable as the code itself, whatever the window's width. Editor
// decorations cannot add lines, so the new lines are drawn over the lines that follow the change;
// when the new lines of one change would reach the next change, the two are drawn as one block.
// A block longer than VERTICAL_DIFF_MAX_LINES is drawn in place of its old lines instead: under
// them it would start a screen or more below where the change is, and the user would see only
// struck-out code where they are looking.
// Pure: offsets and line numbers in, placements out (no vscode).
import { runsToLines, type Hunk, type StyledRun } from '../core/inlineDiff';

/** Blocks of at most this many new lines are drawn under their old lines, longer ones in their place. */
export const VERTICAL_DIFF_MAX_LINES = 10;

/** One new line to draw: over document line `anchor`, `below` lines further down (past the document's end). */
export interface NewLinePlacement {
  anchor: number;
  below: number;
  runs: StyledRun[];
}

export interface RegionLayout {
  /** Offset of the region in the document. */
  start: number;
  original: string;
  hunks: readonly Hunk[];
}

/** What placement needs of the document. */
export interface DocLines {
  /** Line and column of a document offset. */
  lineOf(offset: number): { line: number; character: number };
  /** The document's text of the line holding `offset`, before and after it. */
  around(offset: number): { before: string; after: string };
  lastLine: number;
}

/**
 * Placements of every new line of every region, in document order; a line is never drawn over
 * another new line (a region's lines move down past the previous region's).
 */
export function placeAll(regions: readonly RegionLayout[], doc: DocLines): NewLinePlacement[] {
  const out: NewLinePlacement[] = [];
  let next = 0;
  for (const r of [...regions].sort((a, b) => a.start - b.start)) {
    for (const p of placeNewLines(r, doc)) {
      const target = Math.max(p.anchor + p.below, next);
      const anchor = Math.min(target, doc.lastLine);
      out.push({ anchor, below: target - anchor, runs: p.runs });
      next = target + 1;
    }
  }
  return out;
}

/**
 * Placements of every new line of one region's hunks. A change that starts or ends inside a line
 * (a selection or cursor mid-line) is shown as the whole new line: the line's text before and after
 * it is drawn with it, unchanged.
 */
export function placeNewLines(region: RegionLayout, doc: DocLines): NewLinePlacement[] {
  const out: NewLinePlacement[] = [];
  const hunks = [...region.hunks].sort((a, b) => a.start - b.start);
  let i = 0;
  while (i < hunks.length) {
    let block = blockFrom(region, hunks, i, doc, 'under');
    if (block.lines.length > VERTICAL_DIFF_MAX_LINES) block = blockFrom(region, hunks, i, doc, 'inPlace');
    block.lines.forEach((line, k) => {
      const target = block.first + k;
      const anchor = Math.min(target, doc.lastLine);
      out.push({ anchor, below: target - anchor, runs: line });
    });
    i = block.next;
  }
  return out;
}

/**
 * The block that starts at hunks[i]: it takes in the following hunks while its new lines, drawn
 * from `first` on, would reach their old lines. `under`: from the first line after the old lines;
 * `inPlace`: from the first old line.
 */
function blockFrom(
  region: RegionLayout, hunks: readonly Hunk[], i: number, doc: DocLines, where: 'under' | 'inPlace',
): { first: number; lines: StyledRun[][]; next: number } {
  const at = (offset: number): number => region.start + offset;
  let runs: StyledRun[] = [...hunks[i].proposal];
  let end = hunks[i].end;
  const start = doc.lineOf(at(hunks[i].start));
  const lastOld = (): { line: number; character: number } => doc.lineOf(at(end));
  // the old lines end with the line holding the change's end, unless it ends at a line start
  const firstAfter = (): number => (lastOld().character === 0 && end > hunks[i].start ? lastOld().line : lastOld().line + 1);
  const first = (): number => (where === 'under' ? firstAfter() : start.line);
  let j = i + 1;
  while (j < hunks.length && first() + linesOf(runs).length > doc.lineOf(at(hunks[j].start)).line) {
    runs = [...runs, { text: region.original.slice(end, hunks[j].start), style: 'same' }, ...hunks[j].proposal];
    end = hunks[j].end;
    j++;
  }
  // a change inside a line: show the whole line it makes
  const before = start.character > 0 ? doc.around(at(hunks[i].start)).before : '';
  const endsMidLine = lastOld().character > 0 || end === hunks[i].start;
  const after = endsMidLine ? doc.around(at(end)).after : '';
  const whole = [{ text: before, style: 'same' as const }, ...runs, { text: after, style: 'same' as const }];
  const hasNew = runs.some((r) => r.text);
  const lines = hasNew ? linesOf(whole) : [];
  // a line break inserted at a line's end (or start) leaves that line as it was: do not draw it again
  const unchanged = (l: StyledRun[] | undefined): boolean => !!l && l.every((r) => r.style === 'same');
  if (before && lines.length > 1 && unchanged(lines[0])) lines.shift();
  if (after && lines.length > 1 && unchanged(lines[lines.length - 1])) lines.pop();
  return { first: first(), lines, next: j };
}

/** The runs as lines; none when they hold no text (a change that only deletes). */
function linesOf(runs: readonly StyledRun[]): StyledRun[][] {
  const kept = runs.filter((r) => r.text);
  return kept.length ? runsToLines(kept) : [];
}
