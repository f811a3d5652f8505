// Ghost text that explains itself. With the built-in model most automatic suggestions are held back
// (the model's confidence is below `diffuse.ghostText.minConfidence`), and ghost text that never
// appears looks broken. After the first few held back in a session, one message (once per session,
// never a stream) says why and offers the three ways out: see it anyway, lower the threshold, or
// choose a stronger model. The status bar's tooltip says the same in words all along.
import * as vscode from 'vscode';
import type { GhostOutcome, GhostTextProvider } from './ghostText';
import { SECTION } from './settings';
import { probe } from './testProbe';

/** Held-back suggestions before the message: enough to be a pattern, early enough to matter. */
export const EXPLAIN_AFTER = 3;
// short enough that a notification's three buttons show whole
const SHOW_ANYWAY = 'Show (Alt+\\)';
const LOWER = 'Lower Threshold';
const STRONGER = 'Stronger Model…';
/** The lowest threshold "Lower threshold" sets: below it most suggestions shown are wrong (MODEL_CARD.md). */
const LOWEST = 0.3;

export function registerGhostExplain(ghost: GhostTextProvider): vscode.Disposable {
  let explained = false;
  const seen: number[] = [];
  return ghost.onDidDecide((o) => {
    if (o.shown || o.manual || o.reason !== 'below threshold' || explained) return;
    if (o.confidence !== undefined) seen.push(o.confidence);
    if (ghost.heldBack < EXPLAIN_AFTER) return;
    explained = true;
    void explain(o, seen);
  });
}

async function explain(o: GhostOutcome, seen: number[]): Promise<void> {
  const best = seen.length ? Math.max(...seen) : undefined;
  const text =
    `Diffuse held back ${seen.length || EXPLAIN_AFTER} ghost-text suggestions: the model's confidence` +
    `${best !== undefined ? ` (at best ${best.toFixed(2)})` : ''} was below your threshold of ${o.threshold}.`;
  const choice = await vscode.window.showInformationMessage(probe.notice(text), SHOW_ANYWAY, LOWER, STRONGER);
  if (choice === SHOW_ANYWAY) {
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    await vscode.commands.executeCommand('diffuse.triggerGhostText');
  } else if (choice === LOWER) {
    // low enough that the best suggestion seen would have shown, rounded down to a twentieth
    const to = Math.max(LOWEST, Math.floor((best ?? o.threshold - 0.1) * 20) / 20);
    await vscode.workspace
      .getConfiguration(SECTION)
      .update('ghostText.minConfidence', to, vscode.ConfigurationTarget.Global);
    void vscode.window.setStatusBarMessage(
      `Diffuse: ghost text now shown from confidence ${to} (was ${o.threshold}); more suggestions, more of them wrong`,
      8000,
    );
  } else if (choice === STRONGER) await vscode.commands.executeCommand('diffuse.chooseBackend');
}
