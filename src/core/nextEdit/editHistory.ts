// What the user changed lately, per document, for next-edit prompts (docs/design.md: "Next edit"). An
// edit is what happened between two pauses, kept as a unified diff; a document keeps the last
// few, oldest first, and they are bounded in characters too, so one huge paste cannot fill a
// prompt. Nothing here is sent anywhere: the editor hands these to a remote backend only when the
// user chose one.
import { createTwoFilesPatch } from 'diff';

/** Lines of context around each change in a recorded diff (the unified-diff default). */
const DIFF_CONTEXT = 3;
/** Mercury's prompt and the local path look at the last few edits only. */
export const HISTORY_EDITS = 5;
/** Characters of diffs a document keeps at most; the oldest go first. */
export const HISTORY_CHARS = 6000;

/**
 * `before` → `after` of `path` as a unified diff with `a/` and `b/` headers, or '' when the texts
 * are equal. Line endings are compared as LF: a CRLF document's diff is no noisier than an LF one's.
 */
export function unifiedDiff(path: string, before: string, after: string, context = DIFF_CONTEXT): string {
  const a = before.replace(/\r\n/g, '\n');
  const b = after.replace(/\r\n/g, '\n');
  if (a === b) return '';
  const patch = createTwoFilesPatch(`a/${path}`, `b/${path}`, a, b, undefined, undefined, { context });
  // The `diff` package starts with an `Index:`-less `===` line on some versions; keep from `---`.
  return patch.slice(Math.max(0, patch.indexOf('--- '))).replace(/\n\\ No newline at end of file/g, '');
}

export class EditHistory {
  private readonly edits = new Map<string, string[]>();

  constructor(
    private readonly maxEdits = HISTORY_EDITS,
    private readonly maxChars = HISTORY_CHARS,
  ) {}

  /** Records one edit of document `key` (shown as `path` in the diff); an edit that changed nothing is ignored. */
  record(key: string, path: string, before: string, after: string): void {
    const diff = unifiedDiff(path, before, after);
    if (!diff) return;
    const list = this.edits.get(key) ?? [];
    list.push(diff);
    while (list.length > this.maxEdits) list.shift();
    while (list.length > 1 && list.reduce((n, d) => n + d.length, 0) > this.maxChars) list.shift();
    // A single edit larger than the bound is cut to its head: the prompt still sees where it began.
    if (list.length === 1 && list[0].length > this.maxChars) list[0] = list[0].slice(0, this.maxChars);
    this.edits.set(key, list);
  }

  /** Document `key`'s recent edits, oldest first. */
  diffs(key: string): string[] {
    return [...(this.edits.get(key) ?? [])];
  }

  forget(key: string): void {
    this.edits.delete(key);
  }

  clear(): void {
    this.edits.clear();
  }
}
