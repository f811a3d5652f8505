// Refine Selection (and "with Strength…"): the selection becomes the span, the code around it the
// context; the model's progress is drawn live and its result reviewed as an inline diff.
import * as vscode from 'vscode';
import { STRENGTH_RANGE } from '../core/defaults';
import type { BackendService } from './backendService';
import type { SessionStore } from './proposalSession';
import { changedPart } from './changedPart';
import { reportCommandError } from './requestErrors';

export function registerRefineSelection(service: BackendService, store: SessionStore): vscode.Disposable {
  return vscode.Disposable.from(
    // registerCommand, not registerTextEditorCommand: executeCommand then resolves when the run ends.
    // Scripts and tests pass a strength, or { strength, showAnyway } to review even a rewrite the
    // model rates below the code.
    vscode.commands.registerCommand('diffuse.refineSelection', async (arg?: number | RefineArgs) => {
      const editor = vscode.window.activeTextEditor;
      const given = typeof arg === 'number' ? { strength: arg } : (arg ?? {});
      if (editor)
        await refine(service, store, editor, {
          strength: typeof given.strength === 'number' ? given.strength : service.settings().strength,
          showAnyway: given.showAnyway === true,
        });
    }),
    vscode.commands.registerCommand('diffuse.refineSelectionWithStrength', async () => {
      const editor = vscode.window.activeTextEditor;
      const strength = editor && (await askStrength(service.settings().strength));
      if (editor && strength !== undefined) await refine(service, store, editor, { strength });
    }),
    // An argument skips the prompt (scripts, tests).
    vscode.commands.registerCommand('diffuse.refineSelectionWithInstruction', async (given?: unknown) => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) return;
      const caps = service.capabilities;
      if (caps && !caps.instruction) {
        void service
          .warn(
            `Diffuse: the ${service.backend} backend cannot follow an instruction; choose the mercury or openai backend (diffuse.backend) or use Refine Selection.`,
            'Open Settings',
          )
          .then((c) => c && vscode.commands.executeCommand('workbench.action.openSettings', 'diffuse.backend'));
        return;
      }
      const instruction =
        typeof given === 'string'
          ? given
          : await vscode.window.showInputBox({
              title: 'Diffuse: Refine Selection with Instruction',
              prompt: 'What should change? The model rewrites the selection with the code around it as context.',
              placeHolder:
                'e.g. Refactor this to improve efficiency · Make this more readable without changing functionality',
              ignoreFocusOut: true,
            });
      if (instruction?.trim()) await refine(service, store, editor, { strength: 1, instruction: instruction.trim() });
    }),
  );
}

/** What `diffuse.refineSelection` may be given besides a strength. */
interface RefineArgs {
  strength?: number;
  /** Review the rewrite even when the model rates it below the code (what "Show anyway" does). */
  showAnyway?: boolean;
}

/** Strengths offered, each with what it does; "Custom…" takes any value in range. */
const STRENGTHS: { value: number; label: string; detail: string }[] = [
  { value: 0.3, label: '0.3', detail: 'Correct only what the model strongly doubts (a typo, a wrong name)' },
  {
    value: 0.5,
    label: '0.5',
    detail: 'Correct what the model doubts; correct code comes back unchanged (the default strength)',
  },
  {
    value: 0.7,
    label: '0.7',
    detail: 'Reconsider more of the selection; changes still need the model to clearly prefer them',
  },
  { value: 1, label: '1.0', detail: 'Rewrite the whole selection from the code around it' },
];

async function askStrength(current: number): Promise<number | undefined> {
  type Item = vscode.QuickPickItem & { value?: number };
  const items: Item[] = [
    ...STRENGTHS.map((s) => ({
      label: s.label,
      description: s.value === current ? 'current default' : undefined,
      detail: s.detail,
      value: s.value,
    })),
    { label: 'Custom…', detail: 'Any strength from 0.1 to 1.0' },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    title: 'Diffuse: Refine Selection with Strength',
    placeHolder: 'How freely may Refine change the selection?',
  });
  if (!pick) return undefined;
  if (pick.value !== undefined) return pick.value;
  const value = await vscode.window.showInputBox({
    title: 'Diffuse: Refine Selection with Strength',
    prompt:
      'Below 1.0 Refine corrects only what the model doubts (0.1 doubts little); 1.0 rewrites the whole selection',
    value: String(current),
    validateInput: (v) =>
      Number(v) >= STRENGTH_RANGE.min && Number(v) <= STRENGTH_RANGE.max
        ? undefined
        : `Enter a number from ${STRENGTH_RANGE.min} to ${STRENGTH_RANGE.max}`,
  });
  return value === undefined ? undefined : Number(value);
}

