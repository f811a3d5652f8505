// Shared steps of the integration tests: reach the extension, open code, wait for conditions.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { BackendError, type Backend, type RequestOptions } from '../../src/backend/backend';
import type { DenoiseResult } from '../../src/backend/requests';
import type { DiffuseApi } from '../../src/extension';

export const EXTENSION_ID = 'diffuse.diffuse';

export async function diffuse(): Promise<DiffuseApi> {
  const ext = vscode.extensions.getExtension<DiffuseApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  // a fresh test profile is a first run: the walkthrough opens once; out of the tests' way
  if (await api.probe.firstRun) {
    api.probe.firstRun = undefined;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  }
  await waitFor(
    () => api.service.state.kind === 'ready' || api.service.state.kind === 'error',
    60_000,
    'the model to load',
  );
  assert.equal(api.service.state.kind, 'ready', `model did not load: ${JSON.stringify(api.service.state)}`);
  return api;
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const SAMPLE = [
  'export function distance(a: Point, b: Point): number {',
  '  const dx = a.x - b.x;',
  '  const dy = a.y - b.y;',
  '  return Math.sqrt(dx * dx + dy * dy);',
  '}',
  '',
  'export function centroid(points: Point[]): Point {',
  '  let x = 0;',
  '  let y = 0;',
  '  for (const p of points) {',
  '    x += p.x;',
  '    y += p.y;',
  '  }',
  '  return { x: x / points.length, y: y / points.length };',
  '}',
  '',
].join('\n');

/** A fresh untitled TypeScript editor with `text`. */
export async function openEditor(text = SAMPLE): Promise<vscode.TextEditor> {
  // Right after the previous test's untitled editor closed, VS Code can hand back that document
  // (same Untitled-1 name, old text): ask again until the document is the one asked for.
  for (let attempt = 0; ; attempt++) {
    const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content: text });
    if (doc.getText() === text) return vscode.window.showTextDocument(doc);
    if (attempt === 10) throw new Error(`VS Code kept opening ${doc.uri.toString()} with other text`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Selects whole lines first..last (0-based, inclusive, without the last newline). */
export function selectLines(editor: vscode.TextEditor, first: number, last: number): void {
  editor.selection = new vscode.Selection(first, 0, last, editor.document.lineAt(last).text.length);
}

/** Sets a user setting and waits until the extension has heard of the change (its listeners have run). */
/**
 * Refines lines 1–3 of the editor at strength 1 and accepts: nothing is written before Accept, and
 * Accept writes exactly the proposal over its range. A model sure of no change must say so.
 * Returns the text before the Refine, or undefined when there was nothing to accept.
 */
export async function refineAndAccept(api: DiffuseApi, editor: vscode.TextEditor): Promise<string | undefined> {
  const original = editor.document.getText();
  selectLines(editor, 1, 3);
  const notices = api.probe.notices.length;
  await vscode.commands.executeCommand('diffuse.refineSelection', { strength: 1, showAnyway: true });
  assert.equal(editor.document.getText(), original, 'running and reviewing do not touch the document');
  const session = api.sessions.get(editor.document);
  if (!session) {
    // a model that keeps correct code proposes nothing, and says so
    assert.match(api.probe.notices.slice(notices).join('\n'), /no change the model is sure of/);
    return undefined;
  }
  assert.equal(session.phase, 'review');
  const r = session.regions[0];
  const expected = original.slice(0, r.start) + r.proposal + original.slice(r.end);
  await vscode.commands.executeCommand('diffuse.accept');
  assert.equal(editor.document.getText(), expected, 'Accept writes the proposal over its range and nothing else');
  return original;
}

export async function setting(key: string, value: unknown): Promise<void> {
  const c = vscode.workspace.getConfiguration('diffuse');
  if (c.inspect(key)?.globalValue === value) return;
  let sub: vscode.Disposable | undefined;
  const heard = new Promise<void>((resolve) => {
    sub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`diffuse.${key}`)) resolve();
    });
  });
  try {
    await c.update(key, value, vscode.ConfigurationTarget.Global);
    await Promise.race([heard, new Promise((r) => setTimeout(r, 2000))]);
  } finally {
    sub?.dispose();
  }
}

export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** `functions` small functions (8 lines each) joined with `eol`: a file longer than the model's window. */
export function longSource(functions: number, eol = '\n'): string {
  const lines: string[] = [];
  for (let i = 0; i < functions; i++) {
    lines.push(
      `export function scale${i}(values: number[], factor = ${i + 1}): number[] {`,
      '  const out: number[] = [];',
      '  for (const v of values) {',
      `    out.push(v * factor + ${i});`,
      '  }',
      '  return out;',
      '}',
      '',
    );
  }
  return lines.join(eol);
}

