// Keeps a range of a document pointing at the same text while the user edits elsewhere. An edit
// before the range shifts it, an edit after it changes nothing, and an edit that touches the
// range means the text the model worked on is gone: the caller discards the proposal (the user's
// typing is never overwritten).

export interface OffsetRange {
  start: number;
  end: number;
}

/** One replacement as VS Code reports it: `rangeLength` characters at `rangeOffset` became `text`. */
export interface TextChange {
  rangeOffset: number;
  rangeLength: number;
  text: string;
}

/** The range after `change`, or undefined when the change touches it. */
export function shiftRange(r: OffsetRange, change: TextChange): OffsetRange | undefined {
  const cStart = change.rangeOffset;
  const cEnd = change.rangeOffset + change.rangeLength;
  const delta = change.text.length - change.rangeLength;
  if (cEnd < r.start || (cEnd === r.start && (change.rangeLength > 0 || r.start < r.end))) {
    return { start: r.start + delta, end: r.end + delta };
  }
  if (cStart > r.end || (cStart === r.end && r.start < r.end)) return r;
  return undefined;
}
