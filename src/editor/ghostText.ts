// Ghost text: fill-in-the-middle at the cursor through VS Code's inline-completion API.
// One request in flight (a newer one aborts it, through to the worker), a cache so that typing
// what the ghost text shows costs nothing, skip rules, and a time budget after which the worker
// returns its current denoised state.
import * as vscode from 'vscode';
import { CompletionCache } from '../core/completion/completionCache';
import { trimCompletion } from '../core/completion/completionTrim';
import { MAX_CHARS_PER_TOKEN } from '../core/text/textWindow';
import { visualColumn } from '../core/text/textPosition';
import { BackendError } from '../backend/backend';
import type { DenoiseResult } from '../backend/requests';
import type { BackendService } from './backendService';
import { CONFIRM_MESSAGE_MS } from './messageDurations';
import { GHOST_PREFIX_MARGIN_CHARS, GHOST_SUFFIX_MARGIN_CHARS } from './requestWindow';
import { SECTION, type DiffuseSettings } from './settings';
import { probe } from './testProbe';

/** Text right of the cursor longer than this (or any word) means the user is editing, not writing. */
const MAX_TEXT_RIGHT_OF_CURSOR = 4;

/** What became of the last automatic or manual ghost-text request, for the status bar and the log. */
export interface GhostOutcome {
  shown: boolean;
  /** The model's confidence in its best answer (undefined: the backend reports none). */
  confidence?: number;
  /** The threshold automatic suggestions need. */
  threshold: number;
  /** Why nothing is shown when `shown` is false. */
  reason: 'below threshold' | 'empty' | 'failed';
  manual: boolean;
}

