import type { Canvas, CanvasSpan } from './canvas';
import { spanConfidence } from './confidence';
import { SeededRandom } from './rng';
import { commitCount, type CommitSchedule } from './schedule';
import { realTokenTable, type SpecialTokens } from './specialTokens';
import { chooseToken, tokenProbability } from './tokenChoice';

/**
 * The denoiser as the sampler sees it: logits for some positions of a canvas.
 * `positions` lists canvas indices; the result is row-major [positions.length, vocabSize].
 */
export interface LogitsModel {
  readonly vocabSize: number;
  logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array>;
  /**
   * A model for the calls of one denoising run, which may keep state between them (the context
   * cache: what stays the same from call to call is not computed again). Without it, this one.
   */
  forRun?(): LogitsModel;
}

/** The knobs a user turns. */
export interface SamplerOptions extends CommitSchedule {
  /** Most model calls one request may make (the step budget). */
  maxSteps: number;
  temperature: number;
  topP: number;
  seed: number;
  /**
   * Self-correction: after the spans are complete, re-mask this fraction of their committed
   * tokens (the least probable under a fresh look at the whole canvas) and denoise them again.
   */
  remask: number;
  /** Epoch ms after which the current state is returned (remaining slots take their last candidates). */
  deadline?: number;
  /** Masks a variable-length span shows the model beyond its written text (see growWindows). */
  blockLength: number;
}

/** What the progress callback sees after each step. */
export interface StepState {
  step: number;
  maxSteps: number;
  /** The canvas ids now (masked slots hold the mask id). */
  ids: Int32Array;
  /** 1 where a span slot is committed. */
  committed: Uint8Array;
  /** Confidence of each committed slot (0 elsewhere). */
  confidence: Float32Array;
  spans: readonly CanvasSpan[];
}

export type StopReason = 'done' | 'deadline' | 'cancelled';

export interface DenoisedSpans {
  /** Each span's final tokens, pads dropped. */
  spans: Int32Array[];
  /** Each span's confidence (core/sampler/confidence.ts). */
  confidence: number[];
  /** Model calls made. */
  steps: number;
  stoppedBy: StopReason;
}

export interface DenoiseHooks {
  onStep?: (state: StepState) => void;
  /** Checked between steps; cancellation never interrupts a model call. */
  isCancelled?: () => boolean;
  now?: () => number;
}

/**
 * Masked-diffusion decoding of every span of `canvas` jointly (LLaDA / Fast-dLLM style):
 * each step is one model call over the masked slots the model is shown; the most confident
 * candidates are committed (threshold or fixed-k), never un-committed except by the optional
 * self-correction.
 */