/**
 * How many lines of `before` outside its range [from, to) are not in `after` unchanged, comparing
 * the text before the range from the start and the text after it from the end (so the range may
 * have grown or shrunk). A partial line at either edge of the range counts as one line.
 */
export function linesLostOutside(before: string, after: string, from: number, to: number): number {
  const head = before.slice(0, from).split('\n');
  const tail = before.slice(to).split('\n');
  const got = after.split('\n');
  let lost = 0;
  for (let i = 0; i < head.length - 1; i++) if (got[i] !== head[i]) lost++;
  if (!after.startsWith(before.slice(0, from)) && lost === 0) lost++;
  for (let i = 1; i < tail.length; i++) if (got[got.length - tail.length + i] !== tail[i]) lost++;
  if (!after.endsWith(before.slice(to)) && lost === 0) lost++;
  return lost;
}

export interface CapturedRequest {
  kind: string;
  params: Record<string, unknown> & { text?: string; start?: number; end?: number };
  result?: DenoiseResult;
}

/**
 * Records the params and results of the requests the extension sends to the real worker, and lets a
 * test rewrite a result (to give the editor an answer the shipped model rarely gives). `restore()`
 * puts the service back.
 */
export function captureRequests(
  api: DiffuseApi,
  rewrite?: (c: CapturedRequest) => DenoiseResult,
): { calls: CapturedRequest[]; restore(): void } {
  const calls: CapturedRequest[] = [];
  const restore = api.probe.intercept((d) => {
    const recorded =
      (kind: 'refine' | 'fill' | 'complete') =>
      async (params: CapturedRequest['params'], o?: RequestOptions): Promise<DenoiseResult> => {
        const c: CapturedRequest = { kind, params };
        calls.push(c);
        c.result = await (d[kind] as (p: unknown, o?: RequestOptions) => Promise<DenoiseResult>).call(d, params, o);
        if (rewrite) c.result = rewrite(c);
        return c.result;
      };
    return Object.assign(Object.create(d) as Backend, {
      refine: recorded('refine'),
      fill: recorded('fill'),
      complete: recorded('complete'),
    });
  });
  return { calls, restore };
}

/**
 * A scripted backend: the editor's requests are answered by `answer` (after `frames` progress
 * steps), so a test of the editor's behaviour asserts one outcome instead of accepting whatever the
 * model happens to do. The real model's tests stay beside these.
 */
export function scriptBackend(
  api: DiffuseApi,
  answer: (
    kind: 'refine' | 'fill' | 'complete',
    params: CapturedRequest['params'],
  ) => { text: string; confidence?: number }[],
  frames = 2,
): { calls: CapturedRequest[]; restore(): void } {
  const calls: CapturedRequest[] = [];
  const restore = api.probe.intercept((d) => {
    const scripted =
      (kind: 'refine' | 'fill' | 'complete') =>
      async (params: CapturedRequest['params'], o?: RequestOptions): Promise<DenoiseResult> => {
        const c: CapturedRequest = { kind, params };
        calls.push(c);
        const texts = answer(kind, params);
        const spans =
          kind === 'fill'
            ? (params.cursors as number[]).map((x) => ({ start: x, end: x }))
            : kind === 'refine'
              ? [{ start: params.start!, end: params.end! }]
              : [{ start: (params.prefix as string).length, end: (params.prefix as string).length }];
        for (let step = 1; step <= frames; step++) {
          if (o?.signal?.aborted) throw new BackendError('request cancelled', 'cancelled');
          o?.onProgress?.({
            requestId: 'scripted',
            step,
            maxSteps: frames,
            spans: texts.map((t) => ({ text: t.text.slice(0, Math.ceil((t.text.length * step) / frames)), masked: 0 })),
          });
          await new Promise((r) => setTimeout(r, 20));
        }
        c.result = {
          edits: spans.map((r, i) => ({ ...r, text: texts[i].text, confidence: texts[i].confidence ?? 1 })),
          steps: frames,
          ms: frames * 20,
          stoppedBy: 'done',
          canvasTokens: 0,
        };
        return c.result;
      };
    return Object.assign(Object.create(d) as Backend, {
      refine: scripted('refine'),
      fill: scripted('fill'),
      complete: scripted('complete'),
    });
  });
  return { calls, restore };
}
