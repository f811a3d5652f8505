// The review of a proposal: a diff editor, opened where the user's editor is, of the document (left,
// VS Code's own read-only view of it) against the document as Accept would leave it (right, a
// read-only virtual document served here), once the user has paused typing in the document. Accept
// and Reject are in its title bar and on their keys; each change can be decided alone from its
// hover; closing the diff rejects.
//
// Why a diff editor. A review must show all of the original code and all of what Accept will
// write, and nothing that is not there. Decorations cannot add lines, so drawing the new lines in
// the user's editor means drawing them over real code (what this view did before: a Fill on a new
// line hid the line after it). The public API has no view zones (Copilot's inline diff uses VS
// Code's internal ones). That leaves writing the proposal's lines into the document for the time
// of the review, as Continue does, or a diff editor. Writing them puts text that is not the user's
// into the document: the undo stack holds the insertion, so one Undo after Accept no longer gives
// back the original; Reject is a second edit, so the document's version moves and a saved file
// turns dirty (VS Code clears dirty only when Undo returns to the saved version); autosave writes
// the half-merged file to disk, where builds, watchers and git see it; language servers and other
// extensions see duplicated declarations and report errors all through the review. A diff editor
// keeps the document untouched until Accept (Accept is one undo step, Reject changes nothing, the
// saved state stays), shows every line of both sides (side by side, or inline where the editor is
// narrow, as the user's diff settings say) with VS Code's own diff colours and navigation, and
// handles several regions (a Fill at several cursors), CRLF and tabs like any other diff.
import * as vscode from 'vscode';
import { hunkLines } from '../core/review/reviewDocument';
import { REVIEW_SCHEME, type ProposalSession, type SessionStore } from './proposalSession';

/**
 * The review opens in place once the user has not typed in the document for this long: a diff
 * taking the place of the editor they are typing in would swallow their keystrokes.
 */
const TYPING_PAUSE_MS = 1_000;

export function registerReviewDiff(store: SessionStore): vscode.Disposable {
  const reviews = new Reviews(store);
  return vscode.Disposable.from(
    reviews,
    vscode.workspace.registerTextDocumentContentProvider(REVIEW_SCHEME, reviews),
    vscode.languages.registerHoverProvider(
      { scheme: REVIEW_SCHEME },
      { provideHover: (doc, position) => reviewHover(store.get(doc), position) },
    ),
    // the CodeLens "Show Proposal" in the document's own editor: back to the review
    vscode.commands.registerCommand('diffuse.showReview', (uri?: string) => reviews.showAgain(uri)),
    store.onDidChange((s) => reviews.sessionChanged(s)),
    vscode.window.onDidChangeVisibleTextEditors(() => store.all().forEach((s) => reviews.show(s))),
    vscode.window.tabGroups.onDidChangeTabs((e) => reviews.tabsClosed(e.closed)),
  );
}

