// Diffuse: Choose Remote Model…: asks the remote server for its models (`GET /v1/models`, with
// progress), then which role to set (ghost text and Fill, whose model also answers Mercury's next
// edit; or Refine's chat model), then one of the server's models, the current one marked. The
// choice is written to `diffuse.remote.fimModel` or `diffuse.remote.chatModel` where this window
// applies it (machineSettings.ts), with a message that says where; the settings change restarts
// the backend with it (BackendService). The arguments `{ role, model }` skip the questions
// (scripts, tests); a model the server does not list is refused in one line that names its models.
import * as vscode from 'vscode';
import { BackendError, type BackendKind } from '../backend/backend';
import { remoteDefaults } from '../backend/createBackend';
import type { BackendService } from './backendService';
import { settingsPlace, writeMachineSetting } from './machineSettings';
import { fixesFor, showFailure } from './requestErrors';
import { probe } from './testProbe';

export type ModelRole = 'fim' | 'chat';

/** Each role's setting and its words in the pick lists and messages. */
const ROLES: Record<ModelRole, { setting: string; label: string; detail: string; uses: string }> = {
  fim: {
    setting: 'remote.fimModel',
    label: '$(insert) Ghost text & Fill',
    // next edit has no setting of its own: Mercury Edit answers it with the FIM model
    detail: 'Fill-in-the-middle: ghost text and Fill at Cursor, and next edit on Mercury',
    uses: 'ghost text, Fill at Cursor and next edit',
  },
  chat: {
    setting: 'remote.chatModel',
    label: '$(comment) Refine (chat)',
    detail: 'Chat completions: Refine Selection and Refine with Instruction',
    uses: 'Refine',
  },
};
const MAX_NAMES = 8;

type RoleItem = vscode.QuickPickItem & { role: ModelRole };

/** What was written, or undefined when dismissed, refused or impossible (each said in one line). */
export async function chooseRemoteModel(
  service: BackendService,
  given?: { role?: unknown; model?: unknown },
): Promise<{ role: ModelRole; model: string } | undefined> {
  const kind = service.settings().backend.kind;
  if (kind !== 'mercury' && kind !== 'openai') {
    void vscode.window.showInformationMessage(probe.notice(noList(kind)));
    return undefined;
  }
  const models = await askServer(service, kind);
  if (!models) return undefined;
  const role = given?.role === 'fim' || given?.role === 'chat' ? given.role : await pickRole(service);
  if (!role) return undefined;
  const now = current(service, role);
  let model: string | undefined;
  if (typeof given?.model === 'string') {
    model = given.model.trim();
    if (!models.includes(model)) {
      void vscode.window.showWarningMessage(
        probe.notice(`Diffuse: ${host(service)} has no model "${model}"; it has ${names(models)}.`),
      );
      return undefined;
    }
  } else model = await pickModel(role, models, now);
  if (!model) return undefined;
  // Mercury's default is the empty setting, so that it follows the extension's defaults
  const defaults = remoteDefaults(kind);
  const fallback = role === 'fim' ? defaults.fimModel : defaults.chatModel;
  await writeMachineSetting(ROLES[role].setting, model === fallback ? undefined : model);
  void vscode.window.showInformationMessage(
    probe.notice(`Diffuse now asks ${model} for ${ROLES[role].uses} (written to your ${settingsPlace()}).`),
  );
  return { role, model };
}

function noList(kind: BackendKind): string {
  return kind === 'local'
    ? 'Diffuse: the built-in model has no model list on a server: Choose Model Folder… picks another model, Choose Backend… a server.'
    : 'Diffuse: a diffuse serve answers with the one model it was started with: there is no list to choose from.';
}

/** The server's models, asked with progress; a failure is one notification with what fixes it. */
async function askServer(service: BackendService, kind: 'mercury' | 'openai'): Promise<string[] | undefined> {
  const where = host(service);
  let models: string[];
  try {
    models = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Diffuse: asking ${where} for its models…` },
      async () => {
        const backend = await service.current();
        return backend.listModels ? backend.listModels() : [];
      },
    );
  } catch (e) {
    const err =
      e instanceof BackendError ? e : new BackendError(e instanceof Error ? e.message : String(e), 'internal');
    void showFailure(`Diffuse could not list the models of ${where}: ${err.message}`, fixesFor(err.code, false));
    return undefined;
  }
  if (models.length > 0) return models;
  // no GET /models (or no answer to it: the log says which): the names are typed in the settings
  const text = `Diffuse: ${where} lists no models (GET /v1/models); type the ${kind} model names in the settings.`;
  const choice = await vscode.window.showWarningMessage(probe.notice(text), 'Open Settings', 'Show Log');
  if (choice === 'Open Settings')
    await vscode.commands.executeCommand('workbench.action.openSettings', 'diffuse.remote');
  if (choice === 'Show Log') service.log.show(true);
  return undefined;
}

/** The model a role uses now: the setting, else the backend's default ('' for none). */
function current(service: BackendService, role: ModelRole): string {
  const b = service.settings().backend;
  return role === 'fim' ? b.fimModel : b.chatModel;
}

function pickRole(service: BackendService): Thenable<ModelRole | undefined> {
  const items: RoleItem[] = (['fim', 'chat'] as const).map((role) => ({
    label: ROLES[role].label,
    description: `now: ${current(service, role) || (role === 'chat' ? 'the FIM model' : 'none set')}`,
    detail: ROLES[role].detail,
    role,
  }));
  return vscode.window
    .showQuickPick(items, { title: 'Diffuse: Choose Remote Model', placeHolder: 'Which model to choose' })
    .then((i) => i?.role);
}

/** The server's models in its own order; the one in use is marked and active. */
function pickModel(role: ModelRole, models: string[], now: string): Promise<string | undefined> {
  const items = models.map((id) => ({ label: id, description: id === now ? 'in use' : undefined }));
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem>();
  qp.title = `Diffuse: model for ${ROLES[role].uses}`;
  qp.placeholder = !now
    ? `The server's models (written to your ${settingsPlace()})`
    : models.includes(now)
      ? `Now ${now} (written to your ${settingsPlace()})`
      : `Now ${now}, which this server does not list (written to your ${settingsPlace()})`;
  qp.items = items;
  // a model this server does not list is not offered: the server's first is active instead
  const inUse = items.filter((i) => i.label === now);
  if (inUse.length) qp.activeItems = inUse;
  return new Promise((resolve) => {
    qp.onDidAccept(() => {
      resolve(qp.selectedItems[0]?.label);
      qp.hide();
    });
    qp.onDidHide(() => {
      resolve(undefined);
      qp.dispose();
    });
    qp.show();
  });
}

function host(service: BackendService): string {
  const url = service.settings().backend.baseUrl;
  try {
    return new URL(url).host;
  } catch {
    return url || 'the server';
  }
}

function names(models: string[]): string {
  const more = models.length > MAX_NAMES ? ` and ${models.length - MAX_NAMES} more` : '';
  return `${models.slice(0, MAX_NAMES).join(', ')}${more}`;
}

export function registerRemoteModelPicker(service: BackendService): vscode.Disposable {
  return vscode.commands.registerCommand('diffuse.chooseRemoteModel', (given?: { role?: unknown; model?: unknown }) =>
    chooseRemoteModel(service, given),
  );
}
