// The pure parts of next edit: the edit history, the lines the local corrector re-scores after an
// edit, the undo rule, and Mercury Edit's prompt and answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EditHistory, unifiedDiff } from '../src/core/nextEdit/editHistory';
import {
  CURSOR,
  EDIT_CLOSE,
  EDIT_OPEN,
  FILE_CLOSE,
  FILE_OPEN,
  HISTORY_CLOSE,
  HISTORY_OPEN,
  SNIPPETS_CLOSE,
  SNIPPETS_OPEN,
  nextEditFromAnswer,
  nextEditPrompt,
} from '../src/core/prompts/nextEditPrompt';
import { ViewedSnippets, snippetOf } from '../src/core/nextEdit/viewedSnippets';
import {
  carriedReplacements,
  focusedRuns,
  rescoreRegions,
  textChange,
  tokenReplacement,
  undoesEdit,
} from '../src/core/nextEdit/nextEditRegions';

const BEFORE = [
  'function total(items) {',
  '  let count = 0;',
  '  for (const item of items) {',
  '    count += item.price;',
  '  }',
  '',
  '  const unrelated = 1;',
  '  return count;',
  '}',
  '',
].join('\n');
const AFTER = BEFORE.replace('let count', 'let sum');

const linesOf = (text: string, ranges: { start: number; end: number }[]): string[] =>
  ranges.map((r) => text.slice(r.start, r.end));

describe('recently viewed snippets', () => {
  const FILE = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\r\n');
  // a CRLF document's lines, as the editor reads them (without their line breaks)
  const lines = FILE.split('\r\n');
  const read: number[] = [];
  const snippet = (view: Parameters<typeof snippetOf>[0], maxLines?: number) =>
    snippetOf(view, lines.length, (i) => (read.push(i), lines[i]), maxLines);

  test('a snippet is the lines on screen, cut to its size around the cursor, with LF endings', () => {
    assert.equal(snippet({ first: 10, last: 12 }), 'line 10\nline 11\nline 12');
    const around = snippet({ first: 0, last: 99, focus: 50 }, 5).split('\n');
    assert.deepEqual(around, ['line 48', 'line 49', 'line 50', 'line 51', 'line 52']);
    assert.deepEqual(
      snippet({ first: 0, last: 99, focus: 98 }, 3).split('\n'),
      ['line 97', 'line 98', 'line 99'],
      'at the end: the last lines',
    );
    assert.deepEqual(
      snippet({ first: 20, last: 99, focus: 2 }, 2).split('\n'),
      ['line 58', 'line 59'],
      'a cursor off screen: the middle of the screen',
    );
    assert.equal(read.length, 3 + 5 + 3 + 2, "only the snippet's lines are read");
  });

  test('one snippet per file, the files viewed last, never the current file, oldest first', () => {
    const v = new ViewedSnippets(2, 1000);
    v.record('a', 'src/a.ts', 'A1');
    v.record('b', 'src/b.ts', 'B1');
    v.record('a', 'src/a.ts', 'A2'); // viewed again: its new view, now the most recent
    assert.deepEqual(v.except('x'), [
      { path: 'src/b.ts', text: 'B1' },
      { path: 'src/a.ts', text: 'A2' },
    ]);
    v.record('c', 'src/c.ts', 'C1');
    assert.deepEqual(
      v.except('x').map((s) => s.path),
      ['src/a.ts', 'src/c.ts'],
      'two kept: b, viewed longest ago, went',
    );
    assert.deepEqual(
      v.except('c').map((s) => s.path),
      ['src/a.ts'],
      'the current file is in the prompt whole',
    );
    v.record('a', 'src/a.ts', '   \n');
    assert.deepEqual(
      v.except('x').map((s) => s.path),
      ['src/c.ts'],
      'a blank view replaces the old one and is not kept',
    );
    v.forget('c');
    assert.deepEqual(v.except('x'), []);
  });

  test('bounded in characters: the oldest go first, a single long one is cut', () => {
    const v = new ViewedSnippets(3, 10);
    v.record('a', 'a', 'aaaaaa');
    v.record('b', 'b', 'bbbbbb');
    assert.deepEqual(
      v.except('x').map((s) => s.text),
      ['bbbbbb'],
    );
    v.record('c', 'c', 'c'.repeat(25));
    assert.deepEqual(
      v.except('x').map((s) => s.text),
      ['c'.repeat(10)],
    );
  });

  test('the prompt carries them in its first section, each with its path', () => {
    const { content } = nextEditPrompt({
      path: 'src/main.ts',
      text: AFTER,
      cursor: 30,
      history: [],
      snippets: [{ path: 'src/item.ts', text: 'export interface Item { price: number }' }],
    });
    const first = content.slice(0, content.indexOf(SNIPPETS_CLOSE));
    assert.ok(first.startsWith(SNIPPETS_OPEN));
    assert.match(first, /code_snippet_file_path: src\/item\.ts\nexport interface Item \{ price: number \}/);
  });
});

