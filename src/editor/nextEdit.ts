// Next edit (docs/design.md: "Next edit"): after the user changes code and pauses, ask the backend for
// the edit that follows (the other uses of a renamed name, a repeated literal) and show at most
// one suggestion. A suggestion is drawn in the document first (what goes struck through, what
// comes after it, a mark in the overview ruler); it never opens a review or takes focus by itself.
// Tab jumps to it when it is away from the cursor and accepts it when there, as one undo step
// (only while no ghost text or suggestion list wants Tab); its hover offers the review diff;
// Escape, or typing anywhere in the document, dismisses it. A suggestion is shown only when it
// covers every use it is about (core/nextEdit/nextEditRegions.ts, coversEveryUse) and, for a
// rename where the language has a rename provider, renames what that provider would
// (nextEditCheck.ts). The history of the user's edits and the snippets of other files they viewed
// stay in this process and go out only with a request to a remote backend the user chose.
import * as vscode from 'vscode';
import { EditHistory } from '../core/nextEdit/editHistory';
import { coversEveryUse } from '../core/nextEdit/nextEditRegions';
import { ViewedSnippets, snippetOf } from '../core/nextEdit/viewedSnippets';
import { BackendError } from '../backend/backend';
import type { BackendService } from './backendService';
import type { GhostTextProvider } from './ghostText';
import { ProposalSession, type SessionStore } from './proposalSession';
import { isScratch, renameDisagrees } from './nextEditCheck';
import { probe } from './testProbe';

export const NEXT_EDIT_TITLE = 'Next edit';
/** The pause after the last keystroke before a next edit is asked for (a little above ghost text's). */
export const NEXT_EDIT_PAUSE_MS = 700;

/**
 * What next edit is doing, for the status bar: off (the setting), idle (nothing asked since the
 * last decision), asking, a suggestion shown, or the last answer: no next edit ('none'), or one
 * withdrawn because it would leave the code worse ('withdrawn', `statusDetail` says why).
 */
export type NextEditStatus = 'off' | 'idle' | 'asking' | 'suggested' | 'none' | 'withdrawn';

export class NextEditController implements vscode.Disposable {
  /** Per document: recent edits as unified diffs (bounded; see core/nextEdit/editHistory.ts). */
  readonly history = new EditHistory();
  /** What the user last saw of each other file (bounded; see core/nextEdit/viewedSnippets.ts). */
  readonly viewed = new ViewedSnippets();
  /** Per document: its text when the last edit settled (what the next edit is diffed against). */
  private readonly bases = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /**
   * The one suggestion, while it waits for a decision. Drawn here in the document until the user
   * asks for its review (`review`); only then is it in the session store, whose review diff opens.
   */
  session: ProposalSession | undefined;
  /** What next edit is doing now (see NextEditStatus); `onDidChange` fires when it changes. */
  status: NextEditStatus = 'idle';
  /** One line on the status: why a suggestion was withdrawn. */
  statusDetail: string | undefined;
  private readonly hint = hintDecorations();
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
      ...Object.values(this.hint),
      vscode.window.onDidChangeVisibleTextEditors(() => this.drawHint()),
      vscode.languages.registerHoverProvider({ scheme: '*' }, { provideHover: (doc, at) => this.hover(doc, at) }),
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

