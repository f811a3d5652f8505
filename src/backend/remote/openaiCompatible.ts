// The `mercury` and `openai` backends: Inception's Mercury API, or any server with OpenAI-compatible
// endpoints (vLLM, SGLang, llama.cpp's server, Ollama, LM Studio). At start the backend asks
// `GET /models`, and a request for a model the server does not list fails in one line that names
// the ones it has. Ghost text and Fill at Cursor ask for fill-in-the-middle (one request per
// cursor, accepted together) the first way the server answers, found once and then kept
// (FimRoute): `POST /fim/completions`, llama.cpp's `POST /infill`, `POST /completions` with
// `suffix`, `/completions` with the model's own infilling tokens (core/prompts/fimPrompt.ts), or
// a chat prompt for the middle. Refine asks `POST /chat/completions` with the selection marked in
// its file. Mercury streams with `diffusing: true`, and then every frame carries the whole
// current text of the answer (its denoising, drawn live); a plain OpenAI stream carries deltas,
// appended (vLLM's diffusion models send each finished block as one delta). Next edit (Mercury
// only) asks `POST /edit/completions` with Mercury Edit's one-message prompt
// (core/prompts/nextEditPrompt.ts) and gets the editable region back, rewritten or not.
// Reads top to bottom: build the request, stream, map errors.
import { toLf, withEol } from '../../core/text/lineEndings';
import {
  cutAtStop,
  cutAtSuffix,
  fimChatMessages,
  fimTemplateFor,
  middleFromAnswer,
} from '../../core/prompts/fimPrompt';
import { nextEditFromAnswer, nextEditPrompt } from '../../core/prompts/nextEditPrompt';
import { answerText, refineMessages, shrinkContext, type ChatMessage } from '../../core/prompts/refinePrompt';
import { cursorsProblem, selectionProblem } from '../../core/text/requestChecks';
import {
  BackendError,
  type BackendInfo,
  type Capabilities,
  type CompleteInput,
  type Backend,
  type BackendState,
  type FillInput,
  type FimRoute,
  type NextEditInput,
  type RefineInput,
  type RequestOptions,
} from '../backend';
import { ContextTooLongError, HttpClient, RemoteStatusError, type StreamEvent } from './http';
import type { DenoiseResult, SpanEdit } from '../requests';

export const MERCURY_BASE_URL = 'https://api.inceptionlabs.ai/v1';
/** Inception's current names (docs.inceptionlabs.ai, 2026-12-07): Mercury Edit 2 serves FIM and next edit. */
export const MERCURY_FIM_MODEL = 'mercury-edit-2';
export const MERCURY_CHAT_MODEL = 'mercury-2';

export interface OpenAICompatibleOptions {
  kind: 'mercury' | 'openai';
  baseUrl: string;
  fimModel: string;
  chatModel: string;
  apiKey?: string;
  /** `diffuse.remote.fimTemplate`: `auto` (from the model's name), `none`, or a family of FIM_TEMPLATES. */
  fimTemplate?: string;
  /** Deadline of a Refine or Fill request; ghost text uses its own time budget. */
  timeoutMs?: number;
  onState?: (s: BackendState) => void;
  log?: (line: string) => void;
}

/** A Refine or Fill may take this long (a long rewrite streams for seconds). */
export const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;
/** A completion without a time budget (the CLI's `complete`). */
const COMPLETE_TIMEOUT_MS = 30_000;
/** Tokens a FIM request may write when the caller says nothing. */
const DEFAULT_FIM_TOKENS = 64;
/** A chat answer may be this much longer than the selection (in tokens, about 4 characters each), plus a floor. */
const CHAT_TOKENS_PER_CHAR = 0.5;
const CHAT_MIN_TOKENS = 512;
/** A next edit is asked after a pause and is worthless late. */
const NEXT_EDIT_TIMEOUT_MS = 15_000;
/** `GET /models` at start; a server without it is used without a list. */
const MODELS_TIMEOUT_MS = 10_000;
/** Names an unknown-model error lists before "and N more". */
const NAMES_SHOWN = 8;

/** No confidence comes back from these APIs: results say 1, and `capabilities.confidence` says it is no measure. */
const NO_MEASURE = 1;

