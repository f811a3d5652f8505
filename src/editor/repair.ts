// Diffuse: Repair… — search for a change to the file that makes the user's check pass (src/repair
// does the search; this file turns editor state into its options and its events into UI). From
// the palette, the editor's context menu, or a Quick Fix on an error. The search is shown live: a
// cancellable notification (the region, candidates tried, checks run, the last failure) and the
// region drawn like a running Refine, with the candidate being checked beside it. Only a candidate
// that passed opens the usual review; Accept is one undo step. The user's files are never written
// before Accept: the check runs in a scratch copy holding the editor's text.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackendError, type Backend } from '../backend/backend';
import { REPAIR_DEFAULTS } from '../core/defaults';
import { failureCause } from '../core/repair/failurePointers';
import { MASK_GLYPH } from '../core/text/spanText';
import type { RepairEvent } from '../core/repair/search';
import { CheckSetupError, repairFile, type RepairReport } from '../repair/repairFile';
import { repairSummary } from '../repair/repairSummary';
import { ScratchCopyError } from '../repair/scratchCopy';
import type { BackendService } from './backendService';
import type { ProposalSession, SessionStore } from './proposalSession';
import { CheckChooser, type RepairCheck, trustRefusal } from './repairCheck';
import { reportCommandError } from './requestErrors';
import { probe } from './testProbe';

export const REPAIR_COMMAND = 'diffuse.repair';

/** What the Quick Fix passes: the document, and the error's line (where Repair looks first). */
export interface RepairArgs {
  uri?: string;
  line?: number;
  /** Ask which check even when one is remembered (the palette's Repair…). */
  ask?: boolean;
}

export function registerRepair(
  service: BackendService,
  store: SessionStore,
  context: vscode.ExtensionContext,
): vscode.Disposable {
  const chooser = new CheckChooser(context.workspaceState);
  return vscode.Disposable.from(
    // the editor's context menu passes the document's URI; the Quick Fix its RepairArgs
    vscode.commands.registerCommand(REPAIR_COMMAND, (args?: RepairArgs | vscode.Uri) =>
      repair(service, store, chooser, args instanceof vscode.Uri ? { ask: true } : { ask: true, ...args }),
    ),
    vscode.languages.registerCodeActionsProvider(
      { scheme: 'file' },
      {
        provideCodeActions: (doc, _range, ctx) => repairActions(doc, ctx, chooser, service),
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
  );
}

/** The Quick Fix on an error: "Repair with Diffuse (check: …)", naming the check it will run. */
function repairActions(
  doc: vscode.TextDocument,
  ctx: vscode.CodeActionContext,
  chooser: CheckChooser,
  service: BackendService,
): vscode.CodeAction[] {
  if (!vscode.workspace.isTrusted) return [];
  const errors = ctx.diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  if (errors.length === 0) return [];
  const label = chooser.rememberedLabel(service.settings().repair.check) ?? 'choose…';
  const action = new vscode.CodeAction(`Repair with Diffuse (check: ${label})`, vscode.CodeActionKind.QuickFix);
  action.diagnostics = errors;
  action.command = {
    command: REPAIR_COMMAND,
    title: action.title,
    arguments: [{ uri: doc.uri.toString(), line: errors[0].range.start.line, ask: false } satisfies RepairArgs],
  };
  return [action];
}

async function repair(service: BackendService, store: SessionStore, chooser: CheckChooser, args: RepairArgs) {
  const refusal = trustRefusal(vscode.workspace.isTrusted);
  if (refusal) {
    void vscode.window
      .showWarningMessage(probe.notice(refusal), 'Manage Workspace Trust')
      .then((c) => c && vscode.commands.executeCommand('workbench.trust.manage'));
    return;
  }
  const editor = args.uri
    ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === args.uri)
    : vscode.window.activeTextEditor;
  const doc =
    editor?.document ?? (args.uri ? await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri)) : undefined);
  if (!doc) return;
  if (doc.uri.scheme !== 'file') {
    service.inform('Diffuse Repair: save the file first; the check runs on a copy of its project folder.');
    return;
  }
  const backend = await service.current().catch(() => undefined);
  // a model that scores code runs the search; a chat model is asked, its answers checked
  if (!backend || !((backend.score && backend.capabilities.score) || backend.capabilities.instruction)) {
    void service
      .warn(
        `Diffuse Repair needs a model that scores code or follows an instruction, which the ${service.backend} ` +
          'backend cannot: choose the local, mercury or openai backend (or a `diffuse serve` that scores code).',
        'Choose Backend…',
      )
      .then((c) => c && vscode.commands.executeCommand('diffuse.chooseBackend'));
    return;
  }
  const s = service.settings();
  const check = await chooser.choose(doc.uri.fsPath, s.repair.check, args.ask !== false);
  if (!check) return;
  const relPath = path.relative(check.root, doc.uri.fsPath);
  if (relPath.startsWith('..') || path.isAbsolute(relPath)) {
    service.inform(
      `Diffuse Repair: ${doc.uri.fsPath} is outside ${check.root}, where the check "${check.label}" runs.`,
    );
    return;
  }
  const sel = editor?.document === doc ? editor.selection : undefined;
  const lines =
    sel && !sel.isEmpty
      ? {
          first: sel.start.line + 1,
          last: sel.end.line + 1 - (sel.end.character === 0 && sel.end.line > sel.start.line ? 1 : 0),
        }
      : undefined;
  const cursorLine = args.line !== undefined ? args.line + 1 : sel ? sel.active.line + 1 : undefined;
  await runRepair(service, store, backend, doc, check, relPath, { lines, cursorLine });
}

