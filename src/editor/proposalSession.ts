// A proposal the model is making for some ranges of one document: first running (the document
// untouched, each step's text drawn live), then in review (a diff editor of the document against
// the document the proposal makes, with Accept / Reject, per hunk when there are several; see
// reviewDiff.ts). Refine and Fill at Cursor both produce one; the views and CodeLens draw whatever
// sessions exist. The document only changes when the user accepts, as one undo step. Edits the
// user makes meanwhile re-anchor the ranges, or discard the proposal when they touch the text it
// was about; their typing is never overwritten.
import * as vscode from 'vscode';
import { diffHunks, type Hunk } from '../core/review/reviewHunks';
import { applyEdits } from '../core/text/textEdit';
import { reviewDocument, type PlacedHunk } from '../core/review/reviewDocument';
import { progressRuns } from '../core/view/progressRuns';
import type { ImageRun } from '../core/view/spanImage';
import { shiftRange, type OffsetRange } from '../core/text/rangeAnchor';
import type { ProgressParams, ProgressUnit } from '../backend/requests';

export interface Region extends OffsetRange {
  /** The document's text of the range when the session started (it is kept equal by re-anchoring). */
  original: string;
  /** During the run: the latest text with masked slots as glyphs, styled for drawing. */
  live?: { text: string; runs: ImageRun[]; shown: string };
  /** In review: the model's text for this range, and the hunks still to decide. */
  proposal?: string;
  hunks: Hunk[];
}

export type Phase = 'running' | 'review' | 'ended';

/** The URI scheme of the read-only documents a review shows: the document as Accept would leave it. */
export const REVIEW_SCHEME = 'diffuse-proposal';

/** What the review's view does for the session: leave it (close the diff) before the decision is written. */
export interface ReviewView {
  /** Whether the review is on screen now (the diff editor open). */
  readonly shown: boolean;
  /** Closes the review and shows the document; resolves to its editor (undefined when none could be shown). */
  leave(): Promise<vscode.TextEditor | undefined>;
}

let nextId = 1;
const PROGRESS_REDRAW_MS = 80;

export class ProposalSession {
  readonly id = nextId++;
  phase: Phase = 'running';
  /**
   * The step drawn now and the step budget (stepLabel's k/N). They change when the live view is
   * redrawn, not when progress arrives, so the status bar and the live view, which both read them
   * then, never show different steps.
   */
  step = 0;
  maxSteps = 0;
  /** What the steps count (ProgressParams.unit). */
  unit: ProgressUnit = 'step';
  private latest: { step: number; maxSteps: number; unit: ProgressUnit } = { step: 0, maxSteps: 0, unit: 'step' };
  readonly regions: Region[];
  private readonly abort = new AbortController();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  /** Set while the session itself edits the document, so its own edit is not taken for the user's. */
  private applying = false;
  /** Progress redraws are coalesced: a small model steps faster than an editor should repaint. */
  private redraw: NodeJS.Timeout | undefined;
  private lastDraw = 0;
  endReason: string | undefined;
  /** A sentence about the proposal shown with it (e.g. that only part of the selection was refined). */
  note: string | undefined;
  /** Set by the review view while it shows this session. */
  view: ReviewView | undefined;
  /** When the user last edited the document during this session (Date.now(); 0: never). */
  userEditedAt = 0;
  /** True while a decision is being written: the review must not open (and hide the editor written in) meanwhile. */
  deciding = false;

