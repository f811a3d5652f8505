// Draws sessions in review as an inline diff against the original: in the code, the characters
// the proposal removes are struck through in red; beside it, the proposed text with what it adds
// in green. Nothing is in the document until the user accepts (CodeLens or keybinding).
import * as vscode from 'vscode';
import { proposalRuns, runsToLines } from '../core/inlineDiff';
import type { ProposalSession, SessionStore } from './proposalSession';
import { imagesBeside, type ImageItem } from './imageDecoration';

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
  const image = vscode.window.createTextEditorDecorationType({});

  const draw = (editor: vscode.TextEditor): void => {
    const s = store.get(editor.document);
    if (!s || s.phase !== 'review') {
      for (const t of [removed, region, insertAt, image]) editor.setDecorations(t, []);
      return;
    }
    const doc = editor.document;
    const pos = (o: number): vscode.Position => doc.positionAt(o);
    const removedRanges: vscode.Range[] = [];
    const inserts: vscode.Range[] = [];
    const images: ImageItem[] = [];
    const regions: vscode.Range[] = [];
    s.regions.forEach((r, i) => {
      if (r.hunks.length === 0) return;
      const range = new vscode.Range(pos(r.start), pos(r.end));
      if (!range.isEmpty) regions.push(range);
      for (const h of r.hunks) {
        for (const x of h.removed) removedRanges.push(new vscode.Range(pos(r.start + x.start), pos(r.start + x.end)));
        if (h.start === h.end) inserts.push(new vscode.Range(pos(r.start + h.start), pos(r.start + h.start)));
      }
      const n = s.hunkCount;
      const caption = images.length === 0 ? `proposal: ${n} change${n === 1 ? '' : 's'}` : undefined;
      images.push({ range, lines: runsToLines(proposalRuns(r.original, r.hunks)), caption });
    });
    editor.setDecorations(removed, removedRanges);
    editor.setDecorations(region, regions);
    editor.setDecorations(insertAt, inserts);
    editor.setDecorations(image, imagesBeside(editor, images));
  };
  const drawFor = (s: ProposalSession): void => {
    for (const e of vscode.window.visibleTextEditors) if (e.document === s.document) draw(e);
  };
  return vscode.Disposable.from(
    removed, region, insertAt, image,
    store.onDidChange(drawFor),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach(draw)),
  );
}
