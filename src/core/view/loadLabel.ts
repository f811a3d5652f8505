// How a model load is shown while it runs (the status bar): which folder, how big, which step and
// for how long, since a 7 B folder takes minutes and a bare spinner looks like a hang.
import { formatBytes } from './modelCard';

/**
 * The steps of a load, in order (worker/loadModel.ts): the manifest is read and checked, the
 * tokenizer built, the onnxruntime session created (most of a big folder's load: reading its
 * weights), and one test forward pass run at the full context length. The worker reports each
 * (backend/requests.ts).
 */
export const LOAD_STAGES = ['manifest', 'tokenizer', 'session', 'check'] as const;
export type LoadStage = (typeof LOAD_STAGES)[number];

export interface LoadView {
  /** The folder's name (its last path segment). */
  name: string;
  /** Bytes of weights on disk, when known. */
  bytes?: number;
  /** The step the worker reported last, if any yet. */
  stage?: LoadStage;
  elapsedMs: number;
}

/** What each step of a load does, in the words the status bar and its tooltip use. */
export const LOAD_STAGE_WORDS: Record<LoadStage, { short: string; long: string }> = {
  manifest: { short: 'manifest', long: 'reading denoiser.json' },
  tokenizer: { short: 'tokenizer', long: 'building the tokenizer' },
  session: { short: 'weights', long: 'onnxruntime reads the weights and builds the session' },
  check: { short: 'test pass', long: 'one test forward pass at the full context length' },
};

/** "loading dream-coder-7b (7.6 GB) · weights · 12 s", and a tooltip that spells the step out. */
export function loadLabel(v: LoadView): { text: string; tooltip: string } {
  const size = v.bytes !== undefined ? ` (${formatBytes(v.bytes)})` : '';
  const seconds = `${Math.floor(v.elapsedMs / 1000)} s`;
  const words = v.stage !== undefined ? LOAD_STAGE_WORDS[v.stage] : undefined;
  const step = words
    ? `step ${LOAD_STAGES.indexOf(v.stage!) + 1} of ${LOAD_STAGES.length}, ${words.long}`
    : 'starting the worker';
  return {
    text: `loading ${v.name}${size}${words ? ` · ${words.short}` : ''} · ${seconds}`,
    tooltip: `Diffuse: loading the model folder ${v.name}${size ? `${size.slice(0, -1)} of weights)` : ''}: ${step}; ${seconds} so far`,
  };
}
