// Shared steps of the integration tests: reach the extension, open code, wait for conditions.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DiffuseApi } from '../../src/extension';

export const EXTENSION_ID = 'diffuse.diffuse';

export async function diffuse(): Promise<DiffuseApi> {
  const ext = vscode.extensions.getExtension<DiffuseApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not installed`);
  const api = await ext.activate();
  await waitFor(() => api.service.state.kind === 'ready' || api.service.state.kind === 'error', 60_000, 'the model to load');
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
  const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content: text });
  return vscode.window.showTextDocument(doc);
}

/** Selects whole lines first..last (0-based, inclusive, without the last newline). */
export function selectLines(editor: vscode.TextEditor, first: number, last: number): void {
  editor.selection = new vscode.Selection(first, 0, last, editor.document.lineAt(last).text.length);
}

export async function setting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('diffuse').update(key, value, vscode.ConfigurationTarget.Global);
}

export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
