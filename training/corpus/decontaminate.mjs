// Decontamination against HumanEval (the benchmark model v2 is judged on): no training file may
// contain one of its problems' functions. Each of the 164 problems is rebuilt from the
// infilling data (prompt + canonical line + suffix is the whole reference program), and a file
// counts as contaminated when any of these holds:
//   signature  it has the problem's `def name(params) -> ret:` line (whitespace-insensitive);
//   body       it has the reference body's code lines in order, each stripped of indentation,
//              blank lines ignored (only bodies of at least 2 lines and 60 characters: a body
//              like `return len(string)` alone is common code, not the problem);
//   docstring  it has the first line of the problem's docstring (at least 40 characters), also
//              inside a comment, which catches ports of HumanEval to other languages.
// Every check works on the file's stripped lines through hash sets, so the whole corpus is
// checked in one pass over its lines.
import fs from 'node:fs';
import zlib from 'node:zlib';

function normaliseSignature(line) {
  return line.replace(/\s+/g, '');
}

function stripCommentMarks(line) {
  return line.trim().replace(/^(#+|\/\/+|\/?\*+|"""|''')\s*/, '').replace(/\s*("""|'''|\*\/)$/, '').trim();
}

/** The problems of one HumanEval-Infilling file (any of the three: each has every problem). */
export function loadHumanEvalProblems(gzFile) {
  const lines = zlib.gunzipSync(fs.readFileSync(gzFile)).toString('utf8').split('\n').filter(Boolean);
  const problems = new Map();
  for (const l of lines) {
    const r = JSON.parse(l);
    const id = r.task_id.split('/').slice(1, 3).join('/');
    if (problems.has(id)) continue;
    problems.set(id, { id, entryPoint: r.entry_point, code: r.prompt + r.canonical_solution + r.suffix });
  }
  return [...problems.values()];
}

/** The signature, body and docstring keys of one problem's reference function. */
export function problemKeys(problem) {
  const lines = problem.code.split('\n');
  const defAt = lines.findIndex((l) => new RegExp(`^\\s*def\\s+${problem.entryPoint}\\s*\\(`).test(l));
  if (defAt < 0) return null;
  // the signature may wrap: join lines until the one ending with ':'
  let end = defAt;
  while (end < lines.length - 1 && !/:\s*$/.test(lines[end])) end += 1;
  const signature = normaliseSignature(lines.slice(defAt, end + 1).join(' '));
  const indent = /^\s*/.exec(lines[defAt])[0].length;
  const body = [];
  let docstring = null;
  let inDoc = false;
  for (let i = end + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() && /^\s*/.exec(line)[0].length <= indent) break;
    const t = line.trim();
    if (!t) continue;
    const quotes = (t.match(/"""|'''/g) ?? []).length;
    if (inDoc || (body.length === 0 && quotes > 0)) {
      const text = stripCommentMarks(t);
      if (docstring === null && text) docstring = text;
      if (quotes % 2 === 1) inDoc = !inDoc;
      continue;
    }
    body.push(t);
  }
  const bodyText = body.join('\n');
  return {
    id: problem.id,
    signature,
    body: body.length >= 2 && bodyText.length >= 60 ? body : null,
    docstring: docstring && docstring.length >= 40 ? docstring : null,
  };
}

export class Decontaminator {
  constructor(problems) {
    this.keys = problems.map(problemKeys).filter(Boolean);
    this.signatures = new Map(this.keys.map((k) => [k.signature, k.id]));
    this.docstrings = new Map(this.keys.filter((k) => k.docstring).map((k) => [k.docstring, k.id]));
    // body check: a problem's first body line leads to a full comparison
    this.bodyStarts = new Map();
    for (const k of this.keys) {
      if (!k.body) continue;
      const list = this.bodyStarts.get(k.body[0]) ?? [];
      list.push(k);
      this.bodyStarts.set(k.body[0], list);
    }
  }

  /** `{ rule, problem }` when the text contains a HumanEval problem's function, else null. */
  check(text) {
    const stripped = text.split('\n').map((l) => l.trim()).filter((l) => l);
    for (let i = 0; i < stripped.length; i++) {
      const t = stripped[i];
      if (t.startsWith('def ')) {
        // the signature may wrap over several lines
        let sig = t;
        for (let j = i + 1; j < stripped.length && j < i + 6 && !sig.endsWith(':'); j++) sig += stripped[j];
        const hit = this.signatures.get(normaliseSignature(sig));
        if (hit) return { rule: 'signature', problem: hit };
      }
      const starts = this.bodyStarts.get(t);
      if (starts) {
        for (const k of starts) {
          if (k.body.every((b, j) => stripped[i + j] === b)) return { rule: 'body', problem: k.id };
        }
      }
      if (t.length >= 40) {
        const doc = this.docstrings.get(stripCommentMarks(t));
        if (doc) return { rule: 'docstring', problem: doc };
      }
    }
    return null;
  }
}