/** The review documents (served here) and the diff view of each session in review. */
class Reviews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** The last text served per review document, for VS Code asking again after the session ended. */
  private readonly served = new Map<string, string>();
  private readonly views = new Map<number, DiffView>();
  /** Sessions whose review waits for the user to pause typing (or a decision to be written). */
  private readonly waiting = new Map<number, NodeJS.Timeout>();

  constructor(private readonly store: SessionStore) {}

  provideTextDocumentContent(uri: vscode.Uri): string {
    const s = this.store.get(uri);
    if (s?.phase !== 'review') return this.served.get(uri.toString()) ?? '';
    const text = s.reviewText().text;
    this.served.set(uri.toString(), text);
    return text;
  }

  /** Opens the session's diff where its document is on screen, once the user has paused typing. */
  show(s: ProposalSession): void {
    if (s.phase !== 'review' || this.views.has(s.id) || this.waiting.has(s.id)) return;
    // opened where the document is on screen; a review of a document out of sight opens when it comes back
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === s.document);
    if (!editor) return;
    // not while a decision is being written either (it writes in the editor the diff would hide)
    const typing = Math.max(s.userEditedAt + TYPING_PAUSE_MS - Date.now(), s.deciding ? 100 : 0);
    if (typing > 0) {
      this.waiting.set(
        s.id,
        setTimeout(() => {
          this.waiting.delete(s.id);
          this.show(s);
        }, typing),
      );
      return;
    }
    // focused when the user is in the document (they asked and waited); else it opens without taking focus
    const focus = vscode.window.activeTextEditor?.document === s.document;
    const view = new DiffView(s, editor.viewColumn ?? vscode.ViewColumn.Active, focus);
    this.views.set(s.id, view);
    s.view = view;
    // An edit that landed while the diff was opening (or before it, once VS Code had been served
    // the review document) told VS Code of no change, or of one to a document it was still
    // loading, which it drops: the review would show the text from before that keystroke.
    void view.opened.then(() => {
      if (s.phase === 'review' && this.served.get(s.reviewUri.toString()) !== s.reviewText().text) {
        this.changed.fire(s.reviewUri);
        // new content can leave the diff scrolled to its top
        setTimeout(() => void view.revealFirstChange(), 100);
      }
    });
  }

  /** Show Proposal: the review of the document `uri` (or the active one) in front again. */
  async showAgain(uri?: string): Promise<void> {
    const s = this.store.target(uri);
    if (s?.phase !== 'review') return;
    const view = this.views.get(s.id);
    if (view) await view.reveal();
    else this.show(s);
  }

  sessionChanged(s: ProposalSession): void {
    const view = this.views.get(s.id);
    if (s.phase === 'review') {
      if (view)
        this.changed.fire(s.reviewUri); // re-anchored after an edit, or a change decided
      else this.show(s);
    } else if (s.phase === 'ended') {
      clearTimeout(this.waiting.get(s.id));
      this.waiting.delete(s.id);
      if (view) {
        this.views.delete(s.id);
        void view.leave().finally(() => this.served.delete(s.reviewUri.toString()));
      }
    }
  }

  /** A review closed by the user (a tab moved to another group closes and opens): that is a Reject. */
  tabsClosed(closed: readonly vscode.Tab[]): void {
    for (const tab of closed) {
      const s = reviewOf(tab) && this.store.get(reviewOf(tab)!);
      const view = s && this.views.get(s.id);
      if (!s || !view || view.leaving) continue;
      setTimeout(() => {
        if (s.phase === 'review' && !view.leaving && tabsOf(s.reviewUri).length === 0) {
          void s.rejectAll();
          void vscode.window.setStatusBarMessage(`Diffuse ${s.title}: review closed, nothing was written`, 5_000);
        }
      }, 50);
    }
  }

  dispose(): void {
    this.changed.dispose();
    this.waiting.forEach((t) => clearTimeout(t));
  }
}

/** The hover on a change of the review: Accept / Reject it (and all, when there are several). */
function reviewHover(s: ProposalSession | undefined, position: vscode.Position): vscode.Hover | undefined {
  if (s?.phase !== 'review') return undefined;
  const { text, hunks } = s.reviewText();
  const h = hunks.find((x) => {
    const lines = hunkLines(text, x);
    return position.line >= lines.first && position.line <= lines.last;
  });
  if (!h) return undefined;
  const uri = s.document.uri.toString();
  const link = (title: string, command: string, args: unknown[]): string =>
    `[${title}](command:${command}?${encodeURIComponent(JSON.stringify(args))})`;
  const md = new vscode.MarkdownString(
    [
      `**Diffuse ${s.title}**${s.note ? ` · ${s.note}` : ''}`,
      '',
      s.hunkCount > 1
        ? `${link('$(check) Accept this change', 'diffuse.acceptHunk', [uri, h.region, h.hunk])} · ` +
          `${link('$(close) Reject this change', 'diffuse.rejectHunk', [uri, h.region, h.hunk])} · ` +
          `${link('Accept all', 'diffuse.accept', [uri])} · ${link('Reject all', 'diffuse.reject', [uri])}`
        : `${link('$(check) Accept', 'diffuse.accept', [uri])} · ${link('$(close) Reject', 'diffuse.reject', [uri])}`,
    ].join('\n'),
    true,
  );
  md.isTrusted = { enabledCommands: ['diffuse.acceptHunk', 'diffuse.rejectHunk', 'diffuse.accept', 'diffuse.reject'] };
  return new vscode.Hover(md);
}

