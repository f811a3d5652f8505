// Repair's pure parts: where a failing check points, the functions of a file, where to look, the
// classic templates, and the search loop (against a fake model and a fake check: the loop's logic;
// the real model and real checks are in repairCheck.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classicTemplates, missingNameTemplates } from '../src/core/repair/classicTemplates';
import { failureCause, failurePointers, namesMentioned } from '../src/core/repair/failurePointers';
import { enclosingFunction, functionRanges } from '../src/core/repair/functionRanges';
import { type RepairModel, searchRepair, size } from '../src/core/repair/search';
import { whereToLook } from '../src/core/repair/whereToLook';
import { applyEdits } from '../src/core/text/textEdit';

const PY = [
  'import math', //                    1
  '', //                               2
  'def area(r):', //                   3
  '    return math.pi * r * r', //     4
  '', //                               5
  'def clamp(x, lo, hi):', //          6
  '    if x < lo:', //                 7
  '        return lo', //              8
  '    if x > hi:', //                 9
  '        return lo', //             10
  '    return x', //                  11
  '',
].join('\n');

describe('where a failing check points', () => {
  test('a Python traceback: the raising frame first, only frames of the file', () => {
    const out = [
      'Traceback (most recent call last):',
      '  File "/tmp/diffuse-repair-x/tests/test_geo.py", line 5, in test_clamp',
      '    assert clamp(5, 0, 3) == 3',
      '  File "/tmp/diffuse-repair-x/src/geo.py", line 9, in clamp',
      '  File "/tmp/diffuse-repair-x/src/geo.py", line 10, in clamp',
      'ZeroDivisionError: division by zero',
    ].join('\n');
    assert.deepEqual(
      failurePointers(out, 'src/geo.py').map((p) => p.line),
      [10, 9],
    );
  });

  test("pytest's short form, tsc in both formats, Node stack frames", () => {
    assert.deepEqual(
      failurePointers('src/geo.py:10: AssertionError', 'src/geo.py').map((p) => p.line),
      [10],
    );
    assert.deepEqual(
      failurePointers("src/a.ts(12,5): error TS2322: Type 'string' is not assignable", 'src/a.ts').map((p) => p.line),
      [12],
    );
    assert.deepEqual(
      failurePointers('src/a.ts:7:3 - error TS2304: Cannot find name', './src/a.ts').map((p) => p.line),
      [7],
    );
    const node = ['TypeError: x is not a function', '    at add (/work/p/src/a.js:4:11)', '    at /work/p/test.js:2:1'];
    assert.deepEqual(
      failurePointers(node.join('\n'), 'src/a.js').map((p) => p.line),
      [4],
    );
    assert.deepEqual(failurePointers('other/a.ts(1,1): error TS1: x', 'src/a.ts'), []);
  });

  test('the names a failed assertion prints, and the one-line cause', () => {
    assert.deepEqual(namesMentioned('E   where 2 = clamp(5, 0, 3)', ['area', 'clamp', 'lo']), ['clamp']);
    const pytest = [
      '>       assert clamp(5, 0, 3) == 3',
      'E       assert 0 == 3',
      'tests/test_geo.py:5: AssertionError',
      '=========================== short test summary info ============================',
      'FAILED tests/test_geo.py::test_clamp - assert 0 == 3',
      '!!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!!',
      '1 failed in 0.02s',
    ].join('\n');
    assert.equal(failureCause(pytest), 'FAILED tests/test_geo.py::test_clamp - assert 0 == 3');
    assert.equal(
      failureCause("src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\nFound 1 error."),
      "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.",
    );
  });
});

