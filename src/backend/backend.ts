// The one seam between what asks for denoising (the editor's features, the CLI, `diffuse serve`)
// and what answers: the local worker, Inception's Mercury API, any OpenAI-compatible server, or a
// `diffuse serve` on another machine. Callers see requests, progress and results, never which
// backend answers; what a backend cannot do is a field they check before asking.
import type { LoadStage } from '../core/view/loadLabel';
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
} from './requests';

export const BACKENDS = ['local', 'mercury', 'openai', 'diffuse'] as const;
export type BackendKind = (typeof BACKENDS)[number];

export function isBackendKind(x: unknown): x is BackendKind {
  return (BACKENDS as readonly unknown[]).includes(x);
}

/** What a backend can serve; a command needing more says so in one line instead of asking. */
export interface Capabilities {
  /** Refine can follow a free-text instruction ("Refactor this to improve efficiency"). */
  instruction: boolean;
  /** Refine below strength 1 is the corrector: the model scores every token and keeps correct code. */
  corrector: boolean;
  /** Progress arrives while a request runs (denoising steps, or whole-text frames). */
  frames: boolean;
  /** Several cursors are denoised jointly in one canvas (otherwise one request each). */
  jointSpans: boolean;
  /** Results carry the model's confidence, which automatic ghost text is gated on. */
  confidence: boolean;
  /** A ghost-text request can decode several candidates. */
  candidates: boolean;
  /** Next edit: proposes the edit that follows the user's last one (`Backend.nextEdit`). */
  nextEdit?: boolean;
  /**
   * Scores given text token by token and ranks the tokens at masked slots (`Backend.score`,
   * `Backend.alternatives`): what Repair ranks its candidates by.
   */
  score?: boolean;
}

/** Where a backend's model lives: a model folder for the local worker, a URL for the others. */
export type BackendSource =
  | { kind: 'local'; modelDir: string; threads: number; executionProvider?: string }
  | {
      kind: 'mercury' | 'openai';
      baseUrl: string;
      fimModel: string;
      chatModel: string;
      apiKey?: string;
      /** A model family's infilling tokens for servers without `/fim/completions` (`auto`: from the model's name). */
      fimTemplate?: string;
    }
  | { kind: 'diffuse'; baseUrl: string; apiKey?: string };

/**
 * How a remote backend asks for fill-in-the-middle, once the server has shown what it has:
 * `fim` Mercury's `POST /fim/completions`; `infill` llama.cpp's server's `POST /infill` (the
 * model's own FIM tokens, server side); `suffix` OpenAI's `POST /completions` with `suffix`;
 * `template` `/completions` with the model's own infilling tokens in a raw prompt; `chat` a chat
 * prompt asking for the middle only.
 */
export type FimRoute = 'fim' | 'infill' | 'suffix' | 'template' | 'chat';

/** What answers, once it is ready. */
export interface BackendInfo {
  backend: BackendKind;
  /** The model's name (a folder's manifest name, or the remote model). */
  name: string;
  /** The model folder or the base URL. */
  where: string;
  /** Tokens of the model's window (local models; a remote one reports none). */
  contextLength?: number;
  vocabSize?: number;
  loadMs?: number;
  threads?: number;
  executionProvider?: string;
  /** Something the user should know about how it loaded (a provider that fell back to the CPU). */
  note?: string;
  /** The models the server lists (`GET /v1/models`), where it lists them. */
  models?: string[];
  /** How fill-in-the-middle is asked (remote backends; absent until the first request has found out). */
  fimRoute?: FimRoute;
}

/** A local model folder while it loads: what the status bar shows ("loading NAME (SIZE) · step · 12 s"). */
export interface LoadProgress {
  modelDir: string;
  /** The folder's last path segment. */
  name: string;
  /** Bytes of weights on disk (unknown for a folder that cannot be read). */
  bytes?: number;
  /** The step the worker has reached; absent until the worker reports one. */
  stage?: LoadStage;
  /** Epoch ms the load began. */
  startedAt: number;
}

export type BackendState =
  | { kind: 'starting'; load?: LoadProgress }
  | { kind: 'ready'; info: BackendInfo }
  | { kind: 'error'; message: string }
  | { kind: 'restarting'; message: string; inMs: number }
  | { kind: 'stopped' };

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?: (p: ProgressParams) => void;
}

export type RefineInput = Omit<RefineParams, 'requestId' | 'progress' | 'sentAt'>;
export type FillInput = Omit<FillParams, 'requestId' | 'progress' | 'sentAt'>;
export type CompleteInput = Omit<CompleteParams, 'requestId' | 'progress' | 'sentAt'>;
export type NextEditInput = Omit<NextEditParams, 'requestId' | 'progress' | 'sentAt'>;
export type ScoreInput = Omit<ScoreParams, 'requestId' | 'progress' | 'sentAt'>;
export type AlternativesInput = Omit<AlternativesParams, 'requestId' | 'progress' | 'sentAt'>;

/**
 * Why a request failed, for the user: `model` (the model or server cannot serve: bad folder,
 * unreachable host), `auth` (the key is missing or refused), `quota` (the account is out of
 * credit), `busy` (the server kept answering 429/503), `input`, `crash`, `timeout`, `cancelled`,
 * `unsupported` (the backend cannot serve this command), `internal`. The message is one line and never carries a key or a response body.
 */
export const DENOISER_ERROR_CODES = [
  'model',
  'auth',
  'quota',
  'busy',
  'input',
  'crash',
  'timeout',
  'cancelled',
  'unsupported',
  'internal',
] as const;
export type BackendErrorCode = (typeof DENOISER_ERROR_CODES)[number];

export function isBackendErrorCode(x: unknown): x is BackendErrorCode {
  return (DENOISER_ERROR_CODES as readonly unknown[]).includes(x);
}

/** Why a backend that is not a chat model refuses Refine with an instruction. */
export function instructionUnsupported(kind: BackendKind): BackendError {
  return new BackendError(
    `the ${kind} backend cannot follow an instruction: choose the mercury or openai backend, or Refine without one`,
    'unsupported',
  );
}

export class BackendError extends Error {
  constructor(
    message: string,
    readonly code: BackendErrorCode,
  ) {
    super(message);
  }
}

export interface Backend {
  readonly kind: BackendKind;
  readonly capabilities: Capabilities;
  readonly state: BackendState;
  /** Makes the backend ready (loads the model, checks the server); later calls return the same promise. */
  start(): Promise<BackendInfo>;
  refine(p: RefineInput, o?: RequestOptions): Promise<DenoiseResult>;
  fill(p: FillInput, o?: RequestOptions): Promise<DenoiseResult>;
  complete(p: CompleteInput, o?: RequestOptions): Promise<DenoiseResult>;
  /** The edit that follows the user's last one: one edit of `p.text`, or none; where `capabilities.nextEdit`. */
  nextEdit?(p: NextEditInput, o?: RequestOptions): Promise<DenoiseResult>;
  /** Each token's log-probability with all visible; only backends whose capabilities include `score`. */
  score?(p: ScoreInput, o?: RequestOptions): Promise<ScoreResult>;
  /** The likeliest tokens at each masked slot of a range; only backends whose capabilities include `score`. */
  alternatives?(p: AlternativesInput, o?: RequestOptions): Promise<AlternativesResult>;
  /** The models the server offers now, asked again (remote backends with `GET /v1/models`). */
  listModels?(): Promise<string[]>;
  /** Process id of the local worker, where there is one (status menu, tests). */
  readonly pid?: number;
  dispose(): void;
}
