// Serves refine / fill / complete requests on a loaded model: turns request text into a canvas,
// runs the core sampler and turns the tokens back into text edits. No process or ONNX details
// here, so the same code runs in the worker and in tests against a fake model.
import { CallCost, contextWithin } from '../core/sampler/callCost';
import { buildCanvas, type Canvas } from '../core/sampler/canvas';
import { DEFAULTS, STRENGTH_RANGE } from '../core/defaults';
import { tokenOffsets } from '../core/sampler/correctorRules';
import { toLf, withEol } from '../core/text/lineEndings';
import { chooseToken, tokenProbability } from '../core/sampler/tokenChoice';
import { denoise, type LogitsModel, type SamplerOptions, type StepState } from '../core/sampler/sampler';
import { cursorsProblem, selectionProblem } from '../core/text/requestChecks';
import { realTokenTable, type SpecialTokens } from '../core/sampler/specialTokens';
import { MAX_CHARS_PER_TOKEN } from '../core/text/textWindow';
import {
  prepareSpans,
  spanProgressText,
  spanReplacement,
  type CharRange,
  type SpanEdges,
  type TokenCodec,
} from '../core/text/spanText';
import {
  carriedReplacements,
  coversEveryUse,
  followsEdit,
  rescoreRegions,
  textChange,
  undoesEdit,
} from '../core/nextEdit/nextEditRegions';
import { correctSelection, rateRewrite, type CorrectorModel, type ScoredSelection } from './correctSelection';
import type {
  CompleteParams,
  ContextSettings,
  DenoiseResult,
  FillParams,
  NextEditParams,
  ProgressParams,
  RefineParams,
  SamplerSettings,
  AlternativesParams,
  AlternativesResult,
  ScoreParams,
  ScoreResult,
  TokenScore,
} from '../backend/requests';

export class BadInputError extends Error {}

export interface EngineHooks {
  onProgress?: (p: ProgressParams) => void;
  isCancelled?: () => boolean;
}

export class CancelledError extends Error {
  constructor() {
    super('request cancelled');
  }
}

/** Spans get at least half the canvas: context beyond that share is trimmed, not the spans. */
const MAX_CONTEXT_SHARE = 0.5;
/** bos and eos. */
const EDGE_TOKENS = 2;
/** However small the model's context, a span gets this many slots. */
const MIN_SPAN_ROOM = 8;

/** What a request brings besides its spans. */
type RequestText = {
  text: string;
  requestId: string;
  sampler?: SamplerSettings;
  context?: ContextSettings;
  progress?: boolean;
  sentAt?: number;
};
/** How a request's spans are denoised. */
type SpanKind = {
  variableLength: boolean;
  slotsFor: (orig: Int32Array) => number;
  /** A fill or completion asks for code: the span may not end before it writes some. */
  mustWrite?: boolean;
};
/**
 * Ghost-text candidates after the first are sampled from the model's own distribution, so their
 * confidences compare with the greedy one's (tempered samples looked surer than they are). On the
 * editor-view cases the best of 3 by confidence was the greedy one in nearly every case (exact
 * 17 of 400 with 1 candidate, 16 with 3), so candidates serve cycling (Alt+]), not the first
 * suggestion.
 */
const CANDIDATE_TEMPERATURE = 1;
/**
 * The share of a time budget (ghost text's) the first, full call may take. The sampler starts
 * no call that a call as long as the run's longest could not finish in time, so a third leaves
 * room for the cheaper span-only calls of the context cache that follow.
 */
const FULL_CALL_SHARE = 1 / 3;
/**
 * Next edit's corrector: it doubts as Refine does and keeps a regenerated stretch on Refine's
 * margin; the user's edit carried to another occurrence of what it replaced is kept when the
 * model rates it above the stale original at all (measured: bench/quality/nextEdit.ts).
 */
const NEXT_EDIT_STRENGTH = DEFAULTS.strength;
const NEXT_EDIT_MARGIN = 3;
const NEXT_EDIT_SUBSTITUTE_MARGIN = 0;

