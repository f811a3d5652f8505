// The document a review shows on the right of its diff: the whole document as Accept would leave
// it (every region's remaining hunks applied), and where each hunk's new text lies in it, so that
// per-change actions (CodeLens, hover) can sit on the lines they are about. Pure (no vscode).
import type { Hunk } from './reviewHunks';

export interface ReviewRegion {
  /** Offset of the region in the document. */
  start: number;
  /** The document's text of the region (equal to the document there, kept so by re-anchoring). */
  original: string;
  /** The changes still to decide, offsets into `original`. */
  hunks: readonly Hunk[];
}

/** Where one hunk's new text lies in the reviewed document. */
export interface PlacedHunk {
  region: number;
  hunk: number;
  /** Offsets into the reviewed document of the hunk's new text (equal when the hunk only deletes). */
  start: number;
  end: number;
}

/**
 * `text` with every hunk of every region applied, and the place of each hunk's new text in it.
 * Regions must not overlap; they may come in any order (the returned places keep their indices).
 */
export function reviewDocument(text: string, regions: readonly ReviewRegion[]): { text: string; hunks: PlacedHunk[] } {
  const edits: { start: number; end: number; text: string; region: number; hunk: number }[] = [];
  regions.forEach((r, ri) =>
    r.hunks.forEach((h, hi) => {
      edits.push({ start: r.start + h.start, end: r.start + h.end, text: h.text, region: ri, hunk: hi });
    }),
  );
  edits.sort((a, b) => a.start - b.start || a.end - b.end);
  let out = '';
  let at = 0;
  const hunks: PlacedHunk[] = [];
  for (const e of edits) {
    if (e.start < at) throw new Error(`hunks overlap at offset ${e.start}`);
    out += text.slice(at, e.start);
    hunks.push({ region: e.region, hunk: e.hunk, start: out.length, end: out.length + e.text.length });
    out += e.text;
    at = e.end;
  }
  return { text: out + text.slice(at), hunks };
}

/** The 0-based lines `[first, last]` a placed hunk covers in `text` (a pure deletion: the line it sits on). */
export function hunkLines(text: string, h: { start: number; end: number }): { first: number; last: number } {
  const lineAt = (offset: number): number => {
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
    return n;
  };
  const first = lineAt(h.start);
  // new text that ends with its line break ends on the line before the next one
  const endsLine = h.end > h.start && text[h.end - 1] === '\n';
  return { first, last: Math.max(first, lineAt(endsLine ? h.end - 1 : h.end)) };
}
