// Fill-in-the-middle for servers without `/fim/completions` (vLLM, SGLang, llama.cpp's server,
// Ollama, LM Studio): the model's own infilling tokens sent as a raw prompt through
// `/v1/completions`, or, for a model without them, a chat prompt that shows the code around the
// cursor and asks for the missing middle only. Then the answer is trimmed to that middle: chat
// models wrap it in a fence, repeat the line they were given, and run on into the code after the
// cursor. Pure: text in, text out.
import type { ChatMessage } from './refinePrompt';

/** A model family's infilling tokens: the raw prompt, and the tokens that end the middle. */
export interface FimTemplate {
  name: string;
  /** Model names (as the server lists them) this template is chosen for. */
  match: RegExp;
  prompt(prefix: string, suffix: string): string;
  /** Sent as `stop`, and cut at again here (a server may return the stop text). */
  stop: string[];
}

/** The families whose infilling tokens are published with their weights, most common first. */
export const FIM_TEMPLATES: readonly FimTemplate[] = [
  {
    name: 'qwen',
    match: /qwen.*coder|codeqwen/i,
    prompt: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
    stop: ['<|endoftext|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|fim_pad|>', '<|file_sep|>'],
  },
  {
    name: 'codegemma',
    match: /codegemma/i,
    prompt: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
    stop: ['<|file_separator|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<eos>'],
  },
  {
    name: 'starcoder',
    match: /starcoder|santacoder/i,
    prompt: (p, s) => `<fim_prefix>${p}<fim_suffix>${s}<fim_middle>`,
    stop: ['<|endoftext|>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>', '<file_sep>'],
  },
  {
    name: 'deepseek',
    match: /deepseek.*coder/i,
    prompt: (p, s) => `<｜fim▁begin｜>${p}<｜fim▁hole｜>${s}<｜fim▁end｜>`,
    stop: ['<｜end▁of▁sentence｜>', '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<|EOT|>'],
  },
  {
    name: 'codellama',
    match: /code-?llama/i,
    prompt: (p, s) => `<PRE> ${p} <SUF>${s} <MID>`,
    stop: ['<EOT>', '<PRE>', '<SUF>', '<MID>'],
  },
];

/** What `diffuse.remote.fimTemplate` may say: `auto` (from the model's name), `none`, or a family. */
export const FIM_TEMPLATE_SETTINGS = ['auto', 'none', ...FIM_TEMPLATES.map((t) => t.name)] as const;

/** The template for `model` under `setting` (`auto` by default), or none: the chat prompt then. */
export function fimTemplateFor(model: string, setting = 'auto'): FimTemplate | undefined {
  if (setting === 'none') return undefined;
  if (setting !== 'auto') return FIM_TEMPLATES.find((t) => t.name === setting);
  return FIM_TEMPLATES.find((t) => t.match.test(model));
}

/** Where the chat prompt puts the cursor; an answer that echoes it loses it. */
export const FILL_MARKER = '<|fill|>';

const SYSTEM = [
  'You complete code at a cursor in a source file.',
  `The cursor is marked ${FILL_MARKER}; the code before and after it is already written and must not be repeated.`,
  'Answer with the code that belongs at the cursor only: no explanation, no code fence.',
  'Write nothing if nothing is missing.',
].join(' ');

export interface FimChatInput {
  prefix: string;
  suffix: string;
  path?: string;
  language?: string;
}

/** The chat prompt of a model without infilling tokens. */
export function fimChatMessages(p: FimChatInput): ChatMessage[] {
  const head = p.path ? `File: ${p.path}\n${p.language ? `Language: ${p.language}\n` : ''}\n` : '';
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: `${head}${p.prefix}${FILL_MARKER}${p.suffix}` },
  ];
}

/** A repeat of the prefix's end shorter than this is kept unless it starts a line ("(" after "f(" is new text). */
const MIN_ECHO_CHARS = 16;
/** This much of the suffix's start, found in the answer, is where the answer ran into it. */
const SUFFIX_PROBE_CHARS = 32;
/** The suffix's first line must be this long to be looked for inside the answer ("}" is too common). */
const MIN_SUFFIX_LINE_CHARS = 8;

/**
 * The middle from a model's answer (whole, or a frame mid-stream): cut at a template's stop
 * text, out of its code fence, without an echoed marker, without the end of the prefix the model
 * repeated, and cut where the suffix begins.
 */