describe('edit history', () => {
  test('a recorded edit is a unified diff of the document, with a/ and b/ headers and the changed line', () => {
    const d = unifiedDiff('src/a.ts', BEFORE, AFTER);
    assert.match(d, /^--- a\/src\/a\.ts\n\+\+\+ b\/src\/a\.ts\n@@ -1,5 \+1,5 @@/);
    assert.ok(d.includes('\n-  let count = 0;\n+  let sum = 0;\n'));
    assert.equal(unifiedDiff('a', 'same\r\n', 'same\n'), '', 'CRLF against LF is no edit');
  });

  test('a document keeps its last few edits, oldest first, and an edit that changed nothing is not one', () => {
    const h = new EditHistory(3, 10_000);
    let text = 'a = 0\n';
    for (let k = 1; k <= 5; k++) {
      const next = `a = ${k}\n`;
      h.record('doc', 'x.py', text, next);
      text = next;
    }
    h.record('doc', 'x.py', text, text);
    const diffs = h.diffs('doc');
    assert.equal(diffs.length, 3);
    assert.ok(diffs[0].includes('+a = 3') && diffs[2].includes('+a = 5'), 'oldest first');
    assert.deepEqual(h.diffs('other'), [], 'per document');
  });

  test('the history is bounded in characters: old edits go first, one huge edit is cut to its head', () => {
    const h = new EditHistory(10, 400);
    for (let k = 0; k < 6; k++) h.record('d', 'f', `x${k}\n`, `y${k}\n${'z'.repeat(100)}\n`);
    const diffs = h.diffs('d');
    assert.ok(diffs.reduce((n, d) => n + d.length, 0) <= 400);
    assert.ok(diffs.length >= 1 && diffs[diffs.length - 1].includes('+y5'), 'the newest kept');
    h.record('big', 'f', 'a\n', `${'b'.repeat(2000)}\n`);
    assert.equal(h.diffs('big')[0].length, 400);
  });
});

describe('what the corrector re-scores after an edit', () => {
  test('a renamed declaration: every other use of the old name first, then the lines around it; never the edited line', () => {
    const lines = linesOf(AFTER, rescoreRegions(BEFORE, AFTER));
    assert.deepEqual(lines.slice(0, 2), ['    count += item.price;', '  return count;']);
    assert.ok(
      lines.includes('function total(items) {') && lines.includes('  for (const item of items) {'),
      'the lines around',
    );
    assert.ok(!lines.includes('  let sum = 0;'), 'the edit is held fixed');
    assert.ok(
      !lines.includes('  const unrelated = 1;'),
      'a line with nothing changed in it, away from the edit, is not re-scored',
    );
  });

  test('a parameter added to a function: the other lines naming the function (its calls) are re-scored', () => {
    const before =
      'function area(w) {\n  return w * w;\n}\n\n\n\nconst a = area(2);\nconst b = 7;\nconst c = area(3);\n';
    const after = before.replace('area(w)', 'area(w, h)');
    const lines = linesOf(after, rescoreRegions(before, after, { aroundLines: 1 }));
    assert.deepEqual(lines, ['  return w * w;', 'const a = area(2);', 'const c = area(3);']);
  });

  test('a changed literal: its other occurrences are re-scored; bounded to maxRegions and the window', () => {
    const before = 'retry(3000)\nx\nx\nx\nwait(3000)\nx\nx\nx\nx\nlater(3000)\n';
    const after = before.replace('retry(3000)', 'retry(5000)');
    assert.deepEqual(linesOf(after, rescoreRegions(before, after, { aroundLines: 0 })), ['wait(3000)', 'later(3000)']);
    assert.deepEqual(linesOf(after, rescoreRegions(before, after, { aroundLines: 0, windowLines: 5 })), ['wait(3000)']);
    assert.equal(rescoreRegions(before, after, { maxRegions: 1 }).length, 1);
    assert.deepEqual(rescoreRegions(before, before), [], 'no edit, nothing to re-score');
  });

  test('the changed stretch is the texts less their common prefix and suffix', () => {
    assert.deepEqual(textChange('let count = 0', 'let sum = 0'), { start: 4, beforeEnd: 9, afterEnd: 7 });
    assert.equal(textChange('a', 'a'), undefined);
  });

  test('a proposal that brings back the old name, or restores the text, undoes the edit', () => {
    const use = AFTER.indexOf('count += ');
    assert.equal(
      undoesEdit(BEFORE, AFTER, { start: use, end: use + 5, text: 'sum' }),
      false,
      'renaming a use follows the edit',
    );
    const decl = AFTER.indexOf('sum');
    assert.equal(
      undoesEdit(BEFORE, AFTER, { start: decl, end: decl + 3, text: 'count' }),
      true,
      'renaming back undoes it',
    );
    const other = AFTER.indexOf('unrelated');
    assert.equal(
      undoesEdit(BEFORE, AFTER, { start: other, end: other + 9, text: 'count' }),
      true,
      'the old name brought back elsewhere',
    );
  });
});