/**
 * A rewrite (Refine at strength 1) whose mean log-probability is more than this below the
 * original's comes back flagged `belowOriginal` (see requests.ts), not as a proposal. Whole
 * selections differ by hundredths of a nat a token (the corrector's stretches by several), so any
 * preference for the original counts: on the bench's clean regions 16 of 60 rewrites were
 * flagged, and none of the 60 was the code (scripts/strengthOneRewrites.ts).
 */
const BELOW_ORIGINAL_MARGIN = 0;

export class Engine {
  private blank?: Int32Array;
  /** What a full call costs on this machine now (see core/sampler/callCost.ts). */
  private readonly cost = new CallCost();

  constructor(
    private readonly model: LogitsModel,
    private readonly codec: TokenCodec,
    private readonly special: SpecialTokens,
    private readonly contextLength: number,
  ) {}

  refine(p: RefineParams, hooks: EngineHooks = {}): Promise<DenoiseResult> {
    const bad = selectionProblem(p.text, p.start, p.end);
    if (bad) throw new BadInputError(bad);
    const strength = p.strength ?? DEFAULTS.strength;
    if (!(strength >= STRENGTH_RANGE.min && strength <= STRENGTH_RANGE.max)) {
      throw new BadInputError(
        `strength must be from ${STRENGTH_RANGE.min} to ${STRENGTH_RANGE.max}, got ${p.strength}`,
      );
    }
    if (strength < 1) {
      return this.run(p, [{ start: p.start, end: p.end }], hooks, (q, [r], h) =>
        correctSelection(this.corrector(q, h), r.start, r.end, strength),
      );
    }
    return this.run(p, [{ start: p.start, end: p.end }], hooks, async (q, r, h) => {
      const result = await this.runLf(q, r, h, {
        variableLength: true,
        slotsFor: (orig) => Math.ceil(orig.length * DEFAULTS.refineSlack) + DEFAULTS.refineExtraSlots,
        // A rewrite is asked for code too: left to end early, model v2 rewrote the demo's five
        // lines of `median` into nothing.
        mustWrite: true,
      });
      const e = result.edits[0];
      if (e.text === q.text.slice(e.start, e.end)) return result;
      // the rewrite against the code it replaces, on the corrector's measure (issue 27: at strength 1
      // the shipped model rewrote working code into one line, and nothing checked)
      const rating = await rateRewrite(this.corrector(q, h), e.start, e.end, e.text);
      // (its two calls are not among the steps: the progress counted to the rewrite's budget)
      return rating.original - rating.proposal > BELOW_ORIGINAL_MARGIN ? { ...result, belowOriginal: rating } : result;
    });
  }

  fill(p: FillParams, hooks: EngineHooks = {}): Promise<DenoiseResult> {
    const bad = cursorsProblem(p.text, p.cursors);
    if (bad) throw new BadInputError(bad);
    const cursors = [...new Set(p.cursors)].sort((a, b) => a - b);
    const slots = positiveInt(p.maxTokens ?? DEFAULTS.fillTokens, 'maxTokens');
    return this.run(
      p,
      cursors.map((c) => ({ start: c, end: c })),
      hooks,
      (q, r, h) => this.runLf(q, r, h, { variableLength: true, slotsFor: () => slots, mustWrite: true }),
    );
  }