/** Other unsaved documents under the check's root: the copy holds what the editor has. */
function unsavedBuffers(root: string, except: vscode.TextDocument): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of vscode.workspace.textDocuments) {
    if (d === except || !d.isDirty || d.uri.scheme !== 'file') continue;
    const rel = path.relative(root, d.uri.fsPath);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) out.set(rel, d.getText());
  }
  return out;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** What the notification says while the search runs. */
class LiveStatus {
  region = 'running the check on the file as it is';
  candidates = 0;
  checks = 0;
  lastFailure = '';
  readonly templates = new Set<string>();

  constructor(readonly maxChecks: number) {}

  line(): string {
    const counts =
      (this.candidates ? ` · ${plural(this.candidates, 'candidate')}` : '') +
      (this.checks ? ` · ${this.checks}/${this.maxChecks} checks` : '');
    return `${this.region}${counts}${this.lastFailure ? ` · last failure: ${this.lastFailure}` : ''}`;
  }
}

async function runRepair(
  service: BackendService,
  store: SessionStore,
  backend: Backend,
  doc: vscode.TextDocument,
  check: RepairCheck,
  relPath: string,
  where: { lines?: { first: number; last: number }; cursorLine?: number },
): Promise<void> {
  const s = service.settings().repair;
  const text = doc.getText();
  const version = doc.version;
  const offsetOfLine = (line: number): number =>
    line > doc.lineCount ? text.length : doc.offsetAt(new vscode.Position(line - 1, 0));
  // where the user pointed (the selection, the error's line) until the search says where it looks;
  // the live view and Escape work on the session
  let searched = where.lines
    ? { start: offsetOfLine(where.lines.first), end: offsetOfLine(where.lines.last + 1) }
    : where.cursorLine
      ? { start: offsetOfLine(where.cursorLine), end: offsetOfLine(where.cursorLine + 1) }
      : { start: 0, end: text.length };
  const session = store.start(doc, 'Repair', [searched]);
  const live = new LiveStatus(s.maxChecks);
  const onEvent = (e: RepairEvent | { kind: 'baseline'; passed: boolean; cause: string }): void => {
    if (session.phase !== 'running') return;
    if (e.kind === 'baseline') {
      if (!e.passed) live.lastFailure = e.cause;
      live.region = e.passed ? 'the check passes' : 'finding where to look';
    } else if (e.kind === 'region') {
      const { first, last, why } = e.region;
      live.region = `${first === last ? `line ${first}` : `lines ${first}–${last}`} (${why})`;
      if (doc.version === version) {
        searched = { start: offsetOfLine(first), end: offsetOfLine(last + 1) };
        narrow(session, text, searched);
      }
    } else if (e.kind === 'candidates') {
      live.candidates += e.count;
    } else if (e.kind === 'checking') {
      live.templates.add(`${e.candidate.source}: ${e.candidate.template}`);
      // the candidate is the whole file: its region ends where the original's tail begins
      const region = e.text.slice(
        searched.start,
        Math.max(searched.start, e.text.length - (text.length - searched.end)),
      );
      showCandidate(session, region, live.checks + 1, s.maxChecks);
    } else if (e.kind === 'checked') {
      live.checks = e.checks;
      if (!e.outcome.passed) live.lastFailure = failureCause(e.outcome.output);
    }
    report?.({ message: live.line() });
  };
  let report: ((p: { message: string }) => void) | undefined;
  const t0 = Date.now();
  let result: RepairReport | undefined;
  try {
    result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Diffuse Repair (check: ${check.label})`,
        cancellable: true,
      },
      async (progress, token) => {
        report = (p) => progress.report(p);
        report({ message: live.line() });
        const cancel = token.onCancellationRequested(() => session.end('cancelled'));
        try {
          return await service.whileBusy('repair', () =>
            repairFile({
              backend,
              root: check.root,
              relPath,
              text,
              language: doc.languageId,
              command: check.command,
              overrides: unsavedBuffers(check.root, doc),
              lines: where.lines,
              cursorLine: where.cursorLine,
              maxChecks: s.maxChecks,
              timeoutMs: s.timeoutMs,
              checkTimeoutMs: Math.min(s.timeoutMs, REPAIR_DEFAULTS.checkTimeoutMs),
              // the model's threads are busy while it proposes; the rest of the cores run checks
              parallel: Math.max(1, Math.min(4, os.availableParallelism() - service.settings().threads)),
              signal: session.signal,
              onEvent,
            }),
          );
        } finally {
          cancel.dispose();
        }
      },
    );
  } catch (e) {
    if (session.signal.aborted) return; // Escape, Cancel, or an edit of the file (which said so)
    session.end('failed');
    reportRepairError(service, check, e);
    return;
  }
  if (session.phase !== 'running') return;
  if (result.status === 'passes') {
    session.end('the check passes');
    service.inform(`Diffuse: Nothing to repair: the check passes (${check.label}).`);
    return;
  }
  if (result.status !== 'fixed' || !result.fix) {
    session.end('no fix');
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    const tried = [...live.templates];
    const templates = tried.length
      ? `${plural(tried.length, 'template')} (${tried.slice(0, 6).join(', ')}${tried.length > 6 ? ', …' : ''})`
      : 'no template';
    void service.warn(
      `Diffuse Repair found no fix that passes ${check.label}: tried ${templates}, ` +
        `${plural(result.candidates, 'candidate')}, ${plural(result.checks, 'check')} in ${seconds} s ` +
        `(stopped by ${result.stoppedBy}). Last failure: ${result.cause}`,
    );
    return;
  }
  if (doc.version !== version) {
    session.end('the file changed');
    service.inform(
      'Diffuse Repair: the file changed while the check ran; the fix it found was for the code before. Repair again.',
    );
    return;
  }
  // the running session ends; the review is a new one whose title says what passed
  session.end('fixed');
  const fix = result.fix.edit;
  const title = `Repair (${check.label}: passed after ${result.checks} of ${s.maxChecks} checks)`;
  const review = store.start(doc, title, [{ start: fix.start, end: fix.end }]);
  if (!review.finish([fix.text])) {
    service.inform(`Diffuse Repair: ${repairSummary(result)}, but the fix changes nothing the editor can show.`);
    return;
  }
  const shown = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  const first = review.firstChange();
  if (shown && first) shown.revealRange(first, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  service.log.info(`repair ${relPath} with "${check.command}": ${repairSummary(result)}`);
}

/**
 * Narrows the running session's region to where the search looks (it draws the span there, and
 * an edit inside it ends the repair). Only while the file is as the search has it.
 */
function narrow(session: ProposalSession, text: string, { start, end }: { start: number; end: number }): void {
  const r = session.regions[0];
  if (!r || start >= end) return;
  r.start = start;
  r.end = end;
  r.original = text.slice(start, end);
  // drawn at once, pending, until a candidate is checked
  session.progress({ requestId: 'repair', step: 0, maxSteps: 0, spans: [{ text: MASK_GLYPH.repeat(4), masked: 4 }] });
}

/** Draws the region as the candidate being checked has it beside the region, like a running Refine's step. */
function showCandidate(session: ProposalSession, region: string, check: number, maxChecks: number): void {
  session.progress({
    requestId: 'repair',
    step: check,
    maxSteps: maxChecks,
    unit: 'check',
    spans: [{ text: region, masked: 0 }],
  });
}

function reportRepairError(service: BackendService, check: RepairCheck, e: unknown): void {
  // the model failed (a crash, a refused key): the same report, with the same buttons, as Refine's
  if (e instanceof BackendError) {
    reportCommandError(service, 'Repair', e);
    return;
  }
  const setup = e instanceof CheckSetupError || e instanceof ScratchCopyError;
  const message = e instanceof Error ? e.message : String(e);
  service.log.warn(`repair with "${check.command}" failed: ${message}`);
  const choose = 'Choose Another Check…';
  void vscode.window
    .showErrorMessage(
      probe.notice(
        setup ? `Diffuse Repair: ${message} (check: ${check.command}).` : `Diffuse Repair failed: ${message}`,
      ),
      ...(setup ? [choose] : []),
      'Show Log',
    )
    .then((c) => {
      if (c === choose) void vscode.commands.executeCommand(REPAIR_COMMAND, { ask: true } satisfies RepairArgs);
      else if (c) service.log.show(true);
    });
}
