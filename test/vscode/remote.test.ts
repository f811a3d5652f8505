// The editor through the remote backends, in a real VS Code: `diffuse` against a real
// `diffuse serve` (the repository's CLI, the shipped model), and `mercury` against the loopback
// stand-in that answers as Inception documents its API (test/fixtures/mercuryStandIn.ts).
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';
import { startMercuryStandIn, type MercuryStandIn } from '../fixtures/mercuryStandIn';
import { closeAll, diffuse, EXTENSION_ID, openEditor, selectLines, setting, waitFor } from './helpers';
import { RENAME_SAMPLE } from './samples';

const KEY = 'sk_suite_standin';
const SOURCE = [
  'export function add(a: number, b: number): number {',
  '  return a - b;',
  '}',
  '',
  'export function twice(x: number): number {',
  '  ',
  '}',
  '',
].join('\n');
const FIXED_LINE = '  return a + b;';

const TOTAL = RENAME_SAMPLE;
const ITEM = 'export interface Item {\n  price: number;\n}\n';

/**
 * Mercury Edit as the stand-in plays it: the editable region of the prompt rewritten with the
 * stale uses renamed (what the real model does after a rename), in a code fence.
 */
function renameInRegion(prompt: string): string {
  const region = /<\|code_to_edit\|>\n([\s\S]*?)<\|\/code_to_edit\|>/.exec(prompt)?.[1] ?? '';
  return `\`\`\`ts\n${region.replace('<|cursor|>', '').replace(/\bcount\b/g, 'sum')}\`\`\``;
}

/** Switches the backend (and its URL) and waits until the new one is ready. */
async function useBackend(api: DiffuseApi, kind: string, baseUrl?: string): Promise<void> {
  await setting('remote.baseUrl', baseUrl);
  await setting('backend', kind === 'local' ? undefined : kind);
  await waitFor(
    () => api.service.backend === kind && api.service.state.kind === 'ready',
    60_000,
    `the ${kind} backend to be ready`,
  );
}

/** Runs a command that makes a proposal and returns the session in review. */
async function proposal(api: DiffuseApi, editor: vscode.TextEditor, command: string, ...args: unknown[]) {
  await vscode.commands.executeCommand(command, ...args);
  const session = api.sessions.get(editor.document);
  assert.ok(session, `${command} made a proposal`);
  assert.equal(session.phase, 'review');
  return session;
}

