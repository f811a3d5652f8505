import * as ort from 'onnxruntime-node';
import type { LogitsModel } from '../core/sampler/sampler';
import { ContextCache, type CacheGraph, type CacheGraphOutput } from '../core/sampler/contextCache';
import type { GraphNames } from '../modelFolder/manifest';

/**
 * A LogitsModel over an onnxruntime session. When the graph has a positions input, only the
 * requested positions' logits are computed (most of the canvas is context); otherwise the
 * full [1, seq, vocab] output is sliced here. A graph with the cache inputs answers plain calls
 * too (no past, token positions 0..n-1), and gives each denoising run a ContextCache.
 */
export class OnnxLogitsModel implements LogitsModel, CacheGraph {
  constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
    private readonly names: GraphNames,
  ) {}

  forRun(): LogitsModel {
    return this.names.cache ? new ContextCache(this, this.names.cache.shape) : this;
  }

  async logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array> {
    if (this.names.cache) return (await this.run(ids, null, null, positions)).logits;
    const feeds: Record<string, ort.Tensor> = { [this.names.ids]: int64(ids, [1, ids.length]) };
    if (this.names.positions) feeds[this.names.positions] = int64(positions, [1, positions.length]);
    const out = await this.session.run(feeds, [this.names.logits]);
    const data = this.checkedLogits(
      out[this.names.logits],
      this.names.positions ? positions.length : ids.length,
      ids,
      positions,
    );
    if (this.names.positions) return data;
    const picked = new Float32Array(positions.length * this.vocabSize);
    positions.forEach((p, r) =>
      picked.set(data.subarray(p * this.vocabSize, (p + 1) * this.vocabSize), r * this.vocabSize),
    );
    return picked;
  }

  /**
   * The cache graph: `ids` at canvas positions `at` (null: 0..n-1) attending also to `past`
   * (the other tokens' keys and values, null: none); logits at rows `rows` of `ids`.
   */
  async run(
    ids: Int32Array,
    at: Int32Array | null,
    past: { keys: Float32Array; values: Float32Array } | null,
    rows: Int32Array,
  ): Promise<CacheGraphOutput> {
    const c = this.names.cache!;
    const { layers, heads, headDim } = c.shape;
    const m = past ? past.keys.length / (layers * heads * headDim) : 0;
    const out = await this.session.run({
      [this.names.ids]: int64(ids, [1, ids.length]),
      [c.tokenPositions]: int64(at ?? Int32Array.from(ids, (_, i) => i), [1, ids.length]),
      [c.pastKeys]: new ort.Tensor('float32', past?.keys ?? new Float32Array(0), [layers, heads, m, headDim]),
      [c.pastValues]: new ort.Tensor('float32', past?.values ?? new Float32Array(0), [layers, heads, m, headDim]),
      [this.names.positions!]: int64(rows, [1, rows.length]),
    });
    const logits = this.checkedLogits(out[this.names.logits], rows.length, ids, rows);
    const keys = out[c.keys];
    const want = [layers, heads, ids.length, headDim];
    if (keys.type !== 'float32' || keys.dims.join() !== want.join() || out[c.values].dims.join() !== want.join()) {
      throw new Error(
        `model.onnx returned keys/values of shape [${keys.dims.join(', ')}]; denoiser.json's "cache" says [${want.join(', ')}]`,
      );
    }
    return { logits, keys: keys.data as Float32Array, values: out[c.values].data as Float32Array };
  }

  /**
   * The contract, checked on every answer (it costs nothing next to the forward pass): float32
   * logits [1, rows, vocab], one row per asked position with `positions`, per token without.
   */
  private checkedLogits(logits: ort.Tensor, rows: number, ids: Int32Array, positions: Int32Array): Float32Array {
    if (logits.type !== 'float32')
      throw new Error(`model.onnx returned ${logits.type} logits; the contract needs float32`);
    const dims = logits.dims;
    const width = dims[dims.length - 1];
    if (width !== this.vocabSize) {
      throw new Error(`model.onnx returned logits of width ${width}, but the tokenizer has ${this.vocabSize} tokens`);
    }
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== rows) {
      const asked = this.names.positions ? `${positions.length} positions` : `${ids.length} tokens`;
      throw new Error(
        `model.onnx returned logits of shape [${dims.join(', ')}] for ${asked}; the contract needs [1, ${rows}, ${this.vocabSize}]`,
      );
    }
    return logits.data as Float32Array;
  }
}

function int64(values: Int32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}
