// Repair in the editor (issue 28): a small Python project (fixtures/repair) whose pytest test fails,
// repaired from the Quick Fix on an error with the shipped model; only a passing fix is reviewed,
// nothing of the user's is written before Accept, Accept makes the test pass, one Undo restores.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { REVIEW_SCHEME } from '../../src/editor/proposalSession';
import { proposedCheck, projectRoot, taskCommandLine, trustRefusal } from '../../src/editor/repairCheck';
import type { DiffuseApi } from '../../src/extension';
import { diffuse, setting, waitFor } from './helpers';

const PYTEST = 'python3 -m pytest -x -q';

/** Runs the fixture's tests at `dir`; leaves no caches behind. */
function pytest(dir: string): { passed: boolean; output: string } {
  const r = spawnSync('python3', ['-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return { passed: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Every file under `dir` with its bytes and mtime. */
function snapshot(dir: string): Map<string, { bytes: string; mtimeMs: number }> {
  const out = new Map<string, { bytes: string; mtimeMs: number }>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    const st = fs.statSync(p);
    if (st.isFile()) out.set(f, { bytes: fs.readFileSync(p).toString('base64'), mtimeMs: st.mtimeMs });
  }
  return out;
}

/** The review's diff tab of the document, if open. */
function reviewTab(): vscode.Tab | undefined {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.scheme === REVIEW_SCHEME);
}

suite('Repair', () => {
  let api: DiffuseApi;
  let project: string;
  let diagnostics: vscode.DiagnosticCollection;

  suiteSetup(async () => {
    api = await diffuse();
    project = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'repair');
    diagnostics = vscode.languages.createDiagnosticCollection('repair-test');
    // the suite's machine is shared: the whole search gets room beyond its default minute
    await setting('repair.timeoutMs', 240_000);
  });

  suiteTeardown(async () => {
    diagnostics.dispose();
    await setting('repair.timeoutMs', undefined);
    for (const s of api.sessions.all()) s.end('test over');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('an untrusted workspace gets one sentence saying why, and the extension declares Repair limited there', () => {
    const refusal = trustRefusal(false);
    assert.ok(refusal && !refusal.includes('\n'), 'one line');
    assert.match(refusal, /only in a trusted workspace; nothing was run/);
    assert.equal(trustRefusal(true), undefined);
    // the test VS Code runs with workspace trust off (every folder trusted): the guard is tested here
    const pkg = vscode.extensions.getExtension('diffuse.diffuse')!.packageJSON;
    assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('diffuse.repair.check'));
    assert.equal(
      pkg.contributes.configuration.properties['diffuse.repair.check'].scope,
      'machine',
      'a workspace cannot set the check',
    );
  });

  test('the check proposed is the project’s obvious one: pytest for a tests/ folder, npm test for a test script', () => {
    const file = path.join(project, 'stats.py');
    assert.equal(projectRoot(file, path.dirname(project)), project, 'the nearest folder with a project marker');
    assert.equal(proposedCheck(project)?.command, PYTEST);
    const node = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-repair-proposal-'));
    try {
      fs.writeFileSync(path.join(node, 'package.json'), JSON.stringify({ scripts: { test: 'node --test' } }));
      assert.equal(proposedCheck(node)?.command, 'npm test');
      fs.writeFileSync(
        path.join(node, 'package.json'),
        JSON.stringify({ scripts: { test: 'echo "Error: no test specified" && exit 1' } }),
      );
      assert.equal(proposedCheck(node), undefined, "npm init's placeholder is no check");
    } finally {
      fs.rmSync(node, { recursive: true, force: true });
    }
    const task = new vscode.Task(
      { type: 'shell' },
      vscode.TaskScope.Workspace,
      'unit tests',
      'test',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a task's own variables
      new vscode.ShellExecution('python3', ['-m', 'pytest', '${relativeFile}'], { cwd: '${workspaceFolder}/repair' }),
    );
    assert.equal(taskCommandLine(task, 'repair/stats.py'), 'cd ./repair && python3 -m pytest repair/stats.py');
  });

  test('Repair from the Quick Fix: the check picked once, a passing fix reviewed, Accept passes, one Undo restores', async function () {
    this.timeout(300_000);
    const file = path.join(project, 'stats.py');
    const originalBytes = fs.readFileSync(file);
    const before = snapshot(project);
    assert.equal(pytest(project).passed, false, 'the fixture fails to begin with');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const original = doc.getText();
    const line = original.split('\n').findIndex((l) => l.includes('if v < best'));
    // an error where a linter would put one: the Quick Fix is offered on errors
    const range = new vscode.Range(line, 8, line, 19);
    diagnostics.set(doc.uri, [
      new vscode.Diagnostic(range, 'running_max fails its test', vscode.DiagnosticSeverity.Error),
    ]);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      doc.uri,
      range,
      vscode.CodeActionKind.QuickFix.value,
    );
    const action = actions.find((a) => a.title.startsWith('Repair with Diffuse'));
    assert.ok(action?.command, `the Quick Fix is offered: ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(action.title, 'Repair with Diffuse (check: choose…)', 'nothing chosen yet: it will ask');

    const notices = api.probe.notices.length;
    const run = vscode.commands.executeCommand(action.command.command, ...(action.command.arguments ?? []));
    // nothing runs until the user picks the check: the pick list opens, the proposal first
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(api.sessions.get(doc), undefined, 'no repair before the check is chosen');
    await waitFor(
      () => {
        void vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
        return api.sessions.get(doc) !== undefined;
      },
      20_000,
      'the pick list to take the proposal',
    );
    const running = api.sessions.get(doc)!;
    assert.equal(running.title, 'Repair');
    assert.equal(running.phase, 'running');
    await run;

    const session = api.sessions.get(doc);
    assert.ok(
      session?.phase === 'review',
      `a fix was found: ${api.probe.notices.slice(notices).join(' | ') || session?.endReason}`,
    );
    assert.match(session.title, /^Repair \(python3 -m pytest -x -q: passed after \d+ of 40 checks\)$/);
    await waitFor(() => reviewTab() !== undefined, 10_000, 'the review diff to open');
    assert.match(reviewTab()!.label, /passed after \d+ of 40 checks/, 'the review says what passed');
    assert.equal(doc.getText(), original, 'the document is untouched until Accept');
    assert.deepEqual(snapshot(project), before, "no file of the user's was written (bytes and mtimes)");

    // the reviewed text passes the check (in a copy, as Repair ran it)
    const proposal = session.reviewText().text;
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-repair-proposal-'));
    try {
      fs.cpSync(project, copy, { recursive: true });
      fs.writeFileSync(path.join(copy, 'stats.py'), proposal);
      const r = pytest(copy);
      assert.ok(r.passed, r.output);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }

    await vscode.commands.executeCommand('diffuse.accept');
    assert.equal(doc.getText(), proposal, 'Accept writes the reviewed fix');
    assert.ok(await doc.save());
    const after = pytest(project);
    assert.ok(after.passed, after.output);

    // the pick is remembered: the Quick Fix names it and runs it without asking; the check passes now
    const again = await vscode.commands.executeCommand<vscode.CodeAction[]>(
      'vscode.executeCodeActionProvider',
      doc.uri,
      range,
      vscode.CodeActionKind.QuickFix.value,
    );
    const named = again.find((a) => a.title.startsWith('Repair with Diffuse'));
    assert.equal(named?.title, `Repair with Diffuse (check: ${PYTEST})`);
    const told = api.probe.notices.length;
    await vscode.commands.executeCommand(named!.command!.command, ...(named!.command!.arguments ?? []));
    assert.match(api.probe.notices.slice(told).join('\n'), /Nothing to repair: the check passes/);

    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original, 'one Undo restores the original');
    assert.ok(await doc.save());
    assert.deepEqual(fs.readFileSync(file), originalBytes, 'the exact bytes');
  });

  // the tests below run the check the first test picked (pytest), as the Quick Fix does, on the buggy file

  /** Runs Repair on stats.py as the Quick Fix does (the remembered check, no question). */
  async function repairStats(): Promise<{ doc: vscode.TextDocument; run: Thenable<unknown> }> {
    const doc = await vscode.workspace.openTextDocument(path.join(project, 'stats.py'));
    await vscode.window.showTextDocument(doc);
    const line = doc
      .getText()
      .split('\n')
      .findIndex((l) => l.includes('if v < best'));
    assert.ok(line > 0, 'the file has its bug');
    return {
      doc,
      run: vscode.commands.executeCommand('diffuse.repair', { uri: doc.uri.toString(), line, ask: false }),
    };
  }

  test('no fix within the budget: one notification says what was tried and the last failure', async function () {
    this.timeout(120_000);
    await setting('repair.maxChecks', 2);
    try {
      const told = api.probe.notices.length;
      // a project whose test fails whatever the file says
      const doc = await vscode.workspace.openTextDocument(path.join(project, '..', 'repair-nofix', 'mean.py'));
      await vscode.window.showTextDocument(doc);
      const before = snapshot(path.join(project, '..', 'repair-nofix'));
      await vscode.commands.executeCommand('diffuse.repair', { uri: doc.uri.toString(), line: 6, ask: false });
      assert.deepEqual(snapshot(path.join(project, '..', 'repair-nofix')), before, 'nothing written');
      assert.equal(api.sessions.get(doc), undefined, 'no review');
      const notices = api.probe.notices.slice(told);
      assert.equal(notices.length, 1, JSON.stringify(notices));
      assert.match(
        notices[0],
        /^Diffuse Repair found no fix that passes python3 -m pytest -x -q: tried \d+ templates? \(.+\), \d+ candidates, 2 checks in \d+\.\d s \(stopped by checks\)\. Last failure: FAILED tests\/test_mean\.py::test_mean_then_fails - \w+/,
      );
    } finally {
      await setting('repair.maxChecks', undefined);
    }
  });

  test('Cancel stops the search and its checks at once, and proposes nothing', async function () {
    this.timeout(120_000);
    const told = api.probe.notices.length;
    const { doc, run } = await repairStats();
    await waitFor(() => api.sessions.get(doc)?.phase === 'running', 10_000, 'the repair to start');
    const session = api.sessions.get(doc)!;
    await new Promise((r) => setTimeout(r, 1500)); // into the baseline check or the search
    const t0 = Date.now();
    await vscode.commands.executeCommand('diffuse.cancel', doc.uri.toString()); // what Escape runs
    await run;
    assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(session.endReason, 'cancelled');
    assert.equal(api.sessions.get(doc), undefined, 'no review');
    assert.deepEqual(api.probe.notices.slice(told), [], 'cancelling is not an error');
  });

  test('a backend that can neither score nor follow an instruction says so in one line, and runs nothing', async () => {
    const restore = api.probe.intercept((d) =>
      Object.assign(Object.create(d), {
        score: undefined,
        capabilities: { ...d.capabilities, score: false, instruction: false },
      }),
    );
    try {
      const told = api.probe.notices.length;
      const { doc, run } = await repairStats();
      await run;
      assert.equal(api.sessions.get(doc), undefined, 'nothing ran');
      const notices = api.probe.notices.slice(told);
      assert.equal(notices.length, 1, JSON.stringify(notices));
      assert.match(
        notices[0],
        /needs a model that scores code or follows an instruction.*choose the local, mercury or openai backend/,
      );
    } finally {
      restore();
    }
  });
});
