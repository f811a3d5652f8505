// Commands that act on sessions (cancel, accept, reject, per hunk) and on the denoiser (restart,
// log, the status-bar menu; choosing a model folder is modelPicker.ts).
import * as vscode from 'vscode';
import type { BackendService } from './backendService';
import type { SessionStore } from './proposalSession';

export function registerCommands(service: BackendService, store: SessionStore): vscode.Disposable {
  /** The session a command means: the document named by a CodeLens argument, else the active editor's. */
  const command = vscode.commands.registerCommand;
  return vscode.Disposable.from(
    command('diffuse.cancel', (uri?: string) => {
      const s = store.target(uri);
      if (s?.phase === 'running') s.end('cancelled');
    }),
    command('diffuse.accept', async (uri?: string) => {
      const s = store.target(uri);
      const ok = s?.phase === 'review' && (await s.acceptAll());
      if (s && !ok && s.endReason && s.endReason !== 'accepted')
        void vscode.window.showWarningMessage(`Diffuse ${s.title}: ${s.endReason}.`);
    }),
    command('diffuse.reject', async (uri?: string) => {
      const s = store.target(uri);
      if (s?.phase === 'review')
        await s.rejectAll(); // resolves once the review is closed
      else if (s?.phase === 'running') s.end('cancelled');
    }),
    command('diffuse.acceptHunk', (uri: string, region: number, hunk: number) =>
      store.target(uri)?.acceptHunk(region, hunk),
    ),
    command('diffuse.rejectHunk', (uri: string, region: number, hunk: number) =>
      store.target(uri)?.rejectHunk(region, hunk),
    ),
    command('diffuse.restartDenoiser', () => service.restart()),
    command('diffuse.showLog', () => service.log.show(true)),
    command('diffuse.showMenu', () => showMenu(service, store)),
  );
}

/** The status-bar menu: what can be done now, with the backend and model in use. */
async function showMenu(service: BackendService, store: SessionStore): Promise<void> {
  const s = service.state;
  const ghostOn = service.settings().ghostText.enabled;
  const doc = vscode.window.activeTextEditor?.document;
  const session = doc && store.get(doc);
  const items: (vscode.QuickPickItem & { run: string; args?: unknown[] })[] = [
    ...(session?.phase === 'running' ? [{ label: '$(debug-stop) Cancel Denoising', run: 'diffuse.cancel' }] : []),
    ...(session?.phase === 'review'
      ? [
          { label: '$(check) Accept Proposal', run: 'diffuse.accept' },
          { label: '$(close) Reject Proposal', run: 'diffuse.reject' },
        ]
      : []),
    { label: '$(wand) Refine Selection', run: 'diffuse.refineSelection' },
    { label: '$(wand) Refine Selection with Strength…', run: 'diffuse.refineSelectionWithStrength' },
    ...(service.capabilities?.instruction
      ? [{ label: '$(comment) Refine Selection with Instruction…', run: 'diffuse.refineSelectionWithInstruction' }]
      : []),
    { label: '$(insert) Fill at Cursor', run: 'diffuse.fillAtCursor' },
    {
      label: `$(eye${ghostOn ? '-closed' : ''}) Turn Ghost Text ${ghostOn ? 'Off' : 'On'}`,
      run: 'diffuse.toggleGhostText',
    },
    {
      label: '$(folder-opened) Choose Model Folder…',
      run: 'diffuse.chooseModelFolder',
      detail:
        s.kind === 'ready' && s.info.backend === 'local'
          ? `now: ${s.info.where}`
          : s.kind === 'error'
            ? s.message
            : undefined,
    },
    {
      label: '$(server) Choose Backend…',
      run: 'diffuse.chooseBackend',
      detail: `now: ${service.backend}${service.backend === 'local' ? ' (nothing leaves this machine)' : ''}`,
    },
    ...(service.backend === 'mercury' || service.backend === 'openai'
      ? [
          {
            label: '$(list-selection) Choose Remote Model…',
            run: 'diffuse.chooseRemoteModel',
            detail: remoteModels(service),
          },
        ]
      : []),
    { label: '$(key) Set API Key…', run: 'diffuse.setApiKey' },
    { label: '$(debug-restart) Restart Backend', run: 'diffuse.restartDenoiser' },
    { label: '$(output) Show Log', run: 'diffuse.showLog' },
    {
      label: '$(book) Get Started',
      run: 'diffuse.openWalkthrough',
      detail: 'what the built-in model can do, and a stronger one',
    },
    { label: '$(settings-gear) Settings', run: 'workbench.action.openSettings', args: ['@ext:diffuse.diffuse'] },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'Diffuse', placeHolder: statusLine(service) });
  if (pick) await vscode.commands.executeCommand(pick.run, ...(pick.args ?? []));
}

/** The remote models in use, for the menu: ghost text and Fill's, then Refine's. */
function remoteModels(service: BackendService): string {
  const b = service.settings().backend;
  return `now: ${b.fimModel || 'no FIM model'} for ghost text and Fill, ${b.chatModel || b.fimModel || 'none'} for Refine`;
}

function statusLine(service: BackendService): string {
  const s = service.state;
  const latency = service.lastLatencyMs !== undefined ? `, last request ${service.lastLatencyMs} ms` : '';
  if (s.kind === 'ready' && s.info.backend === 'local')
    return `${s.info.name} ready (${s.info.threads} thread${s.info.threads === 1 ? '' : 's'}${latency})`;
  if (s.kind === 'ready') return `${s.info.backend}: ${s.info.name} at ${s.info.where}${latency}`;
  if (s.kind === 'error')
    return `${service.backend === 'local' ? 'model failed to load' : `${service.backend} cannot answer`}: ${s.message}`;
  return s.kind;
}
