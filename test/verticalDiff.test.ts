// Where the review view draws a proposal's new lines (src/editor/verticalDiff.ts): under the lines
// they replace, merged into one block when they would reach the next change, in place when long.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffHunks } from '../src/core/inlineDiff';
import { placeAll, placeNewLines, VERTICAL_DIFF_MAX_LINES, type DocLines, type NewLinePlacement } from '../src/editor/verticalDiff';

/** placeAll's view of a document's text. */
function docLines(text: string): DocLines {
  const lineOf = (offset: number): { line: number; character: number } => {
    const before = text.slice(0, offset).split('\n');
    return { line: before.length - 1, character: before[before.length - 1].length };
  };
  return {
    lineOf,
    around: (offset) => {
      const { line, character } = lineOf(offset);
      const l = text.split('\n')[line];
      return { before: l.slice(0, character), after: l.slice(character) };
    },
    lastLine: text.split('\n').length - 1,
  };
}

const shown = (placements: NewLinePlacement[]) =>
  placements.map((p) => ({ anchor: p.anchor, below: p.below, text: p.runs.map((r) => r.text).join('') }));

function place(original: string, proposal: string, regionStart = 0, doc = original) {
  return shown(placeNewLines({ start: regionStart, original, hunks: diffHunks(original, proposal) }, docLines(doc)));
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

  test('an insertion inside a line is shown as the whole new line, under it', () => {
    const doc = 'let x = 0;\nlet y = 0;\n';
    const at = doc.indexOf(';');
    const got = shown(placeNewLines({ start: at, original: '', hunks: diffHunks('', ' + 1') }, docLines(doc)));
    assert.deepEqual(got, [{ anchor: 1, below: 0, text: 'let x = 0 + 1;' }]);
  });

  test('regions never draw over each other: two cursors on neighbouring lines', () => {
    const doc = 'a();\nb();\nc();\nd();\n';
    const regions = [4, 9].map((start) => ({ start, original: '', hunks: diffHunks('', '\nnew();') }));
    const got = shown(placeAll(regions, docLines(doc)));
    // a(); gets new(); after it: drawn under a(); (its line is unchanged, not drawn again), then b()'s under it
    assert.deepEqual(got.map((p) => p.anchor + p.below), [1, 2], 'each new line on its own row');
    assert.deepEqual(got.map((p) => p.text), ['new();', 'new();']);
  });

  test(`a block of more than ${VERTICAL_DIFF_MAX_LINES} new lines is drawn in place of its old lines`, () => {
    const long = Array.from({ length: 30 }, (_, i) => `line${i}();`).join('\n') + '\n';
    const proposal = long.replace(/line(\d+)/g, 'LINE$1');
    const got = place(long, proposal);
    assert.equal(got.length, 30);
    assert.deepEqual(got.slice(0, 2), [{ anchor: 0, below: 0, text: 'LINE0();' }, { anchor: 1, below: 0, text: 'LINE1();' }]);
  });
});
