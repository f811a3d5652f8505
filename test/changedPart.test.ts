// What a Refine's answer changes in the selection (src/editor/changedPart.ts): exactly the range the
// engine's edits replace, which is narrower than the selection when it did not fit the model's window.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { changedPart } from '../src/editor/changedPart';

const text = 'head\nline1\nline2\nline3\ntail\n';
const sel = { start: text.indexOf('line1'), end: text.indexOf('tail') };

describe('changed part of a refine', () => {
  test('an edit over the whole selection covers it all', () => {
    const got = changedPart(text, sel.start, sel.end, [{ start: sel.start, end: sel.end, text: 'new\n' }]);
    assert.deepEqual(got, { part: { start: 0, end: sel.end - sel.start }, text: 'new\n' });
  });

  test('an edit over the first lines only (the window was full) covers only them', () => {
    const end = text.indexOf('line3');
    const got = changedPart(text, sel.start, sel.end, [{ start: sel.start, end, text: 'LINE1\nLINE2\n' }])!;
    assert.deepEqual(got.part, { start: 0, end: end - sel.start });
    // applied over its part, the rest of the selection is kept
    const selected = text.slice(sel.start, sel.end);
    assert.equal(selected.slice(0, got.part.start) + got.text + selected.slice(got.part.end), 'LINE1\nLINE2\nline3\n');
  });

  test('several edits become one part with the text between them kept', () => {
    const a = text.indexOf('line1');
    const b = text.indexOf('line3');
    const got = changedPart(text, sel.start, sel.end, [
      { start: b, end: b + 5, text: 'LINE3' },
      { start: a, end: a + 5, text: 'LINE1' },
    ])!;
    assert.deepEqual(got, { part: { start: 0, end: b + 5 - sel.start }, text: 'LINE1\nline2\nLINE3' });
  });

  test('no edits: nothing changes; an edit outside the selection is refused', () => {
    assert.equal(changedPart(text, sel.start, sel.end, []), undefined);
    assert.throws(
      () => changedPart(text, sel.start, sel.end, [{ start: 0, end: sel.end, text: '' }]),
      /outside the selection/,
    );
  });
});