export function middleFromAnswer(answer: string, prefix: string, suffix: string, stop: readonly string[] = []): string {
  let text = cutAtStop(answer, stop);
  text = unfenced(text);
  text = text.split(FILL_MARKER).join('');
  text = withoutEchoedPrefix(text, prefix);
  return cutAtSuffix(text, suffix);
}

export function cutAtStop(text: string, stop: readonly string[]): string {
  let end = text.length;
  for (const s of stop) {
    const i = s ? text.indexOf(s) : -1;
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/** The body of the answer's first code fence (still open mid-stream), or the answer. */
function unfenced(text: string): string {
  const open = /^[ \t]*(```+|~~~+)[^\n]*\n/m.exec(text);
  // only a fence that opens the answer (after blank lines or a one-line preamble) is a wrapper
  if (!open || text.slice(0, open.index).split('\n').length > 2) return text;
  const body = text.slice(open.index + open[0].length);
  const fence = open[1];
  const close = new RegExp(`^[ \\t]*${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`, 'm').exec(body);
  return close ? body.slice(0, close.index).replace(/\r?\n$/, '') : body;
}

/** Drops the longest start of `text` that repeats the end of `prefix`, when it is a real repeat. */
function withoutEchoedPrefix(text: string, prefix: string): string {
  for (let k = Math.min(text.length, prefix.length); k > 0; k--) {
    if (!prefix.endsWith(text.slice(0, k))) continue;
    const startsLine = k === prefix.length || prefix[prefix.length - k - 1] === '\n';
    const echoed = text.slice(0, k);
    if ((k >= MIN_ECHO_CHARS || startsLine) && echoed.trim() !== '') return text.slice(k);
  }
  return text;
}

/**
 * Cuts where the answer runs into the suffix: where the answer writes out the suffix's start, or
 * its rest is the start of the suffix (at least two visible characters: ";\n}" before a suffix
 * ";\n}\n"; a server that ignores `suffix` runs on past it), where a line is the
 * start of the suffix and the answer closes more brackets than it opens ("}" alone is too common
 * otherwise), or at the suffix's first line when that line is distinctive enough to be found.
 */
export function cutAtSuffix(text: string, suffix: string): string {
  const head = suffix.replace(/^\s+/, '');
  if (!head) return text;
  const newlineFirst = /^[ \t]*\r?\n/.test(suffix);
  const cut = (i: number): string => {
    const kept = text.slice(0, i);
    // the suffix brings its own line break: the one before the cut would double it
    return newlineFirst ? kept.replace(/\r?\n[ \t]*$/, '') : kept;
  };
  const probe = head.slice(0, SUFFIX_PROBE_CHARS);
  const visible = (t: string) => t.replace(/\s/g, '').length;
  // ");" alone turns up in new code; ";\n}" across a line break, or 8 characters, do not by chance
  const distinctive = visible(probe) >= 8 || (visible(probe) >= 2 && probe.trimEnd().includes('\n'));
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== head[0]) continue;
    const from = text.slice(i);
    // the suffix's start written out (and maybe more after it), or the answer ending in its start
    if (distinctive && from.startsWith(probe)) return cut(i);
    const rest = from.trimEnd();
    if (visible(rest) >= 2 && head.startsWith(rest)) return cut(i);
  }
  const firstLine = head.split('\n')[0].trim();
  const overClosed = bracketBalance(text) < 0;
  for (let i = 0; i >= 0 && i < text.length; i = nextLine(text, i)) {
    const rest = text.slice(i).trim();
    if (!rest) break;
    if (
      (overClosed && head.startsWith(rest)) ||
      (firstLine.length >= MIN_SUFFIX_LINE_CHARS && rest.startsWith(firstLine))
    )
      return cut(i);
  }
  return text;
}

/** Opening minus closing brackets of `text` (strings and comments are not told apart: a heuristic). */
function bracketBalance(text: string): number {
  let n = 0;
  for (const c of text) {
    if (c === '(' || c === '[' || c === '{') n++;
    else if (c === ')' || c === ']' || c === '}') n--;
  }
  return n;
}

/** The start of the line after the one at `i`, or -1. */
function nextLine(text: string, i: number): number {
  const n = text.indexOf('\n', i);
  return n < 0 ? -1 : n + 1;
}
