// Loads a model folder (docs/design.md, "The model contract") in its named steps: the manifest
// (modelFolder/manifest.ts), the tokenizer, the onnxruntime session, and one test forward pass. A folder
// that breaks the contract is refused with a message naming the file and the problem; `onStage`
// tells the caller which step runs, since a 7 B folder takes minutes.
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  ModelFolderError,
  firstLine,
  readJson,
  readManifest,
  weightBytes,
  type DenoiserManifest,
  type FolderManifest,
  type GraphNames,
} from '../modelFolder/manifest';
import { OnnxLogitsModel } from './onnxModel';
import type { LoadStage } from '../core/view/loadLabel';
import { HfTokenCodec } from './tokenCodec';

// the error of every step, for the callers that load a folder
export { ModelFolderError } from '../modelFolder/manifest';

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
  /** Called as the load enters each step (the worker tells the editor); the load waits for it. */
  onStage?: (stage: LoadStage) => void | Promise<void>;
}

/**
 * Memory a folder's weights take once loaded: model.onnx and its external data file, plus a
 * quarter for onnxruntime's working buffers (the activations of one context_length call).
 */
export function modelMemoryBytes(dir: string): number {
  return Math.ceil(weightBytes(dir) * 1.25);
}

export async function loadModelFolder(dir: string, threads: number, options: LoadOptions = {}): Promise<LoadedModel> {
  await options.onStage?.('manifest');
  const { manifest, names } = readManifest(dir);
  await options.onStage?.('tokenizer');
  const codec = loadTokenizer(dir, manifest);
  await options.onStage?.('session');
  checkMemory(dir, options.freeMemoryBytes ?? os.freemem());
  const { session, executionProvider, note } = await openSession(dir, names, threads, options.executionProvider);
  const model = new OnnxLogitsModel(session, manifest.vocab_size, names);
  await options.onStage?.('check');
  await testForwardPass(dir, { manifest, names }, model);
  return { manifest, model, codec, session, executionProvider, ...(note ? { note } : {}) };
}

/** Step 2: the folder's Hugging Face tokenizer, as wide as the manifest's vocabulary. */
export function loadTokenizer(dir: string, manifest: DenoiserManifest): HfTokenCodec {
  const file = path.join(dir, 'tokenizer.json');
  const tokJson = readJson(file) as { model?: unknown; added_tokens?: { id: number; content: string }[] };
  const tokConfig = readJson(path.join(dir, 'tokenizer_config.json'));
  if (!tokJson.model)
    throw new ModelFolderError(`${file} has no "model" section; is it a Hugging Face tokenizer.json?`);
  let codec: HfTokenCodec;
  try {
    const specials = (tokJson.added_tokens ?? []).map((t) => t.content);
    codec = new HfTokenCodec(tokJson, tokConfig, specials);
  } catch (e) {
    throw new ModelFolderError(`${file} could not be loaded: ${firstLine(e)}`);
  }
  if (codec.vocabSize !== manifest.vocab_size) {
    throw new ModelFolderError(
      `${file} has ${codec.vocabSize} tokens but ${path.join(dir, 'denoiser.json')} says vocab_size ${manifest.vocab_size}`,
    );
  }
  return codec;
}

/** Refuses a folder whose weights would not fit in memory, before onnxruntime tries (and the OS kills the worker). */
function checkMemory(dir: string, free: number): void {
  const need = modelMemoryBytes(dir);
  if (need > free) {
    throw new ModelFolderError(
      `model folder ${dir} needs about ${gb(need)} of memory to load (its weights and working buffers) but only ${gb(free)} is free; close other programs or convert the model with --dtype int8`,
    );
  }
}

/**
 * Step 3: the onnxruntime session on the execution provider asked for (CPU after a provider
 * that cannot load), with the inputs and outputs the manifest names and no others.
 */
export async function openSession(
  dir: string,
  names: GraphNames,
  threads: number,
  asked = 'cpu',
): Promise<{ session: ort.InferenceSession; executionProvider: ExecutionProvider; note?: string }> {
  if (!isExecutionProvider(asked))
    throw new ModelFolderError(
      `execution provider ${JSON.stringify(asked)} is not one of ${EXECUTION_PROVIDERS.join(', ')}`,
    );
  const onnxPath = path.join(dir, 'model.onnx');
  const create = (ep: ExecutionProvider): Promise<ort.InferenceSession> =>
    ort.InferenceSession.create(onnxPath, sessionOptions(ep, threads));
  const unloadable = (e: unknown): ModelFolderError =>
    new ModelFolderError(`${onnxPath} could not be loaded by onnxruntime: ${firstLine(e)}`);
  let opened: { session: ort.InferenceSession; executionProvider: ExecutionProvider; note?: string };
  try {
    opened = { session: await create(asked), executionProvider: asked };
  } catch (e) {
    if (asked === 'cpu') throw unloadable(e);
    // the provider's libraries are missing or do not fit this machine: CPU always loads
    const note = `execution provider ${asked} could not load (${firstLine(e)}); running on CPU`;
    try {
      opened = { session: await create('cpu'), executionProvider: 'cpu', note };
    } catch (e2) {
      throw unloadable(e2);
    }
  }
  checkGraphNames(dir, names, opened.session);
  return opened;
}

function sessionOptions(ep: ExecutionProvider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: [ep],
    // a provider that fails to load is reported in one line (note) instead of onnxruntime's log
    ...(ep === 'cpu' ? {} : { logSeverityLevel: 4 as const }),
  };
}

function checkGraphNames(dir: string, names: GraphNames, session: ort.InferenceSession): void {
  const onnxPath = path.join(dir, 'model.onnx');
  const where = path.join(dir, 'denoiser.json');
  const c = names.cache;
  const needInputs = [
    names.ids,
    ...(names.positions ? [names.positions] : []),
    ...(c ? [c.tokenPositions, c.pastKeys, c.pastValues] : []),
  ];
  for (const name of needInputs) {
    if (!session.inputNames.includes(name))
      throw new ModelFolderError(
        `${onnxPath} has inputs [${session.inputNames.join(', ')}] but ${where} names input "${name}"`,
      );
  }
  for (const name of [names.logits, ...(c ? [c.keys, c.values] : [])]) {
    if (!session.outputNames.includes(name))
      throw new ModelFolderError(
        `${onnxPath} has outputs [${session.outputNames.join(', ')}] but ${where} names output "${name}"`,
      );
  }
  const extra = session.inputNames.filter((n) => !needInputs.includes(n));
  if (extra.length)
    throw new ModelFolderError(`${onnxPath} needs inputs [${extra.join(', ')}] that ${where} does not describe`);
}

/**
 * Step 4: one forward pass as long as the longest canvas the engine will send proves the graph
 * runs at that length (a learned position table shorter than context_length fails here) and that
 * its logits are float32, shaped as the contract says, and as wide as the vocabulary (the model
 * checks every answer; see OnnxLogitsModel).
 */
async function testForwardPass(
  dir: string,
  { manifest, names }: FolderManifest,
  model: OnnxLogitsModel,
): Promise<void> {
  const onnxPath = path.join(dir, 'model.onnx');
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
    throw new ModelFolderError(
      `${onnxPath} failed a test forward pass of ${n} tokens (context_length): ${firstLine(e)}`,
    );
  }
  if (names.cache) {
    try {
      ids[1] = s.pad;
      await run.logits(ids, Int32Array.from([1, 2]));
    } catch (e) {
      throw new ModelFolderError(`${onnxPath} failed a test call with the context cache: ${firstLine(e)}`);
    }
  }
}

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(bytes < 1e9 ? 2 : 1)} GB`;
}
