// The status bar item: which backend answers and its state, the last request's latency, and what
// became of the last ghost-text suggestion; a click opens the Diffuse menu. What it says is decided
// by core/view/statusText.ts from plain values; this file gathers them and repaints on change.
// Ghost-text requests do not show as busy: they run on every pause in typing, and the item would
// flicker; their outcome changes the item only when it differs from the last one.
import * as vscode from 'vscode';
import { statusText } from '../core/view/statusText';
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
  // the last ghost-text outcome, until a Refine or Fill starts: after one, its confidence is stale
  let lastGhost: GhostOutcome | undefined;
  const update = (): void => {
    const s = service.state;
    const a = service.watchedActivity;
    const run = a && runningSession(sessions);
    const shown = statusText({
      backend: service.backend,
      state: s,
      busy: a && {
        kind: a.kind,
        title: run?.title,
        step: run?.step,
        maxSteps: run?.maxSteps,
        unit: run?.unit,
        budgeted: !!a.maxSteps,
      },
      latencyMs: service.lastLatencyMs,
      ghost: lastGhost,
      heldBack: ghost.heldBack,
      nextEditLine: nextEdit?.waiting && nextEdit.waiting.start.line + 1,
      nextEditOutcome:
        nextEdit?.status === 'none' || nextEdit?.status === 'withdrawn'
          ? { status: nextEdit.status, detail: nextEdit.statusDetail }
          : undefined,
      now: Date.now(),
    });
    const { text, tooltip } = shown;
    const background = shown.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
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
    ghost.onDidDecide((o) => {
      lastGhost = o;
      update();
    }),
    sessions.onDidChange((session) => {
      if (session.phase === 'running') lastGhost = undefined;
      update();
    }),
    { dispose: () => tickWhileLoading(false) },
  ];
  if (nextEdit) subs.push(nextEdit.onDidChange(update));
  return { item, disposable: vscode.Disposable.from(...subs) };
}

/** What the item needs of next edit: where a suggestion waits, and when that changes. */
export interface NextEditState {
  readonly waiting: vscode.Range | undefined;
  readonly status?: string;
  readonly statusDetail?: string;
  readonly onDidChange: vscode.Event<void>;
}

/** The running session the user is most likely watching: the active editor's, else any. */
function runningSession(sessions: SessionStore): ProposalSession | undefined {
  const running = sessions.all().filter((s) => s.phase === 'running');
  const active = vscode.window.activeTextEditor?.document;
  return running.find((s) => s.document === active) ?? running[0];
}
