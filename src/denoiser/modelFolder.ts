// Loads a model folder (DESIGN.md, "The model contract") and refuses one that breaks the
// contract with a message naming the file and the problem.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { SpecialTokens } from '../core/specialTokens';
import { OnnxLogitsModel, type GraphNames } from './onnxModel';
import { HfTokenCodec } from './tokenCodec';

export const CONTRACT_VERSION = 1;
const REQUIRED_FILES = ['denoiser.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json'];
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
   * (core/contextCache.ts). `kv_heads` (grouped-query attention: fewer key-value heads than query
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

export interface LoadedModel {
  manifest: DenoiserManifest;
  model: OnnxLogitsModel;
  codec: HfTokenCodec;
  session: ort.InferenceSession;
  /** The execution provider the session runs on: the one asked for, or 'cpu' after a fallback. */
  executionProvider: ExecutionProvider;
  /** One line for the user when the asked provider could not load and the model runs on CPU. */
  note?: string;
}

/** onnxruntime's execution providers Diffuse can ask for (the setting `diffuse.executionProvider`). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export function isExecutionProvider(x: unknown): x is ExecutionProvider {
  return typeof x === 'string' && (EXECUTION_PROVIDERS as readonly string[]).includes(x);
}

export interface LoadOptions {
  /**
   * Default 'cpu'; a name that is not an ExecutionProvider is refused as a model error (it comes
   * from a setting or the CLI unchecked). One that cannot load falls back to CPU, and
   * `LoadedModel.note` says why.
   */
  executionProvider?: string;
  /** Bytes of memory free for the model (default: os.freemem()); for tests. */
  freeMemoryBytes?: number;
}

/**
 * Memory a folder's weights take once loaded: model.onnx and its external data file, plus a
 * quarter for onnxruntime's working buffers (the activations of one context_length call).
 */
export function modelMemoryBytes(dir: string): number {
  let bytes = 0;
  for (const f of fs.readdirSync(dir)) {
    if (f === 'model.onnx' || f.startsWith('model.onnx.') || f.endsWith('.onnx.data')) bytes += fs.statSync(path.join(dir, f)).size;
  }
  return Math.ceil(bytes * 1.25);
}

