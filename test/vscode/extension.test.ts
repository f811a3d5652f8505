// Diffuse in a real VS Code with the real model: each test drives the extension through its
// commands and asserts what a user would observe (the document, undo, the session, notices).
// The model's output quality is not judged here; only behaviour is.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import { closeAll, diffuse, openEditor, selectLines, setting, waitFor } from './helpers';

suite('Diffuse in VS Code', () => {
  let api: DiffuseApi;

  suiteSetup(async () => {
    api = await diffuse();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await setting('threshold', undefined);
    await setting('temperature', undefined);
    await closeAll();
  });

  test('the status bar item and commands are contributed', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['diffuse.refineSelection', 'diffuse.refineSelectionWithStrength', 'diffuse.fillAtCursor', 'diffuse.accept',
      'diffuse.reject', 'diffuse.cancel', 'diffuse.chooseModelFolder', 'diffuse.restartDenoiser', 'diffuse.triggerGhostText']) {
      assert.ok(commands.includes(c), `${c} is registered`);
    }
  });

  test('refine a selection then accept: the document changes, and one undo restores it', async () => {
    const editor = await openEditor();
    const original = editor.document.getText();
    selectLines(editor, 1, 3);
    await vscode.commands.executeCommand('diffuse.refineSelection', 1);
    const session = api.sessions.get(editor.document);
    assert.equal(session?.phase, 'review', 'the proposal is shown for review');
    assert.equal(editor.document.getText(), original, 'reviewing does not touch the document');
    await vscode.commands.executeCommand('diffuse.accept');
    assert.notEqual(editor.document.getText(), original, 'accepting changes the document');
    assert.ok(editor.document.getText().startsWith(SAMPLE_HEAD), 'the code before the span is kept');
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), original, 'one undo restores the original');
  });

  test('refine then reject: the document is unchanged and was never edited', async () => {
    const editor = await openEditor();
    const original = editor.document.getText();
    const version = editor.document.version;
    selectLines(editor, 7, 9);
    await vscode.commands.executeCommand('diffuse.refineSelection', 1);
    assert.equal(api.sessions.get(editor.document)?.phase, 'review');
    await vscode.commands.executeCommand('diffuse.reject');
    assert.equal(api.sessions.get(editor.document), undefined);
    assert.equal(editor.document.getText(), original);
    assert.equal(editor.document.version, version, 'no edit was made at all');
  });

  test('cancel in the middle of a run: nothing changes and the denoiser stays usable', async () => {
    await setting('threshold', 1); // only what the step budget demands commits: a long run to cancel
    const editor = await openEditor();
    const original = editor.document.getText();
    selectLines(editor, 0, 14);
    const pid = api.service.workerPid;
    const run = vscode.commands.executeCommand('diffuse.refineSelection', 1);
    await waitFor(() => (api.sessions.get(editor.document)?.step ?? 0) >= 2, 30_000, 'denoising steps');
    const session = api.sessions.get(editor.document)!;
    assert.equal(session.phase, 'running');
    await vscode.commands.executeCommand('diffuse.cancel');
    await run;
    assert.equal(session.phase, 'ended');
    assert.ok(session.step < session.maxSteps, `stopped early (step ${session.step}/${session.maxSteps})`);
    assert.equal(editor.document.getText(), original);
    assert.equal(api.service.workerPid, pid, 'the worker was not restarted to cancel');
    await setting('threshold', undefined);
    selectLines(editor, 1, 1);
    await vscode.commands.executeCommand('diffuse.refineSelection', 1);
    assert.equal(api.sessions.get(editor.document)?.phase, 'review', 'the next request runs normally');
  });

  test('ghost text: the provider answers at a cursor, typing what it shows is free, selections are skipped', async () => {
    // Sampling, not greedy: an early model's greedy choice is mostly newlines, which are rightly not
    // shown. The content is not judged; only that ghost text comes, and how the cache and skips behave.
    await setting('temperature', 1);
    const editor = await openEditor('export function area(r: number): number {\n  \n}\n');
    const before = api.ghostText.stats.requests;
    editor.selection = new vscode.Selection(1, 2, 1, 2);
    await vscode.commands.executeCommand('diffuse.triggerGhostText');
    await waitFor(() => api.ghostText.stats.requests > before, 10_000, 'VS Code to ask Diffuse for an inline completion');
    const ctx = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
    const token = new vscode.CancellationTokenSource().token;
    // give the model a start on the line, a little at a time, until it proposes something visible
    let pos = new vscode.Position(1, 2);
    let items: vscode.InlineCompletionItem[] | undefined;
    for (const typed of ['', 'const ', 'a', 'r', 'e', 'a']) {
      if (typed) await editor.edit((b) => b.insert(pos, typed));
      pos = pos.translate(0, typed.length);
      editor.selection = new vscode.Selection(pos, pos);
      items = await api.ghostText.provideInlineCompletionItems(editor.document, pos, ctx, token);
      if (items?.length) break;
    }
    assert.ok(items && items.length === 1, 'a completion is offered');
    const text = items[0].insertText as string;
    assert.ok(text.trim().length > 0);
    // type its first character: the rest comes from the cache, without a model request
    const requests = api.ghostText.stats.requests;
    await editor.edit((b) => b.insert(pos, text[0]));
    const next = pos.translate(0, 1);
    const again = await api.ghostText.provideInlineCompletionItems(editor.document, next, ctx, token);
    assert.equal(again?.[0].insertText, text.slice(1));
    assert.equal(api.ghostText.stats.requests, requests, 'no new request');
    // a selection means the user is not writing at a cursor
    editor.selection = new vscode.Selection(0, 0, 0, 6);
    const skipped = api.ghostText.stats.skipped;
    assert.equal(await api.ghostText.provideInlineCompletionItems(editor.document, new vscode.Position(0, 6), ctx, token), undefined);
    assert.equal(api.ghostText.stats.skipped, skipped + 1);
  });

  test('fill at two cursors: one joint request, both spans accepted together as one undo step', async () => {
    const editor = await openEditor();
    const original = editor.document.getText();
    editor.selections = [new vscode.Selection(1, 0, 1, 0), new vscode.Selection(8, 0, 8, 0)];
    const fills = api.service.counts.fill;
    await vscode.commands.executeCommand('diffuse.fillAtCursor');
    assert.equal(api.service.counts.fill, fills + 1, 'both cursors went into one request');
    const session = api.sessions.get(editor.document)!;
    assert.equal(session.phase, 'review');
    assert.equal(session.regions.length, 2);
    const inserted = session.regions.map((r) => r.proposal ?? '');
    await vscode.commands.executeCommand('diffuse.accept');
    const text = editor.document.getText();
    const lines = original.split('\n');
    const expected = [...lines.slice(0, 1), inserted[0] + lines[1], ...lines.slice(2, 8), inserted[1] + lines[8], ...lines.slice(9)].join('\n');
    assert.equal(text, expected, 'each proposal is inserted at its cursor');
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), original, 'one undo removes both');
  });

  test('per-change review: accepting one change applies only it as one undo step; rejecting the other ends the review', async () => {
    // a proposal with two separate changes, given directly so the hunks do not depend on the model
    const editor = await openEditor();
    const doc = editor.document;
    const original = doc.getText();
    const start = doc.offsetAt(new vscode.Position(7, 0));
    const end = doc.offsetAt(new vscode.Position(13, 0));
    const session = api.sessions.start(doc, 'Refine', [{ start, end }]);
    const proposal = doc.getText().slice(start, end).replace('let x = 0;', 'let x = 1;').replace('y += p.y;', 'y += p.y * 2;');
    assert.ok(session.finish([proposal]));
    assert.equal(session.hunkCount, 2);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.equal(titles.filter((t) => t === 'Accept Change').length, 2, `per-change lenses: ${titles.join(' | ')}`);
    await vscode.commands.executeCommand('diffuse.acceptHunk', doc.uri.toString(), 0, 1);
    assert.equal(doc.getText(), original.replace('y += p.y;', 'y += p.y * 2;'));
    assert.equal(session.phase, 'review', 'one change is left to decide');
    await vscode.commands.executeCommand('diffuse.rejectHunk', doc.uri.toString(), 0, 0);
    assert.equal(session.phase, 'ended');
    assert.equal(doc.getText(), original.replace('y += p.y;', 'y += p.y * 2;'), 'the rejected change was never written');
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original, 'one undo takes the accepted change back');
  });

  test('ghost text keeps one request in flight: a newer request cancels the older one in the worker', async () => {
    await setting('threshold', 1); // slow enough to overlap
    const editor = await openEditor('export function area(r: number): number {\n  return \n}\n');
    const ctx = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
    const token = new vscode.CancellationTokenSource().token;
    const pid = api.service.workerPid;
    const first = api.ghostText.provideInlineCompletionItems(editor.document, new vscode.Position(1, 9), ctx, token);
    await waitFor(() => api.service.activity?.kind === 'complete', 10_000, 'the first request to start');
    const second = api.ghostText.provideInlineCompletionItems(editor.document, new vscode.Position(1, 9), ctx, token);
    assert.equal(await first, undefined, 'the older request gave way');
    await second;
    assert.equal(api.service.workerPid, pid, 'cancelled in the worker, not by killing it');
  });

  /** A full-strength refine of lines 7–13, slowed down and past its first step. */
  async function refineUnderWay(): Promise<{ editor: vscode.TextEditor; run: Thenable<unknown> }> {
    await setting('threshold', 1); // only what the step budget demands commits: many steps
    const editor = await openEditor();
    selectLines(editor, 7, 13);
    const run = vscode.commands.executeCommand('diffuse.refineSelection', 1);
    await waitFor(() => (api.sessions.get(editor.document)?.step ?? 0) >= 1, 30_000, 'denoising to start');
    return { editor, run };
  }

  test('typing elsewhere during a refine: the typing stays and the proposal follows its code', async () => {
    const { editor, run } = await refineUnderWay();
    const typed = '// typed while Diffuse was busy\n';
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), typed));
    await run;
    const session = api.sessions.get(editor.document)!;
    assert.equal(session.phase, 'review', 'the proposal survived the edit');
    const r = session.regions[0];
    assert.equal(editor.document.getText().slice(r.start, r.end), r.original, 're-anchored onto the same code');
    await vscode.commands.executeCommand('diffuse.accept');
    assert.ok(editor.document.getText().startsWith(typed + SAMPLE_HEAD), 'the typed text is still there');
  });

  test('typing inside the span during a refine: the typing stays and the proposal is discarded', async () => {
    const { editor, run } = await refineUnderWay();
    const session = api.sessions.get(editor.document)!;
    await editor.edit((b) => b.insert(new vscode.Position(8, 2), 'TYPED'));
    await run;
    assert.equal(session.phase, 'ended');
    assert.match(session.endReason ?? '', /discarded/);
    assert.equal(editor.document.lineAt(8).text, '  TYPEDlet y = 0;');
  });

  test('a broken model folder gives one actionable notification, not one per request', async function () {
    this.timeout(180_000); // two model restarts on a busy machine
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-broken-'));
    fs.writeFileSync(path.join(broken, 'denoiser.json'), '{"contract": 1}');
    const previous = vscode.workspace.getConfiguration('diffuse').inspect<string>('modelPath')?.globalValue;
    const notices = api.service.notices.length;
    const states: string[] = [];
    const sub = api.service.onDidChange(() => states.push(api.service.state.kind));
    try {
      await setting('modelPath', broken);
      await waitFor(() => api.service.state.kind === 'error', 30_000, 'the model load to fail');
      await waitFor(() => api.service.notices.length === notices + 1, 5_000, 'the notification');
      assert.match(api.service.notices[notices], /could not load its model: .*missing/);
      const editor = await openEditor();
      selectLines(editor, 1, 2);
      await vscode.commands.executeCommand('diffuse.refineSelection', 1);
      await vscode.commands.executeCommand('diffuse.fillAtCursor');
      assert.equal(api.service.notices.length, notices + 1, 'requests to a broken model add no notification');
      assert.equal(editor.document.getText().length > 0, true);
    } catch (e) {
      throw new Error(`${e}; states seen: ${states.join(' ')}`);
    } finally {
      sub.dispose();
      await setting('modelPath', previous);
    }
    await waitFor(() => api.service.state.kind === 'ready', 120_000, 'the model to load again');
  });
});

const SAMPLE_HEAD = 'export function distance(a: Point, b: Point): number {\n';
