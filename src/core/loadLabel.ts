// How a model load is shown while it runs (the status bar): which folder, how big, which step and
// for how long, since a 7 B folder takes minutes and a bare spinner looks like a hang.
import { formatBytes } from './modelCard';

export interface LoadView {
  /** The folder's name (its last path segment). */
  name: string;
  /** Bytes of weights on disk, when known. */
  bytes?: number;
  /** The step the worker reported last (protocol.ts LOAD_STAGES), if any yet. */
  stage?: string;
  elapsedMs: number;
}

/** What each step of a load does, in the words the tooltip uses (keys: protocol.ts LOAD_STAGES). */
export const LOAD_STAGE_WORDS: Record<string, { short: string; long: string }> = {
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
  const stages = Object.keys(LOAD_STAGE_WORDS);
  const step = words ? `step ${stages.indexOf(v.stage!) + 1} of ${stages.length}, ${words.long}` : 'starting the worker';
  return {
    text: `loading ${v.name}${size}${words ? ` · ${words.short}` : ''} · ${seconds}`,
    tooltip: `Diffuse: loading the model folder ${v.name}${size ? `${size.slice(0, -1)} of weights)` : ''}: ${step}; ${seconds} so far`,
  };
}