export async function loadModelFolder(dir: string, threads: number, options: LoadOptions = {}): Promise<LoadedModel> {
  const fail = (msg: string): never => {
    throw new ModelFolderError(msg);
  };
  if (!fs.existsSync(dir)) fail(`model folder ${dir} does not exist`);
  if (!fs.statSync(dir).isDirectory()) fail(`model folder ${dir} is not a folder`);
  for (const f of REQUIRED_FILES) if (!fs.existsSync(path.join(dir, f))) fail(`${path.join(dir, f)} is missing (a model folder needs ${REQUIRED_FILES.join(', ')})`);

  const manifest = readJson(path.join(dir, 'denoiser.json')) as DenoiserManifest;
  const where = path.join(dir, 'denoiser.json');
  if (manifest.contract !== CONTRACT_VERSION) fail(`${where} declares contract ${JSON.stringify(manifest.contract)}; this version of Diffuse reads contract ${CONTRACT_VERSION}`);
  if (typeof manifest.inputs?.ids !== 'string') fail(`${where}: "inputs.ids" (the name of the input_ids input) is missing`);
  if (typeof manifest.outputs?.logits !== 'string') fail(`${where}: "outputs.logits" (the name of the logits output) is missing`);
  if (!Number.isInteger(manifest.vocab_size) || manifest.vocab_size < 8) fail(`${where}: "vocab_size" must be an integer ≥ 8, got ${JSON.stringify(manifest.vocab_size)}`);
  if (!Number.isInteger(manifest.context_length) || manifest.context_length < MIN_CONTEXT_LENGTH) {
    fail(`${where}: "context_length" must be an integer ≥ ${MIN_CONTEXT_LENGTH} (bos, eos, a span of at least 8 slots and as much context), got ${JSON.stringify(manifest.context_length)}`);
  }
  const trained = trainedContextLength(manifest, where);
  if (trained !== undefined && manifest.context_length > trained.tokens) {
    fail(`${where}: "context_length" ${manifest.context_length} exceeds the ${trained.tokens} tokens the model was trained on (${trained.source}); set it to at most ${trained.tokens}`);
  }
  const roles = ['pad', 'mask', 'bos', 'eos'] as const;
  for (const k of roles) {
    const id = manifest.special_tokens?.[k];
    if (!Number.isInteger(id) || id < 0 || id >= manifest.vocab_size) fail(`${where}: "special_tokens.${k}" must be a token id below vocab_size, got ${JSON.stringify(id)}`);
  }
  const specialIds = roles.map((k) => manifest.special_tokens[k]);
  if (new Set(specialIds).size !== specialIds.length) {
    fail(`${where}: "special_tokens" pad, mask, bos and eos must be four different ids, got ${roles.map((k, i) => `${k} ${specialIds[i]}`).join(', ')}`);
  }
  // Optional: DreamOn's expand token (core/specialTokens.ts), a fifth id of its own.
  const expand = manifest.special_tokens.expand;
  if (expand !== undefined && (!Number.isInteger(expand) || expand < 0 || expand >= manifest.vocab_size || specialIds.includes(expand))) {
    fail(`${where}: "special_tokens.expand" must be a token id below vocab_size that differs from pad, mask, bos and eos, got ${JSON.stringify(expand)}`);
  }

  const tokJson = readJson(path.join(dir, 'tokenizer.json')) as { model?: unknown; added_tokens?: { id: number; content: string }[] };
  const tokConfig = readJson(path.join(dir, 'tokenizer_config.json'));
  if (!tokJson.model) fail(`${path.join(dir, 'tokenizer.json')} has no "model" section; is it a Hugging Face tokenizer.json?`);
  let codec: HfTokenCodec;
  try {
    const specials = (tokJson.added_tokens ?? []).map((t) => t.content);
    codec = new HfTokenCodec(tokJson, tokConfig, specials);
  } catch (e) {
    return fail(`${path.join(dir, 'tokenizer.json')} could not be loaded: ${firstLine(e)}`);
  }
  if (codec.vocabSize !== manifest.vocab_size) fail(`${path.join(dir, 'tokenizer.json')} has ${codec.vocabSize} tokens but ${where} says vocab_size ${manifest.vocab_size}`);

  const need = modelMemoryBytes(dir);
  const free = options.freeMemoryBytes ?? os.freemem();
  if (need > free) {
    fail(`model folder ${dir} needs about ${gb(need)} of memory to load (its weights and working buffers) but only ${gb(free)} is free; close other programs or convert the model with --dtype int8`);
  }
  const asked = options.executionProvider ?? 'cpu';
  if (!isExecutionProvider(asked)) throw new ModelFolderError(`execution provider ${JSON.stringify(asked)} is not one of ${EXECUTION_PROVIDERS.join(', ')}`);
  const sessionOptions = (ep: ExecutionProvider): ort.InferenceSession.SessionOptions => ({
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: [ep],
    // a provider that fails to load is reported in one line (note) instead of onnxruntime's log
    ...(ep === 'cpu' ? {} : { logSeverityLevel: 4 as const }),
  });
  let session: ort.InferenceSession;
  let executionProvider: ExecutionProvider = asked;
  let note: string | undefined;
  try {
    session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), sessionOptions(asked));
  } catch (e) {
    if (asked === 'cpu') return fail(`${path.join(dir, 'model.onnx')} could not be loaded by onnxruntime: ${firstLine(e)}`);
    // the provider's libraries are missing or do not fit this machine: CPU always loads
    note = `execution provider ${asked} could not load (${firstLine(e)}); running on CPU`;
    executionProvider = 'cpu';
    try {
      session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), sessionOptions('cpu'));
    } catch (e2) {
      return fail(`${path.join(dir, 'model.onnx')} could not be loaded by onnxruntime: ${firstLine(e2)}`);
    }
  }
  const onnxPath = path.join(dir, 'model.onnx');
  const cache = manifest.cache === undefined ? undefined : cacheNames(manifest, where);
  const needInputs = [manifest.inputs.ids, ...(manifest.inputs.positions ? [manifest.inputs.positions] : []),
    ...(cache ? [cache.tokenPositions, cache.pastKeys, cache.pastValues] : [])];
  for (const name of needInputs) {
    if (!session.inputNames.includes(name)) fail(`${onnxPath} has inputs [${session.inputNames.join(', ')}] but ${where} names input "${name}"`);
  }
  for (const name of [manifest.outputs.logits, ...(cache ? [cache.keys, cache.values] : [])]) {
    if (!session.outputNames.includes(name)) fail(`${onnxPath} has outputs [${session.outputNames.join(', ')}] but ${where} names output "${name}"`);
  }
  const extra = session.inputNames.filter((n) => !needInputs.includes(n));
  if (extra.length) fail(`${onnxPath} needs inputs [${extra.join(', ')}] that ${where} does not describe`);

  const model = new OnnxLogitsModel(session, manifest.vocab_size, {
    ids: manifest.inputs.ids, positions: manifest.inputs.positions, logits: manifest.outputs.logits, cache,
  });
  // One forward pass as long as the longest canvas the engine will send proves the graph runs
  // at that length (a learned position table shorter than context_length fails here) and that
  // its logits are float32, shaped as the contract says, and as wide as the vocabulary (the
  // model checks every answer; see OnnxLogitsModel).
  const s = manifest.special_tokens;
  const n = manifest.context_length;
  const ids = new Int32Array(n).fill(s.mask);
  ids[0] = s.bos;
  ids[n - 1] = s.eos;
  // With the cache, that pass is a run's first (full) call, and a cached call follows it
  // (keys and values of the shape "cache" declares).
  const run = model.forRun();
  try {
    await run.logits(ids, Int32Array.from([1, n - 2]));
  } catch (e) {
    fail(`${onnxPath} failed a test forward pass of ${n} tokens (context_length): ${firstLine(e)}`);
  }
  if (cache) {
    try {
      ids[1] = s.pad;
      await run.logits(ids, Int32Array.from([1, 2]));
    } catch (e) {
      fail(`${onnxPath} failed a test call with the context cache: ${firstLine(e)}`);
    }
  }
  return { manifest, model, codec, session, executionProvider, ...(note ? { note } : {}) };
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e9 ? 2 : 1)} GB`;
}

/** The cache graph's names and shape, all present or the folder is refused. */
function cacheNames(m: DenoiserManifest, where: string): GraphNames['cache'] {
  const c = m.cache!;
  for (const k of ['layers', 'heads', 'head_dim'] as const) {
    if (!Number.isInteger(c?.[k]) || c[k] < 1) throw new ModelFolderError(`${where}: "cache.${k}" must be a positive integer, got ${JSON.stringify(c?.[k])}`);
  }
  const kvHeads = c.kv_heads ?? c.heads;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || c.heads % kvHeads !== 0) {
    throw new ModelFolderError(`${where}: "cache.kv_heads" must be a positive integer that divides "cache.heads" (${c.heads}), got ${JSON.stringify(c.kv_heads)}`);
  }
  const shift = c.logit_shift ?? 0;
  if (shift !== 0 && shift !== 1) throw new ModelFolderError(`${where}: "cache.logit_shift" must be 0 or 1, got ${JSON.stringify(c.logit_shift)}`);
  const named = { positions: m.inputs.positions, token_positions: m.inputs.token_positions, past_keys: m.inputs.past_keys, past_values: m.inputs.past_values };
  for (const [k, v] of Object.entries(named)) {
    if (typeof v !== 'string') throw new ModelFolderError(`${where}: "cache" is set, so "inputs.${k}" must name the graph's ${k} input`);
  }
  for (const k of ['keys', 'values'] as const) {
    if (typeof m.outputs[k] !== 'string') throw new ModelFolderError(`${where}: "cache" is set, so "outputs.${k}" must name the graph's ${k} output`);
  }
  return {
    tokenPositions: m.inputs.token_positions!, pastKeys: m.inputs.past_keys!, pastValues: m.inputs.past_values!,
    keys: m.outputs.keys!, values: m.outputs.values!, shape: { layers: c.layers, heads: kvHeads, headDim: c.head_dim, logitShift: shift },
  };
}

function trainedContextLength(m: DenoiserManifest, where: string): { tokens: number; source: string } | undefined {
  if (m.trained_context_length !== undefined) {
    if (!Number.isInteger(m.trained_context_length) || m.trained_context_length < 1) {
      throw new ModelFolderError(`${where}: "trained_context_length" must be a positive integer, got ${JSON.stringify(m.trained_context_length)}`);
    }
    return { tokens: m.trained_context_length, source: '"trained_context_length"' };
  }
  const seqLen = m.training?.args?.seq_len;
  if (Number.isInteger(seqLen) && (seqLen as number) > 0) return { tokens: seqLen as number, source: '"training.args.seq_len"' };
  return undefined;
}

function readJson(file: string): unknown {
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

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0].trim();
}
