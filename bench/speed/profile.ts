// Where a ghost-text request's milliseconds go inside the worker: the same Engine the worker
// runs, in-process, with its model and tokenizer wrapped in timers. What is neither ONNX nor
// the tokenizer is the sampler's own work: building the canvas, the softmax over the
// vocabulary at every masked slot, choosing and committing tokens.
import { Engine } from '../../src/worker/engine';
import type { LoadedModel } from '../../src/worker/loadModel';
import type { LogitsModel } from '../../src/core/sampler/sampler';
import type { TokenCodec } from '../../src/core/text/spanText';
import { tokenProbability } from '../../src/core/sampler/tokenChoice';
import { round } from '../shared/cases';

export interface GhostProfile {
  cases: number;
  /** Means per request, in ms. */
  request_ms: number;
  onnx_ms: number;
  tokenizer_ms: number;
  /** Everything else: the softmaxes below, canvas, commits. */
  sampler_ms: number;
  /** Part of sampler_ms: one softmax over the vocabulary per row the model returned. */
  softmax_ms: number;
  model_calls: number;
}

export async function profileGhost(
  m: LoadedModel,
  cases: { prefix: string; suffix: string }[],
  request: { maxTokens: number },
): Promise<GhostProfile> {
  const { model, codec, times } = timedParts(m);
  const engine = new Engine(model, codec, m.manifest.special_tokens, m.manifest.context_length);
  let total = 0;
  let calls = 0;
  for (const [i, c] of cases.entries()) {
    const t = performance.now();
    const r = await engine.complete({ requestId: String(i), ...c, maxTokens: request.maxTokens });
    total += performance.now() - t - times.replay;
    times.replay = 0;
    calls += r.steps;
  }
  const n = cases.length;
  return {
    cases: n,
    request_ms: round(total / n, 2),
    onnx_ms: round(times.onnx / n, 2),
    tokenizer_ms: round(times.tokenizer / n, 2),
    sampler_ms: round((total - times.onnx - times.tokenizer) / n, 2),
    softmax_ms: round(times.softmax / n, 2),
    model_calls: round(calls / n, 2),
  };
}

/** Milliseconds spent so far in each part; `replay` is the softmax replay of the request under way. */
interface PartTimes {
  onnx: number;
  tokenizer: number;
  softmax: number;
  replay: number;
}

/** The folder's model and tokenizer wrapped in timers that add to `times`. */
function timedParts(m: LoadedModel): { model: LogitsModel; codec: TokenCodec; times: PartTimes } {
  const times: PartTimes = { onnx: 0, tokenizer: 0, softmax: 0, replay: 0 };
  // The sampler does one softmax per returned row. It is timed by doing the same pass again
  // on the same rows (a replay, kept out of the request's own time).
  const everything = new Uint8Array(m.model.vocabSize).fill(1);
  const timed = <T>(run: () => T): T => {
    const t = performance.now();
    try {
      return run();
    } finally {
      times.tokenizer += performance.now() - t;
    }
  };
  // The run's own model (the context cache, when the graph has one), with its calls timed.
  const timedModel = (inner: LogitsModel): LogitsModel => ({
    vocabSize: inner.vocabSize,
    logits: async (ids, positions) => {
      const t = performance.now();
      const out = await inner.logits(ids, positions);
      const t1 = performance.now();
      times.onnx += t1 - t;
      for (let row = 0; row < positions.length; row++) tokenProbability(out, row, inner.vocabSize, 0, everything);
      const t2 = performance.now();
      times.softmax += t2 - t1;
      times.replay += t2 - t1;
      return out;
    },
  });
  const model: LogitsModel = { ...timedModel(m.model), forRun: () => timedModel(m.model.forRun()) };
  const codec: TokenCodec = {
    encode: (s) => timed(() => m.codec.encode(s)),
    decode: (ids) => timed(() => m.codec.decode(ids)),
    idsStartingWith: (s, rest) => timed(() => m.codec.idsStartingWith(s, rest)),
  };
  return { model, codec, times };
}
