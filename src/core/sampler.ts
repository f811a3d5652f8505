import type { Canvas, CanvasSpan } from './canvas';
import { SeededRandom } from './rng';
import { commitCount, type CommitSchedule } from './schedule';
import type { SpecialTokens } from './specialTokens';
import { chooseToken, tokenProbability } from './tokenChoice';

/**
 * The denoiser as the sampler sees it: logits for some positions of a canvas.
 * `positions` lists canvas indices; the result is row-major [positions.length, vocabSize].
 */
export interface LogitsModel {
  readonly vocabSize: number;
  logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array>;
}

/** The knobs a user turns. */
export interface SamplerOptions extends CommitSchedule {
  /** Most model calls one request may make (the step budget). */
  maxSteps: number;
  temperature: number;
  topP: number;
  seed: number;
  /**
   * Refine strength in (0, 1]: the fraction of each span's original tokens that is re-masked,
   * chosen as the ones the model trusts least (one scoring pass). 1 regenerates the span.
   */
  strength: number;
  /**
   * Self-correction: after the spans are complete, re-mask this fraction of their committed
   * tokens (the least probable under a fresh look at the whole canvas) and denoise them again.
   */
  remask: number;
  /** Epoch ms after which the current state is returned (remaining slots take their last candidates). */
  deadline?: number;
  /** Width of the window a variable-length span is denoised through, left to right (see openWindow). */
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

export interface DenoiseResult {
  /** Each span's final tokens, pads dropped. */
  spans: Int32Array[];
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
 * each step is one model call over the masked slots; the most confident candidates are
 * committed (threshold or fixed-k), never un-committed except by the optional self-correction.
 */
export async function denoise(
  model: LogitsModel,
  canvas: Canvas,
  special: SpecialTokens,
  options: SamplerOptions,
  hooks: DenoiseHooks = {},
): Promise<DenoiseResult> {
  const vocab = model.vocabSize;
  const ids = canvas.ids.slice();
  const committed = new Uint8Array(ids.length);
  const confidence = new Float32Array(ids.length);
  const spanOf = new Int32Array(ids.length).fill(-1);
  canvas.spans.forEach((s, i) => spanOf.fill(i, s.offset, s.offset + s.slots));
  const rng = new SeededRandom(options.seed);
  const now = hooks.now ?? Date.now;
  const allowed = allowedTables(vocab, special, canvas.spans);
  let steps = 0;
  const report = (): void =>
    hooks.onStep?.({ step: steps, maxSteps: options.maxSteps, ids, committed, confidence, spans: canvas.spans });

  // Refine at strength < 1: keep the tokens the model trusts, re-mask the rest.
  if (options.strength < 1 && canvas.spans.some((s) => s.original.length > 0)) {
    for (const s of canvas.spans) {
      ids.set(s.original.subarray(0, s.slots), s.offset);
      committed.fill(1, s.offset, s.offset + Math.min(s.slots, s.original.length));
    }
    const scored = spanPositions(canvas.spans, (p) => committed[p] === 1);
    const logits = await model.logits(ids, scored);
    steps++;
    const probs = Array.from(scored, (p, row) => tokenProbability(logits, row, vocab, ids[p], allowed.plain));
    for (const span of canvas.spans) {
      const rows = [...scored.keys()].filter((r) => spanOf[scored[r]] === canvas.spans.indexOf(span));
      const n = Math.max(1, Math.round(options.strength * rows.length));
      rows.sort((a, b) => probs[a] - probs[b] || a - b);
      for (const r of rows.slice(0, n)) remaskSlot(scored[r]);
      for (const r of rows.slice(n)) confidence[scored[r]] = probs[r];
    }
    report();
  }

  let corrected = options.remask <= 0;
  let lastCandidates = new Map<number, number>();
  for (;;) {
    const masked = spanPositions(canvas.spans, (p) => committed[p] === 0);
    if (masked.length === 0) {
      if (corrected || steps >= options.maxSteps) break;
      corrected = true;
      if ((await selfCorrect()) === 0) break;
      continue;
    }
    if (hooks.isCancelled?.()) return finish('cancelled');
    const outOfTime = options.deadline !== undefined && now() >= options.deadline;
    if ((outOfTime || steps >= options.maxSteps) && lastCandidates.size > 0) {
      // Out of time (or calls): every remaining slot takes the candidate it had last step, in
      // order, so that a pad still ends its span.
      for (const p of masked) if (!committed[p]) commitSlot(p, lastCandidates.get(p) ?? special.pad, 0);
      report();
      return finish(outOfTime ? 'deadline' : 'done');
    }
    const logits = await model.logits(ids, masked);
    steps++;
    // A model call can take a while: honour cancellation before changing anything.
    if (hooks.isCancelled?.()) return finish('cancelled');
    const candidates = Array.from(masked, (p, row) => {
      const choice = chooseToken(logits, row, vocab, {
        temperature: options.temperature,
        topP: options.topP,
        rng,
        allowed: allowedAt(p),
      });
      return { p, ...choice };
    });
    lastCandidates = new Map(candidates.map((c) => [c.p, c.id]));
    const window = openWindow(masked, options.maxSteps - steps + 1);
    const wantsToken = new Set(candidates.filter((c) => c.id !== special.pad).map((c) => c.p));
    const eligible = candidates
      .filter((c) => window.has(c.p) && (c.id !== special.pad || padFits(c.p, wantsToken)))
      .sort((a, b) => b.confidence - a.confidence || a.p - b.p);
    const stepsLeft = options.maxSteps - steps + 1;
    // the budget counts every masked slot, not only the open ones
    const n = Math.min(eligible.length, Math.max(
      commitCount(eligible.map((c) => c.confidence), stepsLeft, options), Math.ceil(masked.length / stepsLeft)));
    for (const c of eligible.slice(0, n)) if (!committed[c.p]) commitSlot(c.p, c.id, c.confidence);
    report();
  }
  return finish('done');

  function finish(stoppedBy: StopReason): DenoiseResult {
    const spans = canvas.spans.map((s) => {
      const out: number[] = [];
      for (let p = s.offset; p < s.offset + s.slots; p++) if (committed[p] && ids[p] !== special.pad) out.push(ids[p]);
      return Int32Array.from(out);
    });
    return { spans, steps, stoppedBy };
  }

  function commitSlot(p: number, id: number, conf: number): void {
    ids[p] = id;
    committed[p] = 1;
    confidence[p] = conf;
    if (id === special.pad) {
      // Once a pad is committed every later slot of the span is surplus.
      const s = canvas.spans[spanOf[p]];
      for (let q = p + 1; q < s.offset + s.slots; q++) {
        ids[q] = special.pad;
        committed[q] = 1;
        confidence[q] = conf;
      }
    }
  }

  function remaskSlot(p: number): void {
    ids[p] = special.mask;
    committed[p] = 0;
    confidence[p] = 0;
  }

  function allowedAt(p: number): Uint8Array {
    const s = canvas.spans[spanOf[p]];
    if (p === s.offset && s.firstAllowed) return allowed.first.get(s)!;
    return s.variableLength ? allowed.withPad : allowed.plain;
  }

  /**
   * The masked slots a step may commit. A variable-length span is denoised through a window of
   * `blockLength` slots that starts at its first masked slot (LLaDA's semi-autoregressive
   * blocks): the model cannot tell where a span ends before it has written what comes first,
   * and committing confident tokens (or pads) far down the span first either fills every
   * surplus slot or pads the span away. The window widens when the step budget needs it.
   * Fixed-length spans are open everywhere.
   */
  function openWindow(masked: Int32Array, stepsLeft: number): Set<number> {
    const open = new Set<number>();
    for (const s of canvas.spans) {
      const mine = Array.from(masked).filter((p) => spanOf[p] === canvas.spans.indexOf(s));
      if (!s.variableLength) {
        mine.forEach((p) => open.add(p));
        continue;
      }
      const width = Math.max(options.blockLength, Math.ceil(mine.length / Math.max(1, stepsLeft)));
      const end = (mine[0] ?? 0) + width;
      for (const p of mine) if (p < end) open.add(p);
    }
    return open;
  }

  /**
   * A pad ends its span, so it is committed at p only when no later slot holds a committed token
   * and every later masked slot wants pad too: the span visibly ends there.
   */
  function padFits(p: number, wantsToken: Set<number>): boolean {
    const s = canvas.spans[spanOf[p]];
    for (let q = p + 1; q < s.offset + s.slots; q++) {
      if (committed[q] ? ids[q] !== special.pad : wantsToken.has(q)) return false;
    }
    return true;
  }

  /** Re-masks the least probable committed tokens; returns how many. */
  async function selfCorrect(): Promise<number> {
    const filled = spanPositions(canvas.spans, (p) => ids[p] !== special.pad);
    if (filled.length === 0) return 0;
    const logits = await model.logits(ids, filled);
    steps++;
    const probs = Array.from(filled, (p, row) => tokenProbability(logits, row, vocab, ids[p], allowedAt(p)));
    const order = [...filled.keys()].sort((a, b) => probs[a] - probs[b] || a - b);
    const n = Math.min(filled.length, Math.max(1, Math.round(options.remask * filled.length)));
    for (const r of order.slice(0, n)) remaskSlot(filled[r]);
    report();
    return n;
  }
}

/** Canvas positions of all span slots satisfying `keep`, in canvas order. */
function spanPositions(spans: readonly CanvasSpan[], keep: (p: number) => boolean): Int32Array {
  const out: number[] = [];
  for (const s of spans) for (let p = s.offset; p < s.offset + s.slots; p++) if (keep(p)) out.push(p);
  return Int32Array.from(out);
}

/** Which ids a slot may take: never mask/bos/eos; pad only in variable-length spans. */
function allowedTables(vocab: number, special: SpecialTokens, spans: readonly CanvasSpan[]) {
  const withPad = new Uint8Array(vocab).fill(1);
  withPad[special.mask] = 0;
  withPad[special.bos] = 0;
  withPad[special.eos] = 0;
  const plain = withPad.slice();
  plain[special.pad] = 0;
  const first = new Map<CanvasSpan, Uint8Array>();
  for (const s of spans) {
    if (!s.firstAllowed) continue;
    const t = new Uint8Array(vocab);
    for (const id of s.firstAllowed) if (plain[id]) t[id] = 1;
    first.set(s, t);
  }
  return { withPad, plain, first };
}