interface FimAnswer {
  choices?: { text?: unknown; delta?: { content?: unknown }; message?: { content?: unknown } }[];
  /** llama.cpp's `/infill`. */
  content?: unknown;
}
interface ModelList {
  data?: { id?: unknown }[];
}

/** One FIM request, whichever way it is asked. */
interface FimAsk {
  prefix: string;
  suffix: string;
  maxTokens: number;
  temperature?: number;
  timeoutMs: number;
  /** Streamed (Fill's live view); ghost text asks in one piece. */
  live?: boolean;
}
interface EditAnswer {
  choices?: { message?: { content?: unknown } }[];
}
interface ChatFrame {
  choices?: { delta?: { content?: unknown }; message?: { content?: unknown } }[];
}

export class OpenAICompatibleBackend implements Backend {
  readonly kind: 'mercury' | 'openai';
  readonly capabilities: Capabilities;
  state: BackendState = { kind: 'stopped' };
  private readonly http: HttpClient | undefined;
  private readonly configError: BackendError | undefined;
  /** Mercury streams whole-text frames with `diffusing`; other servers stream deltas. */
  private readonly diffusing: boolean;
  /** Why a refused key or an empty account stopped the backend: later requests fail with the same code. */
  private stoppedBy: 'auth' | 'quota' = 'auth';
  private ready: Promise<BackendInfo> | undefined;
  private info: BackendInfo | undefined;
  /** What `GET /models` listed; undefined for a server without the list. */
  private models: string[] | undefined;
  /** The way FIM is asked now; `fimFound` once a request was answered that way. */
  private fimRoute: FimRoute = 'fim';
  private fimFound = false;

  constructor(private readonly opts: OpenAICompatibleOptions) {
    this.kind = opts.kind;
    this.diffusing = opts.kind === 'mercury';
    this.capabilities = {
      instruction: true,
      corrector: false,
      frames: true,
      jointSpans: false,
      confidence: false,
      candidates: false,
      // `/edit/completions` is Inception's own endpoint; other OpenAI-compatible servers lack it
      nextEdit: opts.kind === 'mercury',
    };
    let http: HttpClient | undefined;
    try {
      if (opts.kind === 'mercury' && !opts.apiKey) {
        throw new BackendError(
          'no Mercury API key: run "Diffuse: Set API Key…" (or set INCEPTION_API_KEY for the CLI)',
          'auth',
        );
      }
      http = new HttpClient(opts.baseUrl, opts.apiKey);
    } catch (e) {
      this.configError = e as BackendError;
    }
    this.http = http;
  }

  /** Checks the key and reads the model list, once; later calls return the same promise. */
  start(): Promise<BackendInfo> {
    this.ready ??= this.connect();
    return this.ready;
  }

  /** The server's models now (the editor's pick list), or [] for a server without the list. */
  async listModels(): Promise<string[]> {
    await this.start();
    this.models = await this.readModels();
    return this.models ?? [];
  }

  private async connect(): Promise<BackendInfo> {
    if (this.configError) {
      this.setState({ kind: 'error', message: this.configError.message });
      throw this.configError;
    }
    // the status bar says "connecting" while the server is asked; a refused key stops here, once
    this.setState({ kind: 'starting' });
    this.models = await this.watched(() => this.readModels());
    this.info = {
      backend: this.kind,
      name: `${this.opts.fimModel} / ${this.opts.chatModel}`,
      where: this.opts.baseUrl,
      ...(this.models ? { models: this.models } : {}),
    };
    if (this.state.kind === 'starting') this.setState({ kind: 'ready', info: this.info }); // not if disposed meanwhile
    return this.info;
  }

  /** `GET /models`' ids; undefined where the server has no list (a refused key still fails). */
  private async readModels(): Promise<string[] | undefined> {
    try {
      const list = await this.http!.getJson<ModelList>('/models', { timeoutMs: MODELS_TIMEOUT_MS });
      const ids = (Array.isArray(list?.data) ? list.data : []).map((m) => m?.id).filter((x) => typeof x === 'string');
      return ids.length ? (ids as string[]) : undefined;
    } catch (e) {
      if (e instanceof BackendError && (e.code === 'auth' || e.code === 'quota')) throw e;
      this.opts.log?.(`${this.kind}: no model list from the server (${e instanceof Error ? e.message : e})`);
      return undefined;
    }
  }

