// How a failed request is reported for a command the user ran: every command the user starts
// reports its own failure, in a notification whose first button is what fixes it (set the key,
// choose a model folder or another backend, restart). A backend that cannot serve at all (a model
// that failed to load, a refused key) was already reported by the service; the command shows that
// same notification again (VS Code shows identical notifications once), so a user who dismissed it
// still learns why their command did nothing. Cancellation is not an error.
import * as vscode from 'vscode';
import { BackendError, type BackendKind, type BackendState } from '../backend/backend';
import { probe } from './testProbe';

/** The buttons a failure notification may carry, and the command each runs. */
export const FIXES = {
  'Set API Key…': 'diffuse.setApiKey',
  'Choose Backend…': 'diffuse.chooseBackend',
  'Choose Model Folder…': 'diffuse.chooseModelFolder',
  'Restart Backend': 'diffuse.restartDenoiser',
  'Show Log': 'diffuse.showLog',
} as const;
export type Fix = keyof typeof FIXES;

/** Shows an error (or a warning) with the buttons that fix it, and runs the one chosen. */
export async function showFailure(text: string, fixes: Fix[], severity: 'error' | 'warning' = 'error'): Promise<void> {
  const show = severity === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
  const choice = await show(probe.notice(text), ...fixes);
  if (choice) await vscode.commands.executeCommand(FIXES[choice]);
}

/** What fixes a failure of this kind, first the likeliest. */
export function fixesFor(code: BackendError['code'], local: boolean): Fix[] {
  switch (code) {
    case 'auth':
      return ['Set API Key…', 'Choose Backend…'];
    case 'model':
      return local ? ['Choose Model Folder…', 'Show Log'] : ['Choose Backend…', 'Show Log'];
    case 'quota':
    case 'busy':
    case 'unsupported':
      return ['Choose Backend…', 'Show Log'];
    case 'crash':
    case 'timeout':
      return ['Restart Backend', 'Show Log'];
    default:
      return ['Show Log'];
  }
}

/** What a failure report reads of the extension's backend service (backendService.ts). */
export interface FailingService {
  readonly state: BackendState;
  readonly backend: BackendKind;
  notifyBackendError(message: string): Promise<void>;
}

export function reportCommandError(service: FailingService, what: string, e: unknown): void {
  const err = e instanceof BackendError ? e : new BackendError(e instanceof Error ? e.message : String(e), 'internal');
  if (err.code === 'cancelled') return;
  const s = service.state;
  if (s.kind === 'error' && (err.code === 'model' || err.code === 'auth' || err.code === 'quota')) {
    // the backend stopped: the same notification the service showed, with the same buttons
    void service.notifyBackendError(s.message);
    return;
  }
  const local = service.backend === 'local';
  const severity = err.code === 'unsupported' || err.code === 'input' ? 'warning' : 'error';
  void showFailure(`Diffuse ${what} failed: ${err.message}`, fixesFor(err.code, local), severity);
}