export async function denoise(
  model: LogitsModel,
  canvas: Canvas,
  special: SpecialTokens,
  options: SamplerOptions,
  hooks: DenoiseHooks = {},
): Promise<DenoisedSpans> {
  const s = newState(canvas, special, model.vocabSize, options);
  const now = hooks.now ?? Date.now;
  const rng = new SeededRandom(options.seed);
  const report = (): void =>
    hooks.onStep?.({
      step: s.steps,
      maxSteps: options.maxSteps,
      ids: s.ids,
      committed: s.committed,
      confidence: s.confidence,
      spans: canvas.spans,
    });
  let corrected = options.remask <= 0;
  /** Each open slot's candidate at the last step, for a finish at the deadline. */
  let lastCandidates = new Map<number, number>();
  /**
   * The longest model call of this run: a call that might end past the deadline is not started,
   * so a slow model answers in time. The longest, not the last: a context-cache run's later
   * calls are cheap until one recomputes the whole canvas (when the view grows), which costs
   * what the first did.
   */
  let longestCallMs = 0;
  for (;;) {
    growWindows(s, options);
    const masked = spanPositions(s, (p) => s.committed[p] === 0 && isShown(s, p));
    if (masked.length === 0) {
      if (corrected || s.steps >= options.maxSteps) break;
      corrected = true;
      if ((await selfCorrect(model, s, options.remask)) === 0) break;
      report();
      continue;
    }
    if (hooks.isCancelled?.()) return result(s, 'cancelled');
    const outOfTime = options.deadline !== undefined && now() + longestCallMs >= options.deadline;
    if ((outOfTime || s.steps >= options.maxSteps) && lastCandidates.size > 0) {
      finishWithCandidates(s, masked, lastCandidates);
      report();
      return result(s, outOfTime ? 'deadline' : 'done');
    }
    const view = modelView(s);
    const callStart = now();
    const logits = await model.logits(
      view.ids,
      Int32Array.from(masked, (p) => view.index[p]),
    );
    longestCallMs = Math.max(longestCallMs, now() - callStart);
    s.steps++;
    // A model call can take a while: honour cancellation before changing anything.
    if (hooks.isCancelled?.()) return result(s, 'cancelled');
    const candidates = Array.from(masked, (p, row) => ({
      p,
      ...chooseToken(logits, row, s.vocab, {
        temperature: options.temperature,
        topP: options.topP,
        rng,
        allowed: allowedAt(s, p),
      }),
    }));
    lastCandidates = new Map(candidates.map((c) => [c.p, c.id]));
    const eligible = committable(s, candidates, options.leftToRight === true);
    if (eligible.length === 0) {
      // Every open slot wants a pad that cannot go there (a written token follows): the most
      // confident one takes its best real token instead, so decoding always progresses.
      const waiting = candidates.find((c) => !mayEnd(s, c.p));
      const best = waiting ?? [...candidates].sort(byConfidence)[0];
      const row = masked.indexOf(best.p);
      eligible.push({
        p: best.p,
        ...chooseToken(logits, row, s.vocab, { temperature: 0, topP: 1, rng, allowed: s.allowed.plain }),
      });
    }
    // The budget spreads the open slots the model was shown over the calls left. A variable-
    // length span's hidden surplus slots are not counted: they end up pad in one commit, and
    // counting them forced unsure tokens in early (held-out exact at 4 calls 7.9 → 9.9 %).
    const n = commitCount(
      eligible.map((c) => c.confidence),
      options.maxSteps - s.steps + 1,
      options,
    );
    const chosen = eligible.slice(0, n);
    for (const c of chosen) if (c.id !== s.special.expand && !s.committed[c.p]) commitSlot(s, c.p, c.id, c.confidence);
    // Right to left, so that a slot inserted by one expansion does not move the next one.
    for (const c of chosen.filter((x) => x.id === s.special.expand).sort((a, b) => b.p - a.p)) expandSlot(s, c.p);
    report();
  }
  return result(s, 'done');
}

/** Everything that changes while a canvas is denoised. */
interface DenoiseState {
  readonly canvas: Canvas;
  readonly special: SpecialTokens;
  readonly vocab: number;
  readonly allowed: AllowedTables;
  /** The canvas ids now; span slots not yet committed hold the mask id. */
  readonly ids: Int32Array;
  readonly committed: Uint8Array;
  /** Probability each committed slot had when it was committed. */
  readonly confidence: Float32Array;
  /** Which span each canvas position belongs to (-1: context). */
  readonly spanOf: Int32Array;
  /** How many leading slots of each span the model is shown (see growWindows). */
  readonly shown: Int32Array;
  /** Model calls made. */
  steps: number;
}

type Candidate = { p: number; id: number; confidence: number };

const byConfidence = (a: Candidate, b: Candidate): number => b.confidence - a.confidence || a.p - b.p;