  constructor(
    readonly document: vscode.TextDocument,
    /** "Refine" or "Fill", for CodeLens and messages. */
    readonly title: string,
    ranges: OffsetRange[],
  ) {
    const text = document.getText();
    this.regions = ranges.map((r) => ({ ...r, original: text.slice(r.start, r.end), hunks: [] }));
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get hunkCount(): number {
    return this.regions.reduce((n, r) => n + r.hunks.length, 0);
  }

  /** The read-only document the review shows: this document as Accept would leave it. */
  get reviewUri(): vscode.Uri {
    const name = this.document.uri.path.split('/').pop() || 'proposal';
    return vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${this.id}/${name}` });
  }

  /** The document's text with every remaining hunk applied, and where each hunk's new text lies in it. */
  reviewText(): { text: string; hunks: PlacedHunk[] } {
    return reviewDocument(this.document.getText(), this.regions);
  }

  progress(p: ProgressParams): void {
    if (this.phase !== 'running') return;
    this.latest = { step: p.step, maxSteps: p.maxSteps, unit: p.unit ?? 'step' };
    p.spans.forEach((s, i) => {
      const r = this.regions[i];
      if (r) r.live = { text: s.text, runs: progressRuns(r.live?.shown ?? '', s.text), shown: r.live?.shown ?? '' };
    });
    this.scheduleRedraw();
  }

  private scheduleRedraw(): void {
    if (this.redraw) return;
    const wait = Math.max(0, this.lastDraw + PROGRESS_REDRAW_MS - Date.now());
    this.redraw = setTimeout(() => {
      this.redraw = undefined;
      if (this.phase !== 'running') return;
      this.lastDraw = Date.now();
      this.step = this.latest.step;
      this.maxSteps = this.latest.maxSteps;
      this.unit = this.latest.unit;
      // what was drawn is what the next frame's "fresh" tokens are compared with
      for (const r of this.regions) if (r.live) r.live.shown = r.live.text;
      this.changed.fire();
    }, wait);
  }

  /**
   * The model's texts for the regions, in order. `parts[i]`, when given, is the part of region i
   * (offsets into its original text) that texts[i] replaces: the region narrows to it, so Accept
   * writes over exactly what the model changed and the rest of the region stays as it is.
   * Returns false when nothing would change.
   */
  finish(texts: string[], parts?: (OffsetRange | undefined)[]): boolean {
    if (this.phase !== 'running') return false;
    this.regions.forEach((r, i) => {
      const part = parts?.[i];
      if (part && (part.start > 0 || part.end < r.original.length)) {
        if (!(part.start >= 0 && part.start <= part.end && part.end <= r.original.length)) {
          throw new Error(`part ${part.start}-${part.end} is outside the region (${r.original.length} chars)`);
        }
        r.start += part.start;
        r.original = r.original.slice(part.start, part.end);
        r.end = r.start + r.original.length;
      }
      r.live = undefined;
      r.proposal = texts[i] ?? r.original;
      r.hunks = diffHunks(r.original, r.proposal);
    });
    if (this.hunkCount === 0) {
      this.end('the model proposed no change');
      return false;
    }
    this.phase = 'review';
    this.changed.fire();
    return true;
  }

  /** The document range of the first change in review (where the user should look), if any. */
  firstChange(): vscode.Range | undefined {
    const r = this.regions.find((x) => x.hunks.length > 0);
    if (!r) return undefined;
    const h = r.hunks[0];
    return new vscode.Range(this.document.positionAt(r.start + h.start), this.document.positionAt(r.start + h.end));
  }

  /** Cancels a run or drops a review; the document is left as it is. */
  end(reason: string): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.endReason = reason;
    clearTimeout(this.redraw);
    this.abort.abort();
    this.changed.fire();
    this.changed.dispose();
  }

  /** Follows the user's edits; returns false (and ends the session) when one touched a region. */
  onDocumentChange(changes: readonly vscode.TextDocumentContentChangeEvent[]): boolean {
    if (this.applying || this.phase === 'ended' || changes.length === 0) return true;
    this.userEditedAt = Date.now();
    // Offsets of all changes of one event refer to the document before the event.
    const moved: OffsetRange[] = [];
    for (const r of this.regions) {
      let delta = 0;
      for (const c of changes) {
        const shifted = shiftRange(r, c);
        if (!shifted) {
          this.end('you edited the code it was working on; your edit is kept and the proposal was discarded');
          return false;
        }
        delta += shifted.start - r.start;
      }
      moved.push({ start: r.start + delta, end: r.end + delta });
    }
    moved.forEach((m, i) => Object.assign(this.regions[i], m));
    this.changed.fire();
    return true;
  }

  /** Applies every remaining hunk as one undo step and ends the session. */
  acceptAll(): Promise<boolean> {
    return this.decide(
      this.regions.map((r) => r.hunks),
      true,
    );
  }

  /** Drops the proposal (nothing was written, so nothing is restored); resolves once the review is closed. */
  async rejectAll(): Promise<void> {
    if (this.phase === 'review') await this.view?.leave();
    this.end('rejected');
  }

  acceptHunk(region: number, hunk: number): Promise<boolean> {
    const r = this.regions[region];
    const h = r?.hunks[hunk];
    if (!h) return Promise.resolve(false);
    return this.decide(
      this.regions.map((x) => (x === r ? [h] : [])),
      false,
    );
  }

  async rejectHunk(region: number, hunk: number): Promise<void> {
    const r = this.regions[region];
    const h = r?.hunks[hunk];
    if (!h || this.phase !== 'review') return;
    if (this.hunkCount === 1) return this.rejectAll();
    r.proposal = applyEdits(
      r.original,
      r.hunks.filter((x) => x !== h),
    );
    r.hunks = diffHunks(r.original, r.proposal);
    this.changed.fire();
  }

  /** Writes the chosen hunks into the document as one undo step; ends the session when none are left. */
  private async decide(chosen: Hunk[][], endAfter: boolean): Promise<boolean> {
    if (this.phase !== 'review' || this.deciding) return false;
    this.deciding = true;
    try {
      return await this.write(chosen, endAfter);
    } finally {
      this.deciding = false;
    }
  }

  private async write(chosen: Hunk[][], endAfter: boolean): Promise<boolean> {
    const doc = this.document;
    // The last decision closes the review first and writes in the user's own editor, so the one
    // undo step is theirs and Undo right after Accept works where they are.
    const last = endAfter || chosen.reduce((n, c) => n + c.length, 0) === this.hunkCount;
    let target: vscode.TextEditor | undefined;
    if (last && this.view) {
      target = await this.view.leave();
      if (this.phase !== 'review') return false;
    }
    const text = doc.getText();
    if (this.regions.some((r) => text.slice(r.start, r.end) !== r.original)) {
      this.end('the code changed under it; nothing was applied');
      return false;
    }
    const edits: { range: vscode.Range; text: string }[] = [];
    this.regions.forEach((r, i) => {
      for (const h of chosen[i]) {
        edits.push({
          range: new vscode.Range(doc.positionAt(r.start + h.start), doc.positionAt(r.start + h.end)),
          text: h.text,
        });
      }
    });
    this.applying = true;
    let ok: boolean;
    try {
      // while the review is open the document's visible editor is the diff's read-only side: write
      // through a workspace edit then (one undo step as well)
      const editor =
        target ?? (this.view?.shown ? undefined : vscode.window.visibleTextEditors.find((e) => e.document === doc));
      // an editor hidden meanwhile refuses (or throws): then nothing was written, and the workspace
      // edit does it, unless the document changed since the ranges were computed
      ok =
        !!editor &&
        !editor.document.isClosed &&
        (await editor
          .edit((b) => edits.forEach((e) => b.replace(e.range, e.text)), { undoStopBefore: true, undoStopAfter: true })
          .then(
            (done) => done,
            () => false,
          ));
      if (!ok && doc.getText() === text) {
        const we = new vscode.WorkspaceEdit();
        edits.forEach((e) => we.replace(doc.uri, e.range, e.text));
        ok = await vscode.workspace.applyEdit(we);
      }
    } finally {
      this.applying = false;
    }
    if (!ok) {
      this.end('VS Code refused the edit; nothing was applied');
      return false;
    }
    // Re-base every region on the document as it is now: accepted hunks become the original.
    let shift = 0;
    this.regions.forEach((r, i) => {
      const newOriginal = applyEdits(r.original, chosen[i]);
      r.start += shift;
      shift += newOriginal.length - r.original.length;
      r.end = r.start + newOriginal.length;
      r.original = newOriginal;
      r.hunks = diffHunks(r.original, r.proposal ?? r.original);
    });
    if (endAfter || this.hunkCount === 0) this.end('accepted');
    else this.changed.fire();
    return true;
  }
}

/** All sessions, at most one per document; keeps the `diffuse.running` / `diffuse.reviewing` context keys. */
export class SessionStore implements vscode.Disposable {
  private readonly sessions = new Map<string, ProposalSession>();
  private readonly changed = new vscode.EventEmitter<ProposalSession>();
  /** Fires on any change of any session (progress, review, re-anchoring, end). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        const s = this.sessions.get(e.document.uri.toString());
        if (s && !s.onDocumentChange(e.contentChanges) && s.endReason) {
          void vscode.window.showInformationMessage(`Diffuse ${s.title}: ${s.endReason}.`);
        }
      }),
      // only the document itself: a review document is closed by VS Code whenever it likes
      vscode.workspace.onDidCloseTextDocument((d) =>
        this.sessions.get(d.uri.toString())?.end('the document was closed'),
      ),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContext()),
    );
  }

  /** The session of a document, or of the review document a session shows. */
  get(document: vscode.TextDocument | vscode.Uri): ProposalSession | undefined {
    const uri = document instanceof vscode.Uri ? document : document.uri;
    if (uri.scheme === REVIEW_SCHEME) return this.all().find((s) => s.reviewUri.toString() === uri.toString());
    return this.sessions.get(uri.toString());
  }

  /**
   * The session a command acts on: that of the document `uri` (a CodeLens or hover link passes
   * one), else of the active editor's document, else of the active tab. A review that opened in
   * the place of the user's editor without taking focus leaves no active text editor until the
   * user clicks into it, and Accept or Reject from the palette or a key must still reach the
   * review on screen.
   */
  target(uri?: unknown): ProposalSession | undefined {
    if (typeof uri === 'string') return this.all().find((s) => s.document.uri.toString() === uri);
    const doc = vscode.window.activeTextEditor?.document;
    const active = doc && this.get(doc);
    if (active) return active;
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const tab =
      input instanceof vscode.TabInputTextDiff
        ? input.modified
        : input instanceof vscode.TabInputText
          ? input.uri
          : undefined;
    return tab && this.get(tab);
  }

  all(): ProposalSession[] {
    return [...this.sessions.values()];
  }

  /** Starts a session for `document`, ending the one it had. */
  start(document: vscode.TextDocument, title: string, ranges: OffsetRange[]): ProposalSession {
    const key = document.uri.toString();
    this.sessions.get(key)?.end('replaced by a new request');
    const s = new ProposalSession(document, title, ranges);
    this.sessions.set(key, s);
    s.onDidChange(() => {
      if (s.phase === 'ended' && this.sessions.get(key) === s) this.sessions.delete(key);
      this.updateContext();
      this.changed.fire(s);
    });
    this.updateContext();
    this.changed.fire(s);
    return s;
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.end('the extension stopped');
    this.changed.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  private updateContext(): void {
    const doc = vscode.window.activeTextEditor?.document;
    const s = doc && this.get(doc);
    void vscode.commands.executeCommand('setContext', 'diffuse.running', s?.phase === 'running');
    void vscode.commands.executeCommand('setContext', 'diffuse.reviewing', s?.phase === 'review');
  }
}
