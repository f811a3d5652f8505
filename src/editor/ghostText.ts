// Ghost text: fill-in-the-middle at the cursor through VS Code's inline-completion API.
// One request in flight (a newer one aborts it, through to the worker), a cache so that typing
// what the ghost text shows costs nothing, skip rules, and a time budget after which the worker
// returns its current denoised state.
import * as vscode from 'vscode';
import { CompletionCache } from '../core/completionCache';
import { trimCompletion } from '../core/completionTrim';
import { MAX_CHARS_PER_TOKEN } from '../core/textWindow';
import type { DenoiserService } from './denoiserService';
import { CONFIRM_MESSAGE_MS } from './messageDurations';
import { GHOST_PREFIX_MARGIN_CHARS, GHOST_SUFFIX_MARGIN_CHARS } from './requestWindow';
import { SECTION } from './settings';

/** Text right of the cursor longer than this (or any word) means the user is editing, not writing. */
const MAX_TEXT_RIGHT_OF_CURSOR = 4;

export class GhostTextProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  private inFlight: AbortController | undefined;
  readonly cache = new CompletionCache();
  /** Counters read by the integration tests and the log. */
  readonly stats = { requests: 0, cacheHits: 0, skipped: 0, belowConfidence: 0 };
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly service: DenoiserService) {
    // a cached completion belongs to the model and settings that made it
    this.disposables = [
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
    const editor = vscode.window.activeTextEditor;
    const line = doc.lineAt(position.line).text;
    const right = line.slice(position.character);
    if (editor?.document === doc && (editor.selections.length > 1 || !editor.selection.isEmpty)) return this.skip();
    if (right.trim().length > MAX_TEXT_RIGHT_OF_CURSOR || /\w/.test(right)) return this.skip();
    if (this.service.state.kind !== 'ready' && this.service.state.kind !== 'starting') return this.skip();

    const offset = doc.offsetAt(position);
    const text = doc.getText();
    const prefix = text.slice(Math.max(0, offset - settings.context.prefixTokens * MAX_CHARS_PER_TOKEN - GHOST_PREFIX_MARGIN_CHARS), offset);
    const suffix = text.slice(offset, offset + settings.context.suffixTokens * MAX_CHARS_PER_TOKEN + GHOST_SUFFIX_MARGIN_CHARS);
    const items = (completions: string[]): vscode.InlineCompletionItem[] =>
      completions.map((c) => new vscode.InlineCompletionItem(c, new vscode.Range(position, position)));

    const cached = this.cache.get(prefix, suffix);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return items([cached]);
    }
    if (!manual && settings.ghostText.delayMs > 0) {
      await new Promise((r) => setTimeout(r, settings.ghostText.delayMs));
      if (token.isCancellationRequested) return undefined;
    }
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    this.stats.requests++;
    const { candidates, minConfidence } = settings.ghostText;
    try {
      const result = await this.service.request('complete', (client, o) => client.complete({
        prefix, suffix, maxTokens: settings.ghostText.maxTokens,
        ...(candidates > 1 ? { candidates } : {}),
        sampler: { ...settings.sampler, timeBudgetMs: settings.ghostText.timeBudgetMs },
        context: settings.context,
      }, o), { token, signal: abort.signal, describe: `at ${position.line + 1}:${position.character + 1}` });
      // best first; a worker that does not decode candidates answers with edits[0] alone
      const answers = result.candidates?.length ? result.candidates : result.edits.slice(0, 1);
      // Wrong ghost text costs more than none: below the threshold nothing is shown unless the user
      // asked for a suggestion with the key, and then they see what the model has.
      const sure = manual ? answers : answers.filter((a) => a.confidence >= minConfidence);
      if (sure.length < answers.length) this.stats.belowConfidence++;
      const completions = [...new Set(sure.map((a) => trimCompletion(a.text, {
        linePrefix: line.slice(0, position.character), suffix, maxLines: settings.ghostText.maxLines,
      })))].filter((c) => c);
      if (completions.length === 0) return undefined;
      this.cache.put(prefix, suffix, completions[0]);
      if (token.isCancellationRequested) return undefined;
      // several items: VS Code cycles through them with Alt+] / Alt+[
      return items(completions);
    } catch {
      return undefined; // cancelled, or an error the log and the status bar already show
    } finally {
      if (this.inFlight === abort) this.inFlight = undefined;
    }
  }

  private skip(): undefined {
    this.stats.skipped++;
    return undefined;
  }
}

export function registerGhostText(service: DenoiserService, provider: GhostTextProvider): vscode.Disposable {
  return vscode.Disposable.from(
    provider,
    // code the user writes, not output panes or other virtual documents
    vscode.languages.registerInlineCompletionItemProvider(
      ['file', 'untitled', 'vscode-remote', 'vscode-notebook-cell'].map((scheme) => ({ scheme })), provider),
    vscode.commands.registerCommand('diffuse.triggerGhostText', () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('diffuse.toggleGhostText', async () => {
      const c = vscode.workspace.getConfiguration('diffuse');
      const on = !service.settings().ghostText.enabled;
      await c.update('ghostText.enabled', on, vscode.ConfigurationTarget.Global);
      void vscode.window.setStatusBarMessage(`Diffuse ghost text ${on ? 'on' : 'off'}`, CONFIRM_MESSAGE_MS);
    }),
  );
}
