// The classic repair templates of generate-and-validate repair (GenProg, PAR, TBar and their
// kin): small edits that undo the mistakes people make most — a comparison or arithmetic operator
// swapped, a bound off by one, two arguments swapped, the wrong variable, a negated condition, a
// line too many. They need no model; what makes them useful is the order they are checked in,
// which the model's score of the whole region gives (search.ts). Strings and comments are never
// edited.

import type { TextEdit } from '../text/textEdit';
import { lineAt, lineStarts } from '../text/textPosition';

export interface TemplateEdit {
  edit: TextEdit;
  /** Which template made it (reported per template in the figures). */
  template: string;
  /** The 1-based line it changes. */
  line: number;
}

interface Lexeme {
  kind: 'name' | 'number' | 'op' | 'string' | 'comment' | 'space' | 'other';
  text: string;
  start: number;
}

const LEXEME =
  /(\/\*[\s\S]*?\*\/)|(#[^\n]*|\/\/[^\n]*)|("""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|([A-Za-z_$][\w$]*)|(\d+(?:\.\d+)?)|(===|!==|\*\*|\/\/|<=|>=|==|!=|&&|\|\||[-+*/%<>=!])|(\s+)|(.)/g;

export function lex(text: string, language: string): Lexeme[] {
  const out: Lexeme[] = [];
  for (const m of text.matchAll(LEXEME)) {
    const start = m.index;
    // a block comment (TypeScript's /* */ and /** */; Python has none, and no code of it has `/*`)
    if (m[1] !== undefined) out.push({ kind: 'comment', text: m[0], start });
    else if (m[2] !== undefined) {
      const isComment = language === 'python' ? m[2].startsWith('#') : m[2].startsWith('//');
      // `//` is Python's floor division, `#` no comment in TypeScript: split off the operator
      if (!isComment) {
        out.push({
          kind: m[2].startsWith('//') ? 'op' : 'other',
          text: m[2].slice(0, m[2].startsWith('//') ? 2 : 1),
          start,
        });
        out.push(
          ...lex(m[2].slice(m[2].startsWith('//') ? 2 : 1), language).map((l) => ({
            ...l,
            start: l.start + start + (m[2].startsWith('//') ? 2 : 1),
          })),
        );
        continue;
      }
      out.push({ kind: 'comment', text: m[0], start });
    } else if (m[3] !== undefined) out.push({ kind: 'string', text: m[0], start });
    else if (m[4] !== undefined) out.push({ kind: 'name', text: m[0], start });
    else if (m[5] !== undefined) out.push({ kind: 'number', text: m[0], start });
    else if (m[6] !== undefined) out.push({ kind: 'op', text: m[0], start });
    else if (m[7] !== undefined) out.push({ kind: 'space', text: m[0], start });
    else out.push({ kind: 'other', text: m[0], start });
  }
  return out;
}

/** The [start, end) spans of `text`'s comments: what no repair edits. */
export function commentSpans(text: string, language: string): Array<[number, number]> {
  return lex(text, language)
    .filter((l) => l.kind === 'comment')
    .map((l) => [l.start, l.start + l.text.length]);
}

const SWAPS: string[][] = [
  ['<', '<=', '>', '>='],
  ['==', '!='],
  ['===', '!=='],
  ['+', '-', '*', '/', '//', '%'],
  ['and', 'or'],
  ['&&', '||'],
  ['min', 'max'],
  ['True', 'False'],
  ['true', 'false'],
  ['append', 'extend'],
];

const KEYWORDS = new Set(
  (
    'def return if elif else for while in not and or is None True False lambda pass break continue import from as ' +
    'class try except finally raise with yield global nonlocal assert del async await function const let var new ' +
    'this typeof instanceof of null undefined true false switch case default do export interface type extends ' +
    'implements public private protected static readonly void number string boolean any unknown never print len ' +
    'range self'
  ).split(' '),
);

/**
 * Every template edit of lines `first`..`last` (1-based, inclusive) of `text`; the names the
 * variable template tries come from lines `scopeFirst`..`last` (a function's parameters are in
 * its header, which is not edited).
 */
export function classicTemplates(
  text: string,
  language: string,
  first: number,
  last: number,
  scopeFirst = first,
): TemplateEdit[] {
  const starts = lineStarts(text);
  const regionStart = starts[first - 1] ?? text.length;
  const regionEnd = last < starts.length ? starts[last] : text.length;
  const region = text.slice(regionStart, regionEnd);
  const lexemes = lex(region, language).map((l) => ({ ...l, start: l.start + regionStart }));
  const lineOf = (offset: number) => lineAt(starts, offset) + 1;
  const out: TemplateEdit[] = [];
  const add = (start: number, end: number, replacement: string, template: string) =>
    out.push({ edit: { start, end, text: replacement }, template, line: lineOf(start) });
  const code = lexemes.filter((l) => l.kind !== 'space' && l.kind !== 'comment');
  const scopeStart = starts[Math.min(scopeFirst, first) - 1] ?? regionStart;
  const scopeCode = lex(text.slice(scopeStart, regionEnd), language).filter(
    (l) => l.kind !== 'space' && l.kind !== 'comment',
  );
  const definedFunctions = new Set(
    [...text.matchAll(language === 'python' ? /\bdef\s+([A-Za-z_]\w*)/g : /\bfunction\s+([A-Za-z_$][\w$]*)/g)].map(
      (m) => m[1],
    ),
  );
  // names of values: not the ones called or defined as functions or classes
  const callables = new Set(
    scopeCode
      .filter(
        (l, k) =>
          l.kind === 'name' &&
          (scopeCode[k + 1]?.text === '(' || /^(def|function|class)$/.test(scopeCode[k - 1]?.text ?? '')),
      )
      .map((l) => l.text),
  );
  const scopeNames = [
    ...new Set(
      scopeCode.filter((l) => l.kind === 'name' && !KEYWORDS.has(l.text) && !callables.has(l.text)).map((l) => l.text),
    ),
  ];

  code.forEach((l, k) => {
    const end = l.start + l.text.length;
    for (const group of SWAPS) {
      if (!group.includes(l.text)) continue;
      if ((l.text === '<' || l.text === '>') && language !== 'python' && isTypeBracket(code, k)) continue;
      for (const other of group) if (other !== l.text) add(l.start, end, other, 'operator');
    }
    if (l.kind === 'number' && /^\d+$/.test(l.text)) {
      const n = Number(l.text);
      add(l.start, end, String(n + 1), 'off-by-one');
      if (n > 0) add(l.start, end, String(n - 1), 'off-by-one');
    }
    const next = code[k + 1];
    // a bound or index one off: `r` → `r + 1` / `r - 1` where a value ends before `)`, `]` or `:`
    if ((l.kind === 'name' || l.kind === 'number') && next && /^[)\]:,]$/.test(next.text) && !KEYWORDS.has(l.text)) {
      add(end, end, ' + 1', 'off-by-one');
      add(end, end, ' - 1', 'off-by-one');
    }
    // ` + 1` / ` - 1` too many
    if ((l.text === '+' || l.text === '-') && next?.text === '1') {
      const before = lexemes.findIndex((x) => x.start === l.start);
      const from = lexemes[before - 1]?.kind === 'space' ? lexemes[before - 1].start : l.start;
      add(from, next.start + 1, '', 'off-by-one');
    }
    const called = code[k + 1]?.text === '(';
    const valuePlace = l.kind === 'name' && !KEYWORDS.has(l.text) && code[k - 1]?.text !== '.';
    if (valuePlace && !called && !/^(def|function|class)$/.test(code[k - 1]?.text ?? '')) {
      for (const other of scopeNames) if (other !== l.text) add(l.start, end, other, 'variable');
    }
    // the wrong function called: another of the file's own (a recursion's name, a helper)
    if (valuePlace && called) {
      for (const other of definedFunctions) if (other !== l.text) add(l.start, end, other, 'variable');
    }
    if (language === 'python' && l.text === 'in' && code[k - 1]?.text !== 'not' && !isForTarget(code, k)) {
      add(l.start, l.start, 'not ', 'condition');
    }
    if (language === 'python' && l.text === 'not' && next?.text === 'in') add(l.start, next.start, '', 'condition');
    if (language === 'python' && l.text === 'is') {
      if (next?.text === 'not') add(end, next.start + 3, '', 'condition');
      else add(end, end, ' not', 'condition');
    }
    if (l.text === 'not' && language === 'python') add(l.start, code[k + 1]?.start ?? end, '', 'condition');
    if (l.text === '!' && language !== 'python' && next) add(l.start, next.start, '', 'condition');
    if ((l.text === 'if' || l.text === 'while') && next) {
      add(next.start, next.start, language === 'python' ? 'not ' : '!', 'condition');
    }
  });
  out.push(...argumentSwaps(code, add));
  let previous = first > 1 ? lastCodeLineBefore(text, starts, first) : '';
  // lines where code starts: a comment's or a docstring's own lines are not deleted
  const codeLines = new Set(code.map((l) => lineOf(l.start)));
  for (let line = Math.max(first, 1); line <= last && line <= starts.length; line++) {
    const start = starts[line - 1];
    const end = line < starts.length ? starts[line] : text.length;
    const written = text.slice(start, end).trim();
    if (written === '' || !codeLines.has(line)) continue;
    add(start, end, '', isRepeat(written, previous) ? 'repeated line deleted' : 'line deleted');
    previous = written;
  }
  return dedupe(out, text);
}

