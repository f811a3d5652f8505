// The first step of loading a model folder (docs/design.md, "The model contract"): its files are there
// and its denoiser.json is valid, with a message naming the file and the problem otherwise. Kept
// apart from modelFolder.ts and free of onnxruntime and the tokenizer, so that the extension host
// can check a folder (the model picker) without loading either.
import fs from 'node:fs';
import path from 'node:path';
import type { SpecialTokens } from '../core/sampler/specialTokens';
import type { CacheShape } from '../core/sampler/contextCache';

/** The graph's tensor names (denoiser.json "inputs" / "outputs"). */
export interface GraphNames {
  ids: string;
  positions?: string;
  logits: string;
  /** The context cache's graph (all set, or none): see contextCache.ts. */
  cache?: {
    tokenPositions: string;
    pastKeys: string;
    pastValues: string;
    keys: string;
    values: string;
    shape: CacheShape;
  };
}

export const CONTRACT_VERSION = 1;
export const REQUIRED_FILES = ['denoiser.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json'];
/**
 * The smallest canvas the engine can lay out: bos and eos, a span of at least 8 slots (the
 * engine's floor) and as many tokens of context (the engine gives context up to half the canvas).
 */
export const MIN_CONTEXT_LENGTH = 2 + 8 + 6;

/** denoiser.json */
export interface DenoiserManifest {
  contract: number;
  name: string;
  inputs: { ids: string; positions?: string; token_positions?: string; past_keys?: string; past_values?: string };
  outputs: { logits: string; keys?: string; values?: string };
  /**
   * Optional: the graph also takes the context cache's inputs (training/export.py --cache,
   * training/convert.py): keys and values of shape [layers, kv_heads, tokens, head_dim]
   * (core/sampler/contextCache.ts). `kv_heads` (grouped-query attention: fewer key-value heads than query
   * heads) defaults to `heads`. `logit_shift` 1: the logits of position p come from the hidden
   * state at p - 1 (Dream's shift, baked into the graph), so a cached call recomputes p - 1 too.
   */
  cache?: { layers: number; heads: number; kv_heads?: number; head_dim: number; logit_shift?: number };
  context_length: number;
  /**
   * The longest sequence the model was trained on; `context_length` may not exceed it (a
   * position embedding that runs at any length, as RoPE does, still only learned the trained
   * window). Optional: without it, `training.args.seq_len` (what training/export.py records)
   * stands in, and a folder with neither is checked only by a forward pass of context_length.
   */
  trained_context_length?: number;
  vocab_size: number;
  special_tokens: SpecialTokens;
  training?: { args?: { seq_len?: unknown } };
}

export class ModelFolderError extends Error {}

/** A folder's valid manifest and the graph names it declares. */
export interface FolderManifest {
  manifest: DenoiserManifest;
  names: GraphNames;
}

/** Step 1 of a load: the folder has the contract's files and a valid denoiser.json. */
export function readManifest(dir: string): FolderManifest {
  requireFiles(dir);
  const where = path.join(dir, 'denoiser.json');
  const manifest = readJson(where) as DenoiserManifest;
  checkManifest(manifest, where);
  const cache = manifest.cache === undefined ? undefined : cacheNames(manifest, where);
  return {
    manifest,
    names: { ids: manifest.inputs.ids, positions: manifest.inputs.positions, logits: manifest.outputs.logits, cache },
  };
}

/**
 * Bytes of weights on disk: model.onnx and its external data file (what the picker and the status
 * bar show as the folder's size; onnxruntime reads all of it).
 */
export function weightBytes(dir: string): number {
  let bytes = 0;
  for (const f of fs.readdirSync(dir)) {
    if (f === 'model.onnx' || f.startsWith('model.onnx.') || f.endsWith('.onnx.data'))
      bytes += fs.statSync(path.join(dir, f)).size;
  }
  return bytes;
}

/** weightBytes, or undefined for a folder that cannot be read or holds no weights (its size unknown). */
export function knownWeightBytes(dir: string): number | undefined {
  try {
    return weightBytes(dir) || undefined;
  } catch {
    return undefined; // no such folder: the load or the manifest check says what is wrong
  }
}

