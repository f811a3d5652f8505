// Places an SVG image (see core/spanImage) next to a range of the editor: attached after the end of
// the range's first line, pushed right of the range's longest line, and taken out of the line's
// flow so it can be taller than one line without moving any code. Shared by the live view and the
// inline diff view.
import * as vscode from 'vscode';
import { renderSpanImage, svgDataUri, type ImageRun, type ImageTheme } from '../core/spanImage';

/** Colors and font metrics for images in `editor`, following the editor's settings and theme kind. */
export function imageTheme(editor: vscode.TextEditor): ImageTheme {
  const c = vscode.workspace.getConfiguration('editor', editor.document.uri);
  const fontSize = c.get<number>('fontSize', 14);
  const configured = c.get<number>('lineHeight', 0);
  // VS Code's rule: 0 = derived from the font size; values below 8 are multipliers
  const lineHeight = configured <= 0 ? Math.round(fontSize * 1.5) : configured < 8 ? Math.round(configured * fontSize) : configured;
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

/** Decoration options that draw `lines` as an image beside `range` of `editor`. */
export function imageBeside(editor: vscode.TextEditor, range: vscode.Range, lines: ImageRun[][], caption?: string): vscode.DecorationOptions {
  const doc = editor.document;
  const theme = imageTheme(editor);
  const image = renderSpanImage(lines, theme, caption);
  const first = range.start.line;
  const last = Math.max(first, range.end.character === 0 && range.end.line > first ? range.end.line - 1 : range.end.line);
  const cols = (line: number): number => expandedLength(doc.lineAt(line).text, theme.tabSize);
  let widest = 0;
  for (let l = first; l <= last; l++) widest = Math.max(widest, cols(l));
  const lineEnd = doc.lineAt(first).range.end;
  const gap = widest - cols(first) + 3;
  return {
    range: new vscode.Range(lineEnd, lineEnd),
    renderOptions: {
      after: {
        contentIconPath: vscode.Uri.parse(svgDataUri(image.svg)),
        width: `${image.width}px`,
        height: `${image.height}px`,
        margin: `0 0 0 ${gap}ch`,
        // Taken out of the line's flow (decorations cannot add lines): positioned at the line's top,
        // above the following lines, and transparent to the mouse so the code below stays usable.
        textDecoration: 'none; position: absolute; top: 0; z-index: 20; pointer-events: none; box-shadow: 0 2px 8px rgba(0,0,0,0.25)',
      },
    },
  };
}

function expandedLength(text: string, tabSize: number): number {
  let col = 0;
  for (const ch of text) col = ch === '\t' ? col + tabSize - (col % tabSize) : col + 1;
  return col;
}
