// Ghost text: fill-in-the-middle at the cursor through VS Code's inline-completion API.
// One request in flight (a newer one aborts it, through to the worker), a cache so that typing
// what the ghost text shows costs nothing, skip rules, and a time budget after which the worker
// returns its current denoised state.
import * as vscode from 'vscode';
import { CompletionCache } from '../core/completionCache';
import { trimCompletion } from '../core/completionTrim';
import { MAX_CHARS_PER_TOKEN } from '../core/textWindow';
import type { DenoiserService } from './denoiserService';

/** Text right of the cursor longer than this (or any word) means the user is editing, not writing. */
const MAX_TEXT_RIGHT_OF_CURSOR = 4;

export class GhostTextProvider implements vscode.InlineCompletionItemProvider {
  private inFlight: AbortController | undefined;
  readonly cache = new CompletionCache();
  /** Counters read by the integration tests and the log. */
  readonly stats = { requests: 0, cacheHits: 0, skipped: 0 };

  constructor(private readonly service: DenoiserService) {}

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
    const prefix = text.slice(Math.max(0, offset - settings.context.prefixTokens * MAX_CHARS_PER_TOKEN - 1000), offset);
    const suffix = text.slice(offset, offset + settings.context.suffixTokens * MAX_CHARS_PER_TOKEN + 500);
    const item = (completion: string): vscode.InlineCompletionItem[] =>
      [new vscode.InlineCompletionItem(completion, new vscode.Range(position, position))];

    const cached = this.cache.get(prefix, suffix);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return item(cached);
    }
    if (!manual && settings.ghostText.delayMs > 0) {
      await new Promise((r) => setTimeout(r, settings.ghostText.delayMs));
      if (token.isCancellationRequested) return undefined;
    }
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    this.stats.requests++;
    try {
      const result = await this.service.request('complete', (client, o) => client.complete({
        prefix, suffix, maxTokens: settings.ghostText.maxTokens,
        sampler: { ...settings.sampler, timeBudgetMs: settings.ghostText.timeBudgetMs },
        context: settings.context,
      }, o), { token, signal: abort.signal, describe: `at ${position.line + 1}:${position.character + 1}` });
      const completion = trimCompletion(result.edits[0]?.text ?? '', {
        linePrefix: line.slice(0, position.character), suffix, maxLines: settings.ghostText.maxLines,
      });
      if (!completion) return undefined;
      this.cache.put(prefix, suffix, completion);
      if (token.isCancellationRequested) return undefined;
      return item(completion);
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
    // code the user writes, not output panes or other virtual documents
    vscode.languages.registerInlineCompletionItemProvider(
      ['file', 'untitled', 'vscode-remote', 'vscode-notebook-cell'].map((scheme) => ({ scheme })), provider),
    vscode.commands.registerCommand('diffuse.triggerGhostText', () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('diffuse.toggleGhostText', async () => {
      const c = vscode.workspace.getConfiguration('diffuse');
      const on = !service.settings().ghostText.enabled;
      await c.update('ghostText.enabled', on, vscode.ConfigurationTarget.Global);
      void vscode.window.setStatusBarMessage(`Diffuse ghost text ${on ? 'on' : 'off'}`, 3000);
    }),
  );
}
