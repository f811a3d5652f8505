// A folder converted from a tiny Dream checkpoint by the real converter (training/convert.py, on
// the checkpoint training/tests/tiny_checkpoints.py writes in Dream's real layout), in a real VS
// Code: `diffuse.modelPath` pointed at it loads it in the real worker while the status bar shows
// the folder, its size and each step; Fill at Cursor and Refine run on it; the model picker lists
// it with its card summary, marked in use, beside the bundled folders, switches back to the
// shipped model, and shows the converted folder, still remembered, as broken once it is.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import type { FolderItem } from '../../src/editor/modelPicker';
import type { DiffuseApi } from '../../src/extension';
import {
  captureRequests,
  closeAll,
  diffuse,
  EXTENSION_ID,
  openEditor,
  refineAndAccept,
  setting,
  waitFor,
} from './helpers';

const PYTHON = '/usr/bin/python3';
const SOURCE =
  'export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function twice(x: number): number {\n  \n}\n';

/** Runs `diffuse.chooseModelFolder` and returns the items of the pick list it opens, and the command's end. */
async function openPicker(api: DiffuseApi): Promise<{ items: FolderItem[]; done: Thenable<unknown> }> {
  const done = vscode.commands.executeCommand('diffuse.chooseModelFolder');
  await waitFor(() => api.modelPicker.shown !== undefined, 10_000, 'the model picker');
  return { items: [...api.modelPicker.shown!.items], done };
}

function isReadyAt(api: DiffuseApi, dir: string): boolean {
  const s = api.service.state;
  return s.kind === 'ready' && s.info.where === dir;
}