function requireFiles(dir: string): void {
  if (!fs.existsSync(dir)) throw new ModelFolderError(`model folder ${dir} does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new ModelFolderError(`model folder ${dir} is not a folder`);
  for (const f of REQUIRED_FILES) {
    if (!fs.existsSync(path.join(dir, f)))
      throw new ModelFolderError(`${path.join(dir, f)} is missing (a model folder needs ${REQUIRED_FILES.join(', ')})`);
  }
}

function checkManifest(manifest: DenoiserManifest, where: string): void {
  const fail = (msg: string): never => {
    throw new ModelFolderError(`${where}${msg}`);
  };
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) fail(' is not a JSON object');
  if (manifest.contract !== CONTRACT_VERSION)
    fail(
      ` declares contract ${JSON.stringify(manifest.contract)}; this version of Diffuse reads contract ${CONTRACT_VERSION}`,
    );
  if (typeof manifest.inputs?.ids !== 'string') fail(': "inputs.ids" (the name of the input_ids input) is missing');
  if (typeof manifest.outputs?.logits !== 'string')
    fail(': "outputs.logits" (the name of the logits output) is missing');
  if (!Number.isInteger(manifest.vocab_size) || manifest.vocab_size < 8)
    fail(`: "vocab_size" must be an integer ≥ 8, got ${JSON.stringify(manifest.vocab_size)}`);
  if (!Number.isInteger(manifest.context_length) || manifest.context_length < MIN_CONTEXT_LENGTH) {
    fail(
      `: "context_length" must be an integer ≥ ${MIN_CONTEXT_LENGTH} (bos, eos, a span of at least 8 slots and as much context), got ${JSON.stringify(manifest.context_length)}`,
    );
  }
  const trained = trainedContextLength(manifest, where);
  if (trained !== undefined && manifest.context_length > trained.tokens) {
    fail(
      `: "context_length" ${manifest.context_length} exceeds the ${trained.tokens} tokens the model was trained on (${trained.source}); set it to at most ${trained.tokens}`,
    );
  }
  const roles = ['pad', 'mask', 'bos', 'eos'] as const;
  for (const k of roles) {
    const id = manifest.special_tokens?.[k];
    if (!Number.isInteger(id) || id < 0 || id >= manifest.vocab_size)
      fail(`: "special_tokens.${k}" must be a token id below vocab_size, got ${JSON.stringify(id)}`);
  }
  const specialIds = roles.map((k) => manifest.special_tokens[k]);
  if (new Set(specialIds).size !== specialIds.length) {
    fail(
      `: "special_tokens" pad, mask, bos and eos must be four different ids, got ${roles.map((k, i) => `${k} ${specialIds[i]}`).join(', ')}`,
    );
  }
  // Optional: DreamOn's expand token (core/sampler/specialTokens.ts), a fifth id of its own.
  const expand = manifest.special_tokens.expand;
  if (
    expand !== undefined &&
    (!Number.isInteger(expand) || expand < 0 || expand >= manifest.vocab_size || specialIds.includes(expand))
  ) {
    fail(
      `: "special_tokens.expand" must be a token id below vocab_size that differs from pad, mask, bos and eos, got ${JSON.stringify(expand)}`,
    );
  }
}

/** The cache graph's names and shape, all present or the folder is refused. */
function cacheNames(m: DenoiserManifest, where: string): GraphNames['cache'] {
  const c = m.cache!;
  for (const k of ['layers', 'heads', 'head_dim'] as const) {
    if (!Number.isInteger(c?.[k]) || c[k] < 1)
      throw new ModelFolderError(`${where}: "cache.${k}" must be a positive integer, got ${JSON.stringify(c?.[k])}`);
  }
  const kvHeads = c.kv_heads ?? c.heads;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || c.heads % kvHeads !== 0) {
    throw new ModelFolderError(
      `${where}: "cache.kv_heads" must be a positive integer that divides "cache.heads" (${c.heads}), got ${JSON.stringify(c.kv_heads)}`,
    );
  }
  const shift = c.logit_shift ?? 0;
  if (shift !== 0 && shift !== 1)
    throw new ModelFolderError(`${where}: "cache.logit_shift" must be 0 or 1, got ${JSON.stringify(c.logit_shift)}`);
  const named = {
    positions: m.inputs.positions,
    token_positions: m.inputs.token_positions,
    past_keys: m.inputs.past_keys,
    past_values: m.inputs.past_values,
  };
  for (const [k, v] of Object.entries(named)) {
    if (typeof v !== 'string')
      throw new ModelFolderError(`${where}: "cache" is set, so "inputs.${k}" must name the graph's ${k} input`);
  }
  for (const k of ['keys', 'values'] as const) {
    if (typeof m.outputs[k] !== 'string')
      throw new ModelFolderError(`${where}: "cache" is set, so "outputs.${k}" must name the graph's ${k} output`);
  }
  return {
    tokenPositions: m.inputs.token_positions!,
    pastKeys: m.inputs.past_keys!,
    pastValues: m.inputs.past_values!,
    keys: m.outputs.keys!,
    values: m.outputs.values!,
    shape: { layers: c.layers, heads: kvHeads, headDim: c.head_dim, logitShift: shift },
  };
}

function trainedContextLength(m: DenoiserManifest, where: string): { tokens: number; source: string } | undefined {
  if (m.trained_context_length !== undefined) {
    if (!Number.isInteger(m.trained_context_length) || m.trained_context_length < 1) {
      throw new ModelFolderError(
        `${where}: "trained_context_length" must be a positive integer, got ${JSON.stringify(m.trained_context_length)}`,
      );
    }
    return { tokens: m.trained_context_length, source: '"trained_context_length"' };
  }
  const seqLen = m.training?.args?.seq_len;
  if (Number.isInteger(seqLen) && (seqLen as number) > 0)
    return { tokens: seqLen as number, source: '"training.args.seq_len"' };
  return undefined;
}

export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelFolderError(`${file} could not be read: ${firstLine(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFolderError(`${file} is not valid JSON: ${firstLine(e)}`);
  }
}

export function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .trim();
}
