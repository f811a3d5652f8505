// Refine Selection (and "with Strength…"): the selection becomes the span, the code around it the
// context; the model's progress is drawn live and its result reviewed as an inline diff.
import * as vscode from 'vscode';
import { contextWindow } from '../core/textWindow';
import type { DenoiserService } from './denoiserService';
import type { SessionStore } from './proposalSession';
import { reportCommandError } from './requestErrors';

/** Characters of document sent on each side beyond what the engine's context budget reads. */
export const WINDOW_MARGIN_CHARS = 2000;

export function registerRefineSelection(service: DenoiserService, store: SessionStore): vscode.Disposable {
  return vscode.Disposable.from(
    // registerCommand, not registerTextEditorCommand: executeCommand then resolves when the run ends
    vscode.commands.registerCommand('diffuse.refineSelection', async (strength?: number) => {
      const editor = vscode.window.activeTextEditor;
      if (editor) await refine(service, store, editor, typeof strength === 'number' ? strength : service.settings().strength);
    }),
    vscode.commands.registerCommand('diffuse.refineSelectionWithStrength', async () => {
      const editor = vscode.window.activeTextEditor;
      const strength = editor && (await askStrength(service.settings().strength));
      if (editor && strength !== undefined) await refine(service, store, editor, strength);
    }),
  );
}

async function askStrength(current: number): Promise<number | undefined> {
  const value = await vscode.window.showInputBox({
    title: 'Diffuse: Refine Selection with Strength',
    prompt: 'Fraction of the selected tokens to regenerate: 0.1 keeps almost everything, 1.0 rewrites the whole selection',
    value: String(current),
    validateInput: (v) => (Number(v) >= 0.1 && Number(v) <= 1 ? undefined : 'Enter a number from 0.1 to 1.0'),
  });
  return value === undefined ? undefined : Number(value);
}

/** Runs one refinement of the editor's selection (the cursor's line when nothing is selected). */
export async function refine(service: DenoiserService, store: SessionStore, editor: vscode.TextEditor, strength: number): Promise<void> {
  const doc = editor.document;
  let range: vscode.Range = editor.selection;
  if (range.isEmpty) range = doc.lineAt(range.start.line).range;
  if (range.isEmpty || !doc.getText(range).trim()) {
    void vscode.window.showInformationMessage('Diffuse: select the code to refine.');
    return;
  }
  const start = doc.offsetAt(range.start);
  const end = doc.offsetAt(range.end);
  const s = service.settings();
  const win = contextWindow(doc.getText(), start, end, s.context, WINDOW_MARGIN_CHARS);
  const session = store.start(doc, 'Refine', [{ start, end }]);
  try {
    const result = await service.request('refine', (client, o) => client.refine({
      text: win.text, start: start - win.offset, end: end - win.offset, strength, sampler: s.sampler, context: s.context,
    }, o), {
      signal: session.signal,
      onProgress: (p) => session.progress(p),
      describe: `${end - start} chars at strength ${strength}`,
    });
    if (session.phase === 'running' && !session.finish([result.edits[0]?.text ?? ''])) {
      void vscode.window.setStatusBarMessage('Diffuse: the model proposed no change', 4000);
    }
  } catch (e) {
    session.end('failed');
    reportCommandError('refine', e);
  }
}
