// The functions of a file as line ranges, found from the text alone (no parser per language): a
// Python `def` runs while the lines below it are indented deeper; a brace language's function
// runs from its header to the brace that closes the first one opened after the header. Repair
// uses them to widen a pointer to the function around it, and to find the functions a failing
// check names. Strings and comments holding braces can mislead the brace count; the cost is a
// range a little too wide or too narrow, which only changes where the search looks first.

export interface FunctionRange {
  name: string;
  /** 1-based, inclusive: the header line and the last line of the body. */
  first: number;
  last: number;
}

const PY_DEF = /^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(/;
const BRACE_DEFS = [
  /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*[<(]/,
  /^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>)/,
  /^\s*(?:(?:public|private|protected|static|async|override|readonly)\s+)*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^;]*\)\s*(?::\s*[^={;]+)?\{\s*$/,
];
const NOT_FUNCTIONS = new Set(['if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'function']);

export function functionRanges(text: string, language: string): FunctionRange[] {
  const lines = text.split('\n');
  return language === 'python' ? pythonFunctions(lines) : braceFunctions(lines);
}

function indentOf(line: string): number {
  return /^\s*/.exec(line)![0].length;
}

function pythonFunctions(lines: string[]): FunctionRange[] {
  const out: FunctionRange[] = [];
  lines.forEach((line, i) => {
    const m = PY_DEF.exec(line);
    if (!m) return;
    const indent = m[1].length;
    let last = i;
    let open = 0; // a signature spread over lines: its continuation lines may be indented less
    for (let j = i; j < lines.length; j++) {
      const t = lines[j];
      if (j > i && open === 0 && t.trim() !== '' && indentOf(t) <= indent) break;
      open += (t.match(/[([{]/g) ?? []).length - (t.match(/[)\]}]/g) ?? []).length;
      if (t.trim() !== '') last = j;
    }
    out.push({ name: m[2], first: i + 1, last: last + 1 });
  });
  return out;
}

function braceFunctions(lines: string[]): FunctionRange[] {
  const out: FunctionRange[] = [];
  lines.forEach((line, i) => {
    const name = BRACE_DEFS.map((re) => re.exec(line)?.[1]).find((n) => n !== undefined);
    if (!name || NOT_FUNCTIONS.has(name)) return;
    const last = closingLine(lines, i);
    if (last !== undefined) out.push({ name, first: i + 1, last: last + 1 });
  });
  return out;
}

/** The line of the brace that closes the first `{` at or after line `from` (a one-line arrow body: that line). */
function closingLine(lines: string[], from: number): number | undefined {
  let depth = 0;
  let opened = false;
  for (let j = from; j < lines.length && j < from + 2000; j++) {
    for (const ch of lines[j].replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""').replace(/\/\/.*$/, '')) {
      if (ch === '{') {
        depth++;
        opened = true;
      } else if (ch === '}') depth--;
      if (opened && depth === 0) return j;
    }
    if (!opened && j > from && /;\s*$/.test(lines[j])) return j; // `const f = (x) => x + 1;` over lines
    if (!opened && j === from && /=>[^{]*;\s*$/.test(lines[j])) return j;
  }
  return undefined;
}

/** The innermost function whose lines hold `line` (1-based). */
export function enclosingFunction(ranges: readonly FunctionRange[], line: number): FunctionRange | undefined {
  return ranges
    .filter((r) => r.first <= line && line <= r.last)
    .sort((a, b) => a.last - a.first - (b.last - b.first))[0];
}
