// Where Repair looks, most likely first: the lines the failing output points at in this file,
// widened to the function around each; the functions of the file the output names (a failed
// assertion prints the call: `where 2 = add(1, 2)`); the user's selection or the function at
// the cursor. Inside a region the model's own doubt orders the tokens (search.ts).

import { failurePointers, namesMentioned } from './failurePointers';
import { enclosingFunction, type FunctionRange, functionRanges } from './functionRanges';

export interface RepairRegion {
  /** 1-based, inclusive. */
  first: number;
  last: number;
  /** Lines of the region the failing output points at (checked first). */
  pointed: number[];
  /** Why this region (for the log). */
  why: string;
  /** The first line is a function's header (its name and signature), which the search leaves alone. */
  header?: boolean;
}

export interface WhereToLookInput {
  text: string;
  language: string;
  /** The file's path relative to the project root, as the check's output names it. */
  relPath: string;
  /** The failing check's output. */
  output: string;
  /** The user's selection (1-based lines), which bounds the search when given. */
  selection?: { first: number; last: number };
  /** The cursor's 1-based line, used when nothing else points anywhere. */
  cursorLine?: number;
}

export function whereToLook(i: WhereToLookInput): RepairRegion[] {
  const lineCount = i.text.split('\n').length;
  if (i.selection) {
    const pointed = failurePointers(i.output, i.relPath)
      .map((p) => p.line)
      .filter((l) => l >= i.selection!.first && l <= i.selection!.last);
    return [{ ...i.selection, pointed, why: 'the selection' }];
  }
  const functions = functionRanges(i.text, i.language);
  const regions: RepairRegion[] = [];
  const add = (r: { first: number; last: number; header?: boolean }, why: string, pointed: number[] = []) => {
    const same = regions.find((x) => x.first === r.first && x.last === r.last);
    if (same) same.pointed.push(...pointed.filter((p) => !same.pointed.includes(p)));
    else regions.push({ first: r.first, last: r.last, pointed: [...pointed], why, header: r.header });
  };
  for (const p of failurePointers(i.output, i.relPath)) {
    if (p.line < 1 || p.line > lineCount) continue;
    const f = enclosingFunction(functions, p.line);
    if (f) add({ ...f, header: true }, `${f.name}, where the output points`, [p.line]);
    else add({ first: p.line, last: p.line }, 'where the output points', [p.line]);
  }
  const named = namesMentioned(
    i.output,
    functions.map((f) => f.name),
  );
  for (const f of outermostFirst(functions.filter((f) => named.includes(f.name)))) {
    add({ ...f, header: true }, `${f.name}, named in the output`);
  }
  if (regions.length === 0 && i.cursorLine !== undefined) {
    const f = enclosingFunction(functions, i.cursorLine);
    if (f) add({ ...f, header: true }, `${f.name}, at the cursor`);
  }
  return regions;
}

/** Named functions in file order; a nested one after its parent (the parent's search covers it). */
function outermostFirst(fs: FunctionRange[]): FunctionRange[] {
  return [...fs].sort((a, b) => a.first - b.first);
}