  async complete(p: CompleteParams, hooks: EngineHooks = {}): Promise<DenoiseResult> {
    const slots = positiveInt(p.maxTokens ?? DEFAULTS.completeTokens, 'maxTokens');
    const wanted = positiveInt(p.candidates ?? 1, 'candidates');
    const text = p.prefix + p.suffix;
    const at = p.prefix.length;
    p = this.withinBudget(p, slots);
    const decode = (q: CompleteParams): Promise<DenoiseResult> =>
      this.run({ ...q, text }, [{ start: at, end: at }], hooks, (r, ranges, h) =>
        this.runLf(r, ranges, h, { variableLength: true, slotsFor: () => slots, mustWrite: true }),
      );
    const first = await decode(p);
    if (wanted === 1) return first;
    // More candidates: the request's own decoding first, then samples under other seeds while the
    // time budget lasts; best by confidence first, duplicates out.
    const runs = [first];
    const seed = p.sampler?.seed ?? DEFAULTS.seed;
    const deadline =
      p.sampler?.timeBudgetMs !== undefined ? (p.sentAt ?? Date.now()) + p.sampler.timeBudgetMs : Infinity;
    for (let k = 1; k < wanted && Date.now() < deadline && first.stoppedBy !== 'deadline'; k++) {
      runs.push(await decode({ ...p, sampler: { ...p.sampler, temperature: CANDIDATE_TEMPERATURE, seed: seed + k } }));
    }
    const seen = new Set<string>();
    const candidates = runs
      .map((r) => r.edits[0])
      .sort((a, b) => b.confidence - a.confidence)
      .filter((e) => {
        if (seen.has(e.text)) return false;
        seen.add(e.text);
        return true;
      });
    return {
      ...first,
      edits: [candidates[0]],
      candidates,
      steps: runs.reduce((n, r) => n + r.steps, 0),
      ms: runs.reduce((n, r) => n + r.ms, 0),
    };
  }

  /**
   * The edit that follows the user's last one, from the model's own self-correction: one
   * corrector pass over the lines the edit bears on (core/nextEdit/nextEditRegions.ts), the edited lines
   * visible as context and never rewritten. What the model doubts there is regenerated; where
   * the edit replaced one token by another, the replacement carried to the token's other
   * occurrences is offered too. Each rewrite is kept only when the model rates it above the
   * original (the corrector's rule; the carried replacements all together or none), and the
   * proposal, one edit, must not undo the user's edit, must only carry it on (followsEdit) and must
   * cover every use it is about (coversEveryUse). None when every line fits.
   */
  nextEdit(p: NextEditParams, hooks: EngineHooks = {}): Promise<DenoiseResult> {
    const bad = cursorsProblem(p.text, [p.cursor]);
    if (bad) throw new BadInputError(bad);
    const before = toLf(p.before).text;
    return this.run(p, [], hooks, async (q, _, h) => {
      const t0 = Date.now();
      const model = this.corrector(q, h);
      let steps = 0;
      let canvasTokens = 0;
      const regions = rescoreRegions(before, q.text);
      if (regions.length > 0) {
        const start = Math.min(...regions.map((r) => r.start));
        const end = Math.max(...regions.map((r) => r.end));
        const substitutes = carriedReplacements(before, q.text, regions);
        const r = await correctSelection(model, start, end, NEXT_EDIT_STRENGTH, {
          margin: NEXT_EDIT_MARGIN,
          substituteMargin: NEXT_EDIT_SUBSTITUTE_MARGIN,
          substitutes,
          substitutesTogether: true,
          within: regions,
        });
        steps += r.steps;
        canvasTokens = r.canvasTokens;
        const e = r.edits[0];
        const change = textChange(q.text.slice(e.start, e.end), e.text);
        const proposal = change && {
          start: e.start + change.start,
          end: e.start + change.beforeEnd,
          text: e.text.slice(change.start, change.afterEnd),
          confidence: e.confidence,
        };
        if (
          proposal &&
          !undoesEdit(before, q.text, proposal) &&
          followsEdit(before, q.text, proposal) &&
          coversEveryUse(before, q.text, proposal)
        ) {
          return { edits: [proposal], steps, ms: Date.now() - t0, stoppedBy: r.stoppedBy, canvasTokens };
        }
      }
      return { edits: [], steps, ms: Date.now() - t0, stoppedBy: 'done', canvasTokens };
    });
  }

