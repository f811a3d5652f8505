// Refine below full strength: a corrector (docs/design.md: "Refine is a corrector first"). The model rates
// the selection with every token visible, only the stretches it doubts are regenerated (jointly,
// as variable-length spans), and each rewrite is kept only when the model then rates it above the
// original by REPAIR_MARGIN. The pure rules are in core/sampler/correctorRules.ts; the engine lends the model.
import { shiftedHunks, stretchScore, suspiciousRuns } from '../core/sampler/correctorRules';
import { applyEdits } from '../core/text/textEdit';
import { focusedRuns } from '../core/nextEdit/nextEditRegions';
import type { CharRange } from '../core/text/spanText';
import type { DenoiseResult, ProgressParams } from '../backend/requests';

/** A selection as the model rates it with every token visible (one model call). */
export interface ScoredSelection {
  /** End of the part that fitted the context (the selection's end when all of it did). */
  end: number;
  /** Each token's probability, log-probability, and its slot's best token's probability. */
  prob: Float64Array;
  logProb: Float64Array;
  best: Float64Array;
  /** Where each token starts in the selection, and the end; the first may be < 0 (healed text). */
  offsets: number[];
  canvasTokens: number;
}

/** What the corrector needs from the engine, for one request. */
export interface CorrectorModel {
  /** The request's text (LF). */
  text: string;
  /** Rates `text[start, end)` of a text (the request's, or a candidate's). */
  score(text: string, start: number, end: number): Promise<ScoredSelection>;
  /** Denoises `ranges` of the request's text jointly, each with `extraSlots` spare slots. */
  regenerate(ranges: CharRange[], extraSlots: number, onProgress?: (p: ProgressParams) => void): Promise<DenoiseResult>;
  throwIfCancelled(): void;
  onProgress?: (p: ProgressParams) => void;
}

/**
 * Chosen with `npm run bench:repair` on the shipped model (120 held-out cases a setting): a token
 * is doubted when its probability is below strength × REPAIR_DOUBT times its slot's best token's
 * (0.15 at the default strength; 0.5 doubted most of every line and the rewrites were noise); a
 * doubted stretch gets one slot more than its tokens (room for a missing `)`; more slots were
 * filled with junk); and a rewrite is kept only when its mean log-probability beats the
 * original's by REPAIR_MARGIN. The model rates text it wrote itself highly, so the margin is
 * large: at 0.5 a third of clean regions changed, at 2.5 5 %, at 3 almost none.
 */
const REPAIR_DOUBT = 0.3;
const REPAIR_EXTRA_SLOTS = 1;
const REPAIR_MARGIN = 3;

/** How a correction is focused (next edit); Refine uses none of it. Ranges are of the request's text. */
export interface CorrectionFocus {
  /** How much better (mean log-probability) a regenerated stretch must score to be kept. */
  margin?: number;
  /** Only doubted tokens inside these are regenerated (the rest of the span is context). */
  within?: CharRange[];
  /**
   * Rewrites proposed without regenerating (the user's own edit carried to another occurrence of
   * what it changed); scored with the rest and kept when they beat the original by `substituteMargin`.
   */
  substitutes?: { start: number; end: number; text: string }[];
  substituteMargin?: number;
  /**
   * The substitutes are kept all together or not at all, on their mean gain: the other uses of a
   * renamed name follow it everywhere or nowhere (half a rename breaks the code).
   */
  substitutesTogether?: boolean;
}

/** How the model rates a selection and a rewrite of it: each one's mean log-probability (nats a token). */
export interface RewriteRating {
  original: number;
  proposal: number;
}

/**
 * The corrector's measure over a whole rewrite (Refine at strength 1): the selection and `text`
 * in its place, each scored with every token visible in the same context (one model call each),
 * compared by `stretchScore` over all of its tokens, as the corrector compares a stretch.
 */
export async function rateRewrite(m: CorrectorModel, start: number, end: number, text: string): Promise<RewriteRating> {
  const before = await m.score(m.text, start, end);
  m.throwIfCancelled();
  const after = await m.score(m.text.slice(0, start) + text + m.text.slice(end), start, start + text.length);
  return {
    original: stretchScore(before.logProb, before.offsets, 0, before.end - start),
    proposal: stretchScore(after.logProb, after.offsets, 0, after.end - start),
  };
}