suite('Diffuse with remote backends', () => {
  let api: DiffuseApi;
  let mercury: MercuryStandIn;
  let server: ChildProcess | undefined;
  let serveUrl = '';

  suiteSetup(async function () {
    this.timeout(120_000);
    api = await diffuse();
    mercury = await startMercuryStandIn({
      key: KEY,
      frameMs: 30,
      answer: (kind, body) => {
        if (kind === 'fim') return (body.prompt as string).endsWith('  ') ? 'return x * 2;' : 'a + b;';
        if (kind === 'edit') return renameInRegion(String((body.messages as { content: string }[])[0].content));
        const user = String((body.messages as { content: string }[])[1].content);
        // an instruction to double becomes a rewrite; without one the bug is fixed
        return /Instruction: double/.test(user)
          ? '```ts\n  return 2 * (a + b);\n```'
          : `\`\`\`ts\n${FIXED_LINE}\n\`\`\``;
      },
    });
    const root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    server = spawn(process.execPath, [path.join(root, 'bin', 'diffuse.js'), 'serve', '--port', '0', '--threads', '1'], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serveUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.on('exit', (code) => reject(new Error(`diffuse serve exited with ${code}`)));
    });
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    await useBackend(api, 'local');
    await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', '');
    server?.kill('SIGTERM');
    await mercury?.close();
  });

  teardown(async () => {
    for (const s of api.sessions.all()) s.end('test over');
    await closeAll();
  });

  test('mercury: ghost text, Fill, Refine and Refine with Instruction, drawn live and accepted in one undo step', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
    await useBackend(api, 'mercury', mercury.url);
    assert.match(
      api.statusBar.text,
      /Diffuse · mercury/,
      `the status bar says which backend answers: ${api.statusBar.text}`,
    );

    let editor = await openEditor(SOURCE);
    const token = new vscode.CancellationTokenSource().token;
    const at = new vscode.Position(5, 2);
    editor.selection = new vscode.Selection(at, at);
    const items = await api.ghostText.provideInlineCompletionItems(
      editor.document,
      at,
      { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
      token,
    );
    assert.deepEqual(
      items?.map((i) => i.insertText),
      ['return x * 2;'],
    );
    const fim = mercury.requests.at(-1)!;
    assert.equal(fim.path, '/v1/fim/completions');
    assert.equal(fim.body.model, 'mercury-edit-2', "Inception's current FIM model (2026-12-07)");
    assert.equal(fim.authorization, `Bearer ${KEY}`, 'the key from SecretStorage');
    assert.match(
      String(api.statusBar.tooltip),
      /Ghost text and Fill at Cursor ask through POST \/fim\/completions\./,
      'the tooltip says how fill-in-the-middle is asked',
    );

    const fill = await proposal(api, editor, 'diffuse.fillAtCursor');
    assert.equal(fill.regions[0].proposal, 'return x * 2;');
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(editor.document.lineAt(5).text, '  return x * 2;');
    editor = await vscode.window.showTextDocument(editor.document);
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), SOURCE, 'one undo step');

    editor = await vscode.window.showTextDocument(editor.document); // the review's diff had the focus
    selectLines(editor, 1, 1);
    const fixed = await proposal(api, editor, 'diffuse.refineSelection');
    assert.equal(fixed.regions[0].proposal, FIXED_LINE);
    const chat = mercury.requests.at(-1)!;
    assert.equal(chat.path, '/v1/chat/completions');
    assert.equal(chat.body.diffusing, true);
    assert.match(
      String((chat.body.messages as { content: string }[])[1].content),
      /<\|selection\|> {2}return a - b;<\|\/selection\|>/,
    );
    await vscode.commands.executeCommand('diffuse.reject');
    assert.equal(editor.document.getText(), SOURCE, 'Reject leaves the document as it was');

    editor = await vscode.window.showTextDocument(editor.document);
    selectLines(editor, 1, 1);
    const steps: number[] = [];
    const watch = api.sessions.onDidChange(() => {
      const s = api.sessions.get(editor.document);
      if (s?.phase === 'running' && s.step && steps.at(-1) !== s.step) steps.push(s.step);
    });
    const rewritten = await proposal(api, editor, 'diffuse.refineSelectionWithInstruction', 'double the sum');
    watch.dispose();
    assert.equal(rewritten.regions[0].proposal, '  return 2 * (a + b);');
    assert.ok(steps.length >= 2, `the live view followed the frames: steps ${JSON.stringify(steps)}`);
    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(editor.document.lineAt(1).text, '  return 2 * (a + b);');
    await vscode.commands.executeCommand('undo');
    assert.equal(editor.document.getText(), SOURCE);
  });

  test('mercury: next edit after a rename, with the edit history and the file viewed before; jump, accept, one undo', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
    await useBackend(api, 'mercury', mercury.url);
    await setting('nextEdit.enabled', true);
    try {
      await openEditor(ITEM); // viewed first: its snippet goes with the request
      const editor = await openEditor(TOTAL);
      await new Promise((r) => setTimeout(r, 200));
      const sent = mercury.requests.length;
      await editor.edit((b) => b.replace(new vscode.Range(1, 6, 1, 11), 'sum'));
      editor.selection = new vscode.Selection(1, 9, 1, 9);
      const renamed = editor.document.getText();
      await waitFor(() => api.nextEdit.session?.phase === 'review', 20_000, 'the next-edit suggestion');

      const asked = mercury.requests.slice(sent).filter((r) => r.path === '/v1/edit/completions');
      assert.equal(asked.length, 1, 'one request after the pause');
      assert.equal(asked[0].body.model, 'mercury-edit-2');
      const prompt = String((asked[0].body.messages as { content: string }[])[0].content);
      assert.match(
        prompt,
        /<\|recently_viewed_code_snippets\|>\n<\|recently_viewed_code_snippet\|>\ncode_snippet_file_path: .+\nexport interface Item \{\n {2}price: number;/,
      );
      assert.ok(
        !/code_snippet_file_path:[^\n]*\n {2}let sum/.test(prompt),
        'the current file is not one of the snippets',
      );
      assert.match(
        prompt,
        /<\|edit_diff_history\|>\n--- a\/.+\n\+\+\+ b\/.+\n@@[^\n]*@@\n[\s\S]*- {2}let count = 0;\n\+ {2}let sum = 0;/,
      );
      assert.match(prompt, /<\|code_to_edit\|>\n[\s\S]*let sum<\|cursor\|> = 0;/);

      const s = api.nextEdit.session!;
      const proposed = s.reviewText().text;
      assert.equal(proposed, renamed.replace(/\bcount\b/g, 'sum'), 'the other uses renamed, the rename kept');
      assert.equal(editor.document.getText(), renamed, 'a suggestion does not touch the document');
      const at = api.nextEdit.waiting!;
      await vscode.commands.executeCommand('diffuse.nextEdit.jump');
      for (const e of vscode.window.visibleTextEditors.filter((x) => x.document === editor.document)) {
        assert.equal(e.selection.active.line, at.start.line, 'the cursor is at the suggestion');
      }
      assert.equal(await vscode.commands.executeCommand('diffuse.nextEdit.accept'), true);
      await waitFor(() => !api.nextEdit.session, 5_000, 'the suggestion to end');
      assert.equal(editor.document.getText(), proposed);
      await vscode.window.showTextDocument(editor.document);
      await vscode.commands.executeCommand('undo');
      await waitFor(
        () => editor.document.getText() === renamed,
        5_000,
        'one undo to take the suggestion back and keep the rename',
      );
    } finally {
      await setting('nextEdit.enabled', undefined);
    }
  });

  test('Choose Backend… writes where this remote window applies it, says where, and the status bar shows the backend', async function () {
    this.timeout(60_000);
    const notices = api.probe.notices.length;
    try {
      await vscode.commands.executeCommand('diffuse.chooseBackend', 'diffuse', serveUrl);
      await waitFor(
        () => api.service.backend === 'diffuse' && api.service.state.kind === 'ready',
        30_000,
        'the diffuse backend to be ready',
      );
      assert.match(api.statusBar.text, /Diffuse · diffuse/);
      const c = vscode.workspace.getConfiguration('diffuse');
      assert.equal(c.get('backend'), 'diffuse', 'the setting applies (not greyed out) in this window');
      assert.equal(c.inspect('backend')?.workspaceValue, undefined, 'never written to the workspace');
      // the test host is code-server: a remote window, whose machine settings are the Remote ones
      const where = vscode.env.remoteName ? /Remote \[.+\] settings/ : /User settings/;
      assert.match(api.probe.notices.slice(notices).join('\n'), where);
    } finally {
      await useBackend(api, 'local');
    }
  });

  test("Choose Remote Model… offers the server's models per role, writes the choice where it applies, and the backend asks with it", async function () {
    this.timeout(90_000);
    // a WorkspaceConfiguration is a snapshot: read it again after each write
    const c = () => vscode.workspace.getConfiguration('diffuse');
    const told = () => api.probe.notices.slice(notices).join('\n');
    let notices = api.probe.notices.length;
    await vscode.commands.executeCommand('diffuse.chooseRemoteModel');
    assert.match(told(), /the built-in model has no model list on a server/, 'the local backend: one line saying why');

    // a server whose list lacks the default chat model (mercury-2), as Inception's may after a rename
    const listing = await startMercuryStandIn({
      key: KEY,
      models: ['mercury-3', 'mercury-edit-2', 'mercury-edit-3-preview'],
      answer: (kind) => (kind === 'fim' ? 'a + b;' : `\`\`\`ts\n${FIXED_LINE}\n\`\`\``),
    });
    try {
      await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
      await useBackend(api, 'mercury', listing.url);

      // the pick list as a user meets it: the server's models in its order, mercury-2 not among them
      notices = api.probe.notices.length;
      let done = false;
      const picked = Promise.resolve(vscode.commands.executeCommand('diffuse.chooseRemoteModel', { role: 'chat' }));
      void picked.finally(() => {
        done = true;
      });
      await waitFor(
        () => {
          if (!done) void vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
          return done;
        },
        20_000,
        "the pick list to take the server's first model",
      );
      assert.deepEqual(await picked, { role: 'chat', model: 'mercury-3' });
      assert.equal(c().get('remote.chatModel'), 'mercury-3', 'the setting applies in this window');
      assert.equal(c().inspect('remote.chatModel')?.workspaceValue, undefined, 'never written to the workspace');
      const where = vscode.env.remoteName ? 'Remote \\[.+\\] settings' : 'User settings';
      assert.match(told(), new RegExp(`Diffuse now asks mercury-3 for Refine \\(written to your ${where}\\)\\.`));
      // the settings change restarted the backend with it: Refine asks mercury-3
      await waitFor(
        () => api.service.state.kind === 'ready' && api.service.state.info.name === 'mercury-edit-2 / mercury-3',
        20_000,
        'the backend to restart with mercury-3',
      );
      const editor = await openEditor(SOURCE);
      selectLines(editor, 1, 1);
      await proposal(api, editor, 'diffuse.refineSelection');
      assert.equal(listing.requests.at(-1)?.path, '/v1/chat/completions');
      assert.equal(listing.requests.at(-1)?.body.model, 'mercury-3');
      api.sessions.get(editor.document)?.end('test over');

      // scripts name the role and model; a name the server does not list is refused in one line naming its models
      notices = api.probe.notices.length;
      assert.equal(
        await vscode.commands.executeCommand('diffuse.chooseRemoteModel', { role: 'fim', model: 'mercury-edit' }),
        undefined,
      );
      assert.match(told(), /has no model "mercury-edit"; it has mercury-3, mercury-edit-2, mercury-edit-3-preview\.$/m);
      assert.equal(c().inspect('remote.fimModel')?.globalValue, undefined, 'nothing written');
      assert.deepEqual(
        await vscode.commands.executeCommand('diffuse.chooseRemoteModel', {
          role: 'fim',
          model: 'mercury-edit-3-preview',
        }),
        { role: 'fim', model: 'mercury-edit-3-preview' },
      );
      assert.equal(c().get('remote.fimModel'), 'mercury-edit-3-preview');
      await waitFor(
        () => api.service.state.kind === 'ready' && api.service.state.info.name.startsWith('mercury-edit-3-preview /'),
        20_000,
        'the backend to restart with mercury-edit-3-preview',
      );
      const at = new vscode.Position(5, 2);
      const ghost = await openEditor(SOURCE);
      ghost.selection = new vscode.Selection(at, at);
      await api.ghostText.provideInlineCompletionItems(
        ghost.document,
        at,
        { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
        new vscode.CancellationTokenSource().token,
      );
      assert.equal(listing.requests.at(-1)?.path, '/v1/fim/completions');
      assert.equal(listing.requests.at(-1)?.body.model, 'mercury-edit-3-preview', 'ghost text asks the chosen model');
    } finally {
      await setting('remote.chatModel', undefined);
      await setting('remote.fimModel', undefined);
      await useBackend(api, 'local');
      await listing.close();
    }
  });

  test('Refine with Instruction after a 401 says so in a notification (with Set API Key…)', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', 'sk_wrong');
    try {
      await vscode.commands.executeCommand('diffuse.chooseBackend', 'mercury', mercury.url);
      // the key is checked at start (GET /v1/models): the backend stops before any command
      await waitFor(
        () => api.service.backend === 'mercury' && api.service.state.kind === 'error',
        30_000,
        'mercury to refuse the key',
      );
      const notices = api.probe.notices.length;
      const editor = await openEditor(SOURCE);
      selectLines(editor, 1, 1);
      await vscode.commands.executeCommand('diffuse.refineSelectionWithInstruction', 'double it');
      assert.equal(api.sessions.get(editor.document), undefined, 'no proposal');
      await waitFor(() => api.probe.notices.length > notices, 5_000, 'a notification for the failed command');
      assert.match(api.probe.notices.slice(notices).join('\n'), /refused the API key \(401\)/);
    } finally {
      await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
      await useBackend(api, 'local');
    }
  });

  test('mercury: a key refused at start stops the backend with one line naming Set API Key…, and the status bar says so', async function () {
    this.timeout(60_000);
    await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', 'sk_wrong');
    const notices = api.probe.notices.length;
    const sent = mercury.requests.length;
    try {
      await setting('remote.baseUrl', mercury.url);
      await setting('backend', 'mercury');
      await waitFor(
        () => api.service.backend === 'mercury' && api.service.state.kind === 'error',
        10_000,
        'the backend to stop at start',
      );
      await waitFor(() => api.probe.notices.length > notices, 5_000, 'the notification');
      const told = api.probe.notices.slice(notices);
      assert.equal(told.length, 1, `one notification: ${JSON.stringify(told)}`);
      assert.match(
        told[0],
        /^Diffuse \(mercury\) cannot answer: 127\.0\.0\.1:\d+ refused the API key \(401\): set it with "Diffuse: Set API Key…"$/,
      );
      assert.ok(!told[0].includes('\n'), 'one line');
      assert.ok(!told[0].includes('sk_wrong'), 'the key is never shown');
      assert.equal(api.statusBar.text, '$(error) Diffuse · mercury');
      assert.match(String(api.statusBar.tooltip), /cannot answer\. 127\.0\.0\.1:\d+ refused the API key \(401\)/);
      assert.equal(mercury.requests.length, sent, 'no code was sent: the key was checked with GET /v1/models');

      // a command meets the stopped backend: it shows that same line again (VS Code shows it once), sends nothing
      const editor = await openEditor(SOURCE);
      selectLines(editor, 1, 1);
      await vscode.commands.executeCommand('diffuse.refineSelection');
      assert.equal(api.sessions.get(editor.document), undefined, 'no proposal');
      assert.equal(mercury.requests.length, sent, 'nothing is sent until the key changes');
      assert.deepEqual([...new Set(api.probe.notices.slice(notices))], told);

      await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
      await waitFor(() => api.service.state.kind === 'ready', 10_000, 'a new key to restart the backend');
      assert.match(api.statusBar.text, /^\$\(sparkle\) Diffuse · mercury/);
    } finally {
      await vscode.commands.executeCommand('diffuse.setApiKey', 'mercury', KEY);
      await useBackend(api, 'local');
    }
  });

  test('diffuse: a diffuse serve answers exactly as the local model does, corrector and joint cursors included', async function () {
    this.timeout(180_000);
    const ask = async (): Promise<{
      refine: string | undefined;
      fill: string[] | undefined;
      ghost: string | undefined;
    }> => {
      const editor = await openEditor(SOURCE);
      selectLines(editor, 0, 2);
      await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
      const refine = api.sessions.get(editor.document)?.regions[0].proposal;
      api.sessions.get(editor.document)?.end('test over');
      editor.selections = [new vscode.Selection(5, 2, 5, 2), new vscode.Selection(7, 0, 7, 0)];
      await vscode.commands.executeCommand('diffuse.fillAtCursor');
      const fill = api.sessions.get(editor.document)?.regions.map((r) => r.proposal ?? '');
      api.sessions.get(editor.document)?.end('test over');
      const at = new vscode.Position(5, 2);
      editor.selection = new vscode.Selection(at, at);
      const items = await api.ghostText.provideInlineCompletionItems(
        editor.document,
        at,
        { triggerKind: vscode.InlineCompletionTriggerKind.Invoke, selectedCompletionInfo: undefined },
        new vscode.CancellationTokenSource().token,
      );
      await closeAll();
      return { refine, fill, ghost: items?.[0]?.insertText as string | undefined };
    };
    await setting('ghostText.timeBudgetMs', 60_000); // no deadline: both answer with the whole decoding
    try {
      await useBackend(api, 'local');
      const local = await ask();
      await useBackend(api, 'diffuse', serveUrl);
      assert.match(api.statusBar.text, /Diffuse · diffuse/);
      const remote = await ask();
      assert.deepEqual(remote, local);
      const notices = api.probe.notices.length;
      const editor = await openEditor(SOURCE);
      selectLines(editor, 1, 1);
      await vscode.commands.executeCommand('diffuse.refineSelectionWithInstruction', 'anything');
      assert.equal(api.sessions.get(editor.document), undefined);
      assert.match(api.probe.notices.slice(notices).join('\n'), /the diffuse backend cannot follow an instruction/);
    } finally {
      await setting('ghostText.timeBudgetMs', undefined);
    }
  });
});