  /**
   * A request with a time budget reads no more context than a full call can read in a third
   * of the budget, as measured on this machine's last calls (nothing changes for a model that
   * reads the whole window in time, or before any call was measured).
   */
  private withinBudget(p: CompleteParams, slots: number): CompleteParams {
    const budget = p.sampler?.timeBudgetMs;
    const fits = budget !== undefined ? this.cost.tokensWithin(budget * FULL_CALL_SHARE) : undefined;
    if (fits === undefined) return p;
    const prefix = p.context?.prefixTokens ?? DEFAULTS.prefixTokens;
    const suffix = p.context?.suffixTokens ?? DEFAULTS.suffixTokens;
    const context = contextWithin(prefix, suffix, fits - slots - EDGE_TOKENS);
    return context.prefixTokens === prefix && context.suffixTokens === suffix
      ? p
      : { ...p, context: { ...p.context, ...context } };
  }

  /** A run's model, timing its first call: with or without the context cache, that one reads the whole canvas. */
  private timedRun(): LogitsModel {
    const model = this.model.forRun?.() ?? this.model;
    let first = true;
    return {
      vocabSize: model.vocabSize,
      logits: async (ids, positions) => {
        const t0 = Date.now();
        const out = await model.logits(ids, positions);
        if (first) this.cost.observe(ids.length, Date.now() - t0);
        first = false;
        return out;
      },
    };
  }

  /** The engine lent to the corrector for one request (its LF text). */
  private corrector(q: RequestText, h: EngineHooks): CorrectorModel {
    return {
      text: q.text,
      score: (text, start, end) => this.score({ ...q, text }, start, end),
      regenerate: (ranges, extraSlots, onProgress) =>
        this.runLf(q, ranges, { ...h, onProgress }, { variableLength: true, slotsFor: (o) => o.length + extraSlots }),
      throwIfCancelled: () => {
        if (h.isCancelled?.()) throw new CancelledError();
      },
      onProgress: h.onProgress,
    };
  }

  /**
   * Runs a request on its LF form (see core/text/lineEndings.ts) and answers in the text's own line
   * endings: offsets of the original text, CRLF in the edits and the progress of a CRLF text.
   */
  private async run(
    p: RequestText,
    ranges: CharRange[],
    hooks: EngineHooks,
    job: (p: RequestText, ranges: CharRange[], hooks: EngineHooks) => Promise<DenoiseResult>,
  ): Promise<DenoiseResult> {
    const lf = toLf(p.text);
    const eol = (text: string): string => withEol(text, lf.crlf);
    const onProgress =
      hooks.onProgress &&
      ((q: ProgressParams) => hooks.onProgress!({ ...q, spans: q.spans.map((s) => ({ ...s, text: eol(s.text) })) }));
    const result = await job(
      { ...p, text: lf.text },
      ranges.map((r) => ({ start: lf.toLf(r.start), end: lf.toLf(r.end) })),
      { ...hooks, onProgress },
    );
    return {
      ...result,
      edits: result.edits.map((e) => ({ ...e, start: lf.fromLf(e.start), end: lf.fromLf(e.end), text: eol(e.text) })),
    };
  }

  private async runLf(p: RequestText, ranges: CharRange[], hooks: EngineHooks, span: SpanKind): Promise<DenoiseResult> {
    const t0 = Date.now();
    const { prepared, canvas, ranges: fitted } = this.layout(p, ranges, span);
    const slots = canvas.spans.reduce((n, s) => n + s.slots, 0);
    const options = samplerOptions(p.sampler, defaultStepBudget(slots), Math.min(t0, p.sentAt ?? t0));
    const onStep =
      p.progress && hooks.onProgress
        ? (s: StepState): void => hooks.onProgress!(this.progress(p.requestId, s, prepared.edges))
        : undefined;
    const result = await denoise(this.timedRun(), canvas, this.special, options, {
      onStep,
      isCancelled: hooks.isCancelled,
    });
    if (result.stoppedBy === 'cancelled') throw new CancelledError();
    const edits = fitted.map((r, i) => ({
      start: r.start,
      end: r.end,
      text: spanReplacement(this.codec, result.spans[i], prepared.edges[i]),
      confidence: result.confidence[i],
    }));
    return {
      edits,
      steps: result.steps,
      stepBudget: options.maxSteps,
      ms: Date.now() - t0,
      stoppedBy: result.stoppedBy,
      canvasTokens: canvas.ids.length,
    };
  }

