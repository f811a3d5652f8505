// Diffuse's VS Code side: thin wiring of the features in src/editor onto one denoiser service
// and one session store. Everything created here is disposed with the extension.
import * as vscode from 'vscode';
import { registerApiKeys } from './editor/apiKeys';
import { registerBackendPicker } from './editor/backendPicker';
import { registerCommands } from './editor/commands';
import { BackendService } from './editor/backendService';
import { registerContextKeys } from './editor/contextKeys';
import { registerFillAtCursor } from './editor/fillAtCursor';
import { registerGhostExplain } from './editor/ghostExplain';
import { GhostTextProvider, registerGhostText } from './editor/ghostText';
import { registerInlineDiffView } from './editor/reviewView';
import { registerLiveRender } from './editor/liveRender';
import { registerModelPicker, type ModelPicker } from './editor/modelPicker';
import { registerNextEdit, type NextEditController } from './editor/nextEdit';
import { SessionStore } from './editor/proposalSession';
import { registerRefineSelection } from './editor/refineSelection';
import { registerRemoteModelPicker } from './editor/remoteModelPicker';
import { registerRepair } from './editor/repair';
import { registerSessionCodeLens } from './editor/sessionCodeLens';
import { registerStatusBar } from './editor/statusBar';
import { probe, type TestProbe } from './editor/testProbe';
import { registerWelcome } from './editor/welcome';

/** What activate() returns: used by the integration tests to observe the extension. */
export interface DiffuseApi {
  service: BackendService;
  sessions: SessionStore;
  ghostText: GhostTextProvider;
  statusBar: vscode.StatusBarItem;
  nextEdit: NextEditController;
  modelPicker: ModelPicker;
  /** What the tests cannot read off the screen: notifications, request counts, a backend wrapper. */
  probe: TestProbe;
}

export function activate(context: vscode.ExtensionContext): DiffuseApi {
  const log = vscode.window.createOutputChannel('Diffuse', { log: true });
  const service = new BackendService(context.extensionPath, log, context.secrets);
  const sessions = new SessionStore();
  const ghostText = new GhostTextProvider(service);
  const nextEdit = registerNextEdit(service, sessions, ghostText);
  const statusBar = registerStatusBar(service, ghostText, sessions, nextEdit.controller);
  const modelPicker = registerModelPicker(context, service);
  context.subscriptions.push(
    log,
    service,
    sessions,
    statusBar.disposable,
    registerLiveRender(sessions),
    registerInlineDiffView(sessions),
    registerSessionCodeLens(sessions),
    registerRefineSelection(service, sessions),
    registerRepair(service, sessions, context),
    registerFillAtCursor(service, sessions),
    registerGhostText(service, ghostText),
    registerGhostExplain(ghostText),
    registerCommands(service, sessions),
    registerApiKeys(context.secrets, () => service.backend),
    registerBackendPicker(service, context.secrets),
    registerRemoteModelPicker(service),
    registerContextKeys(service),
    registerWelcome(context),
    nextEdit.disposable,
    modelPicker.disposable,
  );
  service.start();
  return {
    service,
    sessions,
    ghostText,
    statusBar: statusBar.item,
    nextEdit: nextEdit.controller,
    modelPicker: modelPicker.picker,
    probe,
  };
}

export function deactivate(): void {}
