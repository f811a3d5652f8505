// Diffuse: Choose Backend…: a pick list of who answers (the built-in model, Mercury, an
// OpenAI-compatible server such as vLLM or SGLang, a `diffuse serve`), then the base URL (and the
// model name for an OpenAI-compatible server), written where VS Code applies them (machine-scoped:
// machineSettings.ts says why and where), and a message that says where that was.
import * as vscode from 'vscode';
import { BACKENDS, type BackendKind } from '../backend/backend';
import { remoteDefaults } from '../backend/createBackend';
import { apiKeySecret } from './apiKeys';
import type { BackendService } from './backendService';
import { settingsPlace, writeMachineSetting as write } from './machineSettings';
import { probe } from './testProbe';

type BackendItem = vscode.QuickPickItem & { backend: BackendKind };

const ITEMS: Record<BackendKind, { label: string; detail: string }> = {
  local: {
    label: '$(device-desktop) Built-in model (local)',
    detail: 'The model folder on this machine: offline, nothing leaves it. Choose Model Folder… picks another.',
  },
  mercury: {
    label: '$(cloud) Mercury (Inception)',
    detail: "Inception's diffusion coder over the network: code around the cursor is sent there; needs an API key.",
  },
  openai: {
    label: '$(server) OpenAI-compatible server (vLLM, SGLang, …)',
    detail: 'Any server with OpenAI-compatible completions and chat completions: its base URL and model name.',
  },
  diffuse: {
    label: '$(server-process) Diffuse server (diffuse serve)',
    detail: 'A `diffuse serve` (from the CLI, on this machine or another): the URL it prints.',
  },
};

/**
 * Asks which backend (and its URL) and writes the settings; the arguments (kind, base URL, model)
 * skip the questions (scripts, tests). Resolves to what was written, or undefined when dismissed.
 */
export async function chooseBackend(
  service: BackendService,
  secrets: vscode.SecretStorage,
  given?: { kind?: unknown; baseUrl?: unknown; model?: unknown },
): Promise<BackendKind | undefined> {
  const now = service.backend;
  const kind =
    typeof given?.kind === 'string' && (BACKENDS as readonly string[]).includes(given.kind)
      ? (given.kind as BackendKind)
      : await pickKind(now);
  if (!kind) return undefined;
  if (kind !== 'local') {
    const baseUrl = typeof given?.baseUrl === 'string' ? given.baseUrl : await askBaseUrl(kind, service);
    if (baseUrl === undefined) return undefined;
    const model = kind !== 'openai' ? '' : typeof given?.model === 'string' ? given.model : await askModel(service);
    if (model === undefined) return undefined;
    // Mercury's own URL is the empty setting, so that it follows the extension's defaults
    await write(
      'remote.baseUrl',
      kind === 'mercury' && baseUrl === remoteDefaults('mercury').baseUrl ? undefined : baseUrl || undefined,
    );
    if (kind === 'openai') await write('remote.fimModel', model || undefined);
  }
  await write('backend', kind === 'local' ? undefined : kind);
  const text = `Diffuse now uses the ${kind === 'local' ? 'built-in model' : `${kind} backend`} (written to your ${settingsPlace()}).`;
  void vscode.window.showInformationMessage(probe.notice(text));
  // a remote backend without a key fails its first request: ask for the key now (a diffuse serve or a local server may need none)
  if (kind === 'mercury' && !(await secrets.get(apiKeySecret(kind))))
    await vscode.commands.executeCommand('diffuse.setApiKey', kind);
  return kind;
}

async function pickKind(now: BackendKind): Promise<BackendKind | undefined> {
  const items: BackendItem[] = BACKENDS.map((kind) => ({
    ...ITEMS[kind],
    description: kind === now ? 'in use' : undefined,
    backend: kind,
  }));
  const qp = vscode.window.createQuickPick<BackendItem>();
  qp.title = 'Diffuse: Choose Backend';
  qp.placeholder = `Who answers Diffuse's requests (written to your ${settingsPlace()})`;
  qp.items = items;
  qp.activeItems = items.filter((i) => i.backend === now);
  return new Promise((resolve) => {
    qp.onDidAccept(() => {
      resolve(qp.selectedItems[0]?.backend);
      qp.hide();
    });
    qp.onDidHide(() => {
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

function askBaseUrl(kind: Exclude<BackendKind, 'local'>, service: BackendService): Thenable<string | undefined> {
  const s = service.settings().backend;
  const current = s.kind === kind ? s.baseUrl : kind === 'mercury' ? remoteDefaults('mercury').baseUrl : '';
  const example =
    kind === 'mercury'
      ? "Mercury's own URL is filled in: press Enter"
      : kind === 'diffuse'
        ? 'e.g. http://127.0.0.1:7431/v1 (what `diffuse serve` prints; another machine over https:// or an SSH tunnel)'
        : 'e.g. http://localhost:8000/v1 (vLLM) or http://localhost:30000/v1 (SGLang)';
  return vscode.window.showInputBox({
    title: `Diffuse: ${kind} base URL`,
    prompt: `${example}. https://, or http:// on this machine.`,
    value: current,
    ignoreFocusOut: true,
    validateInput: (v) => (/^https?:\/\/\S+$/.test(v.trim()) ? undefined : 'A URL starting with http:// or https://'),
  });
}

function askModel(service: BackendService): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: 'Diffuse: model name on the server',
    prompt: 'The name the server serves the model under (its /v1/models lists them), e.g. Qwen/Qwen2.5-Coder-7B',
    value: service.settings().backend.fimModel,
    ignoreFocusOut: true,
  });
}

export function registerBackendPicker(service: BackendService, secrets: vscode.SecretStorage): vscode.Disposable {
  return vscode.commands.registerCommand(
    'diffuse.chooseBackend',
    (kind?: unknown, baseUrl?: unknown, model?: unknown) => chooseBackend(service, secrets, { kind, baseUrl, model }),
  );
}
