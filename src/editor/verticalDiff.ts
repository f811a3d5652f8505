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

/**
 * Placements of every new line of the region's hunks. `lineOf(offset)` gives the document line and
 * column of a document offset; `lastLine` is the document's last line.
 */
export function placeNewLines(
  region: RegionLayout,
  lineOf: (offset: number) => { line: number; character: number },
  lastLine: number,
): NewLinePlacement[] {
  const out: NewLinePlacement[] = [];
  const firstLineAfter = (offset: number): number => {
    const p = lineOf(region.start + offset);
    return p.character === 0 ? p.line : p.line + 1;
  };
  const hunks = [...region.hunks].sort((a, b) => a.start - b.start);
  let i = 0;
  while (i < hunks.length) {
    let block = blockFrom(region, hunks, i, firstLineAfter, lineOf, 'under');
    if (block.lines.length > VERTICAL_DIFF_MAX_LINES) block = blockFrom(region, hunks, i, firstLineAfter, lineOf, 'inPlace');
    block.lines.forEach((line, k) => {
      const target = block.first + k;
      const anchor = Math.min(target, lastLine);
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
  region: RegionLayout, hunks: readonly Hunk[], i: number,
  firstLineAfter: (offset: number) => number, lineOf: (offset: number) => { line: number },
  where: 'under' | 'inPlace',
): { first: number; lines: StyledRun[][]; next: number } {
  let runs: StyledRun[] = [...hunks[i].proposal];
  let end = hunks[i].end;
  const startLine = lineOf(region.start + hunks[i].start).line;
  const first = (): number => (where === 'under' ? firstLineAfter(end) : startLine);
  let j = i + 1;
  while (j < hunks.length && first() + linesOf(runs).length > lineOf(region.start + hunks[j].start).line) {
    runs = [...runs, { text: region.original.slice(end, hunks[j].start), style: 'same' }, ...hunks[j].proposal];
    end = hunks[j].end;
    j++;
  }
  return { first: first(), lines: linesOf(runs), next: j };
}

/** The runs as lines; none when they hold no text (a change that only deletes). */
function linesOf(runs: readonly StyledRun[]): StyledRun[][] {
  const kept = runs.filter((r) => r.text);
  return kept.length ? runsToLines(kept) : [];
}
