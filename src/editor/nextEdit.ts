// Next edit (docs/design.md: "Next edit"): after the user changes code and pauses, ask the backend for
// the edit that follows (the other uses of a renamed name, a repeated literal) and show at most
// one suggestion, reviewed like a Refine (a proposal session: the diff of the document against
// the document Accept would leave, one undo step). Tab jumps to it when it is away from the
// cursor and accepts it when there (only while no ghost text or suggestion list wants Tab);
// Escape, or typing anywhere in the document, dismisses it. The history of the user's edits and
// the snippets of other files they viewed stay in this process and go out only with a request to
// a remote backend the user chose.
import * as vscode from 'vscode';
import { EditHistory } from '../core/nextEdit/editHistory';
import { ViewedSnippets, snippetOf } from '../core/nextEdit/viewedSnippets';
import { BackendError } from '../backend/backend';
import type { BackendService } from './backendService';
import type { GhostTextProvider } from './ghostText';
import type { ProposalSession, SessionStore } from './proposalSession';
import { probe } from './testProbe';

export const NEXT_EDIT_TITLE = 'Next edit';
/** The pause after the last keystroke before a next edit is asked for (a little above ghost text's). */
export const NEXT_EDIT_PAUSE_MS = 700;

export class NextEditController implements vscode.Disposable {
  /** Per document: recent edits as unified diffs (bounded; see core/nextEdit/editHistory.ts). */
  readonly history = new EditHistory();
  /** What the user last saw of each other file (bounded; see core/nextEdit/viewedSnippets.ts). */
  readonly viewed = new ViewedSnippets();
  /** Per document: its text when the last edit settled (what the next edit is diffed against). */
  private readonly bases = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /** The one suggestion, while it waits for a decision. */
  session: ProposalSession | undefined;
  /** The document version at which ghost text was last shown: no suggestion over it. */
  private ghostShownAt: { uri: string; version: number } | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly service: BackendService,
    private readonly store: SessionStore,
    ghost: GhostTextProvider,
  ) {
    for (const e of vscode.window.visibleTextEditors) this.bases.set(e.document.uri.toString(), e.document.getText());
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidOpenTextDocument((d) => this.bases.set(d.uri.toString(), d.getText())),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.bases.delete(d.uri.toString());
        this.history.forget(d.uri.toString());
        this.viewed.forget(d.uri.toString());
      }),
      vscode.window.onDidChangeTextEditorSelection(() => this.updateContext()),
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e) this.recordView(e);
        this.updateContext();
      }),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.recordView(e.textEditor)),
      store.onDidChange((s) => {
        if (s !== this.session) return;
        if (s.phase === 'ended') {
          // what the user accepted is the new base: the next pause diffs from there
          if (s.endReason === 'accepted') this.bases.set(s.document.uri.toString(), s.document.getText());
          this.session = undefined;
        }
        this.updateContext();
        this.changed.fire();
      }),
      ghost.onDidDecide((o) => {
        const doc = vscode.window.activeTextEditor?.document;
        if (o.shown && doc) this.ghostShownAt = { uri: doc.uri.toString(), version: doc.version };
      }),
    );
  }

  get enabled(): boolean {
    return this.service.settings().nextEdit.enabled;
  }

  /** The suggestion's document range, if one waits. */
  get waiting(): vscode.Range | undefined {
    return this.session?.phase === 'review' ? this.session.firstChange() : undefined;
  }

  /** Moves the cursor to the suggestion and shows its review. */
  async jump(): Promise<void> {
    const s = this.session;
    const at = this.waiting;
    if (!s || !at) return;
    await vscode.commands.executeCommand('diffuse.showReview', s.document.uri.toString());
    // the document may be shown twice (its own editor, and the review's original side): move both
    for (const editor of vscode.window.visibleTextEditors.filter((e) => e.document === s.document)) {
      editor.selection = new vscode.Selection(at.start, at.start);
      editor.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    this.updateContext();
  }

  async accept(): Promise<boolean> {
    return (await this.session?.acceptAll()) ?? false;
  }

  async dismiss(): Promise<void> {
    await this.session?.rejectAll();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.session?.end('the extension stopped');
    this.disposables.forEach((d) => d.dispose());
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0 || (e.document.uri.scheme !== 'file' && e.document.uri.scheme !== 'untitled'))
      return;
    const s = this.session;
    if (s && s.document === e.document) {
      if (s.deciding) return; // the suggestion's own Accept
      void this.dismiss(); // typing anywhere in the document: the user went on without it
    }
    this.inFlight?.abort();
    clearTimeout(this.timer);
    if (!this.enabled) return;
    const doc = e.document;
    this.timer = setTimeout(() => void this.ask(doc), NEXT_EDIT_PAUSE_MS);
  }

  /** After a pause: the edit since the last one goes into the history, and the backend is asked what follows. */
  private async ask(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    const editor = vscode.window.activeTextEditor;
    if (!this.enabled || doc.isClosed || editor?.document !== doc) return;
    const before = this.bases.get(key);
    const text = doc.getText();
    this.bases.set(key, text);
    if (before === undefined || before === text) return;
    const path = vscode.workspace.asRelativePath(doc.uri);
    this.history.record(key, path, before, text);
    // one suggestion at a time, none over a Refine or Fill, none over ghost text on screen
    if (this.session || this.store.get(doc)) return;
    if (this.ghostShownAt?.uri === key && this.ghostShownAt.version === doc.version) return;
    const caps = this.service.capabilities;
    if (caps && !caps.nextEdit) return;
    const version = doc.version;
    const abort = new AbortController();
    this.inFlight = abort;
    probe.nextEdit.asked++;
    const remote = this.service.backend !== 'local';
    try {
      const result = await this.service.nextEdit(
        {
          before,
          text,
          cursor: doc.offsetAt(editor.selection.active),
          file: { path, language: doc.languageId },
          // the history and the viewed snippets leave this process only for a remote backend the user chose
          ...(remote ? { history: this.history.diffs(key), snippets: this.viewed.except(key) } : {}),
        },
        { signal: abort.signal, describe: `next edit after an edit of ${path}` },
      );
      const e = result.edits[0];
      if (!e || abort.signal.aborted || doc.version !== version || this.session || this.store.get(doc)) return;
      const s = this.store.start(doc, NEXT_EDIT_TITLE, [{ start: e.start, end: e.end }]);
      if (!s.finish([e.text])) return;
      this.session = s;
      probe.nextEdit.proposed++;
      this.updateContext();
      this.changed.fire();
    } catch (err) {
      // nobody asked for this request: the service's log has the failure, no notification
      if (!(err instanceof BackendError)) throw err;
    } finally {
      if (this.inFlight === abort) this.inFlight = undefined;
    }
  }

  /** Keeps what `editor` shows now (around its cursor) as that file's recently viewed snippet. */
  private recordView(editor: vscode.TextEditor): void {
    const doc = editor.document;
    const range = editor.visibleRanges[0];
    if (!this.enabled || !range || (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled')) return;
    const last = editor.visibleRanges[editor.visibleRanges.length - 1].end.line;
    const text = snippetOf(
      { first: range.start.line, last, focus: editor.selection.active.line },
      doc.lineCount,
      (i) => doc.lineAt(i).text,
    );
    this.viewed.record(doc.uri.toString(), vscode.workspace.asRelativePath(doc.uri), text);
  }

  /** `diffuse.nextEditWaiting`, and whether the cursor is at the suggestion (Tab accepts) or away (Tab jumps). */
  private updateContext(): void {
    const at = this.waiting;
    const editor = vscode.window.activeTextEditor;
    const s = this.session;
    const mine = !!at && !!s && !!editor && this.store.get(editor.document) === s;
    const here =
      mine &&
      (editor!.document !== s!.document ||
        editor!.selections.some((sel) => sel.active.line >= at!.start.line && sel.active.line <= at!.end.line));
    void vscode.commands.executeCommand('setContext', 'diffuse.nextEditWaiting', mine);
    void vscode.commands.executeCommand('setContext', 'diffuse.nextEditHere', mine && here);
    void vscode.commands.executeCommand('setContext', 'diffuse.nextEditAway', mine && !here);
  }
}

export function registerNextEdit(
  service: BackendService,
  store: SessionStore,
  ghost: GhostTextProvider,
): { controller: NextEditController; disposable: vscode.Disposable } {
  const controller = new NextEditController(service, store, ghost);
  return {
    controller,
    disposable: vscode.Disposable.from(
      controller,
      vscode.commands.registerCommand('diffuse.nextEdit.jump', () => controller.jump()),
      vscode.commands.registerCommand('diffuse.nextEdit.accept', () => controller.accept()),
      vscode.commands.registerCommand('diffuse.nextEdit.dismiss', () => controller.dismiss()),
    ),
  };
}
