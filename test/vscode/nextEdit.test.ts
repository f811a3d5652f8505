// Next edit in the editor (issue #19), with the shipped local model: a rename is followed by the
// suggestion to rename the other uses, Tab's commands jump to it and accept it as one undo step,
// and with the feature off nothing is asked or proposed.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import { closeAll, diffuse, openEditor, setting, waitFor } from './helpers';
import { RENAME_SAMPLE } from './samples';

const CODE = RENAME_SAMPLE;

/** The user's rename of the declaration, as typed: one edit in the editor. */
async function renameDeclaration(editor: vscode.TextEditor): Promise<string> {
  const at = new vscode.Range(1, 6, 1, 11);
  assert.equal(editor.document.getText(at), 'count');
  await editor.edit((b) => b.replace(at, 'sum'));
  editor.selection = new vscode.Selection(1, 9, 1, 9);
  return editor.document.getText();
}

suite('Next edit', () => {
  let api: DiffuseApi;

  suiteSetup(async () => {
    api = await diffuse();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await setting('nextEdit.enabled', undefined);
    await closeAll();
  });

  test("a rename is followed by one suggestion for the other uses; jump, accept, and one undo restores the user's edit", async () => {
    await setting('nextEdit.enabled', true);
    const editor = await openEditor(CODE);
    await new Promise((r) => setTimeout(r, 200));
    const renamed = await renameDeclaration(editor);
    await waitFor(() => api.nextEdit.session?.phase === 'review', 20_000, 'the next-edit suggestion');
    const s = api.nextEdit.session!;
    assert.equal(s.title, 'Next edit');
    assert.equal(editor.document.getText(), renamed, 'a suggestion does not touch the document');
    assert.equal(api.sessions.all().length, 1, 'one suggestion at a time');
    const proposed = s.reviewText().text;
    assert.ok(proposed.includes('  let sum = 0;'), "the user's edit is kept in the proposal");
    assert.ok(/\n {4}sum \+= item\.price;\n|\n {2}return sum;\n/.test(proposed), `a stale use renamed:\n${proposed}`);
    assert.ok(!proposed.includes('count = 0'), 'the edit is not undone');
    await waitFor(
      () => /next edit/.test(api.statusBar.text),
      5_000,
      `the status bar to say a next edit waits: ${api.statusBar.text}`,
    );

    const at = api.nextEdit.waiting!;
    await vscode.commands.executeCommand('diffuse.nextEdit.jump');
    const shown = vscode.window.visibleTextEditors.filter((e) => e.document === editor.document);
    assert.ok(shown.length > 0, 'the document stays visible');
    for (const e of shown) assert.equal(e.selection.active.line, at.start.line, 'the cursor is at the suggestion');

    assert.equal(await vscode.commands.executeCommand('diffuse.nextEdit.accept'), true);
    await waitFor(() => !api.nextEdit.session, 5_000, 'the suggestion to end');
    assert.equal(editor.document.getText(), proposed, 'Accept writes what the review showed');
    await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand('undo');
    await waitFor(
      () => editor.document.getText() === renamed,
      5_000,
      'one undo to take the suggestion back and keep the rename',
    );
  });

  test("Escape's command dismisses the suggestion and leaves the document as the user left it", async () => {
    await setting('nextEdit.enabled', true);
    const editor = await openEditor(CODE);
    await new Promise((r) => setTimeout(r, 200));
    const renamed = await renameDeclaration(editor);
    await waitFor(() => api.nextEdit.session?.phase === 'review', 20_000, 'the next-edit suggestion');
    await vscode.commands.executeCommand('diffuse.nextEdit.dismiss');
    await waitFor(() => !api.nextEdit.session, 5_000, 'the suggestion to go');
    assert.equal(editor.document.getText(), renamed);
  });

  test('with diffuse.nextEdit.enabled off nothing is asked and nothing proposed', async () => {
    await setting('nextEdit.enabled', false);
    const editor = await openEditor(CODE);
    const asked = api.probe.nextEdit.asked;
    const renamed = await renameDeclaration(editor);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(api.probe.nextEdit.asked, asked, 'no request');
    assert.equal(api.nextEdit.session, undefined);
    assert.equal(api.sessions.all().length, 0);
    assert.equal(editor.document.getText(), renamed);
  });
});