  /**
   * The canvas a fill shows the model for spans of `slots` masks at `cursors` of `text` (LF line
   * endings), with the default context: what measurements of the model's view lay out
   * (bench/quality/spanEnd.ts).
   */
  fillCanvas(text: string, cursors: number[], slots: number): Canvas {
    return this.layout(
      { text, requestId: '' },
      cursors.map((c) => ({ start: c, end: c })),
      { variableLength: true, slotsFor: () => slots },
    ).canvas;
  }

  /** The ids whose text is only whitespace (or nothing), worked out once. */
  private blankIds(): Int32Array {
    this.blank ??= this.codec.idsStartingWith('', (t) => t.trim() === '');
    return this.blank;
  }

  /**
   * The canvas for `ranges` of the text. Spans longer than the model's context cannot be
   * denoised at once: they are cut to the part that fits, and the returned ranges say which part
   * (the rest of the text stays as it is).
   */
  private layout(p: RequestText, ranges: CharRange[], span: SpanKind) {
    const prefixTokens = positiveInt(p.context?.prefixTokens ?? DEFAULTS.prefixTokens, 'prefixTokens');
    const suffixTokens = positiveInt(p.context?.suffixTokens ?? DEFAULTS.suffixTokens, 'suffixTokens');
    const prepared = prepareSpans(this.codec, p.text, ranges, {
      prefixChars: prefixTokens * MAX_CHARS_PER_TOKEN,
      suffixChars: suffixTokens * MAX_CHARS_PER_TOKEN,
      slotsFor: span.slotsFor,
      variableLength: span.variableLength,
    });
    if (span.mustWrite) for (const s of prepared.spans) s.blankIds = this.blankIds();
    ranges = ranges.map((r) => ({ ...r }));
    const context = Math.min(prefixTokens + suffixTokens, Math.floor(this.contextLength * MAX_CONTEXT_SHARE));
    const room = Math.max(MIN_SPAN_ROOM, this.contextLength - EDGE_TOKENS - context);
    const slotTotal = prepared.spans.reduce((n, s) => n + s.slots, 0);
    if (slotTotal > room) {
      const scale = room / slotTotal;
      prepared.spans.forEach((s, i) => {
        s.slots = Math.max(1, Math.floor(s.slots * scale));
        if (s.original.length > s.slots) {
          const kept = this.keptPrefix(
            s.original,
            s.slots,
            prepared.edges[i].heal + p.text.slice(ranges[i].start, ranges[i].end),
          );
          s.original = s.original.subarray(0, kept.tokens);
          ranges[i].end = ranges[i].start + kept.chars - prepared.edges[i].heal.length;
          prepared.edges[i].tail = '';
        }
      });
    }
    const canvas = buildCanvas(
      prepared.contexts,
      prepared.spans,
      {
        prefix: prefixTokens,
        suffix: suffixTokens,
        total: this.contextLength,
      },
      this.special,
      { fileStart: prepared.fileStart, fileEnd: prepared.fileEnd },
    );
    return { prepared, canvas, ranges };
  }

  /**
   * Each token of `text[start, end)` scored with all of them visible (the corrector's pass, one
   * call), in the text's own offsets: Repair's ranking of candidates and its measure of doubt.
   */
  async scoreTokens(p: ScoreParams): Promise<ScoreResult> {
    const t0 = Date.now();
    const problem = selectionProblem(p.text, p.start, p.end);
    if (problem) throw new BadInputError(problem);
    const lf = toLf(p.text);
    const start = lf.toLf(p.start);
    const scored = await this.score({ ...p, text: lf.text }, start, lf.toLf(p.end));
    const tokens: TokenScore[] = [];
    for (let k = 0; k < scored.logProb.length; k++) {
      const from = Math.max(0, scored.offsets[k]);
      const to = Math.max(from, scored.offsets[k + 1]);
      tokens.push({
        start: lf.fromLf(start + from),
        end: lf.fromLf(start + to),
        logProb: scored.logProb[k],
        bestProb: scored.best[k],
      });
    }
    return { tokens, ms: Date.now() - t0, canvasTokens: scored.canvasTokens };
  }

