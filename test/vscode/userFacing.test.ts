// What a new user meets (issue #18, points 2–5): ghost text that says why it is silent, Alt+\
// with VS Code's suggestion list open, one step count everywhere, and a strength pick list.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import { captureRequests, closeAll, diffuse, openEditor, selectLines, setting, waitFor } from './helpers';

suite('Diffuse as a user meets it', () => {
  let api: DiffuseApi;
  const token = new vscode.CancellationTokenSource().token;

  suiteSetup(async () => {
    api = await diffuse();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await closeAll();
  });

  test('a held-back ghost suggestion shows in the status bar with its confidence, and how to see it', async () => {
    const editor = await openEditor('export function area(r: number): number {\n  return \n}\n');
    const pos = new vscode.Position(1, 9);
    editor.selection = new vscode.Selection(pos, pos);
    await setting('ghostText.enabled', true);
    await setting('ghostText.minConfidence', 1);
    try {
      const auto = { triggerKind: vscode.InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined };
      assert.equal(await api.ghostText.provideInlineCompletionItems(editor.document, pos, auto, token), undefined);
      const outcome = api.ghostText.lastOutcome;
      assert.ok(outcome && !outcome.shown && outcome.reason === 'below threshold', JSON.stringify(outcome));
      await waitFor(
        () => /\$\(eye-closed\) \d\.\d\d$/.test(api.statusBar.text),
        5_000,
        `the status bar to say it was held back: ${api.statusBar.text}`,
      );
      assert.ok(api.statusBar.text.endsWith(outcome.confidence!.toFixed(2)), 'with the confidence');
      assert.match(
        String(api.statusBar.tooltip),
        /held back: confidence 0\.\d\d is below diffuse\.ghostText\.minConfidence \(1\)\. Press Alt\+\\ to see it/,
      );
      await setting('ghostText.minConfidence', 0);
      assert.ok(await api.ghostText.provideInlineCompletionItems(editor.document, pos, auto, token));
      await waitFor(
        () => /\$\(eye\) \d\.\d\d$/.test(api.statusBar.text),
        5_000,
        `the status bar to say it was shown: ${api.statusBar.text}`,
      );
    } finally {
      await setting('ghostText.minConfidence', undefined);
      await setting('ghostText.enabled', false);
    }
  });

  test('after 3 held-back suggestions one message says why, once a session, and the tooltip counts them', async () => {
    const editor = await openEditor('export function area(r: number): number {\n  return \n}\n\nconst k = \n');
    const explained = (): string[] => api.probe.notices.filter((n) => /held back \d+ ghost-text suggestions/.test(n));
    const before = explained().length;
    await setting('ghostText.enabled', true);
    await setting('ghostText.minConfidence', 1);
    try {
      const auto = { triggerKind: vscode.InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined };
      const at = [new vscode.Position(1, 9), new vscode.Position(4, 10)];
      for (let i = 0; i < 5; i++) {
        const pos = at[i % 2];
        editor.selection = new vscode.Selection(pos, pos);
        await api.ghostText.provideInlineCompletionItems(editor.document, pos, auto, token);
      }
      assert.ok(api.ghostText.heldBack >= 5, `held back: ${api.ghostText.heldBack}`);
      const told = explained();
      // once per session: an earlier test may already have crossed the three
      assert.equal(told.length, before === 0 ? 1 : before, JSON.stringify(told));
      if (before === 0) assert.match(told[0], /confidence \(at best 0\.\d\d\) was below your threshold of 1\./);
      await waitFor(
        () => /\d+ automatic suggestions were held back this session/.test(String(api.statusBar.tooltip)),
        5_000,
        `the tooltip to count them: ${api.statusBar.tooltip}`,
      );
    } finally {
      await setting('ghostText.minConfidence', undefined);
      await setting('ghostText.enabled', false);
    }
  });

  test('Alt+\\ with the suggestion list open answers with an item that continues the selected suggestion', async () => {
    const editor = await openEditor('const n_head = 4;\nconst n_embd = 8;\nconst size = n_he\n');
    const pos = new vscode.Position(2, 17);
    editor.selection = new vscode.Selection(pos, pos);
    const word = new vscode.Range(2, 13, 2, 17);
    const capture = captureRequests(api);
    try {
      const items = await api.ghostText.provideInlineCompletionItems(
        editor.document,
        pos,
        {
          triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
          selectedCompletionInfo: { range: word, text: 'n_head' },
        },
        token,
      );
      assert.ok(items && items.length > 0, 'the manual request shows its result');
      for (const item of items) {
        assert.ok(
          String(item.insertText).startsWith('n_head'),
          `VS Code shows only items that extend the selected suggestion: ${item.insertText}`,
        );
        assert.ok(
          item.range?.start.isEqual(word.start) && item.range.end.isEqual(pos),
          'over the word the suggestion replaces',
        );
      }
      const prefix = capture.calls[0].params.prefix as string;
      assert.ok(prefix.endsWith('const size = n_head'), 'the model completes after the accepted suggestion');
    } finally {
      capture.restore();
    }
  });

  test('the status bar, the live view and the result count the same steps of the same budget', async function () {
    this.timeout(120_000);
    const editor = await openEditor('export function f(x: number): number {\n  \n}\n');
    editor.selection = new vscode.Selection(1, 2, 1, 2);
    const capture = captureRequests(api);
    const seen: string[] = [];
    const watch = api.sessions.onDidChange(() => {
      const s = api.sessions.get(editor.document);
      const m = /fill (step \d+\/\d+)/.exec(api.statusBar.text);
      if (s?.phase === 'running' && s.step && m) seen.push(`${m[1]} | step ${s.step}/${s.maxSteps}`);
    });
    try {
      await vscode.commands.executeCommand('diffuse.fillAtCursor');
    } finally {
      watch.dispose();
      capture.restore();
    }
    assert.ok(seen.length >= 1, 'steps were shown');
    for (const pair of seen) assert.equal(pair.split(' | ')[0], pair.split(' | ')[1], 'status bar and live view agree');
    const budget = capture.calls[0].result!.stepBudget;
    assert.ok(
      budget && seen.every((p) => p.endsWith(`/${budget}`)),
      `the denominator is the result's step budget (${budget}): ${seen.join(', ')}`,
    );
  });

  test('an execution provider that cannot load falls back to the CPU and says why, once', async function () {
    this.timeout(120_000);
    const notices = api.probe.notices.length;
    try {
      await setting('executionProvider', 'cuda'); // no CUDA libraries on the test machines
      await waitFor(
        () => api.service.state.kind === 'ready' && api.probe.notices.length > notices,
        60_000,
        'the model to load on the CPU',
      );
      const told = api.probe.notices.slice(notices);
      assert.equal(told.length, 1, JSON.stringify(told));
      assert.match(told[0], /^Diffuse: .*cuda.*CPU/i);
      assert.ok(!told[0].includes('\n'), 'one line');
      const s = api.service.state;
      assert.ok(s.kind === 'ready' && s.info.executionProvider === 'cpu', JSON.stringify(s));
    } finally {
      await setting('executionProvider', undefined);
      await waitFor(() => api.service.state.kind === 'ready', 60_000, 'the model to load again');
    }
  });

  test('Refine Selection with Strength… offers a pick list of strengths that say what they do', async () => {
    const editor = await openEditor();
    selectLines(editor, 1, 2);
    const capture = captureRequests(api);
    try {
      const run = vscode.commands.executeCommand('diffuse.refineSelectionWithStrength');
      await new Promise((r) => setTimeout(r, 500));
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem'); // the first item: 0.3
      await run;
      assert.equal(capture.calls[0]?.params.strength, 0.3);
    } finally {
      capture.restore();
    }
  });
});
