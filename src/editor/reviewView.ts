// Draws sessions in review. The review itself is a diff editor of the document against the document
// the proposal makes (reviewDiff.ts, which says why: decorations cannot add lines, and drawing new
// lines over real ones hid code). In the document's own editors (its tab, and the left side of that
// diff) the characters the proposal removes are struck through in red and the changed range is
// tinted, so the user's own tab says a proposal is pending; nothing is drawn over any line, and
// nothing is in the document until the user accepts (title bar, CodeLens or keybinding).
import * as vscode from 'vscode';
import type { ProposalSession, SessionStore } from './proposalSession';
import { registerReviewDiff } from './reviewDiff';

export function registerInlineDiffView(store: SessionStore): vscode.Disposable {
  const types = decorationTypes();
  const draw = (editor: vscode.TextEditor): void => {
    const s = store.get(editor.document);
    if (s?.phase !== 'review' || editor.document !== s.document) {
      for (const t of Object.values(types)) editor.setDecorations(t, []);
      return;
    }
    const inDiff = isDiffSide(editor);
    const { removed, inserts, regions } = proposalRanges(s, editor.document);
    editor.setDecorations(inDiff ? types.struck : types.removed, removed);
    editor.setDecorations(inDiff ? types.removed : types.struck, []);
    editor.setDecorations(types.region, inDiff ? [] : regions);
    editor.setDecorations(types.insertAt, inDiff ? [] : inserts);
  };
  const drawFor = (s: ProposalSession): void => {
    for (const e of vscode.window.visibleTextEditors) if (e.document === s.document) draw(e);
  };
  return vscode.Disposable.from(
    ...Object.values(types),
    store.onDidChange(drawFor),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach(draw)),
    registerReviewDiff(store),
  );
}

function decorationTypes() {
  return {
    removed: vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
      textDecoration: 'line-through',
      overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.deletedForeground'),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
    }),
    // on the left of the review's diff, which colours what goes itself: the strike-through alone
    struck: vscode.window.createTextEditorDecorationType({ textDecoration: 'line-through' }),
    region: vscode.window.createTextEditorDecorationType({
      backgroundColor: new vscode.ThemeColor('diffEditor.unchangedRegionBackground'),
      isWholeLine: true,
    }),
    // where a change only inserts: a thin mark at the insertion point (it takes no room)
    insertAt: vscode.window.createTextEditorDecorationType({
      borderColor: new vscode.ThemeColor('diffEditor.insertedLineBackground'),
      border: '1px solid',
      overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.addedForeground'),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
    }),
  };
}

/** What the proposal removes, where it only inserts, and each changed region, in `doc`. */
function proposalRanges(
  s: ProposalSession,
  doc: vscode.TextDocument,
): { removed: vscode.Range[]; inserts: vscode.Range[]; regions: vscode.Range[] } {
  const pos = (o: number): vscode.Position => doc.positionAt(o);
  const removed: vscode.Range[] = [];
  const inserts: vscode.Range[] = [];
  const regions: vscode.Range[] = [];
  for (const r of s.regions) {
    if (r.hunks.length === 0) continue;
    const range = new vscode.Range(pos(r.start), pos(r.end));
    if (!range.isEmpty) regions.push(range);
    for (const h of r.hunks) {
      for (const x of h.removed) removed.push(new vscode.Range(pos(r.start + x.start), pos(r.start + x.end)));
      if (h.start === h.end) inserts.push(new vscode.Range(pos(r.start + h.start), pos(r.start + h.start)));
    }
  }
  return { removed, inserts, regions };
}

/** Whether the editor is the left side of a diff (its group's active tab is a diff of its document). */
function isDiffSide(editor: vscode.TextEditor): boolean {
  const group = vscode.window.tabGroups.all.find((g) => g.viewColumn === editor.viewColumn);
  const input = group?.activeTab?.input;
  return input instanceof vscode.TabInputTextDiff && input.original.toString() === editor.document.uri.toString();
}