  /**
   * One model call over `text[start, end)` with every token visible: each token's log-probability
   * and the probability of the model's best token at its slot (the substitution noise of
   * training taught the model to doubt visible tokens that do not fit).
   */
  private async score(p: RequestText, start: number, end: number): Promise<ScoredSelection> {
    const { prepared, canvas, ranges } = this.layout(p, [{ start, end }], {
      variableLength: false,
      slotsFor: (o) => o.length,
    });
    const span = canvas.spans[0];
    const tokens = span.original.subarray(0, span.slots);
    const ids = canvas.ids.slice();
    ids.set(tokens, span.offset);
    const positions = Int32Array.from(tokens, (_, k) => span.offset + k);
    const logits = await this.model.logits(ids, positions);
    const vocab = this.model.vocabSize;
    const plain = realTokenTable(vocab, this.special, false);
    const logProb = new Float64Array(tokens.length);
    const best = new Float64Array(tokens.length);
    const prob = new Float64Array(tokens.length);
    tokens.forEach((id, k) => {
      prob[k] = tokenProbability(logits, k, vocab, id, plain);
      logProb[k] = Math.log(Math.max(prob[k], 1e-12));
      best[k] = chooseToken(logits, k, vocab, { temperature: 0, topP: 1, allowed: plain }).confidence;
    });
    const heal = prepared.edges[0].heal.length;
    const offsets = tokenOffsets(tokens, (x) => this.codec.decode(x)).map((o) => o - heal);
    return { end: ranges[0].end, prob, best, logProb, offsets, canvasTokens: ids.length };
  }

  /**
   * The model's likeliest tokens at each slot of `text[start, end)` with the range masked (one
   * call): the ranked alternatives Repair tries at a doubted token, and the measure it ranks a
   * one-token replacement by. A slot's texts carry the healed text before the range (`heal`)
   * and the text after it that its last token holds (`tail`), as the tokens decode.
   */
  async alternatives(p: AlternativesParams): Promise<AlternativesResult> {
    const t0 = Date.now();
    const problem = selectionProblem(p.text, p.start, p.end);
    if (problem) throw new BadInputError(problem);
    if (p.end === p.start) throw new BadInputError('the range to mask is empty');
    const top = positiveInt(p.top ?? 16, 'top');
    const lf = toLf(p.text);
    const { prepared, canvas } = this.layout(
      { ...p, text: lf.text },
      [{ start: lf.toLf(p.start), end: lf.toLf(p.end) }],
      {
        variableLength: false,
        slotsFor: (o) => o.length,
      },
    );
    const span = canvas.spans[0];
    const positions = Int32Array.from({ length: span.slots }, (_, k) => span.offset + k);
    const logits = await this.model.logits(canvas.ids, positions);
    const vocab = this.model.vocabSize;
    const plain = realTokenTable(vocab, this.special, false);
    const slots = Array.from({ length: span.slots }, (_, k) => {
      const row = logits.subarray(k * vocab, (k + 1) * vocab);
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) if (plain[v] && row[v] > max) max = row[v];
      let z = 0;
      for (let v = 0; v < vocab; v++) if (plain[v]) z += Math.exp(row[v] - max);
      const best: number[] = [];
      for (let v = 0; v < vocab; v++) {
        if (!plain[v]) continue;
        if (best.length < top || row[v] > row[best[best.length - 1]]) {
          best.push(v);
          best.sort((a, b) => row[b] - row[a]);
          if (best.length > top) best.pop();
        }
      }
      return best.map((v) => ({
        text: withEol(this.codec.decode(Int32Array.of(v)), lf.crlf),
        logProb: row[v] - max - Math.log(z),
      }));
    });
    const edges = prepared.edges[0];
    // each candidate's tokens in the slots, the slots it leaves empty as pad: the model's joint
    // measure of a fill, each slot read with all of them masked
    const withPad = realTokenTable(vocab, this.special, true);
    const logSoftmax = (k: number) => {
      const row = logits.subarray(k * vocab, (k + 1) * vocab);
      let max = -Infinity;
      for (let v = 0; v < vocab; v++) if (withPad[v] && row[v] > max) max = row[v];
      let z = 0;
      for (let v = 0; v < vocab; v++) if (withPad[v]) z += Math.exp(row[v] - max);
      return (v: number) => row[v] - max - Math.log(z);
    };
    const rows = Array.from({ length: span.slots }, (_, k) => logSoftmax(k));
    const candidates = p.candidates?.map((c) => {
      const ids = this.codec.encode(edges.heal + toLf(c).text + edges.tail);
      if (ids.length > span.slots || ids.length === 0) return null;
      return rows.reduce((sum, lp, k) => sum + lp(k < ids.length ? ids[k] : this.special.pad), 0);
    });
    return { heal: edges.heal, tail: edges.tail, slots, ms: Date.now() - t0, ...(candidates ? { candidates } : {}) };
  }

  /** The longest run of at most `max` leading tokens whose text is a prefix of `text`. */
  private keptPrefix(tokens: Int32Array, max: number, text: string): { tokens: number; chars: number } {
    for (let n = max; n > 0; n--) {
      const decoded = this.codec.decode(tokens.subarray(0, n));
      if (text.startsWith(decoded)) return { tokens: n, chars: decoded.length };
    }
    return { tokens: 0, chars: 0 };
  }

  private progress(requestId: string, s: StepState, edges: SpanEdges[]): ProgressParams {
    return {
      requestId,
      step: s.step,
      maxSteps: s.maxSteps,
      spans: s.spans.map((span, i) =>
        spanProgressText(this.codec, {
          ids: s.ids,
          committed: s.committed,
          pad: this.special.pad,
          span,
          edges: edges[i],
        }),
      ),
    };
  }
}

