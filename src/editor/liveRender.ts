// Draws running sessions: the span highlighted with its original text dimmed, and the model's
// current text beside it, redrawn at every step: masked slots pending (░), tokens committed by
// the latest step bold, the rest plain. The document itself is not touched.
import { stepLabel } from '../core/view/stepLabel';
import * as vscode from 'vscode';
import { imageRunsToLines } from '../core/view/progressRuns';
import { MASK_GLYPH } from '../core/text/spanText';
import type { ProposalSession, SessionStore } from './proposalSession';
import { imagesBeside } from './imageDecoration';

/** Masked slots drawn for a region before the model's first step. */
const PLACEHOLDER_SLOTS = 4;

export function registerLiveRender(store: SessionStore): vscode.Disposable {
  const span = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.findRangeHighlightBackground'),
    opacity: '0.55',
    isWholeLine: false,
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  const cursor = vscode.window.createTextEditorDecorationType({
    border: '1px dashed',
    borderColor: new vscode.ThemeColor('editorCursor.foreground'),
  });
  const image = vscode.window.createTextEditorDecorationType({});

  const draw = (editor: vscode.TextEditor): void => {
    const s = store.get(editor.document);
    if (s?.phase !== 'running') {
      editor.setDecorations(span, []);
      editor.setDecorations(cursor, []);
      editor.setDecorations(image, []);
      return;
    }
    const doc = editor.document;
    const ranges = s.regions.map((r) => new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end)));
    editor.setDecorations(
      span,
      ranges.filter((r) => !r.isEmpty),
    );
    editor.setDecorations(
      cursor,
      ranges.filter((r) => r.isEmpty),
    );
    editor.setDecorations(
      image,
      imagesBeside(
        editor,
        s.regions.map((r, i) => ({
          range: ranges[i],
          lines: r.live
            ? imageRunsToLines(r.live.runs)
            : [[{ text: MASK_GLYPH.repeat(PLACEHOLDER_SLOTS), style: 'pending' as const }]],
          caption: i === 0 ? (s.step ? stepLabel(s.step, s.maxSteps, s.unit) : 'waiting for the model') : undefined,
        })),
      ),
    );
  };
  const drawFor = (s: ProposalSession): void => {
    for (const e of vscode.window.visibleTextEditors) if (e.document === s.document) draw(e);
  };
  return vscode.Disposable.from(
    span,
    cursor,
    image,
    store.onDidChange(drawFor),
    vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach(draw)),
    // the image hangs from the first line of the span on screen: scrolling can change which
    vscode.window.onDidChangeTextEditorVisibleRanges((e) => {
      if (store.get(e.textEditor.document)?.phase === 'running') draw(e.textEditor);
    }),
  );
}
