// Where a failing check points: the `file:line` places in its output (Python tracebacks, pytest's
// short form, tsc in both its formats, Node stack frames, compilers' `file:line:col`) that fall in
// the file being repaired, and the one line a user reads as the cause. A check's output names
// paths as the check saw them (relative to the scratch copy, or absolute inside it), so a place
// matches the file when its path ends with the file's path relative to the project root.

/** A 1-based line of the file being repaired that the output points at, the innermost first. */
export interface FailurePointer {
  line: number;
  /** The output line it came from (for the log and tests). */
  from: string;
}

const PATTERNS: RegExp[] = [
  /File "([^"]+)", line (\d+)/, // Python traceback
  /^([^\s:()]+)\((\d+),\d+\): error/, // tsc (default)
  /^([^\s:()]+):(\d+):\d+ - error/, // tsc --pretty
  /\(([^()\s]+):(\d+):\d+\)\s*$/, // Node stack frame with a function name
  /\bat ([^()\s]+):(\d+):\d+\s*$/, // Node stack frame without one
  /^([^\s:]+\.[A-Za-z]+):(\d+)(?::\d+)?:/, // pytest's short form, gcc, eslint-unix, ruff, pyright
  /^\s+([^\s:]+\.[A-Za-z]+):(\d+):\d+ - error/, // pyright's indented form
];

function sameFile(reported: string, relPath: string): boolean {
  const r = reported.replaceAll('\\', '/');
  const p = relPath.replaceAll('\\', '/').replace(/^\.\//, '');
  return r === p || r.endsWith(`/${p}`);
}

/**
 * The lines of `relPath` that `output` points at, innermost first: a traceback lists the
 * outermost frame first and the raising one last, so frames are reversed; every other format
 * already names the failing place first. Each line appears once.
 */
export function failurePointers(output: string, relPath: string): FailurePointer[] {
  const found: FailurePointer[] = [];
  const tracebackFrames: FailurePointer[] = [];
  for (const text of output.split(/\r?\n/)) {
    for (const pattern of PATTERNS) {
      const m = pattern.exec(text);
      if (!m) continue;
      if (sameFile(m[1], relPath)) {
        const p = { line: Number(m[2]), from: text.trim() };
        (pattern === PATTERNS[0] ? tracebackFrames : found).push(p);
      }
      break;
    }
  }
  const seen = new Set<number>();
  return [...tracebackFrames.reverse(), ...found].filter((p) => !seen.has(p.line) && seen.add(p.line));
}

/** Names of `defined` that the output mentions as whole words (`where 2 = add(1, 2)`, `in add`). */
export function namesMentioned(output: string, defined: readonly string[]): string[] {
  return defined.filter((name) => new RegExp(`(?<![\\w$])${escapeRegExp(name)}(?![\\w$])`).test(output));
}

function escapeRegExp(t: string): string {
  return t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const CAUSE = /error|exception|assert|fail|expected|traceback|not defined|cannot|undefined/i;

/**
 * One line that says why the check failed: the last line that reads like a cause (an
 * exception's message, tsc's first error, a failed assertion), else the last non-empty line.
 */
export function failureCause(output: string, maxChars = 160): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^[=_!*~-]{5,}/.test(l) && !/^\d+ (failed|passed)/.test(l));
  const errorLine = lines.find((l) => /\berror TS\d+:/.test(l)) ?? [...lines].reverse().find((l) => CAUSE.test(l));
  const line = errorLine ?? lines.at(-1) ?? 'the check failed without output';
  return line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
}