export class GhostTextProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private inFlight: AbortController | undefined;
  readonly cache = new CompletionCache();
  /** The last request's outcome (the status bar shows it). */
  lastOutcome: GhostOutcome | undefined;
  /** Automatic suggestions held back below the confidence threshold this session (ghostExplain.ts, the status bar). */
  heldBack = 0;
  private readonly outcome = new vscode.EventEmitter<GhostOutcome>();
  readonly onDidDecide = this.outcome.event;
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly service: BackendService) {
    // a cached completion belongs to the model and settings that made it
    this.disposables = [
      this.outcome,
      service.onWillRestart(() => this.cache.clear()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) this.cache.clear();
      }),
    ];
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  async provideInlineCompletionItems(
    doc: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const settings = this.service.settings();
    const manual = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    if (!settings.ghostText.enabled && !manual) return undefined;
    if (this.skipped(doc, position)) return this.skip();
    const at = this.requestAt(doc, position, context, settings);
    const cached = this.cache.get(at.prefix, at.suffix);
    if (cached !== undefined) {
      probe.ghostText.cacheHits++;
      return at.items([cached]);
    }
    if (!manual && settings.ghostText.delayMs > 0) {
      await new Promise((r) => setTimeout(r, settings.ghostText.delayMs));
      if (token.isCancellationRequested) return undefined;
    }
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    probe.ghostText.requests++;
    const where = `at ${visualPosition(doc, position)}`;
    try {
      const { candidates } = settings.ghostText;
      const result = await this.service.complete(
        {
          prefix: at.prefix,
          suffix: at.suffix,
          maxTokens: settings.ghostText.maxTokens,
          ...(candidates > 1 && this.service.capabilities?.candidates !== false ? { candidates } : {}),
          sampler: { ...settings.sampler, timeBudgetMs: settings.ghostText.timeBudgetMs },
          context: settings.context,
        },
        { token, signal: abort.signal, describe: where },
      );
      const completions = this.shown(result, at, settings, manual, where);
      if (completions.length === 0) return undefined;
      this.cache.put(at.prefix, at.suffix, completions[0]);
      if (token.isCancellationRequested) return undefined;
      // several items: VS Code cycles through them with Alt+] / Alt+[
      return at.items(completions);
    } catch (e) {
      // cancelled, or an error the log and the status bar already show
      if (!(e instanceof BackendError && e.code === 'cancelled')) {
        this.decide(where, { shown: false, threshold: settings.ghostText.minConfidence, manual, reason: 'failed' });
      }
      return undefined;
    } finally {
      if (this.inFlight === abort) this.inFlight = undefined;
    }
  }

  /** The skip rules: a selection or several cursors, code right of the cursor, a backend that cannot answer. */
  private skipped(doc: vscode.TextDocument, position: vscode.Position): boolean {
    const editor = vscode.window.activeTextEditor;
    const right = doc.lineAt(position.line).text.slice(position.character);
    if (editor?.document === doc && (editor.selections.length > 1 || !editor.selection.isEmpty)) return true;
    if (right.trim().length > MAX_TEXT_RIGHT_OF_CURSOR || /\w/.test(right)) return true;
    return this.service.state.kind !== 'ready' && this.service.state.kind !== 'starting';
  }

  /**
   * What the request carries and how its answers become items. With VS Code's suggestion list
   * open, only an item that continues the selected suggestion is shown: the model completes as if
   * the suggestion were accepted, and the item offers both as one.
   */
  private requestAt(
    doc: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    settings: DiffuseSettings,
  ) {
    const selected = context.selectedCompletionInfo;
    const accepted =
      selected?.range.end.isEqual(position) && selected.range.start.line === position.line ? selected : undefined;
    const replaceFrom = accepted ? accepted.range.start : position;
    const lead = accepted ? accepted.text : '';
    const text = doc.getText();
    const offset = doc.offsetAt(position);
    const from = doc.offsetAt(replaceFrom);
    const window = this.contextChars(settings);
    return {
      prefix: text.slice(Math.max(0, from - window.before), from) + lead,
      suffix: text.slice(offset, offset + window.after),
      linePrefix: doc.lineAt(position.line).text.slice(0, replaceFrom.character) + lead,
      items: (completions: string[]): vscode.InlineCompletionItem[] =>
        completions.map((c) => new vscode.InlineCompletionItem(lead + c, new vscode.Range(replaceFrom, position))),
    };
  }

  /**
   * The completions to show, best first. Wrong ghost text costs more than none: below the
   * threshold nothing is shown unless the user asked with the key, and then they see what the
   * model has. A backend with no confidence measure (a remote FIM model) is not gated.
   */
  private shown(
    result: DenoiseResult,
    at: { suffix: string; linePrefix: string },
    settings: DiffuseSettings,
    manual: boolean,
    where: string,
  ): string[] {
    const { minConfidence, maxLines } = settings.ghostText;
    // best first; a backend that does not decode candidates answers with edits[0] alone
    const answers = result.candidates?.length ? result.candidates : result.edits.slice(0, 1);
    const measured = this.service.capabilities?.confidence !== false;
    const sure = manual || !measured ? answers : answers.filter((a) => a.confidence >= minConfidence);
    if (sure.length < answers.length) probe.ghostText.belowConfidence++;
    const completions = [
      ...new Set(sure.map((a) => trimCompletion(a.text, { linePrefix: at.linePrefix, suffix: at.suffix, maxLines }))),
    ].filter((c) => c);
    this.decide(where, {
      shown: completions.length > 0,
      confidence: measured ? answers[0]?.confidence : undefined,
      threshold: minConfidence,
      manual,
      reason: sure.length === 0 && answers.length > 0 ? 'below threshold' : 'empty',
    });
    return completions;
  }

  /** Characters of document around the cursor a request carries (the local model's budget plus a margin, or the remote setting). */
  private contextChars(s: DiffuseSettings): { before: number; after: number } {
    if (s.backend.kind !== 'local') return { before: s.backend.contextChars, after: s.backend.contextChars };
    return {
      before: s.context.prefixTokens * MAX_CHARS_PER_TOKEN + GHOST_PREFIX_MARGIN_CHARS,
      after: s.context.suffixTokens * MAX_CHARS_PER_TOKEN + GHOST_SUFFIX_MARGIN_CHARS,
    };
  }

  private decide(where: string, o: GhostOutcome): void {
    const conf = o.confidence !== undefined ? `confidence ${o.confidence.toFixed(2)}` : 'no confidence measure';
    const what = o.shown
      ? o.manual
        ? 'shown (asked for)'
        : 'shown'
      : o.reason === 'below threshold'
        ? `held back (below ${o.threshold}; Alt+\\ shows it)`
        : o.reason === 'failed'
          ? 'failed'
          : 'nothing to show';
    this.service.log.info(`ghost text ${where}: ${conf}, ${what}`);
    if (!o.shown && !o.manual && o.reason === 'below threshold') this.heldBack++;
    this.lastOutcome = o;
    this.outcome.fire(o);
  }

  private skip(): undefined {
    probe.ghostText.skipped++;
    return undefined;
  }
}

/** "line:column" as VS Code's status bar shows it (tabs count to the next tab stop), with the character when it differs. */
export function visualPosition(doc: vscode.TextDocument, pos: vscode.Position): string {
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  const tabSize = typeof editor?.options.tabSize === 'number' ? editor.options.tabSize : 4;
  const col = visualColumn(doc.lineAt(pos.line).text, pos.character, tabSize);
  return col === pos.character + 1
    ? `${pos.line + 1}:${col}`
    : `${pos.line + 1}:${col} (character ${pos.character + 1})`;
}

export function registerGhostText(service: BackendService, provider: GhostTextProvider): vscode.Disposable {
  return vscode.Disposable.from(
    provider,
    // code the user writes, not output panes or other virtual documents
    vscode.languages.registerInlineCompletionItemProvider(
      ['file', 'untitled', 'vscode-remote', 'vscode-notebook-cell'].map((scheme) => ({ scheme })),
      provider,
    ),
    vscode.commands.registerCommand('diffuse.triggerGhostText', () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
    ),
    vscode.commands.registerCommand('diffuse.toggleGhostText', async () => {
      const c = vscode.workspace.getConfiguration('diffuse');
      const on = !service.settings().ghostText.enabled;
      await c.update('ghostText.enabled', on, vscode.ConfigurationTarget.Global);
      void vscode.window.setStatusBarMessage(`Diffuse ghost text ${on ? 'on' : 'off'}`, CONFIRM_MESSAGE_MS);
    }),
  );
}