function newState(canvas: Canvas, special: SpecialTokens, vocab: number, options: SamplerOptions): DenoiseState {
  const spanOf = new Int32Array(canvas.ids.length).fill(-1);
  canvas.spans.forEach((sp, i) => spanOf.fill(i, sp.offset, sp.offset + sp.slots));
  return {
    canvas,
    special,
    vocab,
    allowed: allowedTables(vocab, special, canvas.spans),
    ids: canvas.ids.slice(),
    committed: new Uint8Array(canvas.ids.length),
    confidence: new Float32Array(canvas.ids.length),
    spanOf,
    // A variable-length span starts by showing one window of masks.
    shown: Int32Array.from(canvas.spans, (sp) =>
      sp.variableLength ? Math.min(sp.slots, options.blockLength) : sp.slots,
    ),
    steps: 0,
  };
}

function spanAt(s: DenoiseState, p: number): CanvasSpan {
  return s.canvas.spans[s.spanOf[p]];
}

function isShown(s: DenoiseState, p: number): boolean {
  return p - spanAt(s, p).offset < s.shown[s.spanOf[p]];
}

/** Commits `id` at `p`; a pad ends its span, so every later slot of it becomes pad too. */
function commitSlot(s: DenoiseState, p: number, id: number, confidence: number): void {
  const end = id === s.special.pad ? spanAt(s, p).offset + spanAt(s, p).slots : p + 1;
  s.ids.fill(id, p, end);
  s.committed.fill(1, p, end);
  s.confidence.fill(confidence, p, end);
}

function remaskSlot(s: DenoiseState, p: number): void {
  s.ids[p] = s.special.mask;
  s.committed[p] = 0;
  s.confidence[p] = 0;
}

/**
 * Which ids slot `p` may take: a healed first slot its own set; pad only in variable-length
 * spans, and expand only while the span has a free slot to grow into.
 */
function allowedAt(s: DenoiseState, p: number): Uint8Array {
  const sp = spanAt(s, p);
  if (p === sp.offset && sp.firstAllowed) return s.allowed.first.get(sp)!;
  if (!sp.variableLength) return s.allowed.plain;
  return hasRoom(s, sp) ? s.allowed.withPad : s.allowed.withPadNoExpand;
}

/**
 * Whether `sp` can take one more slot: it has slots the model was not shown yet. (An expansion
 * that pushed a shown slot off the end would not grow the span, and one that consumed a pad
 * would let a model that wants both end and grow the span loop until the step budget.) Each
 * expansion shows one slot more, so a span expands at most `slots` times.
 */
function hasRoom(s: DenoiseState, sp: CanvasSpan): boolean {
  return s.shown[s.spanOf[sp.offset]] < sp.slots;
}

/**
 * DreamOn's expansion: slot `p` predicted `expand`, so it becomes two masks. The span's later
 * slots move one to the right (its last, unseen, drops off) and the model is shown one more.
 */
function expandSlot(s: DenoiseState, p: number): void {
  const i = s.spanOf[p];
  const sp = s.canvas.spans[i];
  if (!hasRoom(s, sp)) return; // an expansion to its right this step took the last one
  const end = sp.offset + sp.slots;
  s.ids.copyWithin(p + 1, p, end - 1);
  s.committed.copyWithin(p + 1, p, end - 1);
  s.confidence.copyWithin(p + 1, p, end - 1);
  remaskSlot(s, p);
  s.shown[i] = Math.min(sp.slots, s.shown[i] + 1);
}

/** Whether a slot of `sp` before `p` holds a committed token with text (not only whitespace). */
function textBefore(s: DenoiseState, sp: CanvasSpan, p: number): boolean {
  const blank = s.allowed.blank.get(sp.blankIds!)!;
  for (let q = sp.offset; q < p; q++) if (s.committed[q] && !blank[s.ids[q]]) return true;
  return false;
}

/**
 * Shows more of a variable-length span once its shown slots are all written (and it has not
 * ended). The model judges a span's length by its masks: right after a finished line it
 * predicts pad when a few masks follow but more code when twenty do, so it is never shown
 * many more masks than it is about to write (DreamOn's length problem; LLaDA's blocks). The
 * window widens when the step budget needs it.
 */