suite('a converted Dream folder', () => {
  let api: DiffuseApi;
  let tmp: string;
  let folder: string;
  let root: string;
  let previous: string | undefined;

  suiteSetup(async function () {
    this.timeout(180_000);
    api = await diffuse();
    previous = vscode.workspace.getConfiguration('diffuse').inspect<string>('modelPath')?.globalValue;
    root = vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-converted-'));
    folder = path.join(tmp, 'dream-tiny');
    const ck = path.join(tmp, 'ck-dream');
    // asynchronous: the extension host keeps serving VS Code while the converter runs (seconds)
    const run = (args: string[]) =>
      promisify(execFile)(PYTHON, args, { env: { ...process.env, OMP_NUM_THREADS: '1' } });
    await run([path.join(root, 'training', 'tests', 'tiny_checkpoints.py'), 'dream', ck]);
    await run([
      path.join(root, 'training', 'convert.py'),
      '--from',
      ck,
      '--out',
      folder,
      '--dtype',
      'fp32',
      '--threads',
      '1',
    ]);
  });

  suiteTeardown(async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await setting('modelPath', previous);
    await waitFor(() => api.service.state.kind === 'ready', 60_000, "the suite's model to load again");
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('diffuse.modelPath pointed at it: the status bar shows the folder loading, its size and each step, then ready', async function () {
    this.timeout(90_000);
    const texts: string[] = [];
    // the status bar updates on the same event, first: its text is current when this runs
    const sub = api.service.onDidChange(() => texts.push(api.statusBar.text));
    try {
      await setting('modelPath', folder);
      await waitFor(() => isReadyAt(api, folder), 60_000, 'the converted folder to load');
    } finally {
      sub.dispose();
    }
    const size = `${(fs.statSync(path.join(folder, 'model.onnx')).size / 1e6).toFixed(1)} MB`;
    const loading = [...new Set(texts.filter((t) => t.includes('loading dream-tiny')))];
    assert.ok(loading.length > 0, `a loading text: ${JSON.stringify(texts)}`);
    for (const t of loading)
      assert.match(
        t,
        new RegExp(
          `^\\$\\(loading~spin\\) Diffuse: loading dream-tiny \\(${size.replace('.', '\\.')}\\)( · [a-z ]+)? · \\d+ s$`,
        ),
      );
    const steps = loading.map((t) => / · ([a-z ]+) · \d+ s$/.exec(t)?.[1]).filter(Boolean);
    assert.deepEqual(
      [...new Set(steps)],
      ['manifest', 'tokenizer', 'weights', 'test pass'],
      'each step the worker reports, in order',
    );
    const s = api.service.state;
    assert.ok(s.kind === 'ready' && s.info.name === 'dream-tiny', JSON.stringify(s));
    assert.match(api.statusBar.text, /^\$\(sparkle\) Diffuse/);
  });

  test('Fill at Cursor and Refine run on it in the real worker, reviewed before anything is written', async function () {
    this.timeout(90_000);
    assert.ok(isReadyAt(api, folder), 'the converted folder is the one that answers');
    const editor = await openEditor(SOURCE);
    const capture = captureRequests(api);
    try {
      const at = new vscode.Position(5, 2);
      editor.selection = new vscode.Selection(at, at);
      await vscode.commands.executeCommand('diffuse.fillAtCursor');
      const fill = capture.calls.find((c) => c.kind === 'fill');
      assert.ok(fill?.result && fill.result.canvasTokens > 0, 'the fill went to the model');
      const offset = editor.document.offsetAt(at);
      assert.deepEqual(
        fill.result.edits.map((e) => [e.start, e.end]),
        [[offset, offset]],
        'one insertion, at the cursor',
      );
      assert.equal(editor.document.getText(), SOURCE, 'nothing is written before Accept');
      const session = api.sessions.get(editor.document);
      // a random tiny model may pad the whole span away: then there is nothing to review
      assert.equal(session?.phase === 'review', fill.result.edits[0].text !== '', JSON.stringify(fill.result.edits));
      if (session?.phase === 'review') await vscode.commands.executeCommand('diffuse.reject');
      assert.equal(editor.document.getText(), SOURCE, 'Reject leaves the document as it was');
      // the review took the editor's place: Refine runs in the editor again
      await refineAndAccept(api, await vscode.window.showTextDocument(editor.document));
      assert.ok(
        capture.calls.some((c) => c.kind === 'refine' && c.result),
        'the refine went to the model',
      );
    } finally {
      capture.restore();
      await closeAll();
    }
  });

  test('the model picker lists it with its card summary, marked in use, beside the bundled folders', async function () {
    this.timeout(90_000);
    const { items, done } = await openPicker(api);
    const tiny = items.find((i) => i.folder?.dir === folder);
    assert.ok(tiny, `listed: ${items.map((i) => i.label).join(', ')}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'denoiser.json'), 'utf8'));
    const size = `${(fs.statSync(path.join(folder, 'model.onnx')).size / 1e6).toFixed(1)} MB`;
    assert.equal(tiny.label, '$(check) dream-tiny');
    assert.equal(
      tiny.description,
      `${(manifest.converted.params / 1e6).toFixed(1)} M parameters · fp32 · ${size} · in use`,
    );
    assert.equal(
      tiny.detail,
      `dream, converted from ${path.join(tmp, 'ck-dream')} · licence: ${manifest.converted.licence} · ${folder}`,
    );
    const shipped = items.find((i) => i.folder?.name === SHIPPED_MODEL);
    assert.ok(shipped, 'the bundled model is listed');
    assert.match(shipped.description ?? '', /^[\d.]+ M parameters · int8 · [\d.]+ MB$/);
    assert.match(
      shipped.detail ?? '',
      /^trained by Diffuse on [\d.]+ M tokens · licence not stated · bundled with Diffuse$/,
    );
    assert.ok(items[items.length - 1].browse, 'Browse… comes last');

    // choosing the shipped model empties the setting (the default), and it loads
    api.modelPicker.shown!.activeItems = [shipped];
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await done;
    assert.equal(vscode.workspace.getConfiguration('diffuse').inspect<string>('modelPath')?.globalValue, undefined);
    await waitFor(() => isReadyAt(api, path.join(root, 'models', SHIPPED_MODEL)), 60_000, 'the shipped model to load');
  });

  test('the folder stays listed once another is in use, and shows why once it cannot load', async function () {
    this.timeout(30_000);
    const aside = path.join(tmp, 'model.onnx.aside');
    fs.renameSync(path.join(folder, 'model.onnx'), aside);
    try {
      const { items, done } = await openPicker(api);
      const tiny = items.find((i) => i.folder?.dir === folder);
      assert.ok(tiny, 'remembered after another folder was chosen');
      assert.equal(tiny.label, '$(warning) dream-tiny');
      assert.equal(tiny.description, 'cannot load');
      assert.match(tiny.detail ?? '', /model\.onnx is missing/);
      assert.ok(!tiny.detail!.includes('\n'), 'one line');
      assert.ok(
        items.find((i) => i.folder?.name === SHIPPED_MODEL)?.label.startsWith('$(check)'),
        'the shipped model is now the one in use',
      );
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      await done;
      assert.equal(
        vscode.workspace.getConfiguration('diffuse').inspect<string>('modelPath')?.globalValue,
        undefined,
        'dismissing changes nothing',
      );
    } finally {
      fs.renameSync(aside, path.join(folder, 'model.onnx'));
    }
  });
});
