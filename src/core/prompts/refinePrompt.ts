// What a chat model is asked for Refine, and how its answer becomes the selection's new text.
// The chat model sees the file's path and language, the code around the selection (far more than
// the local model's window) and the selection between markers; it answers with the selection's
// new text in one code block. Pure: text in, text out.

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RefinePromptInput {
  path: string;
  language: string;
  /** Code before and after the selection (already cut to the context the user allows). */
  before: string;
  selection: string;
  after: string;
  /** What the user asked for; without one, Refine corrects. */
  instruction?: string;
}

export const SELECTION_START = '<|selection|>';
export const SELECTION_END = '<|/selection|>';

/** Without an instruction Refine is a corrector: correct code must come back as it was. */
export const DEFAULT_INSTRUCTION =
  'Fix what is wrong in the selected code and keep what is right. If nothing is wrong, return it unchanged.';

const SYSTEM = [
  'You edit one selected region of a source file.',
  `The region is marked with ${SELECTION_START} and ${SELECTION_END}; the code around it is context and must not be repeated.`,
  'Answer with the new text of the selected region only, in one fenced code block, with no explanation.',
  'Keep the indentation and line endings of the surrounding code.',
].join(' ');

export function refineMessages(p: RefinePromptInput): ChatMessage[] {
  const code = `${p.before}${SELECTION_START}${p.selection}${SELECTION_END}${p.after}`;
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `File: ${p.path}\nLanguage: ${p.language}\n\n\`\`\`${p.language}\n${code}\n\`\`\`\n\nInstruction: ${p.instruction?.trim() || DEFAULT_INSTRUCTION}`,
    },
  ];
}

/**
 * The selection's new text from a chat answer: the body of its first fenced code block (the
 * whole answer when it has none), without selection markers the model echoed, and with the
 * selection's own leading and trailing line breaks, which models drop or add at will.
 */
export function answerText(answer: string, selection: string): string {
  let text = answer;
  const open = /^[ \t]*(```+|~~~+)[^\n]*\n/m.exec(answer);
  if (open) {
    const body = answer.slice(open.index + open[0].length);
    const fence = open[1];
    const close = new RegExp(`^[ \\t]*${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`, 'm').exec(body);
    text = close ? body.slice(0, close.index) : body; // a frame mid-stream has no closing fence yet
    if (close) text = text.replace(/\r?\n$/, '');
  }
  text = text.split(SELECTION_START).join('').split(SELECTION_END).join('');
  return keepEdges(text, selection);
}

/** `text` with `selection`'s leading and trailing newlines (the selection's edges are the document's). */
function keepEdges(text: string, selection: string): string {
  const lead = /^(\r?\n)*/.exec(selection)![0];
  const trail = /(\r?\n)*$/.exec(selection)![0];
  const core = text.replace(/^(\r?\n)+/, '').replace(/(\r?\n)+$/, '');
  return lead + core + trail;
}

/** A FIM prompt and suffix cut to fewer characters: what a retry after "context too long" sends. */
export function shrinkContext(prefix: string, suffix: string, factor = 0.5): { prefix: string; suffix: string } {
  return {
    prefix: prefix.slice(prefix.length - Math.floor(prefix.length * factor)),
    suffix: suffix.slice(0, Math.floor(suffix.length * factor)),
  };
}