describe('what the local next edit offers the model', () => {
  test('an edit that replaced one token by another is that replacement, widened to whole tokens', () => {
    assert.deepEqual(tokenReplacement(BEFORE, AFTER), { from: 'count', to: 'sum' });
    assert.deepEqual(
      tokenReplacement('wait(3000)', 'wait(5000)'),
      { from: '3000', to: '5000' },
      'a literal, from a one-digit change',
    );
    assert.deepEqual(tokenReplacement('let countA', 'let countB'), { from: 'countA', to: 'countB' });
    assert.equal(tokenReplacement('f(a)', 'f(a, b)'), undefined, 'a parameter added is no replacement');
  });

  test("the replacement is carried to the old token's whole-word occurrences inside the regions only", () => {
    const regions = rescoreRegions(BEFORE, AFTER);
    const carried = carriedReplacements(BEFORE, AFTER, regions);
    assert.deepEqual(
      carried.map((c) => [AFTER.slice(c.start, c.end), c.text]),
      [
        ['count', 'sum'],
        ['count', 'sum'],
      ],
    );
    assert.ok(carried[0].start === AFTER.indexOf('count +=') && carried[1].start === AFTER.indexOf('count;'));
    assert.deepEqual(carriedReplacements(BEFORE, AFTER, []), []);
    assert.deepEqual(
      carriedReplacements('a = 1\na = 2\naa = 3\n', 'b = 1\na = 2\naa = 3\n', [{ start: 6, end: 18 }]).map(
        (c) => c.start,
      ),
      [6],
      'not inside another name',
    );
  });

  test('focused runs: doubted ones inside the regions, and forced ones, merged in order', () => {
    assert.deepEqual(
      focusedRuns(
        [
          { start: 0, end: 2 },
          { start: 10, end: 12 },
        ],
        [{ start: 11, end: 15 }],
        [{ start: 8, end: 20 }],
      ),
      [{ start: 10, end: 15 }],
    );
    assert.deepEqual(focusedRuns([{ start: 0, end: 2 }]), [{ start: 0, end: 2 }], 'no regions: every doubted run');
  });
});

describe('Mercury Edit prompt', () => {
  const text = Array.from({ length: 30 }, (_, i) => `line${i}`).join('\n') + '\n';
  const cursor = text.indexOf('line12') + 4;

  test('one message, four sections in order, empty ones still sent, the cursor inside the editable region', () => {
    const p = nextEditPrompt({ path: 'src/x.ts', text, cursor, history: [] });
    const order = [
      SNIPPETS_OPEN,
      SNIPPETS_CLOSE,
      FILE_OPEN,
      'current_file_path: src/x.ts\n',
      EDIT_OPEN,
      CURSOR,
      EDIT_CLOSE,
      FILE_CLOSE,
      HISTORY_OPEN,
      HISTORY_CLOSE,
    ].map((m) => p.content.indexOf(m));
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])),
      `sections in order: ${order}`,
    );
    assert.ok(p.content.startsWith(`${SNIPPETS_OPEN}\n\n${SNIPPETS_CLOSE}\n`), 'an empty snippets section is sent');
    assert.ok(p.content.includes(`line6\n${EDIT_OPEN}\nline7\n`), 'the region starts on a line of its own');
    assert.ok(p.content.includes(`line22\n${EDIT_CLOSE}\nline23\n`), 'and ends on one');
    assert.ok(p.content.includes(`line${CURSOR}12`), 'the cursor where it is');
    assert.equal(
      text.slice(p.start, p.end),
      Array.from({ length: 16 }, (_, i) => `line${i + 7}\n`).join(''),
      '5 lines above, 10 below',
    );
  });

  test('the history and snippets are sent as given', () => {
    const p = nextEditPrompt({
      path: 'a',
      text,
      cursor,
      history: ['--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y'],
      snippets: [{ path: 'b.ts', text: 'export const b = 1;' }],
    });
    assert.ok(p.content.includes(`${HISTORY_OPEN}\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\n${HISTORY_CLOSE}`));
    assert.ok(p.content.includes('code_snippet_file_path: b.ts\nexport const b = 1;'));
  });

  test('an answer in a code fence becomes the one replacement it makes; the region unchanged or empty is none', () => {
    const p = nextEditPrompt({ path: 'a', text, cursor, history: [] });
    const region = text.slice(p.start, p.end);
    const edit = nextEditFromAnswer(
      '```\n' + region.replace('line14', 'LINE14').replace('line12', `line12${CURSOR}`) + '```',
      text,
      p,
    );
    assert.deepEqual(edit, { start: text.indexOf('line14'), end: text.indexOf('line14') + 4, text: 'LINE' });
    assert.equal(nextEditFromAnswer('```\n' + region + '```', text, p), undefined);
    assert.equal(
      nextEditFromAnswer(region.trimEnd(), text, p),
      undefined,
      'the trailing newline of the region is not an edit',
    );
    assert.equal(nextEditFromAnswer('', text, p), undefined);
  });
});