  /** Fails in one line before anything is sent when the server lists its models and `model` is not one. */
  private checkModel(model: string): void {
    if (!this.models || this.models.includes(model)) return;
    throw this.unknownModel(model);
  }

  private unknownModel(model: string): BackendError {
    const names = this.models ?? [];
    const shown = names.slice(0, NAMES_SHOWN).join(', ');
    const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : '';
    return new BackendError(
      `${this.http?.host ?? this.opts.baseUrl} has no model "${model}"${names.length ? `; it has ${shown}${more}` : ''}`,
      'model',
    );
  }

  async complete(p: CompleteInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    const t0 = Date.now();
    const timeoutMs = p.sampler?.timeBudgetMs ?? COMPLETE_TIMEOUT_MS;
    const text = await this.fim(
      {
        prefix: p.prefix,
        suffix: p.suffix,
        maxTokens: p.maxTokens ?? DEFAULT_FIM_TOKENS,
        temperature: p.sampler?.temperature,
        timeoutMs,
      },
      { ...o, onProgress: undefined },
    );
    const edit: SpanEdit = { start: p.prefix.length, end: p.prefix.length, text, confidence: NO_MEASURE };
    return { edits: [edit], steps: 1, ms: Date.now() - t0, stoppedBy: 'done', canvasTokens: 0 };
  }

  async fill(p: FillInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    const t0 = Date.now();
    const cursors = [...new Set(p.cursors)].sort((a, b) => a - b);
    const bad = cursorsProblem(p.text, cursors);
    if (bad) throw new BackendError(bad, 'input');
    // one request per cursor, all at once; the live view shows every span's latest frame. One
    // failing fails the Fill, so it aborts the others (they would stream on, and be billed, unseen).
    const spans = cursors.map(() => ({ text: '', masked: 0 }));
    let frames = 0;
    const all = new AbortController();
    const stop = (): void => all.abort();
    if (o.signal?.aborted) all.abort();
    o.signal?.addEventListener('abort', stop);
    let texts: string[];
    try {
      texts = await Promise.all(
        cursors.map((c, i) =>
          this.fim(
            {
              prefix: p.text.slice(0, c),
              suffix: p.text.slice(c),
              maxTokens: p.maxTokens ?? DEFAULT_FIM_TOKENS,
              temperature: p.sampler?.temperature,
              timeoutMs: this.opts.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS,
              live: true,
            },
            {
              signal: all.signal,
              onProgress:
                o.onProgress &&
                ((f) => {
                  if (all.signal.aborted) return;
                  spans[i] = f.spans[0];
                  o.onProgress!({
                    requestId: '',
                    step: ++frames,
                    maxSteps: 0,
                    ...(f.unit ? { unit: f.unit } : {}),
                    spans: spans.map((s) => ({ ...s })),
                  });
                }),
            },
          ).catch((e: unknown) => {
            all.abort();
            throw e;
          }),
        ),
      );
    } finally {
      o.signal?.removeEventListener('abort', stop);
    }
    const edits = cursors.map((c, i) => ({ start: c, end: c, text: texts[i], confidence: NO_MEASURE }));
    return { edits, steps: frames || cursors.length, ms: Date.now() - t0, stoppedBy: 'done', canvasTokens: 0 };
  }