function growWindows(s: DenoiseState, options: SamplerOptions): void {
  const stepsLeft = Math.max(1, options.maxSteps - s.steps);
  s.canvas.spans.forEach((sp, i) => {
    if (!sp.variableLength) return;
    const n = s.shown[i];
    if (n >= sp.slots || (n > 0 && s.ids[sp.offset + n - 1] === s.special.pad)) return;
    for (let p = sp.offset; p < sp.offset + n; p++) if (!s.committed[p]) return;
    const width = Math.max(options.blockLength, Math.ceil((sp.slots - n) / stepsLeft));
    s.shown[i] = Math.min(sp.slots, n + width);
  });
}

/** The canvas as the model sees it: hidden slots left out; `index` maps canvas → view. */
function modelView(s: DenoiseState): { ids: Int32Array; index: Int32Array } {
  const index = new Int32Array(s.ids.length).fill(-1);
  const out: number[] = [];
  for (let p = 0; p < s.ids.length; p++) {
    if (s.spanOf[p] >= 0 && !isShown(s, p)) continue;
    index[p] = out.length;
    out.push(s.ids[p]);
  }
  return { ids: Int32Array.from(out), index };
}

/** The candidates that may be committed this step, in the order they should be. */
function committable(s: DenoiseState, candidates: Candidate[], leftToRight: boolean): Candidate[] {
  if (leftToRight) return inOrderUpToPad(s, candidates);
  const wantsToken = new Set(candidates.filter((c) => c.id !== s.special.pad).map((c) => c.p));
  return candidates
    .filter((c) => c.id !== s.special.pad || (padFits(s, c.p, wantsToken) && mayEnd(s, c.p)))
    .sort(byConfidence);
}

/**
 * A span that must write text may end (take pad) only after a committed token with text. Pads at
 * a fresh span's far end are its surest slots, and each one committed shows the model fewer
 * masks, so it judges the span shorter still: left to itself, model v2 ended 30 % of
 * HumanEval-Infilling's single lines with nothing written. A slot that wants pad too early
 * waits (it is not given its best real token: that wrote second lines no one asked for).
 */
function mayEnd(s: DenoiseState, p: number): boolean {
  const sp = spanAt(s, p);
  return !sp.blankIds || textBefore(s, sp, p);
}

/**
 * A pad ends its span, so it is committed at p only when no later slot holds a committed token
 * and every later masked slot wants pad too: the span visibly ends there.
 */
function padFits(s: DenoiseState, p: number, wantsToken: Set<number>): boolean {
  const sp = spanAt(s, p);
  for (let q = p + 1; q < sp.offset + sp.slots; q++) {
    if (s.committed[q] ? s.ids[q] !== s.special.pad : wantsToken.has(q)) return false;
  }
  return true;
}

/**
 * Left-to-right order: the open slots in canvas order, each span's up to and including its
 * first pad (a pad ends the span, as an end-of-text token ends autoregressive decoding).
 */
function inOrderUpToPad(s: DenoiseState, candidates: Candidate[]): Candidate[] {
  const ended = new Set<number>();
  return [...candidates]
    .sort((a, b) => a.p - b.p)
    .filter((c) => {
      if (ended.has(s.spanOf[c.p])) return false;
      if (c.id !== s.special.pad) return true;
      ended.add(s.spanOf[c.p]);
      return mayEnd(s, c.p);
    });
}

/**
 * Out of time (or calls): every open slot takes the candidate it had at the last step, in
 * order, so that a pad still ends its span; slots never shown are surplus (pad). These slots
 * count as confidence 0.
 */
function finishWithCandidates(s: DenoiseState, masked: Int32Array, lastCandidates: Map<number, number>): void {
  for (const p of masked) if (!s.committed[p]) commitSlot(s, p, lastCandidates.get(p) ?? s.special.pad, 0);
  for (const sp of s.canvas.spans) {
    for (let p = sp.offset; p < sp.offset + sp.slots; p++) if (!s.committed[p]) commitSlot(s, p, s.special.pad, 0);
  }
}

