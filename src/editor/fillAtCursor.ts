// Fill at Cursor: new code at every cursor, all spans masked in one canvas and denoised jointly
// (each sees the others' progress), then reviewed and accepted together like a refinement.
import * as vscode from 'vscode';
import type { BackendService } from './backendService';
import { RESULT_MESSAGE_MS } from './messageDurations';
import type { SessionStore } from './proposalSession';
import { reportCommandError } from './requestErrors';

export function registerFillAtCursor(service: BackendService, store: SessionStore): vscode.Disposable {
  return vscode.commands.registerCommand('diffuse.fillAtCursor', async () => {
    const editor = vscode.window.activeTextEditor;
    if (editor) await fill(service, store, editor);
  });
}

export async function fill(service: BackendService, store: SessionStore, editor: vscode.TextEditor): Promise<void> {
  const doc = editor.document;
  const cursors = [...new Set(editor.selections.map((sel) => doc.offsetAt(sel.active)))].sort((a, b) => a - b);
  const s = service.settings();
  const first = cursors[0];
  const last = cursors[cursors.length - 1];
  const win = service.window(doc.getText(), first, last);
  const session = store.start(
    doc,
    'Fill',
    cursors.map((c) => ({ start: c, end: c })),
  );
  try {
    const result = await service.fill(
      {
        text: win.text,
        cursors: cursors.map((c) => c - win.offset),
        maxTokens: s.fillMaxTokens,
        sampler: s.sampler,
        context: s.context,
      },
      {
        signal: session.signal,
        onProgress: (p) => session.progress(p),
        describe: `${cursors.length} cursor${cursors.length > 1 ? 's' : ''}, ${s.fillMaxTokens} slots each`,
      },
    );
    // edits come back in cursor order (the engine sorts them as we did)
    const texts = cursors.map((c) => result.edits.find((e) => e.start === c - win.offset)?.text ?? '');
    if (session.phase === 'running' && !session.finish(texts)) {
      void vscode.window.setStatusBarMessage('Diffuse: the model proposed nothing to insert', RESULT_MESSAGE_MS);
    }
  } catch (e) {
    session.end('failed');
    reportCommandError(service, 'Fill', e);
  }
}