  async refine(p: RefineInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    const t0 = Date.now();
    const bad = selectionProblem(p.text, p.start, p.end);
    if (bad) throw new BackendError(bad, 'input');
    const selection = p.text.slice(p.start, p.end);
    const instruction =
      p.instruction?.trim() ||
      ((p.strength ?? 0) >= 1
        ? 'Rewrite the selected code so that it is correct, clear and idiomatic, with the same behaviour.'
        : undefined);
    const ask = (before: string, after: string): ChatMessage[] =>
      refineMessages({
        path: p.file?.path ?? 'untitled',
        language: p.file?.language ?? 'plaintext',
        before,
        selection,
        after,
        instruction,
      });
    const maxTokens = Math.max(CHAT_MIN_TOKENS, Math.ceil(selection.length * CHAT_TOKENS_PER_CHAR) * 2);
    const model = this.opts.chatModel || this.opts.fimModel;
    await this.start();
    this.checkModel(model);
    let frames = 0;
    const body = (messages: ChatMessage[]) => ({
      model,
      messages,
      max_tokens: maxTokens,
      stream: true,
      ...(p.sampler?.temperature !== undefined ? { temperature: p.sampler.temperature } : {}),
      ...(this.diffusing ? { diffusing: true } : {}),
    });
    const run = async (messages: ChatMessage[]): Promise<string> => {
      let answer = '';
      await this.modelKnown(model, () =>
        this.checked().postStream(
          '/chat/completions',
          body(messages),
          { signal: o.signal, timeoutMs: this.opts.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS },
          (e) => {
            const frame = this.frame<ChatFrame>(e);
            if (!frame) return;
            const choice = frame.choices?.[0];
            const content = choice?.delta?.content ?? choice?.message?.content;
            if (content === undefined || content === null) return;
            if (typeof content !== 'string') throw this.malformed();
            answer = this.diffusing ? content : answer + content;
            frames++;
            o.onProgress?.({
              requestId: '',
              step: frames,
              maxSteps: 0,
              // Mercury's diffusing frames are its denoising steps; any other stream arrives in pieces
              ...(this.diffusing ? {} : { unit: 'block' as const }),
              spans: [{ text: answerText(answer, selection), masked: 0 }],
            });
          },
        ),
      );
      return answer;
    };
    const before = p.text.slice(0, p.start);
    const after = p.text.slice(p.end);
    const answer = await this.onceShorter(
      () => run(ask(before, after)),
      () => {
        const less = shrinkContext(before, after);
        return run(ask(less.prefix, less.suffix));
      },
    );
    const edit: SpanEdit = { start: p.start, end: p.end, text: answerText(answer, selection), confidence: NO_MEASURE };
    return { edits: [edit], steps: frames, ms: Date.now() - t0, stoppedBy: 'done', canvasTokens: 0 };
  }

  /** Mercury Edit's next edit: the editable region around the cursor rewritten, or unchanged (no edit). */
  async nextEdit(p: NextEditInput, o: RequestOptions = {}): Promise<DenoiseResult> {
    const t0 = Date.now();
    if (!this.capabilities.nextEdit)
      throw new BackendError(
        `${this.kind} servers have no next-edit endpoint: choose the mercury or local backend`,
        'unsupported',
      );
    const bad = cursorsProblem(p.text, [p.cursor]);
    if (bad) throw new BackendError(bad, 'input');
    await this.start();
    this.checkModel(this.opts.fimModel);
    const lf = toLf(p.text);
    const prompt = nextEditPrompt({
      path: p.file?.path ?? 'untitled',
      text: lf.text,
      cursor: lf.toLf(p.cursor),
      history: p.history ?? [],
      snippets: p.snippets,
    });
    const body = {
      model: this.opts.fimModel,
      messages: [{ role: 'user', content: prompt.content }],
      max_tokens: Math.max(CHAT_MIN_TOKENS, Math.ceil((prompt.end - prompt.start) * CHAT_TOKENS_PER_CHAR) * 2),
      ...(p.sampler?.temperature !== undefined ? { temperature: p.sampler.temperature } : {}),
    };
    const answer = await this.watched(() =>
      this.modelKnown(this.opts.fimModel, () =>
        this.checked().postJson<EditAnswer>('/edit/completions', body, {
          signal: o.signal,
          timeoutMs: NEXT_EDIT_TIMEOUT_MS,
        }),
      ),
    );
    const content = answer?.choices?.[0]?.message?.content;
    if (typeof content !== 'string') throw this.malformed();
    const edit = nextEditFromAnswer(content, lf.text, prompt);
    const edits = edit
      ? [
          {
            start: lf.fromLf(edit.start),
            end: lf.fromLf(edit.end),
            text: withEol(edit.text, lf.crlf),
            confidence: NO_MEASURE,
          },
        ]
      : [];
    return { edits, steps: 1, ms: Date.now() - t0, stoppedBy: 'done', canvasTokens: 0 };
  }

  dispose(): void {
    this.http?.dispose();
    this.setState({ kind: 'stopped' });
  }

