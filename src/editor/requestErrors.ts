// How a failed request is reported for a command the user ran. A model that failed to load was
// already reported once by the service (so was a refused key), and cancellation is not an error.
import * as vscode from 'vscode';
import { BackendError } from '../backend/backend';
import { PROBLEM_MESSAGE_MS } from './messageDurations';

export function reportCommandError(what: string, e: unknown): void {
  const err = e instanceof BackendError ? e : new BackendError(e instanceof Error ? e.message : String(e), 'internal');
  if (err.code === 'cancelled') return;
  if (err.code === 'model' || err.code === 'auth' || err.code === 'quota') {
    // the service has shown the cause once, with what to do (choose a folder, set the key)
    void vscode.window.setStatusBarMessage(
      `Diffuse: ${what} needs a working ${err.code === 'model' ? 'model' : 'API key or account'} (see the notification)`,
      PROBLEM_MESSAGE_MS,
    );
    return;
  }
  if (err.code === 'unsupported') {
    void vscode.window.showWarningMessage(`Diffuse ${what}: ${err.message}`);
    return;
  }
  void vscode.window.showErrorMessage(`Diffuse ${what} failed: ${err.message}`, 'Show Log').then((c) => {
    if (c) void vscode.commands.executeCommand('diffuse.showLog');
  });
}
