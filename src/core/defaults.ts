// The one home of every default: the engine's (what a request gets when it says nothing) and the
// editor's settings (package.json "contributes.configuration" must agree; test/defaults.test.ts
// checks it). Chosen for the shipped model with `npm run bench`, `npm run bench:tune` and
// `npm run model:eval:editor`; the comments at the users of each say what was measured.

/**
 * The model folder under `models/` that ships and is used when `diffuse.modelPath` is empty.
 * Scripts that cannot import this (scripts/*.mjs, training/*.mjs) name it too; test/defaults.test.ts
 * checks they agree.
 */
export const SHIPPED_MODEL = 'diffuse-v2';

/** Engine defaults; every one can be overridden per request. */
export const DEFAULTS = {
  /** Refine strength: below 1 Refine corrects (worker/correctSelection.ts); 1 rewrites the selection. */
  strength: 0.5,
  threshold: 0.8,
  /**
   * Masks a variable-length span shows beyond its written text (sampler.ts growWindows). The
   * training's frontier rows show the same width (train.py frontier_window).
   */
  blockLength: 16,
  temperature: 0,
  topP: 1,
  seed: 0,
  remask: 0,
  prefixTokens: 128,
  suffixTokens: 64,
  fillTokens: 48,
  completeTokens: 24,
  /** Full-strength refine gets this many slots per original token, plus `refineExtraSlots`. */
  refineSlack: 1.25,
  refineExtraSlots: 4,
  /** Default budget: one model call per this many slots (see defaultStepBudget). */
  slotsPerStep: 6,
  /** The default budget never goes below or above these many calls. */
  minSteps: 4,
  maxSteps: 48,
} as const;

/**
 * The strengths Refine takes: below `max` it corrects, `max` rewrites; below `min` it would doubt
 * almost nothing and only cost a model call. The engine, the settings and the pick list use this.
 */
export const STRENGTH_RANGE = { min: 0.1, max: 1 } as const;

/**
 * Repair's budgets (the editor's `diffuse.repair.*` settings and `diffuse repair`'s flags): the
 * issue's goal is a fix within 40 checks and 60 s on two cores; `npm run bench:repair-check`
 * measures what they buy (docs/repair.md has the figures).
 */
export const REPAIR_DEFAULTS = {
  maxChecks: 40,
  timeoutMs: 60_000,
  /** One check's limit: a test suite that hangs is stopped, not waited for. */
  checkTimeoutMs: 20_000,
};

/** Defaults of the `diffuse.*` settings, by setting name. */
export const SETTING_DEFAULTS = {
  modelPath: '',
  threads: 2,
  /** 0: the engine's budget for the span (DEFAULTS.slotsPerStep). */
  steps: 0,
  threshold: DEFAULTS.threshold,
  temperature: DEFAULTS.temperature,
  'refine.strength': DEFAULTS.strength,
  'context.prefixTokens': DEFAULTS.prefixTokens,
  'context.suffixTokens': DEFAULTS.suffixTokens,
  'fill.maxTokens': DEFAULTS.fillTokens,
  'ghostText.enabled': true,
  'ghostText.delayMs': 150,
  'ghostText.timeBudgetMs': 800,
  'ghostText.maxTokens': DEFAULTS.completeTokens,
  'ghostText.maxLines': 4,
  /**
   * Ghost text is shown from this confidence up: on the editor-view cases the lowest threshold
   * at which at least half of what is shown is byte-exact (`npm run bench`, ghost_confidence).
   */
  'ghostText.minConfidence': 0.75,
  /** More candidates did not improve the first suggestion (worker/engine.ts CANDIDATE_TEMPERATURE). */
  'ghostText.candidates': 1,
  /**
   * Next edit: after a pause, propose the edit that follows the last one. Off until turned on: its
   * review opens a diff on its own, which a user should ask for (see src/editor/nextEdit.ts).
   */
  'nextEdit.enabled': false,
  /** onnxruntime's execution provider for the local model. */
  executionProvider: 'cpu',
  /** Who answers: the local model; nothing leaves the machine unless the user picks another. */
  backend: 'local',
  /** Empty: the backend's own (Mercury's: MERCURY_BASE_URL in backend/remote/openaiCompatible.ts). */
  'remote.baseUrl': '',
  /** Empty: the backend's own (Mercury's: MERCURY_FIM_MODEL and MERCURY_CHAT_MODEL there). */
  'remote.fimModel': '',
  'remote.chatModel': '',
  /** Infilling tokens for a server without /fim/completions: chosen from the model's name (core/prompts/fimPrompt.ts). */
  'remote.fimTemplate': 'auto',
  /** Characters of code on each side of the span sent to a remote model (about 3,000 tokens each). */
  'remote.contextChars': 12000,
  /** Deadline of a remote Refine or Fill (ghost text answers within its time budget). */
  'remote.timeoutMs': 60000,
  /** Empty: Repair asks which check to run (a task, a proposal, a typed command) and remembers it. */
  'repair.check': '',
  'repair.maxChecks': REPAIR_DEFAULTS.maxChecks,
  'repair.timeoutMs': REPAIR_DEFAULTS.timeoutMs,
} as const;

export type SettingName = keyof typeof SETTING_DEFAULTS;
