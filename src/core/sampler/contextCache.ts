// The approximate context cache of Fast-dLLM (Wu et al., 2025) for a bidirectional denoiser.
// Between two calls of one denoising run only a few slots change (the tokens just committed)
// and the context never does, so the context's keys and values are computed in one full call
// and reused: each later call runs the model only on the slots that changed since that call
// and the slots asked about, attending to the cached keys and values of all the others. The
// cached entries are stale (they were computed when the span held other tokens), which is the
// approximation; a full call refreshes them every few calls and whenever the canvas changes
// length (a variable-length span showing more slots moves every later position).
import type { LogitsModel } from './sampler';

/**
 * Layers, heads and head width of the keys and values ([layers, heads, tokens, headDim]); with
 * grouped-query attention `heads` is the key-value heads (denoiser.json `cache.kv_heads`).
 */
export interface CacheShape {
  layers: number;
  heads: number;
  headDim: number;
  /**
   * 1 when the logits of the token at canvas position p are computed from the hidden state at
   * p - 1 (Dream's shift, baked into the graph; denoiser.json `cache.logit_shift`): a cached call
   * must then recompute p - 1 with every asked p. 0 or absent: none.
   */
  logitShift?: number;
}

export interface CacheGraphOutput {
  /** [rows, vocab] */
  logits: Float32Array;
  /** [layers, heads, ids.length, headDim], the computed tokens' own keys and values. */
  keys: Float32Array;
  values: Float32Array;
}

/** A model graph with the cache inputs (the model contract's optional `cache`). */
export interface CacheGraph {
  readonly vocabSize: number;
  /**
   * `ids` at canvas positions `at` (null: 0..n-1), attending also to `past` (the other tokens'
   * keys and values, in canvas order; null: none); logits at rows `rows` of `ids`.
   */
  run(
    ids: Int32Array,
    at: Int32Array | null,
    past: { keys: Float32Array; values: Float32Array } | null,
    rows: Int32Array,
  ): Promise<CacheGraphOutput>;
}

/**
 * Every second call is a full one: refreshing less often made ghost text less exact, for a few
 * milliseconds (measured on the editor-view cases; CHANGELOG, "Context cache").
 */
export const CACHE_REFRESH_CALLS = 2;
/** When more than this share of the canvas must be computed anyway, a full call is as cheap. */
const MAX_RECOMPUTED_SHARE = 0.5;

/** The LogitsModel of one denoising run over a cache graph. */
export class ContextCache implements LogitsModel {
  private ref?: { ids: Int32Array; keys: Float32Array; values: Float32Array; calls: number };
  /** Full calls and cached calls made, for tests and profiles. */
  readonly counts = { full: 0, cached: 0 };

  constructor(
    private readonly graph: CacheGraph,
    private readonly shape: CacheShape,
    private readonly refreshCalls = CACHE_REFRESH_CALLS,
  ) {}

  get vocabSize(): number {
    return this.graph.vocabSize;
  }

  async logits(ids: Int32Array, asked: Int32Array): Promise<Float32Array> {
    const ref = this.ref;
    if (!ref || ref.ids.length !== ids.length || ref.calls >= this.refreshCalls) return this.full(ids, asked);
    const active = new Uint8Array(ids.length);
    for (let p = 0; p < ids.length; p++) if (ids[p] !== ref.ids[p]) active[p] = 1;
    const shift = this.shape.logitShift ?? 0;
    for (const p of asked) {
      active[p] = 1;
      if (shift && p >= shift) active[p - shift] = 1;
    }
    const at: number[] = [];
    for (let p = 0; p < ids.length; p++) if (active[p]) at.push(p);
    if (at.length > ids.length * MAX_RECOMPUTED_SHARE) return this.full(ids, asked);
    const row = new Int32Array(ids.length);
    at.forEach((p, i) => (row[p] = i));
    const past = this.pastWithout(active, ids.length - at.length);
    const out = await this.graph.run(
      Int32Array.from(at, (p) => ids[p]),
      Int32Array.from(at),
      past,
      Int32Array.from(asked, (p) => row[p]),
    );
    ref.calls++;
    this.counts.cached++;
    return out.logits;
  }

  private async full(ids: Int32Array, asked: Int32Array): Promise<Float32Array> {
    const out = await this.graph.run(ids, null, null, asked);
    this.ref = { ids: ids.slice(), keys: out.keys, values: out.values, calls: 1 };
    this.counts.full++;
    return out.logits;
  }

  /** The cached keys and values of every position not in `active` ([layers, heads, m, headDim]). */
  private pastWithout(active: Uint8Array, m: number): { keys: Float32Array; values: Float32Array } {
    const { layers, heads, headDim } = this.shape;
    const n = active.length;
    const keys = new Float32Array(layers * heads * m * headDim);
    const values = new Float32Array(keys.length);
    const ref = this.ref!;
    for (let lh = 0; lh < layers * heads; lh++) {
      let j = 0;
      for (let p = 0; p < n; p++) {
        if (active[p]) continue;
        const src = (lh * n + p) * headDim;
        const dst = (lh * m + j++) * headDim;
        keys.set(ref.keys.subarray(src, src + headDim), dst);
        values.set(ref.values.subarray(src, src + headDim), dst);
      }
    }
    return { keys, values };
  }
}