/** One edit over `[start, end)` (or the part that fitted); its text is the original when nothing is kept. */
export async function correctSelection(
  m: CorrectorModel,
  start: number,
  end: number,
  strength: number,
  focus: CorrectionFocus = {},
): Promise<DenoiseResult> {
  const margin = focus.margin ?? REPAIR_MARGIN;
  const local = (r: CharRange): CharRange => ({ start: r.start - start, end: r.end - start });
  const t0 = Date.now();
  const before = await m.score(m.text, start, end);
  end = before.end;
  const selection = m.text.slice(start, end);
  const at = (k: number): number => Math.min(selection.length, Math.max(0, before.offsets[k]));
  const doubted = suspiciousRuns(before.prob, before.best, strength * REPAIR_DOUBT)
    .map((r) => ({ start: at(r.from), end: at(r.to) }))
    .filter((r) => r.end > r.start);
  const substitutes = (focus.substitutes ?? [])
    .map((e) => ({ ...local(e), text: e.text, confidence: 1 }))
    .filter((e) => e.start >= 0 && e.end <= selection.length);
  const runs = (focus.within ? focusedRuns(doubted, [], focus.within.map(local)) : doubted).filter(
    (r) => !substitutes.some((e) => r.start < e.end && e.start < r.end),
  );
  let steps = 1;
  /** What progress counts to: the scoring pass alone, then the regeneration's budget and both scoring passes. */
  let budget = 1;
  const unchanged = (): DenoiseResult => ({
    edits: [{ start, end, text: selection, confidence: 1 }],
    steps,
    stepBudget: budget,
    ms: Date.now() - t0,
    stoppedBy: 'done',
    canvasTokens: before.canvasTokens,
  });
  if (runs.length === 0 && substitutes.length === 0) return unchanged();
  // Progress shows the whole selection, the regenerated stretches denoising inside it.
  const onProgress =
    m.onProgress &&
    ((q: ProgressParams) =>
      m.onProgress!({
        ...q,
        step: q.step + steps,
        maxSteps: q.maxSteps + 2,
        spans: [
          {
            text: applyEdits(
              selection,
              runs.map((r, i) => ({ ...r, text: q.spans[i].text })),
            ),
            masked: q.spans.reduce((n, s) => n + s.masked, 0),
          },
        ],
      }));
  const regenerated: DenoiseResult =
    runs.length > 0
      ? await m.regenerate(
          runs.map((r) => ({ start: start + r.start, end: start + r.end })),
          REPAIR_EXTRA_SLOTS,
          onProgress,
        )
      : { edits: [], steps: 0, ms: 0, stoppedBy: 'done', canvasTokens: before.canvasTokens };
  steps += regenerated.steps;
  budget = (regenerated.stepBudget ?? regenerated.steps) + 2;
  const hunks = regenerated.edits
    .map((e) => ({ start: e.start - start, end: e.end - start, text: e.text, confidence: e.confidence }))
    .concat(substitutes)
    .filter((h) => h.text !== selection.slice(h.start, h.end))
    .sort((a, b) => a.start - b.start);
  if (hunks.length === 0) return unchanged();
  m.throwIfCancelled();
  const candidate = applyEdits(selection, hunks);
  const after = await m.score(m.text.slice(0, start) + candidate + m.text.slice(end), start, start + candidate.length);
  steps++;
  const landed = shiftedHunks(hunks);
  const gain = (h: (typeof hunks)[number], i: number): number =>
    stretchScore(after.logProb, after.offsets, landed[i].from, landed[i].to) -
    stretchScore(before.logProb, before.offsets, h.start, h.end);
  const substituteMargin = focus.substituteMargin ?? margin;
  const gains = hunks.map(gain);
  const substituted = gains.filter((_, i) => substitutes.includes(hunks[i]));
  const together =
    focus.substitutesTogether && substituted.length > 0
      ? substituted.reduce((a, b) => a + b, 0) / substituted.length > substituteMargin
      : undefined;
  const kept = hunks.filter((h, i) =>
    substitutes.includes(h) ? (together ?? gains[i] > substituteMargin) : gains[i] > margin,
  );
  if (kept.length === 0) return unchanged();
  return {
    edits: [{ start, end, text: applyEdits(selection, kept), confidence: Math.min(...kept.map((h) => h.confidence)) }],
    steps,
    stepBudget: budget,
    ms: Date.now() - t0,
    stoppedBy: regenerated.stoppedBy,
    canvasTokens: regenerated.canvasTokens,
  };
}
