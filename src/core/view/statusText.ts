// What the status bar item says, from plain values: which backend answers and its state (loading,
// with the folder, its size, the load's step and seconds / ready, with how a remote server is asked
// for fill-in-the-middle / busy with its step / error), the last request's latency, and what became
// of the last ghost-text suggestion. editor/statusBar.ts gathers the values and paints the result;
// everything it shows is decided here.
import { type LoadStage, loadLabel } from './loadLabel';
import { stepLabel } from './stepLabel';

/** The backend's state, as much of it as the item shows (backend/backend.ts's BackendState fits). */
export type StatusState =
  | { kind: 'starting'; load?: { name: string; bytes?: number; stage?: LoadStage; startedAt: number } }
  | { kind: 'ready'; info: { backend: string; name: string; where: string; threads?: number; fimRoute?: FimRouteName } }
  | { kind: 'error'; message: string }
  | { kind: 'restarting'; message: string }
  | { kind: 'stopped' };

/** How a remote backend asks for fill-in-the-middle (backend/backend.ts's FimRoute fits). */
export type FimRouteName = 'fim' | 'infill' | 'suffix' | 'template' | 'chat';

/** Each way of asking for fill-in-the-middle, in the words the tooltip uses. */
const FIM_ROUTE_WORDS: Record<FimRouteName, string> = {
  fim: 'POST /fim/completions',
  infill: "llama.cpp's POST /infill (the model's own infilling tokens, applied by the server)",
  suffix: 'POST /completions with a suffix',
  template: "POST /completions with the model's own infilling tokens (diffuse.remote.fimTemplate)",
  chat: 'a chat prompt that asks for the middle only (the server has no infilling endpoint)',
};

/** What became of the last ghost-text request (editor/ghostText.ts's GhostOutcome fits). */
export interface GhostView {
  shown: boolean;
  confidence?: number;
  threshold: number;
  reason: 'below threshold' | 'empty' | 'failed';
}

export interface StatusView {
  /** The backend the settings chose: 'local', 'mercury', 'openai', 'diffuse'. */
  backend: string;
  state: StatusState;
  /** The Refine or Fill the user watches: its kind, and the running session's title and step when there is one. */
  busy?: {
    kind: string;
    title?: string;
    step?: number;
    maxSteps?: number;
    unit?: 'step' | 'block' | 'check';
    budgeted: boolean;
  };
  latencyMs?: number;
  /** The last ghost-text outcome worth showing (none after a Refine or Fill: it would be stale). */
  ghost?: GhostView;
  /** Automatic suggestions held back below the threshold this session. */
  heldBack?: number;
  /** The 1-based line a next-edit suggestion waits at. */
  nextEditLine?: number;
  /** Next edit's last answer when it proposed nothing: none needed, or one withdrawn (and why). */
  nextEditOutcome?: { status: 'none' | 'withdrawn'; detail?: string };
  now: number;
}

export interface StatusText {
  text: string;
  tooltip: string;
  error: boolean;
}

