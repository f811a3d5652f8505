// What a Refine's answer changes in the selection. The engine refines only what fits its window
// and says which range it replaced (its edits' start/end, relative to the request's text), so the
// proposal must cover exactly that range: writing the answer over the whole selection would delete
// the rest of it. Pure (no vscode).
import { applyEdits } from '../core/text/textEdit';

/**
 * The part of the selection [selStart, selEnd) of `text` the engine's edits replace (offsets
 * relative to the selection) and its new text; undefined when there are no edits. The engine
 * refines only what fits its window, so the part can be narrower than the selection.
 */
export function changedPart(
  text: string,
  selStart: number,
  selEnd: number,
  edits: readonly { start: number; end: number; text: string }[],
): { part: { start: number; end: number }; text: string } | undefined {
  if (edits.length === 0) return undefined;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  const from = sorted[0].start;
  const to = Math.max(...sorted.map((e) => e.end));
  if (from < selStart || to > selEnd)
    throw new Error(`the model answered for ${from}-${to}, outside the selection ${selStart}-${selEnd}`);
  const out = applyEdits(
    text.slice(from, to),
    sorted.map((e) => ({ ...e, start: e.start - from, end: e.end - from })),
  );
  return { part: { start: from - selStart, end: to - selStart }, text: out };
}
