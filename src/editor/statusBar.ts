// The status bar item: which backend answers and its state (loading, with the folder, its size,
// the load's step and seconds / ready / busy with its step / error), the last request's latency,
// and what became of the last ghost-text suggestion (shown, or held back below the confidence
// threshold, with the confidence); a click opens the Diffuse menu.
// Ghost-text requests do not show as busy: they run on every pause in typing, and the item would
// flicker; their outcome changes the item only when it differs from the last one.
import * as vscode from 'vscode';
import { loadLabel } from '../core/view/loadLabel';
import { stepLabel } from '../core/view/stepLabel';
import type { BackendService } from './backendService';
import type { GhostOutcome, GhostTextProvider } from './ghostText';
import type { ProposalSession, SessionStore } from './proposalSession';

/** Creates the item and keeps it current; returns it (the integration tests read its text) and its disposable. */
export function registerStatusBar(
  service: BackendService,
  ghost: GhostTextProvider,
  sessions: SessionStore,
  nextEdit?: NextEditState,
): { item: vscode.StatusBarItem; disposable: vscode.Disposable } {
  const item = vscode.window.createStatusBarItem('diffuse.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Diffuse';
  item.command = 'diffuse.showMenu';
  const update = (): void => {
    const s = service.state;
    const a = service.watchedActivity;
    const backend = service.backend;
    const remote = backend === 'local' ? '' : ` · ${backend}`;
    const latency = service.lastLatencyMs !== undefined ? ` ${service.lastLatencyMs} ms` : '';
    const ghostPart = nextEdit?.waiting
      ? {
          text: ' $(arrow-right) next edit',
          tooltip: `\nA next edit waits at line ${nextEdit.waiting.start.line + 1}: Tab jumps to it and accepts it, Escape dismisses it.`,
        }
      : ghostText(ghost.lastOutcome);
    let text: string;
    let tooltip: string;
    let background: vscode.ThemeColor | undefined;
    if (s.kind === 'error') {
      text = `$(error) Diffuse${remote}`;
      tooltip =
        backend === 'local'
          ? `Diffuse: the model failed to load. ${s.message}\nClick for options.`
          : `Diffuse (${backend}) cannot answer. ${s.message}\nClick for options.`;
      background = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (s.kind === 'starting' && s.load) {
      const label = loadLabel({
        name: s.load.name,
        bytes: s.load.bytes,
        stage: s.load.stage,
        elapsedMs: Date.now() - s.load.startedAt,
      });
      text = `$(loading~spin) Diffuse: ${label.text}`;
      tooltip = label.tooltip;
    } else if (s.kind === 'starting' || s.kind === 'restarting') {
      text = `$(loading~spin) Diffuse${remote}: ${backend === 'local' ? 'loading' : 'connecting'}`;
      tooltip =
        s.kind === 'restarting'
          ? `Diffuse: ${s.message}; restarting`
          : backend === 'local'
            ? 'Diffuse: loading the model'
            : `Diffuse: connecting to ${backend}`;
    } else if (a) {
      // the step is the running session's, as its live view draws it
      const run = runningSession(sessions);
      const step = run?.step ? ` ${stepLabel(run.step, run.maxSteps)}` : '';
      text = `$(sync~spin) Diffuse${remote}: ${run ? run.title.toLowerCase() : a.kind}${step}`;
      tooltip =
        'Diffuse is denoising. Press Escape in the editor to cancel.' +
        (a.maxSteps ? ` The step count's total is the budget; a sure model ends early.` : '');
    } else if (s.kind === 'ready') {
      text = `$(sparkle) Diffuse${remote}${latency}${ghostPart.text}`;
      const who =
        s.info.backend === 'local'
          ? `${s.info.name} ready (${s.info.threads} thread${s.info.threads === 1 ? '' : 's'}; nothing leaves this machine)`
          : `${s.info.backend} (${s.info.name}) at ${s.info.where}: the code around the cursor or selection is sent there`;
      tooltip = `Diffuse: ${who}` + (latency ? `; last request took${latency}` : '') + ghostPart.tooltip;
    } else {
      text = '$(circle-slash) Diffuse';
      tooltip = 'Diffuse: the denoiser is stopped';
    }
    // assigning the same text again still repaints in some VS Code versions: only assign changes
    if (item.text !== text) item.text = text;
    if (item.tooltip !== tooltip) item.tooltip = tooltip;
    if (item.backgroundColor?.id !== background?.id) item.backgroundColor = background;
    tickWhileLoading(s.kind === 'starting' && !!s.load);
  };
  // the seconds of a load count up once a second while it lasts
  let ticker: NodeJS.Timeout | undefined;
  const tickWhileLoading = (loading: boolean): void => {
    if (loading && !ticker) ticker = setInterval(update, 1000);
    if (!loading && ticker) {
      clearInterval(ticker);
      ticker = undefined;
    }
  };
  update();
  item.show();
  const subs = [
    item,
    service.onDidChange(update),
    ghost.onDidDecide(update),
    sessions.onDidChange(update),
    { dispose: () => tickWhileLoading(false) },
  ];
  if (nextEdit) subs.push(nextEdit.onDidChange(update));
  return { item, disposable: vscode.Disposable.from(...subs) };
}

/** What the item needs of next edit: where a suggestion waits, and when that changes. */
export interface NextEditState {
  readonly waiting: vscode.Range | undefined;
  readonly onDidChange: vscode.Event<void>;
}

/** The last ghost-text outcome in the item: `$(eye) 0.91` shown, `$(eye-closed) 0.62` held back. */
function ghostText(o: GhostOutcome | undefined): { text: string; tooltip: string } {
  if (!o || o.reason === 'failed' || (!o.shown && o.reason === 'empty')) return { text: '', tooltip: '' };
  const conf = o.confidence !== undefined ? ` ${o.confidence.toFixed(2)}` : '';
  if (o.shown)
    return {
      text: ` $(eye)${conf}`,
      tooltip: `\nLast ghost-text suggestion shown${conf ? ` (confidence${conf})` : ''}.`,
    };
  return {
    text: ` $(eye-closed)${conf}`,
    tooltip:
      `\nLast ghost-text suggestion held back: confidence${conf} is below diffuse.ghostText.minConfidence (${o.threshold}). ` +
      'Press Alt+\\ to see it anyway, or lower the setting to see more, less reliable suggestions.',
  };
}

/** The running session the user is most likely watching: the active editor's, else any. */
function runningSession(sessions: SessionStore): ProposalSession | undefined {
  const running = sessions.all().filter((s) => s.phase === 'running');
  const active = vscode.window.activeTextEditor?.document;
  return running.find((s) => s.document === active) ?? running[0];
}
