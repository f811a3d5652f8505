// The wire between the local backend (extension host or CLI) and its worker process: the load
// request, the request and notification types, and the error codes. The requests themselves are
// the backend vocabulary of ../requests.ts; both sides import this file and nothing else is shared.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { LoadStage } from '../../core/view/loadLabel';
import type {
  AlternativesParams,
  AlternativesResult,
  CompleteParams,
  DenoiseResult,
  FillParams,
  NextEditParams,
  ProgressParams,
  RefineParams,
  ScoreParams,
  ScoreResult,
} from '../requests';

export interface LoadParams {
  modelDir: string;
  /** onnxruntime intra-op threads. */
  threads?: number;
  /** onnxruntime execution provider ('cpu' default); one that cannot load falls back to the CPU. */
  executionProvider?: string;
}

// the steps of a load, which the worker reports as it enters each
export { LOAD_STAGES, type LoadStage } from '../../core/view/loadLabel';

/** Sent by the worker as a load enters each stage, so that a slow load shows where it is. */
export interface LoadProgressParams {
  stage: LoadStage;
}

export interface ModelInfo {
  name: string;
  modelDir: string;
  vocabSize: number;
  contextLength: number;
  loadMs: number;
  threads: number;
  /** The execution provider the model runs on (after a fallback: 'cpu'). */
  executionProvider?: string;
  /** One line when the asked provider could not load and the model fell back to the CPU. */
  providerNote?: string;
}

export const LoadRequest = new RequestType<LoadParams, ModelInfo, void>('diffuse/load');
export const RefineRequest = new RequestType<RefineParams, DenoiseResult, void>('diffuse/refine');
export const FillRequest = new RequestType<FillParams, DenoiseResult, void>('diffuse/fill');
export const CompleteRequest = new RequestType<CompleteParams, DenoiseResult, void>('diffuse/complete');
export const NextEditRequest = new RequestType<NextEditParams, DenoiseResult, void>('diffuse/nextEdit');
export const AlternativesRequest = new RequestType<AlternativesParams, AlternativesResult, void>(
  'diffuse/alternatives',
);
export const ScoreRequest = new RequestType<ScoreParams, ScoreResult, void>('diffuse/score');
export const ProgressNotification = new NotificationType<ProgressParams>('diffuse/progress');
export const LoadProgressNotification = new NotificationType<LoadProgressParams>('diffuse/loadProgress');

/** Error codes of failed requests (JSON-RPC application range). */
export const ErrorCodes = {
  modelInvalid: -32001,
  badInput: -32002,
  cancelled: -32800, // the JSON-RPC code vscode-jsonrpc itself uses for cancellation
  notLoaded: -32003,
} as const;
