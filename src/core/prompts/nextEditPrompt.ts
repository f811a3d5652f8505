// Mercury Edit's next-edit prompt (`POST /v1/edit/completions`), as Inception documents it: one
// user message of four sections, each sent even when empty: the recently viewed snippets of
// other files, the current file (its path on the first line) with the editable region marked
// `<|code_to_edit|>…<|/code_to_edit|>` around the cursor (`<|cursor|>`), and the recent edits as
// unified diffs. The answer is the editable region rewritten (in a code fence), or the region
// unchanged when no edit follows. Pure: the backend file sends it, the stand-in test reads it.
import { textChange } from '../nextEdit/nextEditRegions';
import { lineAt, lineStarts } from '../text/textPosition';

export const SNIPPETS_OPEN = '<|recently_viewed_code_snippets|>';
export const SNIPPETS_CLOSE = '<|/recently_viewed_code_snippets|>';
export const SNIPPET_OPEN = '<|recently_viewed_code_snippet|>';
export const SNIPPET_CLOSE = '<|/recently_viewed_code_snippet|>';
export const FILE_OPEN = '<|current_file_content|>';
export const FILE_CLOSE = '<|/current_file_content|>';
export const EDIT_OPEN = '<|code_to_edit|>';
export const EDIT_CLOSE = '<|/code_to_edit|>';
export const CURSOR = '<|cursor|>';
export const HISTORY_OPEN = '<|edit_diff_history|>';
export const HISTORY_CLOSE = '<|/edit_diff_history|>';

/**
 * The editable region: a few lines above the cursor and more below it (a follow-up edit is
 * mostly further down: the uses after a declaration, the calls after a signature), small enough
 * that the model rewrites it quickly. The file around it is context, trimmed to a window.
 */
export const EDIT_LINES_ABOVE = 5;
export const EDIT_LINES_BELOW = 10;
export const FILE_WINDOW_LINES = 300;

export interface NextEditPromptInput {
  path: string;
  /** The file now, with LF line endings (the backend converts a CRLF document and back). */
  text: string;
  cursor: number;
  /** Recent edits of this file as unified diffs, oldest first. */
  history: readonly string[];
  /** Recently viewed parts of other files. */
  snippets?: readonly { path: string; text: string }[];
}

export interface NextEditPrompt {
  content: string;
  /** `text[start, end)` is the editable region the answer rewrites. */
  start: number;
  end: number;
}

export function nextEditPrompt(p: NextEditPromptInput): NextEditPrompt {
  const text = p.text;
  const cursor = Math.max(0, Math.min(text.length, p.cursor));
  const starts = lineStarts(text);
  const line = lineAt(starts, cursor);
  const lineStart = (l: number): number => (l < starts.length ? starts[l] : text.length);
  const start = lineStart(Math.max(0, line - EDIT_LINES_ABOVE));
  const end = lineStart(line + EDIT_LINES_BELOW + 1);
  const windowStart = lineStart(Math.max(0, line - FILE_WINDOW_LINES / 2));
  const windowEnd = lineStart(line + FILE_WINDOW_LINES / 2);
  const snippets = (p.snippets ?? [])
    .map((s) => `${SNIPPET_OPEN}\ncode_snippet_file_path: ${s.path}\n${s.text}\n${SNIPPET_CLOSE}\n`)
    .join('');
  const region = text.slice(start, cursor) + CURSOR + text.slice(cursor, end);
  const content = [
    `${SNIPPETS_OPEN}\n${snippets}\n${SNIPPETS_CLOSE}`,
    `${FILE_OPEN}\ncurrent_file_path: ${p.path}\n${text.slice(windowStart, start)}${EDIT_OPEN}\n${region}${region.endsWith('\n') ? '' : '\n'}${EDIT_CLOSE}\n${text.slice(end, windowEnd)}${FILE_CLOSE}`,
    `${HISTORY_OPEN}\n${p.history.join('\n')}\n${HISTORY_CLOSE}`,
  ].join('\n');
  return { content, start, end };
}

/**
 * The edit an answer proposes, as one replacement of the LF text's `[start, end)`, or undefined
 * when the answer is the region unchanged, is empty, or is not code. The answer loses its code
 * fence, any echoed markers and the cursor; the region's own trailing newline is kept.
 */
export function nextEditFromAnswer(
  answer: string,
  text: string,
  region: { start: number; end: number },
): { start: number; end: number; text: string } | undefined {
  let body = answer;
  const fence = /```[^\n]*\n([\s\S]*?)(?:\n```|$)/.exec(body);
  if (fence) body = fence[1];
  body = body
    .split(CURSOR)
    .join('')
    .replace(`${EDIT_OPEN}\n`, '')
    .replace(EDIT_OPEN, '')
    .replace(`\n${EDIT_CLOSE}`, '')
    .replace(EDIT_CLOSE, '');
  const original = text.slice(region.start, region.end);
  if (original.endsWith('\n') && !body.endsWith('\n')) body += '\n';
  if (body.trim() === '') return undefined;
  const change = textChange(original, body);
  if (!change) return undefined;
  return {
    start: region.start + change.start,
    end: region.start + change.beforeEnd,
    text: body.slice(change.start, change.afterEnd),
  };
}