/** Re-masks the least probable `fraction` of the written tokens under a fresh look; returns how many. */
async function selfCorrect(model: LogitsModel, s: DenoiseState, fraction: number): Promise<number> {
  const filled = spanPositions(s, (p) => s.ids[p] !== s.special.pad);
  if (filled.length === 0) return 0;
  const logits = await model.logits(s.ids, filled);
  s.steps++;
  const probs = Array.from(filled, (p, row) => tokenProbability(logits, row, s.vocab, s.ids[p], allowedAt(s, p)));
  const order = [...filled.keys()].sort((a, b) => probs[a] - probs[b] || a - b);
  const n = Math.min(filled.length, Math.max(1, Math.round(fraction * filled.length)));
  for (const r of order.slice(0, n)) remaskSlot(s, filled[r]);
  return n;
}

/** Each span's tokens (pads dropped, and an expansion left unresolved at the deadline) and confidence. */
function result(s: DenoiseState, stoppedBy: StopReason): DenoisedSpans {
  const spans: Int32Array[] = [];
  const confidence: number[] = [];
  for (const sp of s.canvas.spans) {
    const tokens: number[] = [];
    const probs: number[] = [];
    for (let p = sp.offset; p < sp.offset + sp.slots; p++) {
      if (!s.committed[p]) continue;
      probs.push(s.confidence[p]);
      if (s.ids[p] === s.special.pad) break; // the pads after the first repeat its probability
      if (s.ids[p] !== s.special.expand) tokens.push(s.ids[p]);
    }
    spans.push(Int32Array.from(tokens));
    confidence.push(spanConfidence(probs));
  }
  return { spans, confidence, steps: s.steps, stoppedBy };
}

/** Canvas positions of all span slots satisfying `keep`, in canvas order. */
function spanPositions(s: DenoiseState, keep: (p: number) => boolean): Int32Array {
  const out: number[] = [];
  for (const sp of s.canvas.spans) for (let p = sp.offset; p < sp.offset + sp.slots; p++) if (keep(p)) out.push(p);
  return Int32Array.from(out);
}

interface AllowedTables {
  /** Any real token, pad or expand. */
  withPad: Uint8Array;
  /** Any real token or pad: a variable-length span with no slot left to grow into. */
  withPadNoExpand: Uint8Array;
  /** Any real token. */
  plain: Uint8Array;
  /** A healed span's first slot: the tokens that begin with its healed text. */
  first: Map<CanvasSpan, Uint8Array>;
  /** Each `blankIds` list of the spans as a table. */
  blank: Map<Int32Array, Uint8Array>;
}

/** Which ids a slot may take: never mask/bos/eos; pad and expand only in variable-length spans. */
function allowedTables(vocab: number, special: SpecialTokens, spans: readonly CanvasSpan[]): AllowedTables {
  const withPad = realTokenTable(vocab, special, true);
  const withPadNoExpand = withPad.slice();
  if (special.expand !== undefined) withPadNoExpand[special.expand] = 0;
  const plain = realTokenTable(vocab, special, false);
  const first = new Map<CanvasSpan, Uint8Array>();
  const blank = new Map<Int32Array, Uint8Array>();
  for (const sp of spans) {
    if (sp.blankIds && !blank.has(sp.blankIds)) blank.set(sp.blankIds, idTable(vocab, sp.blankIds));
    if (sp.firstAllowed) first.set(sp, idTable(vocab, sp.firstAllowed, plain));
  }
  return { withPad, withPadNoExpand, plain, first, blank };
}

/** `ids` as a table over the vocabulary (only those also in `within`, when given). */
function idTable(vocab: number, ids: Int32Array, within?: Uint8Array): Uint8Array {
  const t = new Uint8Array(vocab);
  for (const id of ids) if (id >= 0 && id < vocab && (!within || within[id])) t[id] = 1;
  return t;
}
