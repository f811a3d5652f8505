// Trims a raw fill-in-the-middle completion to what ghost text should show: a model writes until
// its slots run out, so the tail is often the start of the next statement, a repeat of the code
// after the cursor, or blank lines. Cut at the boundaries a person would stop at.
import { MASK_GLYPH } from '../text/spanText';

export interface TrimContext {
  /** Text of the cursor's line before the cursor. */
  linePrefix: string;
  /** Text after the cursor, at least the rest of the line and a few lines more. */
  suffix: string;
  /** Most lines to show (1 keeps the completion on the cursor's line). */
  maxLines: number;
}

/** The part of `raw` worth showing, or '' when nothing is. */
export function trimCompletion(raw: string, ctx: TrimContext): string {
  let text = raw.split(MASK_GLYPH).join('').replace(/\r/g, '');
  const restOfLine = ctx.suffix.split('\n', 1)[0];
  // Text right of the cursor means the completion must end on this line, before that text.
  const maxLines = restOfLine.trim() ? 1 : ctx.maxLines;
  let lines = text.split('\n');
  // A blank line ends a block: stop before it (but never cut a leading newline away entirely).
  const blank = lines.findIndex((l, i) => i > 0 && l.trim() === '');
  if (blank > 0) lines = lines.slice(0, blank);
  // Leaving the cursor's block (less indentation than the line we started on) ends the completion,
  // except for one closing line such as `}` that finishes the block itself.
  const baseIndent = indentOf(ctx.linePrefix);
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() && indentOf(lines[i]) < baseIndent) {
      lines = /^\s*[)\]}]+[;,]?\s*$/.test(lines[i]) ? lines.slice(0, i + 1) : lines.slice(0, i);
      break;
    }
  }
  lines = lines.slice(0, maxLines);
  // Do not repeat what already follows the cursor: a final line equal to the next line of code.
  const nextLine = ctx.suffix
    .split('\n')
    .slice(restOfLine.trim() ? 1 : 0)
    .find((l) => l.trim() !== '');
  if (lines.length > 1 && nextLine !== undefined && lines[lines.length - 1].trim() === nextLine.trim()) lines.pop();
  text = lines.join('\n');
  if (restOfLine.trim()) {
    // `foo(|)` completed as `a, b)`: the closing text is already there.
    const rest = restOfLine.trim();
    const at = text.lastIndexOf(rest);
    if (at >= 0 && text.slice(at).trim() === rest) text = text.slice(0, at);
  }
  text = text.replace(/[ \t]+$/gm, '').replace(/\n+$/, '');
  return text.trim() ? text : '';
}

function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line)![0];
  return m.replace(/\t/g, '    ').length;
}
