// Pure pieces under the editor: re-anchoring ranges through edits, request windows, live
// progress styling and the SVG the editor draws.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { progressRuns } from '../src/core/view/progressRuns';
import { shiftRange } from '../src/core/text/rangeAnchor';
import { renderSpanImage } from '../src/core/view/spanImage';
import { windowAround } from '../src/core/text/textWindow';
import { visualColumn } from '../src/core/text/textPosition';

describe('shiftRange', () => {
  const r = { start: 10, end: 20 };
  test('typing before the range shifts it', () => {
    assert.deepEqual(shiftRange(r, { rangeOffset: 2, rangeLength: 0, text: 'abc' }), { start: 13, end: 23 });
    assert.deepEqual(shiftRange(r, { rangeOffset: 10, rangeLength: 0, text: 'x' }), { start: 11, end: 21 });
  });
  test('typing after the range leaves it alone', () => {
    assert.deepEqual(shiftRange(r, { rangeOffset: 20, rangeLength: 0, text: 'x' }), r);
  });
  test('an edit inside the range is a conflict', () => {
    assert.equal(shiftRange(r, { rangeOffset: 15, rangeLength: 1, text: '' }), undefined);
    assert.equal(shiftRange(r, { rangeOffset: 5, rangeLength: 10, text: '' }), undefined);
  });
  test('typing exactly at an empty range (a fill cursor) is a conflict', () => {
    assert.equal(shiftRange({ start: 5, end: 5 }, { rangeOffset: 5, rangeLength: 0, text: 'x' }), undefined);
  });
});

describe('windowAround', () => {
  test('cuts at line starts and reports its offset', () => {
    const text = 'line1\nline2\nline3\nline4\n';
    const w = windowAround(text, 12, 17, 3, 1);
    assert.equal(w.text, 'line2\nline3\nline4\n');
    assert.equal(text.slice(w.offset, w.offset + w.text.length), w.text);
  });
});

describe('progressRuns', () => {
  test('masked slots are pending and text new since the last step is fresh', () => {
    const runs = progressRuns('a░░', 'a b░');
    assert.deepEqual(runs, [
      { text: 'a', style: 'same' },
      { text: ' b', style: 'fresh' },
      { text: '░', style: 'pending' },
    ]);
  });
});

describe('renderSpanImage', () => {
  test('escapes code and sizes the image by its longest line', () => {
    const theme = {
      fontFamily: 'monospace',
      fontSize: 14,
      lineHeight: 20,
      charWidth: 8,
      tabSize: 4,
      foreground: '#000',
      background: '#fff',
      border: '#888',
      pending: '#999',
      fresh: '#00f',
      addedBackground: '#0f0',
      removedBackground: '#f00',
      captionColor: '#666',
    };
    const img = renderSpanImage(
      [[{ text: 'if (a < b && c) {', style: 'same' }], [{ text: '\tx', style: 'added' }]],
      theme,
    );
    assert.match(img.svg, /a &lt; b &amp;&amp; c/);
    assert.equal(img.height, 2 * 20 + 4);
    assert.equal(img.width, 12 + 17 * 8);
  });
});

test('the log names the column VS Code shows: a tab advances to the next tab stop', () => {
  assert.equal(visualColumn('\t\tx = 1', 2, 4), 9);
  assert.equal(visualColumn('  \tx', 3, 4), 5);
  assert.equal(visualColumn('abc', 3, 4), 4);
});