  /** Moves the cursor to the suggestion (the review stays closed until asked for). */
  async jump(): Promise<void> {
    const s = this.session;
    const at = this.waiting;
    if (!s || !at) return;
    // the document may be shown twice (its own editor, and a review's original side): move both
    for (const editor of vscode.window.visibleTextEditors.filter((e) => e.document === s.document)) {
      editor.selection = new vscode.Selection(at.start, at.start);
      editor.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    this.updateContext();
  }

  /** Opens the suggestion's review diff: it moves into the session store, whose review view shows it. */
  async review(): Promise<void> {
    const s = this.session;
    if (s?.phase !== 'review' || this.store.get(s.document) === s) return;
    const region = s.regions[0];
    const reviewed = this.store.start(s.document, NEXT_EDIT_TITLE, [{ start: region.start, end: region.end }]);
    if (!reviewed.finish([region.proposal ?? region.original])) return;
    this.adopt(reviewed);
    s.end('moved to its review');
    await vscode.commands.executeCommand('diffuse.showReview', s.document.uri.toString());
  }

  async accept(): Promise<boolean> {
    return (await this.session?.acceptAll()) ?? false;
  }

  async dismiss(): Promise<void> {
    await this.session?.rejectAll();
  }

  /** The suggestion `s` becomes the one waiting; its end (accept, reject, review) is followed here. */
  private adopt(s: ProposalSession): void {
    this.session = s;
    this.setStatus('suggested');
    s.onDidChange(() => {
      if (s !== this.session) return;
      if (s.phase === 'ended') {
        // what the user accepted is the new base: the next pause diffs from there
        if (s.endReason === 'accepted') this.bases.set(s.document.uri.toString(), s.document.getText());
        this.session = undefined;
        this.setStatus('idle');
      }
      this.drawHint();
      this.updateContext();
      this.changed.fire();
    });
    this.drawHint();
    this.updateContext();
    this.changed.fire();
  }

  private setStatus(status: NextEditStatus, detail?: string): void {
    if (this.status === status && this.statusDetail === detail) return;
    this.status = status;
    this.statusDetail = detail;
    this.changed.fire();
  }

  /** The suggestion drawn in its document's editors while it is not in review: what goes, what comes. */
  private drawHint(): void {
    const s = this.session;
    const inline = s?.phase === 'review' && this.store.get(s.document) !== s ? s : undefined;
    for (const editor of vscode.window.visibleTextEditors) {
      const pos = (o: number): vscode.Position => editor.document.positionAt(o);
      const struck: vscode.Range[] = [];
      const added: vscode.DecorationOptions[] = [];
      for (const r of inline && editor.document === inline.document ? inline.regions : []) {
        for (const h of r.hunks) {
          for (const x of h.removed) struck.push(new vscode.Range(pos(r.start + x.start), pos(r.start + x.end)));
          const text = h.proposal
            .filter((run) => run.style === 'added')
            .map((run) => run.text)
            .join('');
          const at = pos(r.start + (h.removed.length > 0 ? h.removed[h.removed.length - 1].end : h.start));
          if (text.trim())
            added.push({
              range: new vscode.Range(at, at),
              renderOptions: { after: { contentText: text.replace(/\s*\n\s*/g, ' ⏎ ') } },
            });
        }
      }
      editor.setDecorations(this.hint.struck, struck);
      editor.setDecorations(this.hint.added, added);
    }
  }

  /** Over a suggestion drawn in the document: what Tab does, and the way to its review. */
  private hover(doc: vscode.TextDocument, at: vscode.Position): vscode.Hover | undefined {
    const s = this.session;
    if (s?.phase !== 'review' || s.document !== doc || this.store.get(doc) === s) return undefined;
    const r = s.regions[0];
    const region = new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
    if (!region.contains(at)) return undefined;
    const md = new vscode.MarkdownString(
      '**Diffuse next edit** · [Review](command:diffuse.nextEdit.review) · ' +
        '[Accept](command:diffuse.nextEdit.accept) (Tab) · [Dismiss](command:diffuse.nextEdit.dismiss) (Escape)',
    );
    md.isTrusted = {
      enabledCommands: ['diffuse.nextEdit.review', 'diffuse.nextEdit.accept', 'diffuse.nextEdit.dismiss'],
    };
    return new vscode.Hover(md, region);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.session?.end('the extension stopped');
    this.disposables.forEach((d) => d.dispose());
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (
      e.contentChanges.length === 0 ||
      (e.document.uri.scheme !== 'file' && e.document.uri.scheme !== 'untitled') ||
      isScratch(e.document)
    )
      return;
    const s = this.session;
    if (s && s.document === e.document) {
      if (s.deciding) return; // the suggestion's own Accept
      void this.dismiss(); // typing anywhere in the document: the user went on without it
    }
    this.inFlight?.abort();
    clearTimeout(this.timer);
    if (!this.enabled) {
      this.setStatus('off');
      return;
    }
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
    this.setStatus('asking');
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
      const stale = (): boolean =>
        abort.signal.aborted || doc.version !== version || !!this.session || !!this.store.get(doc);
      if (stale()) return this.setStatus('idle');
      if (!e) return this.setStatus('none');
      // never leave the code worse: half a rename is not shown (any backend's answer; the local
      // engine's is checked already), nor a rename other than the language's own
      if (!coversEveryUse(before, text, e))
        return this.setStatus('withdrawn', 'it changed some of the uses it is about, not all');
      const disagrees = await renameDisagrees(doc.languageId, before, text, e);
      if (stale()) return this.setStatus('idle');
      if (disagrees) return this.setStatus('withdrawn', disagrees);
      const s = new ProposalSession(doc, NEXT_EDIT_TITLE, [{ start: e.start, end: e.end }]);
      if (!s.finish([e.text])) return this.setStatus('none');
      probe.nextEdit.proposed++;
      this.adopt(s);
    } catch (err) {
      // nobody asked for this request: the service's log has the failure, no notification
      if (!(err instanceof BackendError)) throw err;
      this.setStatus('idle');
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
    // the suggestion's document, or its review (once asked for)
    const mine = !!at && !!s && !!editor && (editor.document === s.document || this.store.get(editor.document) === s);
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
      vscode.commands.registerCommand('diffuse.nextEdit.review', () => controller.review()),
    ),
  };
}

/** How a suggestion is drawn in the document before its review: struck where it removes, its text after. */
function hintDecorations() {
  return {
    struck: vscode.window.createTextEditorDecorationType({
      textDecoration: 'line-through',
      backgroundColor: new vscode.ThemeColor('diffEditor.removedTextBackground'),
      overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.modifiedForeground'),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
    }),
    added: vscode.window.createTextEditorDecorationType({
      after: {
        color: new vscode.ThemeColor('editorGhostText.foreground'),
        backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
        fontStyle: 'italic',
      },
    }),
  };
}
