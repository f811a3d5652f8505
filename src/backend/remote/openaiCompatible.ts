// The `mercury` and `openai` backends: Inception's Mercury API, or any server with the same
// OpenAI-compatible endpoints. Ghost text and Fill at Cursor ask `POST /fim/completions` (one
// request per cursor, accepted together); Refine asks `POST /chat/completions` with the selection
// marked in its file. Mercury streams with `diffusing: true`, and then every frame carries the
// whole current text of the answer (its denoising, drawn live); a plain OpenAI stream carries
// deltas, appended. Next edit (Mercury only) asks `POST /edit/completions` with Mercury Edit's
// one-message prompt (core/prompts/nextEditPrompt.ts) and gets the editable region back, rewritten or not.
// Reads top to bottom: build the request, stream, map errors.
import { toLf, withEol } from '../../core/text/lineEndings';
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
  type NextEditInput,
  type RefineInput,
  type RequestOptions,
} from '../backend';
import { ContextTooLongError, HttpClient, type StreamEvent } from './http';
import type { DenoiseResult, SpanEdit } from '../requests';

export const MERCURY_BASE_URL = 'https://api.inceptionlabs.ai/v1';
export const MERCURY_FIM_MODEL = 'mercury-edit';
export const MERCURY_CHAT_MODEL = 'mercury-2';

export interface OpenAICompatibleOptions {
  kind: 'mercury' | 'openai';
  baseUrl: string;
  fimModel: string;
  chatModel: string;
  apiKey?: string;
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

/** No confidence comes back from these APIs: results say 1, and `capabilities.confidence` says it is no measure. */
const NO_MEASURE = 1;

interface FimAnswer {
  choices?: { text?: unknown; delta?: { content?: unknown } }[];
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

  async start(): Promise<BackendInfo> {
    if (this.configError) {
      this.setState({ kind: 'error', message: this.configError.message });
      throw this.configError;
    }
    const info: BackendInfo = {
      backend: this.kind,
      name: `${this.opts.fimModel} / ${this.opts.chatModel}`,
      where: this.opts.baseUrl,
    };
    if (this.state.kind !== 'error') this.setState({ kind: 'ready', info });
    return info;
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
                  o.onProgress!({ requestId: '', step: ++frames, maxSteps: 0, spans: spans.map((s) => ({ ...s })) });
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
    let frames = 0;
    const body = (messages: ChatMessage[]) => ({
      model: this.opts.chatModel,
      messages,
      max_tokens: maxTokens,
      stream: true,
      ...(p.sampler?.temperature !== undefined ? { temperature: p.sampler.temperature } : {}),
      ...(this.diffusing ? { diffusing: true } : {}),
    });
    const run = async (messages: ChatMessage[]): Promise<string> => {
      let answer = '';
      await this.checked().postStream(
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
            spans: [{ text: answerText(answer, selection), masked: 0 }],
          });
        },
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
      this.checked().postJson<EditAnswer>('/edit/completions', body, {
        signal: o.signal,
        timeoutMs: NEXT_EDIT_TIMEOUT_MS,
      }),
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

  /** One FIM answer; streamed when `live` (Fill's live view), in one piece for ghost text. */
  private async fim(
    {
      prefix,
      suffix,
      maxTokens,
      temperature,
      timeoutMs,
      live = false,
    }: { prefix: string; suffix: string; maxTokens: number; temperature?: number; timeoutMs: number; live?: boolean },
    o: RequestOptions,
  ): Promise<string> {
    const body = (pre: string, suf: string) => ({
      model: this.opts.fimModel,
      prompt: pre,
      suffix: suf,
      max_tokens: maxTokens,
      temperature: temperature ?? 0,
      stream: live,
      ...(live && this.diffusing ? { diffusing: true } : {}),
    });
    const ask = async (pre: string, suf: string): Promise<string> => {
      if (!live) {
        const answer = await this.checked().postJson<FimAnswer>('/fim/completions', body(pre, suf), {
          signal: o.signal,
          timeoutMs,
        });
        const text = answer?.choices?.[0]?.text;
        if (typeof text !== 'string') throw this.malformed();
        return text;
      }
      let text = '';
      await this.checked().postStream('/fim/completions', body(pre, suf), { signal: o.signal, timeoutMs }, (e) => {
        const frame = this.frame<FimAnswer>(e);
        if (!frame) return;
        const choice = frame.choices?.[0];
        const part = choice?.text ?? choice?.delta?.content;
        if (part === undefined || part === null) return;
        if (typeof part !== 'string') throw this.malformed();
        text = this.diffusing ? part : text + part;
        o.onProgress?.({ requestId: '', step: 0, maxSteps: 0, spans: [{ text, masked: 0 }] });
      });
      return text;
    };
    return this.onceShorter(
      () => ask(prefix, suffix),
      () => {
        const less = shrinkContext(prefix, suffix);
        return ask(less.prefix, less.suffix);
      },
    );
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
