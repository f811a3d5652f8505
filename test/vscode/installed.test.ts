// The VSIX test: Diffuse installed from the package `npm run package` built (not the working
// tree) loads its bundled model and refines a selection.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, diffuse, openEditor, selectLines } from './helpers';

suite('Diffuse installed from its VSIX', () => {
  test('runs from the installed copy and refines a selection', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.ok(ext, 'installed');
    assert.ok(!ext.extensionPath.startsWith(process.env.DIFFUSE_REPO ?? '/nonexistent'), `loaded from ${ext.extensionPath}`);
    assert.match(ext.extensionPath, /extensions/);
    const api = await diffuse();
    const editor = await openEditor();
    const original = editor.document.getText();
    selectLines(editor, 1, 3);
    const notices = api.service.notices.length;
    await vscode.commands.executeCommand('diffuse.refineSelection', 1);
    assert.equal(editor.document.getText(), original, 'nothing is written before Accept');
    const session = api.sessions.get(editor.document);
    if (!session) {
      // the model ran and is sure of no change: it says so
      assert.match(api.service.notices.slice(notices).join('\n'), /no change the model is sure of/);
      return;
    }
    assert.equal(session.phase, 'review');
    const r = session.regions[0];
    const expected = original.slice(0, r.start) + r.proposal + original.slice(r.end);
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(editor.document.getText(), expected, 'Accept writes the proposal the installed model made');
  });
});
