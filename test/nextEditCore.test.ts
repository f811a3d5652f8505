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
  coversEveryUse,
  focusedRuns,
  followsEdit,
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

describe('a next edit covers every use it is about', () => {
  // AFTER renamed `count` at its declaration: two uses are stale, `count +=` and `return count`
  const firstUse = AFTER.indexOf('count += ');
  const lastUse = AFTER.indexOf('count;', firstUse + 1);

  test('a rename proposal that changes one of two stale uses is not shown', () => {
    assert.equal(coversEveryUse(BEFORE, AFTER, { start: firstUse, end: firstUse + 5, text: 'sum' }), false);
    assert.equal(coversEveryUse(BEFORE, AFTER, { start: lastUse, end: lastUse + 5, text: 'sum' }), false);
  });

  test('a rename proposal that changes every stale use is shown', () => {
    const span = AFTER.slice(firstUse, lastUse + 5);
    assert.equal(
      coversEveryUse(BEFORE, AFTER, { start: firstUse, end: lastUse + 5, text: span.replaceAll('count', 'sum') }),
      true,
    );
  });

  test('a proposal about nothing the edit removed is not held to it', () => {
    const other = AFTER.indexOf('unrelated = 1');
    assert.equal(coversEveryUse(BEFORE, AFTER, { start: other + 12, end: other + 13, text: '2' }), true);
  });

  test('a stale use beyond the window does not count', () => {
    const far = `${AFTER}${'\n'.repeat(70)}count();\n`;
    const farBefore = `${BEFORE}${'\n'.repeat(70)}count();\n`;
    const span = far.slice(firstUse, lastUse + 5);
    const all = { start: firstUse, end: lastUse + 5, text: span.replaceAll('count', 'sum') };
    assert.equal(coversEveryUse(farBefore, far, all), true);
    assert.equal(coversEveryUse(farBefore, far, all, 100), false);
  });
});

describe('a next edit only carries the edit on', () => {
  test('renaming the stale uses follows the rename; rewriting another name does not', () => {
    const use = AFTER.indexOf('count += ');
    assert.equal(followsEdit(BEFORE, AFTER, { start: use, end: use + 5, text: 'sum' }), true);
    const item = AFTER.indexOf('item.price');
    assert.equal(followsEdit(BEFORE, AFTER, { start: item + 5, end: item + 10, text: 'cost' }), false);
    const ret = AFTER.indexOf('return');
    assert.equal(followsEdit(BEFORE, AFTER, { start: ret, end: ret + 6, text: '' }), false, 'a keyword deleted');
  });

  test('a change trimmed to its characters is judged on whole names', () => {
    // `count` → `counter` at a use is the insertion of "er", and still a rename of `count`
    const before = 'let count = 0;\ncount++;\nlog(count);\n';
    const after = before.replace('let count', 'let counter');
    const use = after.indexOf('count++') + 5;
    assert.equal(followsEdit(before, after, { start: use, end: use, text: 'er' }), true);
    assert.equal(coversEveryUse(before, after, { start: use, end: use, text: 'er' }), false, 'one of two uses');
  });

  test('a renamed name the edited line still holds (in a string) is followed all the same', () => {
    const before = "var crypto = require('crypto');\nuse(crypto);\nlog(crypto);\n";
    const after = before.replace('var crypto', 'var nextCrypto');
    const first = after.indexOf('use(crypto') + 4;
    const last = after.indexOf('log(crypto') + 4;
    const all = { start: first, end: last + 6, text: after.slice(first, last + 6).replaceAll('crypto', 'nextCrypto') };
    assert.equal(followsEdit(before, after, all), true);
    assert.equal(coversEveryUse(before, after, all), true);
    assert.equal(coversEveryUse(before, after, { start: first, end: first + 6, text: 'nextCrypto' }), false);
  });

  test('a member of the same spelling is another name: not carried, not a stale use', () => {
    const before = 'const stat = await fs.stat(p);\nuse(stat);\n';
    const after = before.replace('const stat', 'const info');
    const regions = [{ start: 0, end: after.length }];
    assert.deepEqual(
      carriedReplacements(before, after, regions).map((e) => after.slice(0, e.start).split('\n').length),
      [2],
      'only the use on line 2',
    );
    const use = after.indexOf('use(stat') + 4;
    assert.equal(coversEveryUse(before, after, { start: use, end: use + 4, text: 'info' }), true);
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