describe('the functions of a file', () => {
  test('Python: a def runs while the lines below are indented deeper', () => {
    const fs = functionRanges(PY, 'python');
    assert.deepEqual(
      fs.map((f) => [f.name, f.first, f.last]),
      [
        ['area', 3, 4],
        ['clamp', 6, 11],
      ],
    );
    assert.equal(enclosingFunction(fs, 9)?.name, 'clamp');
    assert.equal(enclosingFunction(fs, 1), undefined);
  });

  test('TypeScript: functions, arrow constants and methods to their closing brace', () => {
    const ts = [
      'export function add(a: number, b: number): number {', // 1
      '  return a + b;', //                                     2
      '}', //                                                   3
      'const twice = (x: number) => {', //                      4
      "  const s = '}';", //                                    5
      '  return x * 2;', //                                     6
      '};', //                                                  7
      'class C {', //                                           8
      '  run(n: number): void {', //                            9
      '    if (n > 0) {', //                                   10
      '      this.run(n - 1);', //                             11
      '    }', //                                              12
      '  }', //                                                13
      '}',
    ].join('\n');
    assert.deepEqual(
      functionRanges(ts, 'typescript').map((f) => [f.name, f.first, f.last]),
      [
        ['add', 1, 3],
        ['twice', 4, 7],
        ['run', 9, 13],
      ],
    );
  });
});

describe('where Repair looks', () => {
  test('a pointer widens to its function; a function the output names comes next', () => {
    const regions = whereToLook({
      text: PY,
      language: 'python',
      relPath: 'geo.py',
      output: 'geo.py:10: in clamp\nE   where 0 = clamp(5, 0, 3)\nE   and area(1)',
    });
    assert.deepEqual(
      regions.map((r) => [r.first, r.last, r.pointed]),
      [
        [6, 11, [10]],
        [3, 4, []],
      ],
    );
  });

  test('a selection bounds the search; the cursor is the last resort', () => {
    const sel = whereToLook({
      text: PY,
      language: 'python',
      relPath: 'geo.py',
      output: 'geo.py:10: x',
      selection: { first: 9, last: 10 },
    });
    assert.deepEqual(sel, [{ first: 9, last: 10, pointed: [10], why: 'the selection' }]);
    const cursor = whereToLook({ text: PY, language: 'python', relPath: 'geo.py', output: 'failed', cursorLine: 4 });
    assert.deepEqual(
      cursor.map((r) => [r.first, r.last]),
      [[3, 4]],
    );
  });
});

describe('the classic templates', () => {
  const edits = classicTemplates(PY, 'python', 7, 10);
  const results = edits.map((t) => applyEdits(PY, [t.edit]));

  test('swap comparisons, turn bounds by one, try other names, delete lines', () => {
    assert.ok(results.includes(PY.replace('if x < lo:', 'if x <= lo:')));
    assert.ok(results.includes(PY.replace('        return lo\n    return x', '        return hi\n    return x')));
    assert.ok(edits.some((t) => t.template === 'line deleted' && t.line === 8));
    assert.ok(edits.every((t) => t.line >= 7 && t.line <= 10));
  });

  test('strings and comments are never edited; callables are not variables', () => {
    const text = "def f(a, b):\n    s = 'a < b'  # a < b\n    return g(a) < b\n";
    const out = classicTemplates(text, 'python', 2, 3)
      .filter((t) => t.template !== 'line deleted')
      .map((t) => applyEdits(text, [t.edit]));
    assert.ok(out.every((t) => t.includes("'a < b'") && t.includes('# a < b')));
    assert.ok(out.includes(text.replace('g(a) < b', 'g(a) >= b')));
    assert.ok(!out.some((t) => t.includes('return a(a)')));
  });

  test("a condition's not, the function called, an operator of another family, the header's parameters", () => {
    const text = [
      'def fib(n, memo):',
      '    if n in memo:',
      '        return memo[n]',
      '    return helper(n - 1) + fib(n - 2, memo) * 2',
      '',
      'def helper(x):',
      '    return x',
      '',
    ].join('\n');
    const out = classicTemplates(text, 'python', 2, 4, 1).map((t) => applyEdits(text, [t.edit]));
    assert.ok(out.includes(text.replace('if n in memo', 'if n not in memo')));
    assert.ok(out.includes(text.replace('return helper(n - 1)', 'return fib(n - 1)')));
    assert.ok(out.includes(text.replace('fib(n - 2, memo) * 2', 'fib(n - 2, memo) + 2')));
    assert.ok(out.includes(text.replace('return memo[n]', 'return memo[memo]')), 'parameters are in scope');
    assert.ok(!out.some((t) => t.startsWith('def fib(n, n)')), 'the header is not edited');
  });

  test('a name the check says is undefined gets a first value at the top of the searched lines', () => {
    const text = 'def f(xs):\n    for x in xs:\n        seen.add(x)\n    return seen\n';
    const edits = missingNameTemplates(text, 'python', 2, "NameError: name 'seen' is not defined");
    assert.ok(
      edits.map((t) => applyEdits(text, [t.edit])).includes(text.replace('    for x', '    seen = set()\n    for x')),
    );
    assert.deepEqual(missingNameTemplates(text, 'python', 2, 'AssertionError'), []);
  });

  test('a statement written twice in a row is marked as a repeat; brackets and bare keywords are not', () => {
    const text = 'def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n        t += x\n    return t\n';
    const repeats = classicTemplates(text, 'python', 2, 6).filter((t) => t.template === 'repeated line deleted');
    assert.deepEqual(
      repeats.map((t) => t.line),
      [5],
    );
    const ts = 'function f() {\n  if (a) {\n    g();\n  }\n  }\n}\n';
    assert.ok(!classicTemplates(ts, 'typescript', 2, 6).some((t) => t.template === 'repeated line deleted'));
  });

  test('two simple arguments of a call swapped, a member chain being simple too', () => {
    const text = 'function f(a, b) {\n  return pow(a, b) + g(b, xs.length);\n}\n';
    const out = classicTemplates(text, 'typescript', 2, 2).map((t) => applyEdits(text, [t.edit]));
    assert.ok(out.includes(text.replace('pow(a, b)', 'pow(b, a)')));
    assert.ok(out.includes(text.replace('g(b, xs.length)', 'g(xs.length, b)')));
  });

  test("TypeScript's block comments are comments: never edited, their lines never deleted", () => {
    const text = 'function f(a: number) {\n  /** a < b\n   * and x - 1\n   */\n  return a < 2;\n}\n';
    const edits = classicTemplates(text, 'typescript', 2, 5);
    assert.ok(
      edits.every((t) => t.line === 5),
      JSON.stringify(edits.filter((t) => t.line !== 5)),
    );
    assert.ok(edits.some((t) => applyEdits(text, [t.edit]).includes('return a <= 2;')));
  });
});