export function statusText(v: StatusView): StatusText {
  const { state: s, backend } = v;
  const remote = backend === 'local' ? '' : ` · ${backend}`;
  if (s.kind === 'error') {
    const tooltip =
      backend === 'local'
        ? `Diffuse: the model failed to load. ${s.message}\nClick for options.`
        : `Diffuse (${backend}) cannot answer. ${s.message}\nClick for options.`;
    return { text: `$(error) Diffuse${remote}`, tooltip, error: true };
  }
  if (s.kind === 'starting' && s.load) {
    const label = loadLabel({ ...s.load, elapsedMs: v.now - s.load.startedAt });
    return { text: `$(loading~spin) Diffuse: ${label.text}`, tooltip: label.tooltip, error: false };
  }
  if (s.kind === 'starting' || s.kind === 'restarting') {
    const tooltip =
      s.kind === 'restarting'
        ? `Diffuse: ${s.message}; restarting`
        : backend === 'local'
          ? 'Diffuse: loading the model'
          : `Diffuse: connecting to ${backend}`;
    const doing = backend === 'local' ? 'loading' : 'connecting';
    return { text: `$(loading~spin) Diffuse${remote}: ${doing}`, tooltip, error: false };
  }
  if (v.busy) return busyText(v.busy, remote);
  if (s.kind === 'ready') {
    const latency = v.latencyMs !== undefined ? ` ${v.latencyMs} ms` : '';
    const extra =
      v.nextEditLine !== undefined
        ? nextEditPart(v.nextEditLine)
        : v.nextEditOutcome
          ? noNextEditPart(v.nextEditOutcome)
          : ghostPart(v.ghost, v.heldBack);
    const i = s.info;
    const who =
      i.backend === 'local'
        ? `${i.name} ready (${plural(i.threads ?? 1, 'thread')}; nothing leaves this machine)`
        : `${i.backend} (${i.name}) at ${i.where}: the code around the cursor or selection is sent there`;
    // known once the first ghost text or Fill found what the server answers
    const fim = i.fimRoute ? `\nGhost text and Fill at Cursor ask through ${FIM_ROUTE_WORDS[i.fimRoute]}.` : '';
    return {
      text: `$(sparkle) Diffuse${remote}${latency}${extra.text}`,
      tooltip: `Diffuse: ${who}${latency ? `; last request took${latency}` : ''}${fim}${extra.tooltip}`,
      error: false,
    };
  }
  return { text: '$(circle-slash) Diffuse', tooltip: 'Diffuse: the denoiser is stopped', error: false };
}

function busyText(b: NonNullable<StatusView['busy']>, remote: string): StatusText {
  // the step is the running session's, as its live view draws it
  const step = b.step ? ` ${stepLabel(b.step, b.maxSteps ?? 0, b.unit)}` : '';
  return {
    text: `$(sync~spin) Diffuse${remote}: ${b.title ? b.title.toLowerCase() : b.kind}${step}`,
    tooltip:
      'Diffuse is denoising. Press Escape in the editor to cancel.' +
      (b.budgeted ? ` The step count's total is the budget; a sure model ends early.` : ''),
    error: false,
  };
}

function nextEditPart(line: number): { text: string; tooltip: string } {
  return {
    text: ' $(arrow-right) next edit',
    tooltip: `\nA next edit waits at line ${line}: Tab jumps to it and accepts it, Escape dismisses it.`,
  };
}

/** Next edit answered and proposes nothing: said, so that silence is not mistaken for a hang. */
function noNextEditPart(o: NonNullable<StatusView['nextEditOutcome']>): { text: string; tooltip: string } {
  return o.status === 'none'
    ? { text: ' $(circle-slash) no next edit', tooltip: '\nNext edit: nothing near your last change needs changing.' }
    : {
        text: ' $(circle-slash) no next edit',
        tooltip: `\nNext edit: a suggestion was withdrawn because it would leave the code worse${o.detail ? ` (${o.detail})` : ''}.`,
      };
}

/** The last ghost-text outcome: `$(eye) 0.91` shown, `$(eye-closed) 0.62` held back, with why in words. */
export function ghostPart(o: GhostView | undefined, heldBack = 0): { text: string; tooltip: string } {
  if (!o || o.reason === 'failed' || (!o.shown && o.reason === 'empty')) return { text: '', tooltip: '' };
  const conf = o.confidence !== undefined ? ` ${o.confidence.toFixed(2)}` : '';
  if (o.shown)
    return {
      text: ` $(eye)${conf}`,
      tooltip: `\nLast ghost-text suggestion shown${conf ? ` (confidence${conf})` : ''}.`,
    };
  const sofar = heldBack > 1 ? ` ${heldBack} automatic suggestions were held back this session.` : '';
  return {
    text: ` $(eye-closed)${conf}`,
    tooltip:
      `\nLast ghost-text suggestion held back: confidence${conf} is below diffuse.ghostText.minConfidence ` +
      `(${o.threshold}). Press Alt+\\ to see it anyway, lower the setting to see more, less reliable ` +
      `suggestions, or choose a stronger model.${sofar}`,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
