// Places an SVG image (see core/view/spanImage) next to a range of the editor: attached after the end of
// the range's first visible line, pushed right of the range's longest line, and taken out of the
// line's flow so it can be taller than one line without moving any code. It is kept where the
// viewport shows it: hung from the first line of the range on screen (a range taller than the
// viewport scrolls its first line away), and never pushed past the columns a viewport is sure to
// show (a selection with one very long line would put it off to the right, under the minimap): there
// it overlaps the ends of the long lines instead. The live view draws with it (the review is a diff
// editor, see reviewDiff.ts).
import * as vscode from 'vscode';
import { placeImage } from '../core/view/imagePlacement';
import { renderSpanImage, svgDataUri, type ImageRun, type ImageTheme } from '../core/view/spanImage';

/** Colors and font metrics for images in `editor`, following the editor's settings and theme kind. */
export function imageTheme(editor: vscode.TextEditor): ImageTheme {
  const c = vscode.workspace.getConfiguration('editor', editor.document.uri);
  const fontSize = c.get<number>('fontSize', 14);
  const configured = c.get<number>('lineHeight', 0);
  // VS Code's rule: 0 = derived from the font size; values below 8 are multipliers
  const lineHeight =
    configured <= 0 ? Math.round(fontSize * 1.5) : configured < 8 ? Math.round(configured * fontSize) : configured;
  const tabSize = typeof editor.options.tabSize === 'number' ? editor.options.tabSize : 4;
  const kind = vscode.window.activeColorTheme.kind;
  const dark = kind === vscode.ColorThemeKind.Dark || kind === vscode.ColorThemeKind.HighContrast;
  return {
    fontFamily: 'DejaVu Sans Mono, Menlo, Consolas, monospace',
    fontSize,
    lineHeight,
    charWidth: fontSize * 0.6,
    tabSize,
    foreground: dark ? '#d4d4d4' : '#1f1f1f',
    background: dark ? '#252526' : '#f6f6f6',
    border: dark ? '#3794ff' : '#005fb8',
    pending: dark ? '#6a6a6a' : '#a0a0a0',
    fresh: dark ? '#4fc1ff' : '#0451a5',
    addedBackground: dark ? 'rgba(35, 134, 54, 0.55)' : 'rgba(46, 160, 67, 0.35)',
    removedBackground: dark ? 'rgba(218, 54, 51, 0.5)' : 'rgba(248, 81, 73, 0.3)',
    captionColor: dark ? '#9d9d9d' : '#6e6e6e',
  };
}

export interface ImageItem {
  range: vscode.Range;
  lines: ImageRun[][];
  caption?: string;
}

/**
 * Decoration options that draw each item's lines as an image beside its range. Images hang down
 * from their first line; when one would overlap the previous one it moves right of it.
 */
export function imagesBeside(editor: vscode.TextEditor, items: readonly ImageItem[]): vscode.DecorationOptions[] {
  const theme = imageTheme(editor);
  let previous: { bottom: number; right: number } | undefined;
  return items.map((item) => {
    const placed = imageBeside(
      editor,
      theme,
      item,
      previous && previous.bottom >= item.range.start.line ? previous.right + 1 : 0,
    );
    previous = { bottom: placed.bottom, right: placed.right };
    return placed.options;
  });
}

/**
 * Columns of text any editor shows: the extension API does not tell the viewport's width, so this is
 * `editor.wordWrapColumn` (80 by default), which a window of 1280 px with the side bar and the
 * minimap open shows in full at the default font size.
 */
function shownColumns(editor: vscode.TextEditor): number {
  return vscode.workspace.getConfiguration('editor', editor.document.uri).get<number>('wordWrapColumn', 80);
}

function imageBeside(editor: vscode.TextEditor, theme: ImageTheme, item: ImageItem, minColumn: number) {
  const doc = editor.document;
  const image = renderSpanImage(item.lines, theme, item.caption);
  const { range } = item;
  const spanLast = Math.max(
    range.start.line,
    range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line,
  );
  // the first line of the range on screen, so that the image is not hung above the viewport
  const top = editor.visibleRanges[0]?.start.line ?? 0;
  const first = top > range.start.line && top <= spanLast ? top : range.start.line;
  // the image hangs down from the first line: keep it right of every line it spans, not just the span's
  const imageRows = Math.ceil(image.height / theme.lineHeight);
  const bottom = first + imageRows - 1;
  const last = Math.min(doc.lineCount - 1, Math.max(spanLast, bottom));
  const cols = (line: number): number => expandedLength(doc.lineAt(line).text, theme.tabSize);
  let widest = 0;
  for (let l = first; l <= last; l++) widest = Math.max(widest, cols(l));
  const { left, scale } = placeImage(
    Math.max(widest + 3, minColumn),
    image.width / theme.charWidth,
    shownColumns(editor),
  );
  // an SVG scales: a smaller image keeps all of its text on screen
  const width = Math.floor(image.width * scale);
  const height = Math.floor(image.height * scale);
  const imageColumns = Math.ceil(width / theme.charWidth);
  const lineEnd = doc.lineAt(first).range.end;
  const options: vscode.DecorationOptions = {
    range: new vscode.Range(lineEnd, lineEnd),
    renderOptions: {
      after: {
        contentIconPath: vscode.Uri.parse(svgDataUri(image.svg)),
        width: `${width}px`,
        height: `${height}px`,
        margin: `0 0 0 ${left - cols(first)}ch`,
        // Taken out of the line's flow (decorations cannot add lines): positioned at the line's top,
        // above the following lines, and transparent to the mouse so the code below stays usable.
        textDecoration:
          'none; position: absolute; top: 0; z-index: 20; pointer-events: none; box-shadow: 0 2px 8px rgba(0,0,0,0.25)',
      },
    },
  };
  return { options, bottom, right: left + imageColumns };
}

function expandedLength(text: string, tabSize: number): number {
  let col = 0;
  for (const ch of text) col = ch === '\t' ? col + tabSize - (col % tabSize) : col + 1;
  return col;
}