/** A model that likes one text best: every token of `liked` scores log 0.9, any other token log 0.1. */
function fakeModel(liked: string): RepairModel & { calls: number } {
  const m = {
    calls: 0,
    async score(text: string, start: number, end: number) {
      m.calls++;
      const out = [];
      for (const w of text.slice(start, end).matchAll(/\S+/g)) {
        const at = start + w.index;
        out.push({
          start: at,
          end: at + w[0].length,
          logProb: liked.includes(w[0]) ? Math.log(0.9) : Math.log(0.1),
          bestProb: 0.9,
        });
      }
      return out;
    },
  };
  return m;
}

describe('the search', () => {
  const fixed = PY.replace('        return lo\n    return x', '        return hi\n    return x');
  const region = { first: 6, last: 11, pointed: [10], why: 'test', header: true };

  test('checks in rank order, returns only a passing candidate, and stops at the budget', async () => {
    const checked: string[] = [];
    const r = await searchRepair({
      text: PY,
      language: 'python',
      regions: [region],
      model: fakeModel(fixed),
      check: async (text) => {
        checked.push(text);
        return { passed: text === fixed, output: 'E assert 0 == 3', ms: 1 };
      },
      maxChecks: 40,
      deadline: Date.now() + 60_000,
      parallel: 2,
    });
    assert.equal(r.fix?.text, fixed);
    assert.equal(r.stoppedBy, 'fixed');
    assert.ok(r.checks <= 40 && r.checks === checked.length);
    assert.ok(!checked.includes(PY), 'the original is never a candidate');

    const none = await searchRepair({
      text: PY,
      language: 'python',
      regions: [region],
      model: fakeModel(fixed),
      check: async () => ({ passed: false, output: 'still failing', ms: 1 }),
      maxChecks: 5,
      deadline: Date.now() + 60_000,
      parallel: 2,
    });
    assert.equal(none.fix, undefined);
    assert.equal(none.checks, 5);
    assert.equal(none.stoppedBy, 'checks');
    assert.equal(none.lastFailure, 'still failing');
  });

  test('after a pass it looks a little further and keeps the smallest passing change', async () => {
    const small = PY.replace('if x > hi:', 'if x >= hi:');
    const r = await searchRepair({
      text: PY,
      language: 'python',
      regions: [region],
      model: fakeModel(fixed), // ranks `return hi` first, a 2-character change
      check: async (text) => ({ passed: text === fixed || text === small, output: '', ms: 1 }),
      maxChecks: 400,
      deadline: Date.now() + 60_000,
      parallel: 1,
      lookFurther: 400,
    });
    assert.equal(r.fix?.text, small);
    assert.equal(size(PY, r.fix!.edit), 1);
  });

  test('a repeated line is taken out before a compensating edit elsewhere that also passes', async () => {
    const text = 'def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n        t += x\n    return t\n';
    const intended = text.replace('        t += x\n        t += x\n', '        t += x\n');
    // a one-character edit elsewhere that a weak check also lets pass
    const compensating = text.replace('t = 0', 't = 1');
    const r = await searchRepair({
      text,
      language: 'python',
      regions: [{ first: 1, last: 6, pointed: [6], why: 'test', header: true }],
      model: fakeModel(compensating), // the model's score prefers the wrong fix
      check: async (t) => ({ passed: t === intended || t === compensating, output: '', ms: 1 }),
      maxChecks: 400,
      deadline: Date.now() + 60_000,
      parallel: 1,
      lookFurther: 400,
    });
    assert.equal(r.fix?.text, intended);
    assert.equal(r.fix?.template, 'repeated line deleted');
  });

  test("the model's proposals leave comments alone and never turn code into a comment", async () => {
    const text = 'def f(xs):\n    # sum the items, then double it\n    t = sum(xs)\n    return t * 3\n';
    const model = {
      ...fakeModel(''),
      async propose() {
        return ['# nothing to see', 'return t * 2', 'u'];
      },
    };
    const comment = { start: text.indexOf('#'), end: text.indexOf('\n', text.indexOf('#')) };
    const ranked: { edit: { start: number; end: number; text: string } }[] = [];
    await searchRepair({
      text,
      language: 'python',
      regions: [{ first: 1, last: 4, pointed: [4], why: 'test', header: true }],
      model,
      check: async () => ({ passed: false, output: '', ms: 1 }),
      maxChecks: 1,
      deadline: Date.now() + 60_000,
      parallel: 1,
      onEvent: (e) => {
        if (e.kind === 'candidates') ranked.push(...e.ranked);
      },
    });
    assert.ok(
      ranked.some((c) => c.edit.text === 'return t * 2'),
      'the model was asked',
    );
    assert.ok(ranked.every((c) => !c.edit.text.trim().startsWith('#')));
    assert.ok(ranked.every((c) => c.edit.end <= comment.start || c.edit.start >= comment.end));
  });

  test("the model's whole-line rewrites take every third check at most, however they score", async () => {
    const text = 'def f(xs):\n    t = sum(xs)\n    return t * 3\n';
    const rewrites = ['a b c', 'a b', 'a c', 'b c', 'c a'];
    const model = {
      ...fakeModel('a b c'), // the rewrites' words score best
      async propose() {
        return rewrites;
      },
    };
    const order: string[] = [];
    await searchRepair({
      text,
      language: 'python',
      regions: [{ first: 1, last: 3, pointed: [3], why: 'test', header: true }],
      model,
      check: async () => ({ passed: false, output: '', ms: 1 }),
      maxChecks: 9,
      deadline: Date.now() + 60_000,
      parallel: 1,
      onEvent: (e) => {
        if (e.kind === 'checked') order.push(e.candidate.template);
      },
    });
    assert.equal(order.length, 9);
    assert.deepEqual(
      order.map((t, i) => (t === 'line' || t === 'line inserted' ? i + 1 : 0)).filter(Boolean),
      [3, 6, 9],
    );
  });

  test('a cancelled search stops without checking further', async () => {
    const ac = new AbortController();
    let checks = 0;
    const r = await searchRepair({
      text: PY,
      language: 'python',
      regions: [region],
      model: fakeModel(fixed),
      check: async () => {
        checks++;
        ac.abort();
        return { passed: false, output: '', ms: 1 };
      },
      maxChecks: 40,
      deadline: Date.now() + 60_000,
      parallel: 1,
      signal: ac.signal,
    });
    assert.equal(r.stoppedBy, 'cancelled');
    assert.equal(checks, 1);
  });
});
