import * as ort from 'onnxruntime-node';
import type { LogitsModel } from '../core/sampler';

/**
 * A LogitsModel over an onnxruntime session. When the graph has a positions input, only the
 * requested positions' logits are computed (most of the canvas is context); otherwise the
 * full [1, seq, vocab] output is sliced here.
 */
export class OnnxLogitsModel implements LogitsModel {
  constructor(
    private readonly session: ort.InferenceSession,
    readonly vocabSize: number,
    private readonly names: { ids: string; positions?: string; logits: string },
  ) {}

  async logits(ids: Int32Array, positions: Int32Array): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      [this.names.ids]: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]),
    };
    if (this.names.positions) {
      feeds[this.names.positions] = new ort.Tensor('int64', BigInt64Array.from(positions, (v) => BigInt(v)), [1, positions.length]);
    }
    const out = await this.session.run(feeds, [this.names.logits]);
    const logits = out[this.names.logits];
    // The contract, checked on every answer (it costs nothing next to the forward pass): float32
    // logits [1, rows, vocab], one row per asked position with `positions`, per token without.
    if (logits.type !== 'float32') throw new Error(`model.onnx returned ${logits.type} logits; the contract needs float32`);
    const rows = this.names.positions ? positions.length : ids.length;
    const dims = logits.dims;
    const width = dims[dims.length - 1];
    if (width !== this.vocabSize) {
      throw new Error(`model.onnx returned logits of width ${width}, but the tokenizer has ${this.vocabSize} tokens`);
    }
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== rows) {
      const asked = this.names.positions ? `${positions.length} positions` : `${ids.length} tokens`;
      throw new Error(`model.onnx returned logits of shape [${dims.join(', ')}] for ${asked}; the contract needs [1, ${rows}, ${this.vocabSize}]`);
    }
    const data = logits.data as Float32Array;
    if (this.names.positions) return data;
    const picked = new Float32Array(positions.length * width);
    positions.forEach((p, r) => picked.set(data.subarray(p * width, (p + 1) * width), r * width));
    return picked;
  }
}
