// What the user looked at lately in other files, for next-edit prompts (Mercury Edit's
// `<|recently_viewed_code_snippets|>`): the lines around where each file was last seen, one
// snippet per file, the most recently viewed kept, bounded in count and characters so that one
// long file cannot fill a prompt. Nothing here is sent anywhere: the editor hands these to a
// remote backend only when the user chose one, and never the current file's own snippet (the
// prompt carries that file whole).

/** Snippets kept: the files viewed last. */
export const SNIPPETS_KEPT = 3;
/** Lines of a snippet: about one screen around where the user was. */
export const SNIPPET_LINES = 40;
/** Characters of all snippets together at most; the oldest go first. */
export const SNIPPETS_CHARS = 6000;

export interface ViewedSnippet {
  path: string;
  text: string;
}

export interface View {
  /** First and last line on screen (0-based, inclusive). */
  first: number;
  last: number;
  /** The cursor's line, when it is on screen the snippet is centred on it. */
  focus?: number;
}

/**
 * The lines `[from, to]` a snippet takes of a document of `lineCount` lines seen as `view`: at
 * most `maxLines` of the lines on screen, around the cursor (else the middle of the screen).
 */
function snippetLines(view: View, lineCount: number, maxLines: number): { from: number; to: number } {
  const first = Math.max(0, Math.min(view.first, lineCount - 1));
  const last = Math.max(first, Math.min(view.last, lineCount - 1));
  const focus =
    view.focus !== undefined && view.focus >= first && view.focus <= last ? view.focus : Math.floor((first + last) / 2);
  const from = Math.max(first, Math.min(focus - Math.floor(maxLines / 2), last - maxLines + 1));
  return { from, to: Math.min(last, from + maxLines - 1) };
}

/**
 * The snippet of a document of `lineCount` lines seen as `view`, its lines (`lineAt`: a line's
 * text without its line break) joined by LF whatever the document's line endings. Only those
 * lines are read, so the editor can call it on every scroll of a large file.
 */
export function snippetOf(
  view: View,
  lineCount: number,
  lineAt: (line: number) => string,
  maxLines = SNIPPET_LINES,
): string {
  const { from, to } = snippetLines(view, lineCount, maxLines);
  return Array.from({ length: to - from + 1 }, (_, k) => lineAt(from + k)).join('\n');
}

export class ViewedSnippets {
  /** By document key, in the order last viewed (oldest first). */
  private readonly byKey = new Map<string, ViewedSnippet>();

  constructor(
    private readonly kept = SNIPPETS_KEPT,
    private readonly maxChars = SNIPPETS_CHARS,
  ) {}

  /** The user now sees `text` of document `key` (shown as `path`); a blank view is not kept. */
  record(key: string, path: string, text: string): void {
    this.byKey.delete(key);
    if (!text.trim()) return;
    this.byKey.set(key, { path, text: text.slice(0, this.maxChars) });
    const keys = [...this.byKey.keys()];
    for (const k of keys.slice(0, Math.max(0, keys.length - this.kept))) this.byKey.delete(k);
  }

  /** The snippets of files other than `key`, oldest first, within the character bound. */
  except(key: string): ViewedSnippet[] {
    const out = [...this.byKey].filter(([k]) => k !== key).map(([, s]) => s);
    while (out.length > 1 && out.reduce((n, s) => n + s.text.length, 0) > this.maxChars) out.shift();
    return out;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