  /**
   * One FIM answer, asked the way the server was found to answer. Until a request has been
   * answered, a refusal that means "not this way" (no such endpoint, a refused `suffix`) moves on
   * to the next way instead of failing; after that, it fails like any error.
   */
  private async fim(ask: FimAsk, o: RequestOptions): Promise<string> {
    // one deadline for the whole answer, however many ways it takes to find the server's
    const deadline = Date.now() + ask.timeoutMs;
    await this.startBy(deadline);
    for (;;) {
      const route = this.fimRoute;
      const a = { ...ask, timeoutMs: Math.max(1, deadline - Date.now()) };
      try {
        const text = await this.onceShorter(
          () => this.fimBy(route, a, o),
          () => this.fimBy(route, { ...a, ...shrinkContext(a.prefix, a.suffix) }, o),
        );
        if (!this.fimFound && this.fimRoute === route) {
          this.fimFound = true;
          this.opts.log?.(`${this.kind}: fill-in-the-middle is asked by ${route}`);
          if (this.info && this.state.kind === 'ready') {
            this.info = { ...this.info, fimRoute: route };
            this.setState({ kind: 'ready', info: this.info });
          }
        }
        return text;
      } catch (e) {
        const next = !this.fimFound && refusesRoute(e) ? this.routeAfter(route) : undefined;
        if (!next) throw e;
        if (this.fimRoute === route) this.fimRoute = next; // a parallel request may have moved on already
      }
    }
  }

