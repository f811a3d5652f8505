// What every backend is asked and answers: the requests (Refine, Fill, Complete, Next edit), their
// sampler and context settings, and the result with its edits. The editor, the CLI and `diffuse
// serve` speak these; the local backend also carries them across the process boundary as they are.

/** Sampler knobs a request may set; the worker fills in defaults for the rest. */
export interface SamplerSettings {
  /** Step budget: most model calls for the request. */
  steps?: number;
  /** Commit every slot at least this confident (0–1). */
  threshold?: number;
  /** Fixed-k schedule instead of the threshold: commit this many slots per step. */
  tokensPerStep?: number;
  /** Commit in text order instead of the most confident first (with tokensPerStep 1: autoregressive). */
  leftToRight?: boolean;
  /** Variable-length spans are denoised left to right through a window of this many slots. */
  blockLength?: number;
  /** 0 = greedy. */
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Self-correction: fraction of the result re-masked and denoised once more (0 = off). */
  remask?: number;
  /** After this many ms the current state is returned (ghost text). */
  timeBudgetMs?: number;
}

/** Context budgets in tokens, nearest the span first. */
export interface ContextSettings {
  prefixTokens?: number;
  suffixTokens?: number;
}

interface RequestBase {
  /** Correlates progress notifications with the request. */
  requestId: string;
  sampler?: SamplerSettings;
  context?: ContextSettings;
  /** Send a progress notification after each step. */
  progress?: boolean;
  /**
   * Epoch ms when the client sent the request (set by the client). The time budget counts from
   * here, so a ghost-text request that waited behind another job still answers in time.
   */
  sentAt?: number;
}

/** Regenerate `text[start, end)` with the rest of `text` as context. */
export interface RefineParams extends RequestBase {
  text: string;
  start: number;
  end: number;
  /** How freely the span may change, STRENGTH_RANGE (core/defaults.ts): below 1 the corrector, 1 a rewrite. */
  strength?: number;
  /**
   * What the user wants done ("Refactor this to improve efficiency"): only backends whose
   * capabilities include `instruction` serve it (a chat model); the local engine refuses it.
   */
  instruction?: string;
  /** The file the text comes from, for a remote model's prompt (the local engine ignores it). */
  file?: { path: string; language: string };
}

/** Insert new text at each cursor offset of `text`; all cursors are denoised jointly. */
export interface FillParams extends RequestBase {
  text: string;
  cursors: number[];
  /** Slots per cursor; the model pads away what it does not need. */
  maxTokens?: number;
}

/** Fill-in-the-middle between a prefix and a suffix (ghost text, `diffuse complete`). */
export interface CompleteParams extends RequestBase {
  prefix: string;
  suffix: string;
  maxTokens?: number;
  /**
   * Decode this many candidates (different seeds, one batch) and return the best by the model's
   * own score first; the others come back in `DenoiseResult.candidates`. Default 1.
   */
  candidates?: number;
}

/**
 * The edit that follows the user's last one (next edit): `before` is the document before that
 * edit, `text` the document now. The answer has one edit of `text` (the proposal) or none.
 */
export interface NextEditParams extends RequestBase {
  before: string;
  text: string;
  cursor: number;
  /** The file, for a remote model's prompt. */
  file?: { path: string; language: string };
  /** Recent edits of the file as unified diffs, oldest first (sent to a remote backend only). */
  history?: string[];
  /** Recently viewed parts of other files (remote backends only). */
  snippets?: { path: string; text: string }[];
}

/** Replace `text[start, end)` of the request's text by `text`. */
export interface SpanEdit {
  start: number;
  end: number;
  text: string;
  /**
   * How likely the model finds this text, 0–1 (see core/sampler/confidence.ts for the measure). Ghost
   * text is shown only above `diffuse.ghostText.minConfidence`. A refine edit whose text equals
   * the original range means the model proposes no change it is sure of. A backend without a
   * measure (a remote FIM model; `Capabilities.confidence` false) answers 1 and is not gated.
   */
  confidence: number;
}

export interface DenoiseResult {
  edits: SpanEdit[];
  /** Model calls made. */
  steps: number;
  /**
   * The step budget: the most model calls the request could make, the N of "step k/N" in its
   * progress (a sure model ends below it). Absent from backends without one (remote FIM, chat).
   */
  stepBudget?: number;
  /** Wall time inside the worker. */
  ms: number;
  stoppedBy: 'done' | 'deadline';
  /** Tokens the local model saw (0 from a remote backend, which does not say). */
  canvasTokens: number;
  /**
   * `complete` with `candidates` > 1: every distinct candidate for the one span, best first
   * (candidates[0] is edits[0]); absent otherwise.
   */
  candidates?: SpanEdit[];
  /**
   * A rewrite (Refine at strength 1) the model rates below the original it would replace: each
   * one's mean log-probability under the same context, the original's higher by more than the
   * engine's margin. `edits` still hold the rewrite; a client shows it only when the user asks
   * ("Show anyway"). Absent when the rewrite is not below, and from backends that cannot score
   * (remote chat models).
   */
  belowOriginal?: { original: number; proposal: number };
}

export type ProgressUnit = 'step' | 'block' | 'check';

export interface ProgressParams {
  requestId: string;
  step: number;
  maxSteps: number;
  /**
   * What `step` counts: denoising steps (absent), pieces of a remote answer as it streams
   * ('block': a server that sends whole blocks, vLLM's DiffusionGemma, or token deltas), or a
   * repair's checks ('check').
   */
  unit?: ProgressUnit;
  /** Each span's text now, masked slots drawn as ░. */
  spans: { text: string; masked: number }[];
}

/**
 * How likely the model finds each token of `text[start, end)`, all of them visible (one model
 * call): what Repair ranks its candidates by and where it finds the model's doubt.
 */
export interface ScoreParams extends RequestBase {
  text: string;
  start: number;
  end: number;
}

export interface TokenScore {
  /** The token's characters in the request's text. */
  start: number;
  end: number;
  /** Natural log of the token's probability at its slot. */
  logProb: number;
  /** Probability of the model's best token at the slot (how much better it knows). */
  bestProb: number;
}

export interface ScoreResult {
  /** The tokens of the range that fitted the model's window, in order. */
  tokens: TokenScore[];
  ms: number;
  canvasTokens: number;
}

/** The likeliest tokens at each slot of `text[start, end)` masked (`Backend.alternatives`). */
export interface AlternativesParams extends RequestBase {
  text: string;
  start: number;
  end: number;
  /** Alternatives a slot (default 16). */
  top?: number;
  /** Texts to measure in place of the range (`AlternativesResult.candidates`). */
  candidates?: string[];
}

export interface AlternativesResult {
  /** Text before `start` that the first slot's tokens include (token healing), and after `end` the last's. */
  heal: string;
  tail: string;
  /** Per slot, the likeliest tokens first: each one's text and natural log-probability. */
  slots: { text: string; logProb: number }[][];
  /**
   * Per asked candidate, the natural log-probability of its tokens in the masked slots (slots it
   * leaves empty counted as pad); null when it needs more slots than the range has.
   */
  candidates?: (number | null)[];
  ms: number;
}