/**
 * A statement written twice in a row (a paste or a merge slip): the same text as the code line
 * before it, and more than a closing bracket or a bare keyword, which repeat in correct code.
 */
function isRepeat(written: string, previous: string): boolean {
  return written === previous && written.length >= 6 && /[\w$]/.test(written) && /[=(.]/.test(written);
}

/** The last non-blank line before 1-based `line`, trimmed. */
function lastCodeLineBefore(text: string, starts: number[], line: number): string {
  for (let l = line - 1; l >= 1; l--) {
    const written = text.slice(starts[l - 1], l < starts.length ? starts[l] : text.length).trim();
    if (written !== '') return written;
  }
  return '';
}

/** `in` of a `for … in` header (Python), which no condition template may touch. */
function isForTarget(code: Lexeme[], k: number): boolean {
  for (let j = k - 1; j >= 0 && j >= k - 8; j--) {
    if (code[j].text === 'for') return true;
    if (code[j].text === ':' || code[j].text === 'if') return false;
  }
  return false;
}

/** `<` / `>` of a generic type in TypeScript: a name before and a name or `>` soon after. */
function isTypeBracket(code: Lexeme[], k: number): boolean {
  const t = code[k].text;
  const before = code[k - 1];
  const after = code[k + 1];
  return t === '<'
    ? before?.kind === 'name' && /^[A-Z]/.test(after?.text ?? '')
    : before?.kind === 'name' && /^[A-Z]/.test(before.text);
}

/** Two adjacent arguments of a call swapped, when both are simple: one token, or a name's member chain (`xs.length`). */
function argumentSwaps(code: Lexeme[], add: (s: number, e: number, t: string, tmpl: string) => number): TemplateEdit[] {
  const spelled = (from: number, to: number) =>
    code
      .slice(from, to)
      .map((l) => l.text)
      .join('');
  for (let k = 0; k < code.length; k++) {
    const opensCall = code[k - 1]?.text === '(' || code[k - 1]?.text === ',';
    const endA = opensCall ? simpleArgumentEnd(code, k) : undefined;
    if (endA === undefined || code[endA]?.text !== ',') continue;
    const endB = simpleArgumentEnd(code, endA + 1);
    if (endB === undefined || (code[endB]?.text !== ')' && code[endB]?.text !== ',')) continue;
    const last = code[endB - 1];
    add(
      code[k].start,
      last.start + last.text.length,
      `${spelled(endA + 1, endB)}, ${spelled(k, endA)}`,
      'arguments swapped',
    );
  }
  return [];
}

/** Where a simple argument that starts at `code[k]` ends (exclusive): one token, then any `.name`s. */
function simpleArgumentEnd(code: Lexeme[], k: number): number | undefined {
  const first = code[k];
  if (!first || (first.kind !== 'name' && first.kind !== 'number' && first.kind !== 'string')) return undefined;
  let end = k + 1;
  while (first.kind === 'name' && code[end]?.text === '.' && code[end + 1]?.kind === 'name') end += 2;
  return end;
}

function dedupe(edits: TemplateEdit[], text: string): TemplateEdit[] {
  const seen = new Set<string>();
  return edits.filter(({ edit }) => {
    if (text.slice(edit.start, edit.end) === edit.text) return false;
    const key = `${edit.start}:${edit.end}:${edit.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const UNDEFINED_NAME = [
  /NameError: name '([A-Za-z_]\w*)' is not defined/,
  /UnboundLocalError: (?:local variable|cannot access local variable) '([A-Za-z_]\w*)'/,
  /ReferenceError: ([A-Za-z_$][\w$]*) is not defined/,
];
const PY_INITS = ['[]', '0', 'set()', '{}', "''", 'None', '1'];
const JS_INITS = ['[]', '0', '{}', "''", 'null', '1'];

/**
 * A line that gave a name its first value, deleted: the check says the name is not defined, so a
 * line giving it a first value is tried at the top of the lines searched, with the usual ones.
 */
export function missingNameTemplates(text: string, language: string, first: number, output: string): TemplateEdit[] {
  const name = UNDEFINED_NAME.map((re) => re.exec(output)?.[1]).find((n) => n !== undefined);
  if (!name) return [];
  const at = lineStarts(text)[first - 1];
  if (at === undefined) return [];
  const indent = /^[ \t]*/.exec(text.slice(at))![0];
  const inits = language === 'python' ? PY_INITS : JS_INITS;
  return inits.map((init) => ({
    edit: {
      start: at,
      end: at,
      text: language === 'python' ? `${indent}${name} = ${init}\n` : `${indent}let ${name} = ${init};\n`,
    },
    template: 'line inserted',
    line: first,
  }));
}