/** One session's diff editor: opened at once, closed (leaving the user in their document) at the end. */
class DiffView {
  leaving = false;
  /** Settles once the diff is on screen (or failed to open). */
  readonly opened: Promise<void>;
  private left: Promise<vscode.TextEditor | undefined> | undefined;

  constructor(
    private readonly session: ProposalSession,
    private readonly column: vscode.ViewColumn,
    private focus: boolean,
  ) {
    this.opened = this.open().catch(() => undefined);
  }

  /** Brings the diff to the front again (reopens it if the user moved it away). */
  async reveal(): Promise<void> {
    await this.opened;
    this.focus = true;
    if (!this.leaving) await this.open().catch(() => undefined);
  }

  get shown(): boolean {
    return !this.leaving && tabsOf(this.session.reviewUri).length > 0;
  }

  private async open(): Promise<void> {
    const s = this.session;
    let review = await vscode.workspace.openTextDocument(s.reviewUri);
    // the review document's language comes from its name; an untitled document has none
    if (review.languageId !== s.document.languageId)
      review = await vscode.languages.setTextDocumentLanguage(review, s.document.languageId);
    if (this.leaving || s.phase !== 'review') return;
    const { text, hunks } = s.reviewText();
    const first = hunks.length ? hunkLines(text, hunks[0]).first : 0;
    const name = s.document.uri.path.split('/').pop() || 'document';
    await vscode.commands.executeCommand(
      'vscode.diff',
      s.document.uri,
      s.reviewUri,
      `Diffuse ${s.title}: ${name} ↔ proposal`,
      {
        viewColumn: this.column,
        preview: false, // a preview tab would take the place of the user's own (preview) tab
        preserveFocus: !this.focus,
        selection: new vscode.Range(first, 0, first, 0), // the first change in view
      } satisfies vscode.TextDocumentShowOptions,
    );
    await this.revealFirstChange();
  }

  /**
   * Scrolls the proposal side to the first change when it is out of view. The `selection` vscode.diff
   * is opened with is not always honoured: the diff computed after the editor appears, or the review
   * document served again, can leave it at line 1 (a Fill at two cursors, once in two).
   */
  async revealFirstChange(): Promise<void> {
    const s = this.session;
    for (let tries = 0; tries < 20 && !this.leaving && s.phase === 'review'; tries++) {
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === s.reviewUri.toString());
      if (editor) {
        const { text, hunks } = s.reviewText();
        const first = hunks.length ? hunkLines(text, hunks[0]).first : 0;
        const at = new vscode.Range(first, 0, first, 0);
        editor.revealRange(at, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Closes the diff (once) and shows the document in its place, focused. */
  leave(): Promise<vscode.TextEditor | undefined> {
    this.left ??= (async () => {
      await this.opened;
      this.leaving = true;
      const tabs = tabsOf(this.session.reviewUri);
      const wasActive = tabs.some((t) => t.isActive && t.group.isActive);
      const column = tabs[0]?.group.viewColumn ?? this.column;
      if (tabs.length) await vscode.window.tabGroups.close(tabs, true);
      const doc = this.session.document;
      if (doc.isClosed) return undefined;
      const visible = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      if (!wasActive && visible) return visible;
      try {
        return await vscode.window.showTextDocument(doc, {
          viewColumn: column,
          preserveFocus: !wasActive,
          preview: false,
        });
      } catch {
        return visible;
      }
    })();
    return this.left;
  }
}

function reviewOf(tab: vscode.Tab): vscode.Uri | undefined {
  const input = tab.input;
  return input instanceof vscode.TabInputTextDiff && input.modified.scheme === REVIEW_SCHEME
    ? input.modified
    : undefined;
}

function tabsOf(review: vscode.Uri): vscode.Tab[] {
  const key = review.toString();
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => reviewOf(t)?.toString() === key);
}
