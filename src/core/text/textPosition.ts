/** Offsets of whole lines `first`..`last` (1-based, inclusive), including the last line's newline. */
export function lineRangeOffsets(text: string, first: number, last: number): { start: number; end: number } {
  const starts = lineStarts(text);
  const lines = text.endsWith('\n') ? starts.length - 1 : starts.length;
  if (!(first >= 1 && last >= first && last <= lines)) {
    throw new RangeError(`lines ${first}-${last} are outside the file (it has ${lines} line${lines === 1 ? '' : 's'})`);
  }
  return { start: starts[first - 1], end: last < starts.length ? starts[last] : text.length };
}

/** Offset of 1-based `line` and 1-based `column`. */
export function positionOffset(text: string, line: number, column: number): number {
  const starts = lineStarts(text);
  if (!(line >= 1 && line <= starts.length))
    throw new RangeError(`line ${line} is outside the file (it has ${starts.length} lines)`);
  const lineEnd = line < starts.length ? starts[line] - 1 : text.length;
  const offset = starts[line - 1] + column - 1;
  if (!(column >= 1 && offset <= lineEnd))
    throw new RangeError(`column ${column} is outside line ${line} (it has ${lineEnd - starts[line - 1]} characters)`);
  return offset;
}

/** Start offsets of every line of `text`, and its length at the end. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/** The line holding offset `at` (0-based), by binary search over `lineStarts`. */
export function lineAt(starts: number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The 1-based column VS Code shows for `character` of `line`: a tab advances to the next multiple of `tabSize`. */
export function visualColumn(line: string, character: number, tabSize: number): number {
  let col = 0;
  for (let i = 0; i < character && i < line.length; i++)
    col = line[i] === '\t' ? col + tabSize - (col % tabSize) : col + 1;
  return col + 1;
}
