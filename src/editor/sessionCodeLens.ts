// CodeLens over sessions: "denoising · Cancel" while denoising, "Accept · Reject" in review (with
// "Show Proposal", back to the review's diff), and per-hunk Accept / Reject when a proposal has
// several hunks. In the review's diff the same lenses sit on the new lines (VS Code shows CodeLens
// in a diff editor only with `diffEditor.codeLens` on; its title bar and hovers offer the same).
import * as vscode from 'vscode';
import { hunkLines } from '../core/review/reviewDocument';
import { REVIEW_SCHEME, type ProposalSession, type SessionStore } from './proposalSession';

export function registerSessionCodeLens(store: SessionStore): vscode.Disposable {
  const changed = new vscode.EventEmitter<void>();
  const provider: vscode.CodeLensProvider = {
    onDidChangeCodeLenses: changed.event,
    provideCodeLenses(doc) {
      const s = store.get(doc);
      if (!s || s.phase === 'ended') return [];
      if (doc.uri.scheme === REVIEW_SCHEME) return s.phase === 'review' ? reviewLenses(s) : [];
      const uri = doc.uri.toString();
      const at = (offset: number): vscode.Range => {
        const p = doc.positionAt(offset);
        return new vscode.Range(p.line, 0, p.line, 0);
      };
      const top = at(s.regions[0].start);
      if (s.phase === 'running') {
        // No step count here: VS Code refreshes CodeLens on its own schedule (debounced, ≥ 250 ms),
        // so a count would lag behind the status bar and the live view, which show it every step.
        return [
          new vscode.CodeLens(top, { title: `$(loading~spin) Diffuse ${s.title}: denoising`, command: '' }),
          new vscode.CodeLens(top, { title: 'Cancel (Esc)', command: 'diffuse.cancel', arguments: [uri] }),
        ];
      }
      const firstWithHunks = s.regions.find((r) => r.hunks.length > 0) ?? s.regions[0];
      const head = at(firstWithHunks.start + (firstWithHunks.hunks[0]?.start ?? 0));
      const lenses = [
        new vscode.CodeLens(head, {
          title: `$(check) Accept${s.hunkCount > 1 ? ' All' : ''} (${key('Shift+Enter')})`,
          command: 'diffuse.accept',
          arguments: [uri],
        }),
        new vscode.CodeLens(head, {
          title: `$(close) Reject${s.hunkCount > 1 ? ' All' : ''} (${key('Shift+Backspace')})`,
          command: 'diffuse.reject',
          arguments: [uri],
        }),
        new vscode.CodeLens(head, { title: '$(diff) Show Proposal', command: 'diffuse.showReview', arguments: [uri] }),
      ];
      // e.g. that only part of the selection fit the model's window
      if (s.note) lenses.push(new vscode.CodeLens(head, { title: `$(info) ${s.note}`, command: '' }));
      if (s.hunkCount > 1) {
        s.regions.forEach((r, ri) =>
          r.hunks.forEach((h, hi) => {
            const range = at(r.start + h.start);
            lenses.push(
              new vscode.CodeLens(range, {
                title: 'Accept Change',
                command: 'diffuse.acceptHunk',
                arguments: [uri, ri, hi],
              }),
              new vscode.CodeLens(range, {
                title: 'Reject Change',
                command: 'diffuse.rejectHunk',
                arguments: [uri, ri, hi],
              }),
            );
          }),
        );
      }
      return lenses;
    },
  };
  return vscode.Disposable.from(
    changed,
    vscode.languages.registerCodeLensProvider('*', provider),
    store.onDidChange((s) => {
      changed.fire();
      // VS Code may ask for lenses while the edit that ends a session is being applied; ask again once it is
      if (s.phase === 'ended') setTimeout(() => changed.fire(), 100);
    }),
  );
}

/** The lenses of the review document: Accept / Reject all at the first change, and per change when there are several. */
function reviewLenses(s: ProposalSession): vscode.CodeLens[] {
  const uri = s.document.uri.toString();
  const { text, hunks } = s.reviewText();
  const line = (h: { start: number; end: number }): vscode.Range => {
    const n = hunkLines(text, h).first;
    return new vscode.Range(n, 0, n, 0);
  };
  if (!hunks.length) return [];
  const lenses = [
    new vscode.CodeLens(line(hunks[0]), {
      title: `$(check) Accept${s.hunkCount > 1 ? ' All' : ''} (${key('Shift+Enter')})`,
      command: 'diffuse.accept',
      arguments: [uri],
    }),
    new vscode.CodeLens(line(hunks[0]), {
      title: `$(close) Reject${s.hunkCount > 1 ? ' All' : ''} (${key('Shift+Backspace')})`,
      command: 'diffuse.reject',
      arguments: [uri],
    }),
  ];
  if (hunks.length > 1) {
    for (const h of hunks) {
      lenses.push(
        new vscode.CodeLens(line(h), {
          title: 'Accept Change',
          command: 'diffuse.acceptHunk',
          arguments: [uri, h.region, h.hunk],
        }),
        new vscode.CodeLens(line(h), {
          title: 'Reject Change',
          command: 'diffuse.rejectHunk',
          arguments: [uri, h.region, h.hunk],
        }),
      );
    }
  }
  return lenses;
}

function key(rest: string): string {
  return `${process.platform === 'darwin' ? 'Cmd' : 'Ctrl'}+${rest}`;
}