function samplerOptions(s: SamplerSettings | undefined, defaultSteps: number, since: number): SamplerOptions {
  const threshold = s?.threshold ?? DEFAULTS.threshold;
  if (!(threshold >= 0 && threshold <= 1)) throw new BadInputError(`threshold must be in [0, 1], got ${threshold}`);
  const temperature = s?.temperature ?? DEFAULTS.temperature;
  if (!(temperature >= 0)) throw new BadInputError(`temperature must be ≥ 0, got ${temperature}`);
  const topP = s?.topP ?? DEFAULTS.topP;
  if (!(topP > 0 && topP <= 1)) throw new BadInputError(`topP must be in (0, 1], got ${topP}`);
  const remask = s?.remask ?? DEFAULTS.remask;
  if (!(remask >= 0 && remask < 1)) throw new BadInputError(`remask must be in [0, 1), got ${remask}`);
  return {
    maxSteps: s?.steps !== undefined ? positiveInt(s.steps, 'steps') : defaultSteps,
    threshold,
    tokensPerStep: s?.tokensPerStep !== undefined ? positiveInt(s.tokensPerStep, 'tokensPerStep') : undefined,
    leftToRight: s?.leftToRight === true,
    temperature,
    topP,
    seed: s?.seed ?? DEFAULTS.seed,
    remask,
    deadline: s?.timeBudgetMs !== undefined ? since + s.timeBudgetMs : undefined,
    blockLength: s?.blockLength !== undefined ? positiveInt(s.blockLength, 'blockLength') : DEFAULTS.blockLength,
  };
}

/**
 * Without an explicit budget a span gets about one model call per `slotsPerStep` slots: the
 * threshold commits more per step when the model is sure, the budget bounds the latency when it
 * is not. A larger budget does not buy quality: more calls let the sure pads at a span's end go
 * in first, and the span comes out short (measured in CHANGELOG, "Speed").
 */
export function defaultStepBudget(slots: number): number {
  return Math.min(DEFAULTS.maxSteps, Math.max(DEFAULTS.minSteps, Math.ceil(slots / DEFAULTS.slotsPerStep)));
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new BadInputError(`${name} must be a positive integer, got ${v}`);
  return v;
}