  /** `start()`, but a ghost-text request waits for it only until its own deadline. */
  private startBy(deadline: number): Promise<BackendInfo> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BackendError(`${this.http?.host ?? this.opts.baseUrl} did not answer in time`, 'timeout')),
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([this.start(), late]).finally(() => clearTimeout(timer));
  }

  /** The way to try after `route` was refused. */
  private routeAfter(route: FimRoute): FimRoute | undefined {
    const setting = this.opts.fimTemplate ?? 'auto';
    const template = fimTemplateFor(this.opts.fimModel, setting);
    switch (route) {
      case 'fim':
        return 'infill';
      case 'infill':
        // a template the user chose is meant: OpenAI's `suffix` form is not tried first
        return template && setting !== 'auto' ? 'template' : 'suffix';
      case 'suffix':
        return template ? 'template' : 'chat';
      case 'template':
        return 'chat';
      case 'chat':
        return undefined;
    }
  }

  private async fimBy(route: FimRoute, a: FimAsk, o: RequestOptions): Promise<string> {
    const live = a.live === true;
    const common = {
      max_tokens: a.maxTokens,
      temperature: a.temperature ?? 0,
      stream: live,
    };
    if (route === 'chat') {
      const model = this.opts.chatModel || this.opts.fimModel;
      this.checkModel(model);
      const body = { model, messages: fimChatMessages({ prefix: a.prefix, suffix: a.suffix }), ...common };
      const shape = (t: string) => middleFromAnswer(t, a.prefix, a.suffix);
      return shape(await this.ask('/chat/completions', body, a, o, shape));
    }
    this.checkModel(this.opts.fimModel);
    if (route === 'infill') {
      // llama.cpp's server has it at its root, beside /v1 (the URL resolves the "..")
      const path = this.http!.basePath.endsWith('/v1') ? '/../infill' : '/infill';
      const body = {
        input_prefix: a.prefix,
        input_suffix: a.suffix,
        n_predict: a.maxTokens,
        temperature: a.temperature ?? 0,
        stream: live,
      };
      return this.ask(path, { model: this.opts.fimModel, ...body }, a, o, (x) => x);
    }
    if (route === 'template') {
      const t = fimTemplateFor(this.opts.fimModel, this.opts.fimTemplate)!;
      const body = { model: this.opts.fimModel, prompt: t.prompt(a.prefix, a.suffix), stop: t.stop, ...common };
      const shape = (x: string) => cutAtStop(x, t.stop);
      return shape(await this.ask('/completions', body, a, o, shape));
    }
    const body = {
      model: this.opts.fimModel,
      prompt: a.prefix,
      suffix: a.suffix,
      ...common,
      ...(route === 'fim' && live && this.diffusing ? { diffusing: true } : {}),
    };
    if (route === 'fim') return this.ask('/fim/completions', body, a, o, (x) => x);
    // a server that takes `suffix` without using it continues past the cursor: cut where the suffix begins
    const shape = (x: string) => cutAtSuffix(x, a.suffix);
    return shape(await this.ask('/completions', body, a, o, shape));
  }

  /** Sends one completion and returns its text: streamed (each frame shown through `shape`) when `live`. */
  private async ask(
    path: string,
    body: Record<string, unknown>,
    a: FimAsk,
    o: RequestOptions,
    shape: (text: string) => string,
  ): Promise<string> {
    // OpenAI's choices, or llama.cpp's `/infill` answer, whose text is its top-level `content`
    const pick = (answer: FimAnswer | undefined) => {
      const c = answer?.choices?.[0];
      return c?.text ?? c?.delta?.content ?? c?.message?.content ?? answer?.content;
    };
    return this.modelKnown(String(body.model), async () => {
      if (!a.live) {
        const answer = await this.checked().postJson<FimAnswer>(path, body, {
          signal: o.signal,
          timeoutMs: a.timeoutMs,
        });
        const text = pick(answer);
        if (typeof text !== 'string') throw this.malformed();
        return text;
      }
      let text = '';
      await this.checked().postStream(path, body, { signal: o.signal, timeoutMs: a.timeoutMs }, (e) => {
        const frame = this.frame<FimAnswer>(e);
        if (!frame) return;
        const part = pick(frame);
        // a role-only first delta, or the closing frame, carries no text: no frame to show
        if (part === undefined || part === null || part === '') return;
        if (typeof part !== 'string') throw this.malformed();
        text = body.diffusing ? part : text + part;
        o.onProgress?.({
          requestId: '',
          step: 0,
          maxSteps: 0,
          ...(body.diffusing ? {} : { unit: 'block' as const }),
          spans: [{ text: shape(text), masked: 0 }],
        });
      });
      return text;
    });
  }

  /** Runs a request for `model`; a server that says it has no such model gets its list named. */
  private async modelKnown<T>(model: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (!(e instanceof RemoteStatusError && e.hint === 'unknown_model')) throw e;
      // the list at start was stale, or the server has none: ask again, for the message
      this.models = (await this.readModels().catch(() => undefined)) ?? this.models;
      throw this.unknownModel(model);
    }
  }

  /** Runs `first`; when the server says the context is too long, runs `shorter` once instead. */
  private async onceShorter<T>(first: () => Promise<T>, shorter: () => Promise<T>): Promise<T> {
    try {
      return await this.watched(first);
    } catch (e) {
      if (!(e instanceof ContextTooLongError)) throw e;
      this.opts.log?.(`${this.kind}: the context was too long for the model; retrying once with half of it`);
      return this.watched(shorter);
    }
  }

  /** A refused key or an empty account stops the backend (ghost text must not keep asking) until the user acts. */
  private async watched<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof BackendError && (e.code === 'auth' || e.code === 'quota')) {
        this.stoppedBy = e.code;
        this.setState({ kind: 'error', message: e.message });
      }
      throw e;
    }
  }

  private checked(): HttpClient {
    if (this.configError) throw this.configError;
    if (this.state.kind === 'error') throw new BackendError(this.state.message, this.stoppedBy);
    return this.http!;
  }

  /** A stream event's JSON, or undefined for `[DONE]`. */
  private frame<T>(e: StreamEvent): T | undefined {
    if (e.data.trim() === '[DONE]') return undefined;
    let frame: T & { error?: { code?: unknown; type?: unknown } };
    try {
      frame = JSON.parse(e.data);
    } catch {
      throw this.malformed();
    }
    if (frame && typeof frame === 'object' && frame.error) {
      const code = String(frame.error.code ?? frame.error.type ?? 'error');
      throw new BackendError(`${this.http?.host ?? this.opts.baseUrl} reported an error mid-answer (${code})`, 'crash');
    }
    return frame;
  }

  private malformed(): BackendError {
    return new BackendError(
      `${this.http?.host ?? this.opts.baseUrl} sent a malformed frame (not the OpenAI format)`,
      'crash',
    );
  }

  private setState(s: BackendState): void {
    this.state = s;
    this.opts.onState?.(s);
  }
}

/** A refusal that means "not this way": the endpoint is missing, or the `suffix` field is refused. */
function refusesRoute(e: unknown): boolean {
  return e instanceof RemoteStatusError && (e.hint === 'no_route' || e.hint === 'suffix_unsupported');
}
