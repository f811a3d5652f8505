// The VSIX test: Diffuse installed from the package `npm run package` built (not the working
// tree) loads its bundled model and refines a selection.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, diffuse, openEditor, refineAndAccept } from './helpers';

suite('Diffuse installed from its VSIX', () => {
  test('runs from the installed copy and refines a selection', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.ok(ext, 'installed');
    assert.ok(
      !ext.extensionPath.startsWith(process.env.DIFFUSE_REPO ?? '/nonexistent'),
      `loaded from ${ext.extensionPath}`,
    );
    assert.match(ext.extensionPath, /extensions/);
    const api = await diffuse();
    const editor = await openEditor();
    await refineAndAccept(api, editor);
  });
});