/** Runs one refinement of the editor's selection (the cursor's line when nothing is selected). */
export async function refine(
  service: BackendService,
  store: SessionStore,
  editor: vscode.TextEditor,
  ask: { strength: number; instruction?: string; showAnyway?: boolean },
): Promise<void> {
  const { strength, instruction } = ask;
  const doc = editor.document;
  let range: vscode.Range = editor.selection;
  if (range.isEmpty) range = doc.lineAt(range.start.line).range;
  if (range.isEmpty || !doc.getText(range).trim()) {
    void vscode.window.showInformationMessage('Diffuse: select the code to refine.');
    return;
  }
  const start = doc.offsetAt(range.start);
  const end = doc.offsetAt(range.end);
  const s = service.settings();
  const win = service.window(doc.getText(), start, end);
  const session = store.start(doc, 'Refine', [{ start, end }]);
  try {
    const result = await service.refine(
      {
        text: win.text,
        start: start - win.offset,
        end: end - win.offset,
        strength,
        instruction,
        sampler: s.sampler,
        context: s.context,
        file: { path: vscode.workspace.asRelativePath(doc.uri), language: doc.languageId },
      },
      {
        signal: session.signal,
        onProgress: (p) => session.progress(p),
        describe: instruction
          ? `${end - start} chars with an instruction`
          : `${end - start} chars at strength ${strength}`,
      },
    );
    if (session.phase !== 'running') return;
    const changed = changedPart(win.text, start - win.offset, end - win.offset, result.edits);
    const lines = (from: number, to: number): string => {
      // offsets are relative to the selection; the session's region has followed edits made above it
      const at = session.regions[0].start;
      const a = doc.positionAt(at + from).line + 1;
      const b = doc.positionAt(Math.max(at + from, at + to - 1)).line + 1;
      return a === b ? `line ${a}` : `lines ${a}–${b}`;
    };
    const partial =
      changed && (changed.part.start > 0 || changed.part.end < end - start)
        ? `only ${lines(changed.part.start, changed.part.end)} of the selection (${lines(0, end - start)}) fit the model's window: ` +
          'the proposal covers those, the rest is left as it is'
        : undefined;
    // the CodeLens says it in short; the notification in full
    session.note =
      changed && partial
        ? `only ${lines(changed.part.start, changed.part.end)} refined (the model's window)`
        : undefined;
    if (changed && result.belowOriginal && !ask.showAnyway) {
      // never hand over code the model itself rates worse (issue 27): say so, show it on request
      session.end('the model rates its rewrite below your code');
      offerAnyway(service, store, editor, { start, end }, changed, result.belowOriginal, lines(0, end - start));
      return;
    }
    if (!changed || !session.finish([changed.text], [changed.part])) {
      // short enough to be read whole in a notification; the lines and the time make a second
      // run's message differ from the first's, which it replaces
      const at = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
      const fitted = changed && partial ? `; only ${lines(changed.part.start, changed.part.end)} fit its window` : '';
      service.inform(`Diffuse: no change the model is sure of in ${lines(0, end - start)} (${at})${fitted}.`);
      return;
    }
    revealChange(editor, session.firstChange());
    if (partial) service.inform(`Diffuse Refine: ${partial}.`);
  } catch (e) {
    session.end('failed');
    reportCommandError(service, 'Refine', e);
  }
}

/**
 * A rewrite the model rates below the code it would replace: a message with "Show anyway" in the
 * place of the review; the review opens only when the user asks, and only on the code it was made for.
 */
function offerAnyway(
  service: BackendService,
  store: SessionStore,
  editor: vscode.TextEditor,
  selection: { start: number; end: number },
  changed: NonNullable<ReturnType<typeof changedPart>>,
  rating: { original: number; proposal: number },
  where: string,
): void {
  const doc = editor.document;
  const version = doc.version;
  const perToken = (x: number): string => x.toFixed(2);
  void service
    .warn(
      `Diffuse: the model's rewrite scores below your code in ${where} (${perToken(rating.proposal)} against ` +
        `${perToken(rating.original)}, mean log-probability a token), so your code is left as it is.`,
      SHOW_ANYWAY,
    )
    .then((choice) => {
      if (choice !== SHOW_ANYWAY) return;
      if (doc.isClosed || doc.version !== version) {
        service.inform('Diffuse: the code changed since that Refine; refine it again.');
        return;
      }
      const session = store.start(doc, 'Refine', [selection]);
      if (session.finish([changed.text], [changed.part])) revealChange(editor, session.firstChange());
    });
}

export const SHOW_ANYWAY = 'Show anyway';

/** Scrolls the proposal's first change into view when it is not (a long selection scrolls away from it). */
export function revealChange(editor: vscode.TextEditor, range: vscode.Range | undefined): void {
  if (range && vscode.window.visibleTextEditors.includes(editor)) {
    editor.revealRange(
      new vscode.Range(range.start, range.start),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
  }
}
