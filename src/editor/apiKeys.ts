// API keys of the remote backends live in VS Code's SecretStorage (the system keychain), one per
// backend, never in settings, logs or messages. `Diffuse: Set API Key…` asks for one (masked) or
// removes it; changing it rebuilds the backend (BackendService listens to SecretStorage).
import * as vscode from 'vscode';
import { BACKENDS, type BackendKind } from '../backend/backend';
import { CONFIRM_MESSAGE_MS } from './messageDurations';

const REMOTE: readonly BackendKind[] = BACKENDS.filter((k) => k !== 'local');

export function apiKeySecret(kind: BackendKind): string {
  return `diffuse.apiKey.${kind}`;
}

export function registerApiKeys(secrets: vscode.SecretStorage, current: () => BackendKind): vscode.Disposable {
  // Arguments (backend, key) let a script or test set a key without the prompt; an empty key removes it.
  return vscode.commands.registerCommand('diffuse.setApiKey', async (backend?: unknown, key?: unknown) => {
    let kind =
      typeof backend === 'string' && REMOTE.includes(backend as BackendKind) ? (backend as BackendKind) : undefined;
    if (!kind) {
      const now = current();
      const pick = await vscode.window.showQuickPick(
        REMOTE.map((k) => ({
          label: k,
          description: k === now ? 'the backend in use' : undefined,
          detail:
            k === 'mercury'
              ? "Inception's API key (platform.inceptionlabs.ai)"
              : k === 'openai'
                ? 'the key of your OpenAI-compatible server'
                : 'the token your diffuse serve was started with',
        })),
        { title: 'Diffuse: set the API key of which backend?' },
      );
      if (!pick) return;
      kind = pick.label as BackendKind;
    }
    const value =
      typeof key === 'string'
        ? key
        : await vscode.window.showInputBox({
            title: `Diffuse: API key for ${kind}`,
            prompt:
              'Kept in the system keychain (VS Code SecretStorage), never in settings. Leave empty to remove the key.',
            password: true,
            ignoreFocusOut: true,
          });
    if (value === undefined) return;
    if (value.trim()) await secrets.store(apiKeySecret(kind), value.trim());
    else await secrets.delete(apiKeySecret(kind));
    void vscode.window.setStatusBarMessage(
      `Diffuse: ${kind} API key ${value.trim() ? 'saved' : 'removed'}`,
      CONFIRM_MESSAGE_MS,
    );
  });
}
