// Where the review view draws a proposal's new lines (src/editor/verticalDiff.ts): under the lines
// they replace, merged into one block when they would reach the next change, in place when long.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffHunks } from '../src/core/inlineDiff';
import { placeNewLines, VERTICAL_DIFF_MAX_LINES } from '../src/editor/verticalDiff';

/** Line and column of an offset of `text`. */
const lineOf = (text: string) => (offset: number): { line: number; character: number } => {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
};

function place(original: string, proposal: string, regionStart = 0, doc = original) {
  const placements = placeNewLines({ start: regionStart, original, hunks: diffHunks(original, proposal) }, lineOf(doc), doc.split('\n').length - 1);
  return placements.map((p) => ({ anchor: p.anchor, below: p.below, text: p.runs.map((r) => r.text).join('') }));
}

const code = ['a();', 'b();', 'c();', 'd();', 'e();', 'f();', 'g();', 'h();', ''].join('\n');

describe('vertical diff placement', () => {
  test('a changed line is drawn on the line under it', () => {
    assert.deepEqual(place(code, code.replace('b();', 'B();')), [{ anchor: 2, below: 0, text: 'B();' }]);
  });

  test('two changed lines become two new lines under the second', () => {
    assert.deepEqual(place(code, code.replace('b();\nc();', 'B();\nC();')), [
      { anchor: 3, below: 0, text: 'B();' }, { anchor: 4, below: 0, text: 'C();' }]);
  });

  test('a change whose new lines would cover the next change is drawn with it as one block', () => {
    // b and d change: b's new line would cover c, then d's would cover e; one block b..d drawn under d
    const got = place(code, code.replace('b();', 'B();\nBB();').replace('d();', 'D();'));
    assert.deepEqual(got.map((p) => p.text), ['B();', 'BB();', 'c();', 'D();']);
    assert.equal(got[0].anchor, 4);
  });

  test('a deletion draws nothing; separate changes are drawn separately', () => {
    assert.deepEqual(place(code, code.replace('b();\n', '')), []);
    const got = place(code, code.replace('a();', 'A();').replace('g();', 'G();'));
    assert.deepEqual(got, [{ anchor: 1, below: 0, text: 'A();' }, { anchor: 7, below: 0, text: 'G();' }]);
  });

  test('new lines past the end of the document hang below its last line', () => {
    assert.deepEqual(place(code, code.replace('h();', 'H();\nHH();')), [
      { anchor: 8, below: 0, text: 'H();' }, { anchor: 8, below: 1, text: 'HH();' }]);
  });

  test('offsets count from the region\'s start in the document', () => {
    const doc = 'head();\n' + code;
    assert.deepEqual(place(code, code.replace('b();', 'B();'), 'head();\n'.length, doc), [{ anchor: 3, below: 0, text: 'B();' }]);
  });

  test(`a block of more than ${VERTICAL_DIFF_MAX_LINES} new lines is drawn in place of its old lines`, () => {
    const long = Array.from({ length: 30 }, (_, i) => `line${i}();`).join('\n') + '\n';
    const proposal = long.replace(/line(\d+)/g, 'LINE$1');
    const got = place(long, proposal);
    assert.equal(got.length, 30);
    assert.deepEqual(got.slice(0, 2), [{ anchor: 0, below: 0, text: 'LINE0();' }, { anchor: 1, below: 0, text: 'LINE1();' }]);
  });
});
