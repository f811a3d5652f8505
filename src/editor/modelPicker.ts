// Diffuse: Choose Model Folder…: a pick list of the model folders Diffuse knows of (the one in
// `diffuse.modelPath`, the ones loaded or chosen before, the bundled ones), each with its card
// summary (parameters, dtype, size, source, licence), and Browse… for another. A folder that
// cannot load shows why, and choosing it asks first. Choosing sets `diffuse.modelPath` for the
// user (the denoiser restarts on the change, see BackendService).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SHIPPED_MODEL } from '../core/defaults';
import { summaryLines } from '../core/view/modelCard';
import { modelFoldersIn, summarizeFolder, type FolderSummary } from '../modelFolder/summary';
import type { BackendService } from './backendService';

/** globalState key of the folders used before, most recent first. */
const REMEMBERED_KEY = 'diffuse.modelFolders';
/** Enough to switch between a few converted models; older ones fall off the end. */
export const MAX_REMEMBERED = 8;

export type FolderItem = vscode.QuickPickItem & { folder?: FolderSummary; browse?: true };

export class ModelPicker implements vscode.Disposable {
  /** The pick list while it is open (the integration tests read its items and pick one). */
  shown: vscode.QuickPick<FolderItem> | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly service: BackendService,
  ) {
    // a folder set in settings.json counts as chosen once it loads (once per load: the event
    // also fires for every request)
    let loaded: string | undefined;
    this.subscription = service.onDidChange(() => {
      const s = service.state;
      const now = s.kind === 'ready' && s.info.backend === 'local' ? s.info.where : undefined;
      if (now && now !== loaded) void this.remember(now);
      loaded = now;
    });
  }

  /** Shows the pick list and sets `diffuse.modelPath` to the folder chosen (nothing when dismissed). */
  async choose(): Promise<void> {
    const item = await this.pick(this.items());
    const folder = item?.browse ? await browse() : item?.folder;
    if (!folder || (folder.problem && !(await confirmBroken(folder)))) return;
    await this.remember(folder.dir);
    const shipped = path.join(this.context.extensionPath, 'models', SHIPPED_MODEL);
    // the shipped model is the empty setting, so that it follows the extension's updates
    const value = samePath(folder.dir, shipped) ? undefined : folder.dir;
    await vscode.workspace.getConfiguration('diffuse').update('modelPath', value, vscode.ConfigurationTarget.Global);
  }

  /** The folders used before that still exist, most recent first. */
  remembered(): string[] {
    const all = this.context.globalState.get<string[]>(REMEMBERED_KEY, []);
    const existing = all.filter((d) => typeof d === 'string' && fs.existsSync(d));
    if (existing.length !== all.length) void this.context.globalState.update(REMEMBERED_KEY, existing);
    return existing;
  }

  dispose(): void {
    this.subscription.dispose();
    this.shown?.dispose();
  }

  private async remember(dir: string): Promise<void> {
    if (this.isBundled(dir)) return; // always listed
    const list = this.remembered();
    if (samePath(list[0] ?? '', dir)) return;
    await this.context.globalState.update(
      REMEMBERED_KEY,
      [dir, ...list.filter((d) => !samePath(d, dir))].slice(0, MAX_REMEMBERED),
    );
  }

  /** The folder in use first, then those used before, then the bundled ones; Browse… last. */
  private items(): FolderItem[] {
    const current = this.service.settings().modelDir;
    const dirs: string[] = [];
    for (const d of [current, ...this.remembered(), ...modelFoldersIn(this.bundledRoot())]) {
      if (!dirs.some((x) => samePath(x, d))) dirs.push(d);
    }
    return [
      ...dirs.map((d) => folderItem(summarizeFolder(d), samePath(d, current), this.isBundled(d))),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      {
        label: '$(folder-opened) Browse…',
        detail:
          'another folder with denoiser.json and model.onnx: `npm run model:convert` in the Diffuse source ' +
          'repository (Python with PyTorch) makes one from an open diffusion coder',
        browse: true,
      },
    ];
  }

  private pick(items: FolderItem[]): Promise<FolderItem | undefined> {
    this.shown?.dispose();
    const qp = vscode.window.createQuickPick<FolderItem>();
    qp.title = 'Diffuse: Choose Model Folder';
    qp.placeholder = 'The folder in use is marked with a check; parameters, weights and size, then source and licence';
    qp.matchOnDescription = true;
    qp.matchOnDetail = true;
    qp.items = items;
    this.shown = qp;
    return new Promise((resolve) => {
      qp.onDidAccept(() => {
        resolve(qp.selectedItems[0]);
        qp.hide();
      });
      qp.onDidHide(() => {
        resolve(undefined);
        qp.dispose();
        if (this.shown === qp) this.shown = undefined;
      });
      qp.show();
    });
  }

  private bundledRoot(): string {
    return path.join(this.context.extensionPath, 'models');
  }

  private isBundled(dir: string): boolean {
    return samePath(path.dirname(dir), this.bundledRoot());
  }
}

export function registerModelPicker(
  context: vscode.ExtensionContext,
  service: BackendService,
): { picker: ModelPicker; disposable: vscode.Disposable } {
  const picker = new ModelPicker(context, service);
  const command = vscode.commands.registerCommand('diffuse.chooseModelFolder', () => picker.choose());
  return { picker, disposable: vscode.Disposable.from(picker, command) };
}

/** One folder: name, then sizes (and whether it is in use) beside it, then source and licence below. */
export function folderItem(f: FolderSummary, inUse: boolean, bundled: boolean): FolderItem {
  const where = bundled ? 'bundled with Diffuse' : f.dir;
  if (f.problem) {
    return {
      label: `$(warning) ${f.name}`,
      description: `cannot load${inUse ? ' · in use' : ''}`,
      detail: f.problem,
      folder: f,
    };
  }
  const lines = summaryLines(f.card, f.bytes);
  return {
    label: `${inUse ? '$(check)' : '$(folder)'} ${f.name}`,
    description: [lines.sizes, inUse ? 'in use' : undefined].filter(Boolean).join(' · '),
    detail: `${lines.origin} · ${where}`,
    folder: f,
  };
}

async function browse(): Promise<FolderSummary | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Use this model',
    title: 'Diffuse: choose a model folder (with denoiser.json and model.onnx)',
  });
  return picked?.[0] ? summarizeFolder(picked[0].fsPath) : undefined;
}

/**
 * A folder that cannot load is chosen only on purpose (to fix it while Diffuse points at it, say):
 * the default button (Enter) keeps the folder in use, and "Use Anyway" must be clicked.
 */
async function confirmBroken(f: FolderSummary): Promise<boolean> {
  const keep: vscode.MessageItem = { title: 'Keep the Current Folder' };
  const anyway: vscode.MessageItem = { title: 'Use Anyway' };
  const choice = await vscode.window.showWarningMessage(
    `Diffuse: ${f.name} cannot load: ${f.problem}`,
    { modal: true },
    keep,
    anyway,
  );
  return choice === anyway;
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}
