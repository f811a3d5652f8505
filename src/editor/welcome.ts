// The first run: the walkthrough (package.json "walkthroughs": what Diffuse is, what the built-in
// model can and cannot do, the ways to a stronger model, a sample to try) opens once, the first
// time the extension starts for this user; Help → Welcome or the Diffuse menu open it again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { probe } from './testProbe';

/** globalState key: the walkthrough was opened once. */
const SHOWN_KEY = 'diffuse.walkthroughShown';
export const WALKTHROUGH = 'diffuse.diffuse#gettingStarted';

export function registerWelcome(context: vscode.ExtensionContext): vscode.Disposable {
  if (!context.globalState.get<boolean>(SHOWN_KEY)) {
    probe.firstRun = (async () => {
      await context.globalState.update(SHOWN_KEY, true);
      await vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH, false);
      return true;
    })().catch(() => false);
  }
  return vscode.Disposable.from(
    vscode.commands.registerCommand('diffuse.openWalkthrough', () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH, false),
    ),
    // an unsaved copy: the user edits freely and nothing is written into the extension's folder
    vscode.commands.registerCommand('diffuse.openSample', async () => {
      const content = fs.readFileSync(path.join(context.extensionPath, 'media', 'walkthrough', 'sample.ts'), 'utf8');
      const doc = await vscode.workspace.openTextDocument({ language: 'typescript', content });
      await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    }),
  );
}
