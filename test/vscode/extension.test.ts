// Diffuse in a real VS Code with the real model: each test drives the extension through its
// commands and asserts what a user would observe (the document, undo, the session, notices).
// The model's output quality is not judged here; only behaviour is.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import {
  captureRequests,
  closeAll,
  diffuse,
  linesLostOutside,
  longSource,
  openEditor,
  refineAndAccept,
  selectLines,
  setting,
  waitFor,
} from './helpers';

suite('Diffuse in VS Code', () => {
  let api: DiffuseApi;

  suiteSetup(async () => {
    api = await diffuse();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await setting('threshold', undefined);
    await setting('temperature', undefined);
    await setting('steps', undefined);
    await closeAll();
  });

  test('the commands are registered', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const c of [
      'diffuse.refineSelection',
      'diffuse.refineSelectionWithStrength',
      'diffuse.fillAtCursor',
      'diffuse.accept',
      'diffuse.reject',
      'diffuse.cancel',
      'diffuse.chooseModelFolder',
      'diffuse.restartDenoiser',
      'diffuse.triggerGhostText',
    ]) {
      assert.ok(commands.includes(c), `${c} is registered`);
    }
  });

  test("the status bar shows the running request's step, then the latency; the CodeLens never shows a different step", async () => {
    const { editor, run } = await fillUnderWay();
    const session = api.sessions.get(editor.document)!;
    await waitFor(() => session.step >= 2, 30_000, 'a second step');
    const shown = api.statusBar.text;
    const m = /Diffuse: fill step (\d+)\/(\d+)/.exec(shown);
    assert.ok(m, `the status bar shows the step: "${shown}"`);
    assert.equal(Number(m[2]), session.maxSteps);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      editor.document.uri,
    );
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.equal(session.phase, 'running', 'still running when the lenses were read');
    assert.ok(
      titles.some((t) => /Diffuse Fill: denoising/.test(t)),
      `a running lens: ${titles.join(' | ')}`,
    );
    assert.ok(
      titles.every((t) => !/step/.test(t)),
      `no lens repeats a step count that could lag: ${titles.join(' | ')}`,
    );
    await vscode.commands.executeCommand('diffuse.reject'); // cancels the run, or drops the proposal if it just ended
    await run;
    await waitFor(() => !/step/.test(api.statusBar.text), 5_000, 'the status bar to leave the step');
    assert.match(api.statusBar.text, /^\$\(sparkle\) Diffuse( \d+ ms)?( \$\(eye(-closed)?\)( [\d.]+)?)?$/);
    const after = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      editor.document.uri,
    );
    assert.deepEqual(
      after.map((l) => l.command?.title),
      [],
      'no lens outlives the run',
    );
  });

  test('refine a selection: the proposal is shown without touching the document, and Accept writes exactly it', async () => {
    const editor = await openEditor();
    const original = await refineAndAccept(api, editor);
    if (original === undefined) return;
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), original, 'one undo restores the original');
  });

  test('accept a proposal: the document changes, and one undo restores it', async () => {
    // the proposal is given, so the test does not depend on what the model would change
    const editor = await openEditor();
    const doc = editor.document;
    const original = doc.getText();
    const start = doc.offsetAt(new vscode.Position(1, 0));
    const end = doc.offsetAt(new vscode.Position(3, 0));
    const session = api.sessions.start(doc, 'Refine', [{ start, end }]);
    assert.ok(session.finish([original.slice(start, end).replace('a.x - b.x', 'b.x - a.x')]));
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(doc.getText(), original.replace('a.x - b.x', 'b.x - a.x'));
    assert.ok(doc.getText().startsWith(SAMPLE_HEAD), 'the code before the span is kept');
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original, 'one undo restores the original');
  });

  for (const [eol, name] of [
    ['\n', 'LF'],
    ['\r\n', 'CRLF'],
  ] as const) {
    test(`refine a selection longer than the model's window (${name}): Accept keeps every line outside what the model changed`, async function () {
      this.timeout(180_000);
      const editor = await openEditor(longSource(30, eol));
      const doc = editor.document;
      const original = doc.getText();
      selectLines(editor, 20, 198); // 179 lines: far more tokens than the 1024-token window
      const selStart = doc.offsetAt(editor.selection.start);
      const selEnd = doc.offsetAt(editor.selection.end);
      const notices = api.probe.notices.length;
      const capture = captureRequests(api);
      try {
        await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true }); // a rewrite, so there is a change to accept
      } finally {
        capture.restore();
      }
      const call = capture.calls.find((c) => c.kind === 'refine')!;
      const edits = call.result!.edits;
      // where the engine's answer lies in the document (its offsets are relative to the request's text)
      const windowOffset = selStart - call.params.start!;
      const from = windowOffset + Math.min(...edits.map((e) => e.start));
      const to = windowOffset + Math.max(...edits.map((e) => e.end));
      assert.ok(to < selEnd, `the engine refined only part of the selection (${from}-${to} of ${selStart}-${selEnd})`);
      const session = api.sessions.get(doc);
      assert.equal(session?.phase, 'review', 'a full rewrite of some 80 lines proposes a change');
      const proposed = [session.regions[0].start, session.regions[0].end];
      await vscode.commands.executeCommand('diffuse.accept');
      const after = doc.getText();
      assert.equal(
        linesLostOutside(original, after, from, to),
        0,
        'every line outside the changed range is byte-identical',
      );
      assert.equal(after.slice(0, from), original.slice(0, from));
      assert.equal(after.slice(after.length - (original.length - to)), original.slice(to));
      assert.deepEqual(proposed, [from, to], 'the proposal covered exactly what the engine changed');
      const told = api.probe.notices.slice(notices).join('\n');
      assert.match(told, /only lines 21–\d+ of the selection \(lines 21–199\)/, `the user is told: "${told}"`);
      await vscode.commands.executeCommand('undo');
      assert.equal(doc.getText(), original);
    });
  }

  test('a refine whose answer equals the original says "no change the model is sure of" instead of a diff', async () => {
    const editor = await openEditor();
    selectLines(editor, 1, 2);
    const notices = api.probe.notices.length;
    // the real model runs; its answer is replaced by the original text, as a corrector gives it
    const capture = captureRequests(api, (c) => ({
      ...c.result!,
      edits: [
        {
          start: c.params.start!,
          end: c.params.end!,
          text: c.params.text!.slice(c.params.start, c.params.end),
          confidence: 0.9,
        },
      ],
    }));
    try {
      await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
    } finally {
      capture.restore();
    }
    assert.equal(api.sessions.get(editor.document), undefined, 'no proposal is shown');
    const told = api.probe.notices.slice(notices);
    assert.equal(told.length, 1);
    assert.match(
      told[0],
      /^Diffuse: no change the model is sure of in lines? [\d–]+ \([\d:]+( [AP]M)?\)\.$/,
      'it says which lines were checked, and when',
    );
  });

  test('a setting that restarts the denoiser, changed during a refine, keeps the proposal and restarts after it', async function () {
    this.timeout(180_000);
    const previous = vscode.workspace.getConfiguration('diffuse').inspect<number>('threads')?.globalValue;
    // a long fill keeps the worker busy, so the refine asked for after it is still in flight when the setting changes
    const busy = await fillUnderWay();
    await setting('steps', undefined);
    const editor = await openEditor();
    selectLines(editor, 7, 13);
    const refined = vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
    await waitFor(() => api.sessions.get(editor.document)?.phase === 'running', 5_000, 'the refine to start');
    const session = api.sessions.get(editor.document)!;
    const pid = api.service.workerPid;
    try {
      await setting('threads', (previous ?? 1) === 1 ? 2 : 1);
      assert.equal(session.phase, 'running', 'the setting changed while the refine ran');
      assert.equal(api.service.workerPid, pid, 'the worker is not replaced under the running refine');
      await Promise.all([busy.run, refined]);
      assert.notEqual(session.endReason, 'failed', 'the refine was not cut off');
      assert.equal(session.phase, 'review', 'the proposal is kept');
      await waitFor(
        () => api.service.workerPid !== pid && api.service.state.kind === 'ready',
        60_000,
        'the restart with the new setting',
      );
      assert.equal(session.phase, 'review', 'the restart does not drop the proposal either');
    } finally {
      await setting('threads', previous);
    }
    await waitFor(() => api.service.state.kind === 'ready', 60_000, 'the model to load again');
  });

  test('the ghost-text cache is cleared when settings change and when the denoiser restarts', async function () {
    this.timeout(120_000);
    const at = (): string | undefined => api.ghostText.cache.get('const a = ', '\n');
    api.ghostText.cache.put('const a = ', '\n', '1;');
    assert.equal(at(), '1;');
    await setting('ghostText.delayMs', 10);
    assert.equal(at(), undefined, 'a settings change clears it');
    await setting('ghostText.delayMs', undefined);
    api.ghostText.cache.put('const a = ', '\n', '1;');
    const restarted = vscode.commands.executeCommand('diffuse.restartDenoiser');
    assert.equal(at(), undefined, 'a restart (a new model) clears it');
    await restarted;
    await waitFor(() => api.service.state.kind === 'ready', 60_000, 'the model to load again');
  });

  test('refine then reject: the document is unchanged and was never edited', async () => {
    const editor = await openEditor();
    const original = editor.document.getText();
    const version = editor.document.version;
    selectLines(editor, 7, 9);
    await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
    assert.equal(api.sessions.get(editor.document)?.phase, 'review');
    await vscode.commands.executeCommand('diffuse.reject');
    assert.equal(api.sessions.get(editor.document), undefined);
    assert.equal(editor.document.getText(), original);
    assert.equal(editor.document.version, version, 'no edit was made at all');
  });

  test('cancel in the middle of a run: nothing changes and the denoiser stays usable', async () => {
    // A refine can end (its span padded away) between two polls of an idle machine: a 40-cursor
    // fill with a long budget is a run that is surely still going when Escape comes.
    const pid = api.service.workerPid;
    const { editor, run } = await fillUnderWay();
    const original = editor.document.getText();
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
    await setting('steps', undefined);
    selectLines(editor, 1, 1);
    const notices = api.probe.notices.length;
    await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
    // the next request runs normally: a proposal, or the model's answer that nothing changes
    const phase = api.sessions.get(editor.document)?.phase;
    const told = api.probe.notices.slice(notices);
    assert.ok(
      phase === 'review' || (phase === undefined && told.some((t) => /no change/.test(t))),
      `the next request runs normally: phase ${phase}, told ${JSON.stringify(told)}`,
    );
  });

  test('ghost text: the provider answers at a cursor, typing what it shows is free, selections are skipped', async () => {
    // Sampling, not greedy: an early model's greedy choice is mostly newlines, which are rightly not
    // shown. The content is not judged; only that ghost text comes, and how the cache and skips behave.
    await setting('temperature', 1);
    const editor = await openEditor('export function area(r: number): number {\n  \n}\n');
    const before = api.probe.ghostText.requests;
    editor.selection = new vscode.Selection(1, 2, 1, 2);
    await vscode.commands.executeCommand('diffuse.triggerGhostText');
    await waitFor(
      () => api.probe.ghostText.requests > before,
      10_000,
      'VS Code to ask Diffuse for an inline completion',
    );
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
    const requests = api.probe.ghostText.requests;
    await editor.edit((b) => b.insert(pos, text[0]));
    const next = pos.translate(0, 1);
    const again = await api.ghostText.provideInlineCompletionItems(editor.document, next, ctx, token);
    assert.equal(again?.[0].insertText, text.slice(1));
    assert.equal(api.probe.ghostText.requests, requests, 'no new request');
    // a selection means the user is not writing at a cursor
    editor.selection = new vscode.Selection(0, 0, 0, 6);
    const skipped = api.probe.ghostText.skipped;
    assert.equal(
      await api.ghostText.provideInlineCompletionItems(editor.document, new vscode.Position(0, 6), ctx, token),
      undefined,
    );
    assert.equal(api.probe.ghostText.skipped, skipped + 1);
  });

  test('ghost text below diffuse.ghostText.minConfidence is not shown automatically, but is when asked for', async () => {
    const editor = await openEditor('export function area(r: number): number {\n  return \n}\n');
    const pos = new vscode.Position(1, 9);
    editor.selection = new vscode.Selection(pos, pos);
    const token = new vscode.CancellationTokenSource().token;
    const auto = { triggerKind: vscode.InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined };
    const manual = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
    await setting('ghostText.enabled', true); // automatic requests are answered only when it is on
    await setting('ghostText.minConfidence', 1);
    await setting('ghostText.timeBudgetMs', 60_000); // no deadline: the same request gives the same answer
    const capture = captureRequests(api);
    try {
      const below = api.probe.ghostText.belowConfidence;
      assert.equal(await api.ghostText.provideInlineCompletionItems(editor.document, pos, auto, token), undefined);
      const confidence = capture.calls[0]?.result?.edits[0]?.confidence;
      assert.ok(confidence !== undefined && confidence < 1, `the model's answer is less than certain (${confidence})`);
      assert.equal(api.probe.ghostText.belowConfidence, below + 1, 'hidden for its confidence');
      await api.ghostText.provideInlineCompletionItems(editor.document, pos, manual, token);
      assert.equal(capture.calls.length, 2, 'nothing was cached from the hidden answer');
      assert.equal(api.probe.ghostText.belowConfidence, below + 1, 'Alt+\\ shows what the model has');
      await setting('ghostText.minConfidence', confidence);
      const requests = api.probe.ghostText.requests;
      await api.ghostText.provideInlineCompletionItems(editor.document, pos, auto, token);
      assert.equal(api.probe.ghostText.requests, requests + 1, 'the settings change emptied the cache');
      assert.equal(api.probe.ghostText.belowConfidence, below + 1, 'at the threshold it is shown');
    } finally {
      capture.restore();
      await setting('ghostText.minConfidence', undefined);
      await setting('ghostText.timeBudgetMs', undefined);
      await setting('ghostText.enabled', false);
    }
  });

  test('ghost text with several candidates: one item each, best first (Alt+] / Alt+[ cycle them)', async () => {
    const editor = await openEditor('export function area(r: number): number {\n  return \n}\n');
    const pos = new vscode.Position(1, 9);
    editor.selection = new vscode.Selection(pos, pos);
    const token = new vscode.CancellationTokenSource().token;
    const manual = { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined };
    await setting('ghostText.candidates', 3);
    // the real worker answers; its candidates are set to known texts so the items can be checked
    const texts = ['Math.PI * r * r;', 'r * r * Math.PI;', 'Math.PI * r ** 2;'];
    const capture = captureRequests(api, (c) => ({
      ...c.result!,
      candidates: texts.map((text, i) => ({ start: 0, end: 0, text, confidence: 0.9 - i / 10 })),
    }));
    try {
      const items = await api.ghostText.provideInlineCompletionItems(editor.document, pos, manual, token);
      assert.equal(capture.calls[0].params.candidates, 3, 'the request asks for three candidates');
      assert.deepEqual(
        items?.map((i) => i.insertText),
        texts,
      );
      // a worker without candidates answers with edits alone: one item
      capture.restore();
      await setting('ghostText.candidates', 1);
      const one = await api.ghostText.provideInlineCompletionItems(
        editor.document,
        new vscode.Position(1, 9),
        manual,
        token,
      );
      assert.ok((one?.length ?? 0) <= 1);
      // the real worker's candidates, as they come (the settings change emptied the cache)
      await setting('ghostText.candidates', 3);
      const real = captureRequests(api);
      let got: vscode.InlineCompletionItem[] | undefined;
      try {
        got = await api.ghostText.provideInlineCompletionItems(editor.document, pos, manual, token);
      } finally {
        real.restore();
      }
      const candidates = real.calls[0]?.result?.candidates ?? [];
      assert.ok(
        candidates.length >= 1 && candidates.length <= 3,
        `the worker answers with 1–3 candidates (${candidates.length})`,
      );
      assert.ok(
        candidates.every((c, i) => i === 0 || c.confidence <= candidates[i - 1].confidence),
        'best first',
      );
      const shown = (got ?? []).map((i) => i.insertText);
      assert.ok(
        shown.length <= candidates.length && new Set(shown).size === shown.length,
        `distinct items: ${JSON.stringify(shown)}`,
      );
    } finally {
      capture.restore();
      await setting('ghostText.candidates', undefined);
    }
  });

  test("ghost text: VS Code accepts Diffuse's suggestion word by word and line by line", async () => {
    const editor = await openEditor('export function total(values: number[]): number {\n  \n}\n');
    const doc = editor.document;
    const pos = new vscode.Position(1, 2);
    editor.selection = new vscode.Selection(pos, pos);
    // a known suggestion, served by the provider from its cache (no model output to depend on)
    const offset = doc.offsetAt(pos);
    // VS Code may ask before the editor has settled (and then not again): ask until the cache answers
    let asked = false;
    for (let i = 0; i < 5 && !asked; i++) {
      api.ghostText.cache.put(
        doc.getText().slice(0, offset),
        doc.getText().slice(offset),
        'let sum = 0;\n  for (const v of values) sum += v;',
      );
      const hits = api.probe.ghostText.cacheHits;
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
      asked = await waitFor(() => api.probe.ghostText.cacheHits > hits, 3_000, 'VS Code to ask Diffuse').then(
        () => true,
        () => false,
      );
    }
    assert.ok(asked, `VS Code asked Diffuse and got the suggestion (${JSON.stringify(api.probe.ghostText)})`);
    let line = doc.lineAt(1).text;
    for (let i = 0; i < 50 && doc.lineAt(1).text === line; i++) {
      await vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextWord');
      await new Promise((r) => setTimeout(r, 50)); // the suggestion widget may take a frame to show
    }
    line = doc.lineAt(1).text;
    assert.match(line, /^ {2}let ?$/, `one word accepted: "${line}"`);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextLine');
    await waitFor(() => doc.lineAt(1).text !== line, 5_000, 'the line to be accepted');
    assert.equal(doc.lineAt(1).text, '  let sum = 0;', 'the rest of the line accepted');
    assert.ok(!doc.getText().includes('for (const v'), `the second line is not: ${JSON.stringify(doc.getText())}`);
  });

  test('fill at two cursors: one joint request, both spans accepted together as one undo step', async () => {
    const editor = await openEditor();
    const original = editor.document.getText();
    editor.selections = [new vscode.Selection(1, 0, 1, 0), new vscode.Selection(8, 0, 8, 0)];
    const fills = api.probe.requests.fill;
    await vscode.commands.executeCommand('diffuse.fillAtCursor');
    assert.equal(api.probe.requests.fill, fills + 1, 'both cursors went into one request');
    const session = api.sessions.get(editor.document)!;
    assert.equal(session.phase, 'review');
    assert.equal(session.regions.length, 2);
    const inserted = session.regions.map((r) => r.proposal ?? '');
    await vscode.commands.executeCommand('diffuse.accept');
    const text = editor.document.getText();
    const lines = original.split('\n');
    const expected = [
      ...lines.slice(0, 1),
      inserted[0] + lines[1],
      ...lines.slice(2, 8),
      inserted[1] + lines[8],
      ...lines.slice(9),
    ].join('\n');
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
    const proposal = doc
      .getText()
      .slice(start, end)
      .replace('let x = 0;', 'let x = 1;')
      .replace('y += p.y;', 'y += p.y * 2;');
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
    assert.equal(
      doc.getText(),
      original.replace('y += p.y;', 'y += p.y * 2;'),
      'the rejected change was never written',
    );
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

  /** A full-strength refine of lines 7–13 of SAMPLE, slowed down and past its first step. */
  async function refineUnderWay(): Promise<{ editor: vscode.TextEditor; run: Thenable<unknown> }> {
    await setting('threshold', 1); // only what the step budget demands commits: many steps
    const editor = await openEditor();
    selectLines(editor, 7, 13);
    const run = vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
    await waitFor(() => (api.sessions.get(editor.document)?.step ?? 0) >= 1, 30_000, 'denoising to start');
    return { editor, run };
  }

  /**
   * A fill at 40 cursors with a budget of 150 steps at threshold 1: a run of seconds that a test can
   * act during (a refine ends as soon as the model closes its span, whatever the budget).
   */
  async function fillUnderWay(): Promise<{ editor: vscode.TextEditor; run: Thenable<unknown> }> {
    await setting('threshold', 1);
    await setting('steps', 150);
    const editor = await openEditor(longSource(8));
    editor.selections = Array.from({ length: 40 }, (_, i) => {
      const line = Math.floor(i * 1.5);
      const end = editor.document.lineAt(line).text.length;
      return new vscode.Selection(line, end, line, end);
    });
    const run = vscode.commands.executeCommand('diffuse.fillAtCursor');
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

  test('a broken model folder gives one actionable notification, which each failed command shows again', async function () {
    this.timeout(180_000); // two model restarts on a busy machine
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-broken-'));
    fs.writeFileSync(path.join(broken, 'denoiser.json'), '{"contract": 1}');
    const previous = vscode.workspace.getConfiguration('diffuse').inspect<string>('modelPath')?.globalValue;
    const notices = api.probe.notices.length;
    const states: string[] = [];
    const sub = api.service.onDidChange(() => states.push(api.service.state.kind));
    try {
      await setting('modelPath', broken);
      await waitFor(() => api.service.state.kind === 'error', 30_000, 'the model load to fail');
      await waitFor(() => api.probe.notices.length === notices + 1, 5_000, 'the notification');
      assert.match(api.probe.notices[notices], /could not load its model: .*missing/);
      const editor = await openEditor();
      const original = editor.document.getText();
      selectLines(editor, 1, 2);
      await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
      await vscode.commands.executeCommand('diffuse.fillAtCursor');
      // each command the user started reports its failure: the same notification again (VS Code shows
      // identical notifications once, so the screen still holds one), never a second, different one
      const told = api.probe.notices.slice(notices);
      assert.equal(told.length, 3, `the load, then Refine and Fill: ${JSON.stringify(told)}`);
      assert.deepEqual(new Set(told).size, 1, 'one notification, shown again');
      assert.equal(editor.document.getText(), original, 'failed requests leave the document as it was');
      assert.equal(api.sessions.get(editor.document), undefined, 'and leave no proposal or run behind');
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

// The review of a proposal is a diff editor of the document against what Accept would write
// (src/editor/reviewDiff.ts): nothing is drawn over real code, and the document is not touched
// until Accept. Proposals are given (sessions.start + finish), so what is checked does not depend on
// the model; the file is a real one on disk, so its saved state can be checked.
suite('review in a diff editor', () => {
  let api: DiffuseApi;
  let file: vscode.Uri;

  suiteSetup(async () => {
    api = await diffuse();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await closeAll();
    if (file) await vscode.workspace.fs.delete(file).then(undefined, () => undefined);
  });

  /** A saved file with `text`, open in an editor; a proposal replacing `from` by `to` in review. */
  async function reviewing(text: string, from: string, to: string) {
    const folder = vscode.workspace.workspaceFolders![0].uri;
    file = vscode.Uri.joinPath(folder, `review-${Date.now()}.ts`);
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(text));
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(file));
    const doc = editor.document;
    assert.equal(doc.getText(), text);
    assert.equal(doc.isDirty, false);
    const version = doc.version;
    const start = text.indexOf(from);
    const session = api.sessions.start(doc, 'Refine', [{ start, end: start + from.length }]);
    assert.ok(session.finish([to]));
    const expected = text.slice(0, start) + to + text.slice(start + from.length);
    await waitFor(
      () =>
        diffTabs(session.reviewUri).length === 1 &&
        vscode.window.activeTextEditor?.document.uri.scheme === 'diffuse-proposal',
      10_000,
      "the review's diff editor",
    );
    return { editor, doc, session, version, expected };
  }

  function diffTabs(review: vscode.Uri): vscode.Tab[] {
    return vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === review.toString());
  }

  test('the diff shows the document against exactly what Accept writes; Accept is one undo step back to the saved file', async () => {
    const text = 'export function f(a: number): number {\n  const b = a + 1;\n  return b;\n}\n';
    const { doc, session, version, expected } = await reviewing(
      text,
      '  const b = a + 1;\n',
      '  const b = a + 2;\n  const c = b * 2;\n',
    );
    const tab = diffTabs(session.reviewUri)[0];
    const input = tab.input as vscode.TabInputTextDiff;
    assert.equal(input.original.toString(), doc.uri.toString(), 'the left side is the document itself');
    const review = await vscode.workspace.openTextDocument(session.reviewUri);
    assert.equal(review.getText(), expected, 'the right side is the whole document as Accept will leave it');
    assert.equal(review.languageId, doc.languageId);
    assert.equal(doc.getText(), text, 'the review does not touch the document');
    assert.equal(doc.version, version);
    assert.equal(doc.isDirty, false, 'a saved file stays saved during the review');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      session.reviewUri,
    );
    assert.ok(
      lenses.some((l) => /Accept/.test(l.command?.title ?? '')),
      'the review document has its lenses too',
    );
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(doc.getText(), review.getText(), 'Accept writes exactly what the review showed');
    assert.equal(diffTabs(session.reviewUri).length, 0, 'the diff is closed');
    assert.equal(vscode.window.activeTextEditor?.document, doc, 'the user is back in the document');
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), text, 'one undo restores the original');
    assert.equal(doc.isDirty, false, 'and the file is saved again, as it was');
  });

  test('Reject in a CRLF file with tabs: the diff closes, the document is byte-identical, same version, still saved', async () => {
    const text = 'if (x) {\r\n\treturn 1;\r\n}\r\n';
    const { doc, session, version } = await reviewing(text, '\treturn 1;\r\n', '\tx++;\r\n\treturn x;\r\n');
    const review = await vscode.workspace.openTextDocument(session.reviewUri);
    assert.equal(
      review.getText(),
      'if (x) {\r\n\tx++;\r\n\treturn x;\r\n}\r\n',
      'line endings and tabs as Accept would write them',
    );
    await vscode.commands.executeCommand('diffuse.reject');
    assert.equal(session.phase, 'ended');
    assert.equal(diffTabs(session.reviewUri).length, 0, 'the diff is closed');
    assert.equal(doc.getText(), text);
    assert.equal(doc.version, version, 'not one edit was made');
    assert.equal(doc.isDirty, false);
    assert.equal(vscode.window.activeTextEditor?.document, doc, 'the user is back in the document');
  });

  test("closing the review's diff rejects the proposal: nothing is written", async () => {
    const text = 'const a = 1;\nconst b = 2;\n';
    const { doc, session, version } = await reviewing(text, 'const b = 2;\n', 'const b = 3;\n');
    await vscode.window.tabGroups.close(diffTabs(session.reviewUri));
    await waitFor(() => session.phase === 'ended', 5_000, 'the session to end');
    assert.equal(session.endReason, 'rejected');
    assert.equal(doc.getText(), text);
    assert.equal(doc.version, version);
  });

  test("back in the document's own tab the proposal is still there, and Show Proposal brings the review back", async () => {
    const text = 'const a = 1;\nconst b = 2;\n';
    const { doc, session, version } = await reviewing(text, 'const b = 2;\n', 'const b = 3;\n');
    await vscode.window.showTextDocument(doc); // the user goes back to their tab
    assert.equal(session.phase, 'review', 'leaving the review tab does not drop it');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const show = lenses.find((l) => /Show Proposal/.test(l.command?.title ?? ''));
    assert.ok(show?.command, `a Show Proposal lens: ${lenses.map((l) => l.command?.title).join(' | ')}`);
    await vscode.commands.executeCommand(show.command.command, ...(show.command.arguments ?? []));
    await waitFor(
      () => vscode.window.activeTextEditor?.document.uri.toString() === session.reviewUri.toString(),
      5_000,
      'the review in front',
    );
    assert.equal(diffTabs(session.reviewUri).length, 1, 'the same review, not a second one');
    assert.equal(doc.version, version);
  });

  test('a review does not take the place of the editor the user is typing in: it opens once they pause', async () => {
    const editor = await openEditor('const a = 1;\nconst b = 2;\n');
    const doc = editor.document;
    const start = doc.offsetAt(new vscode.Position(1, 0));
    const session = api.sessions.start(doc, 'Refine', [{ start, end: start + 'const b = 2;'.length }]);
    assert.ok(
      await editor.edit((b) => b.insert(new vscode.Position(0, 0), '// typed\n')),
      'the user types above the span',
    );
    const typedAt = Date.now();
    assert.ok(session.finish(['const b = 3;']));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(diffTabs(session.reviewUri).length, 0, 'no diff while the user types');
    assert.ok(vscode.window.visibleTextEditors.includes(editor), 'their editor is still there to type in');
    assert.ok(await editor.edit((b) => b.insert(new vscode.Position(0, 0), '//')), 'and they can go on typing');
    await waitFor(() => diffTabs(session.reviewUri).length === 1, 5_000, 'the review after the pause');
    assert.ok(Date.now() - typedAt >= 1_000, 'opened after a pause of a second');
    assert.equal(
      doc.getText(),
      '//// typed\nconst a = 1;\nconst b = 2;\n',
      'the typing is all there, the proposal not written',
    );
    const review = await vscode.workspace.openTextDocument(session.reviewUri);
    assert.equal(review.getText(), '//// typed\nconst a = 1;\nconst b = 3;\n', 'the review follows the typing');
  });

  test('deciding one change of several in the diff: the review document follows, and Accept of the rest is one more undo step', async () => {
    const text = 'let x = 0;\nlet y = 0;\nlet z = 0;\n';
    const { doc, session, version } = await reviewing(text, text, 'let x = 1;\nlet y = 0;\nlet z = 1;\n');
    assert.equal(session.hunkCount, 2);
    // each change's hover in the review offers to decide it alone
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      session.reviewUri,
      new vscode.Position(2, 4),
    );
    const said = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(said, /Accept this change\]\(command:diffuse\.acceptHunk\?/, `the hover on line 3: ${said}`);
    assert.ok(
      said.includes(encodeURIComponent(JSON.stringify([doc.uri.toString(), 0, 1]))),
      'for the change on that line',
    );
    await vscode.commands.executeCommand('diffuse.acceptHunk', doc.uri.toString(), 0, 0);
    assert.equal(doc.getText(), 'let x = 1;\nlet y = 0;\nlet z = 0;\n', 'only the first change is written');
    assert.equal(diffTabs(session.reviewUri).length, 1, 'the review stays open for the other change');
    const review = await vscode.workspace.openTextDocument(session.reviewUri);
    await waitFor(
      () => review.getText() === 'let x = 1;\nlet y = 0;\nlet z = 1;\n',
      5_000,
      'the review document to follow',
    );
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(doc.getText(), 'let x = 1;\nlet y = 0;\nlet z = 1;\n');
    assert.equal(diffTabs(session.reviewUri).length, 0);
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), text, 'two decisions, two undo steps');
    assert.ok(doc.version > version);
  });
});
