// Draws sessions in review as a vertical diff against the original: in the code, the characters
// the proposal removes are struck through in red; under the lines they change, the new lines are
// drawn in green, what they add in a stronger green, one editor line each (see verticalDiff.ts),
// so the whole of what Accept will write is readable at any window width. Nothing is in the
// document until the user accepts (CodeLens or keybinding).
import * as vscode from 'vscode';
import type { ProposalSession, SessionStore } from './proposalSession';
import { imageTheme } from './imageDecoration';
import { placeAll } from './verticalDiff';

export function registerInlineDiffView(store: SessionStore): vscode.Disposable {
  const removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
    textDecoration: 'line-through',
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  const region = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('diffEditor.unchangedRegionBackground'),
    isWholeLine: true,
  });
  const insertAt = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
    border: '1px solid',
  });
  // drawn before each covered line's text, taken out of its flow and over it (decorations cannot add
  // lines); opaque, so the covered code does not show through, and transparent to the mouse
  const newLine = vscode.window.createTextEditorDecorationType({});
  const addedWords = vscode.window.createTextEditorDecorationType({});

  const draw = (editor: vscode.TextEditor): void => {
    const s = store.get(editor.document);
    if (!s || s.phase !== 'review') {
      for (const t of [removed, region, insertAt, newLine, addedWords]) editor.setDecorations(t, []);
      return;
    }
    const doc = editor.document;
    const pos = (o: number): vscode.Position => doc.positionAt(o);
    const removedRanges: vscode.Range[] = [];
    const inserts: vscode.Range[] = [];
    const regions: vscode.Range[] = [];
    for (const r of s.regions) {
      if (r.hunks.length === 0) continue;
      const range = new vscode.Range(pos(r.start), pos(r.end));
      if (!range.isEmpty) regions.push(range);
      for (const h of r.hunks) {
        for (const x of h.removed) removedRanges.push(new vscode.Range(pos(r.start + x.start), pos(r.start + x.end)));
        if (h.start === h.end) inserts.push(new vscode.Range(pos(r.start + h.start), pos(r.start + h.start)));
      }
    }
    const placements = placeAll(s.regions.filter((r) => r.hunks.length > 0), {
      lineOf: pos,
      around: (o) => {
        const p = pos(o);
        const text = doc.lineAt(p.line).text;
        return { before: text.slice(0, p.character), after: text.slice(p.character) };
      },
      lastLine: doc.lineCount - 1,
    });
    const theme = imageTheme(editor);
    const lines: vscode.DecorationOptions[] = [];
    const words: vscode.DecorationOptions[] = [];
    for (const p of placements) {
      const at = new vscode.Range(p.anchor, 0, p.anchor, 0);
      const top = `${p.below * theme.lineHeight}px`;
      let text = '';
      for (const run of p.runs) {
        const piece = expandTabs(run.text, text.length, theme.tabSize);
        if (run.style === 'added' && piece.trim()) {
          words.push({ range: at, renderOptions: { before: { contentText: piece, textDecoration: overlay(top, `${text.length}ch`, ADDED_WORDS, 22) } } });
        }
        text += piece;
      }
      lines.push({ range: at, renderOptions: { before: { contentText: text || ' ', textDecoration: overlay(top, '0', NEW_LINE, 21) } } });
    }
    editor.setDecorations(removed, removedRanges);
    editor.setDecorations(region, regions);
    editor.setDecorations(insertAt, inserts);
    editor.setDecorations(newLine, lines);
    editor.setDecorations(addedWords, words);
  };
  const drawFor = (s: ProposalSession): void => {
    for (const e of vscode.window.visibleTextEditors) if (e.document === s.document) draw(e);
  };
  return vscode.Disposable.from(
    removed, region, insertAt, newLine, addedWords,
    store.onDidChange(drawFor),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach(draw)),
  );
}

/** A new line: the inserted-line tint over the editor's own background, so it is opaque. */
const NEW_LINE = 'background: linear-gradient(var(--vscode-diffEditor-insertedLineBackground, rgba(155, 185, 85, 0.2)), '
  + 'var(--vscode-diffEditor-insertedLineBackground, rgba(155, 185, 85, 0.2))), var(--vscode-editor-background); '
  + 'min-width: 100%; box-shadow: inset 3px 0 0 var(--vscode-editorGutter-addedBackground, #2ea043);';
/** What a new line adds: the inserted-text tint on top of the line's. */
const ADDED_WORDS = 'background: var(--vscode-diffEditor-insertedTextBackground, rgba(155, 185, 85, 0.4));';

/** CSS for a `before` decoration drawn over its line (smuggled through textDecoration, as VS Code allows). */
function overlay(top: string, left: string, look: string, zIndex: number): string {
  return `none; position: absolute; top: ${top}; left: ${left}; z-index: ${zIndex}; white-space: pre; pointer-events: none; ${look}`;
}

function expandTabs(text: string, col: number, tabSize: number): string {
  let out = '';
  for (const ch of text) out += ch === '\t' ? ' '.repeat(tabSize - ((col + out.length) % tabSize)) : ch;
  return out;
}
