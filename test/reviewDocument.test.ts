// The document a review shows beside the original (src/core/review/reviewDocument.ts): exactly what Accept
// would write, and where each change lies in it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffHunks } from '../src/core/review/reviewHunks';
import { applyEdits } from '../src/core/text/textEdit';
import { hunkLines, reviewDocument, type ReviewRegion } from '../src/core/review/reviewDocument';

/** A region of `doc` from `start` covering `original`, proposed as `proposal`. */
function region(doc: string, original: string, proposal: string): ReviewRegion {
  const start = doc.indexOf(original);
  assert.ok(start >= 0);
  return { start, original, hunks: diffHunks(original, proposal) };
}

describe('reviewDocument', () => {
  const doc = 'function f() {\n  const a = 1;\n  const b = 2;\n  return a + b;\n}\n';

  test('is the document with the proposal written over its region, nothing else changed', () => {
    const r = region(doc, '  const a = 1;\n  const b = 2;\n', '  const a = 10;\n  const b = 2;\n  const c = 3;\n');
    const got = reviewDocument(doc, [r]);
    assert.equal(got.text, 'function f() {\n  const a = 10;\n  const b = 2;\n  const c = 3;\n  return a + b;\n}\n');
    // two changes (line 2 changed, a line added after line 3), each placed on its new lines
    assert.deepEqual(
      got.hunks.map((h) => ({ ...hunkLines(got.text, h), text: got.text.slice(h.start, h.end) })),
      [
        { first: 1, last: 1, text: '  const a = 10;\n' },
        { first: 3, last: 3, text: '  const c = 3;\n' },
      ],
    );
  });

  test('a Fill on a new empty line inserts a line: the line after it is still in the document, after it', () => {
    const text = 'a\n\nb\n';
    const r: ReviewRegion = { start: 2, original: '', hunks: diffHunks('', 'x = 1') };
    const got = reviewDocument(text, [r]);
    assert.equal(got.text, 'a\nx = 1\nb\n');
    assert.deepEqual(hunkLines(got.text, got.hunks[0]), { first: 1, last: 1 });
  });

  test('several cursors: every region applied, each hunk keeps its region index, in any region order', () => {
    const text = 'one\ntwo\nthree\n';
    const regions: ReviewRegion[] = [
      { start: 8, original: '', hunks: diffHunks('', '3 ') },
      { start: 0, original: '', hunks: diffHunks('', '1 ') },
    ];
    const got = reviewDocument(text, regions);
    assert.equal(got.text, '1 one\ntwo\n3 three\n');
    assert.deepEqual(
      got.hunks.map((h) => [h.region, h.hunk, got.text.slice(h.start, h.end)]),
      [
        [1, 0, '1 '],
        [0, 0, '3 '],
      ],
    );
  });

  test('a change that only deletes sits where the deleted text was, on the line that follows it', () => {
    const r = region(doc, '  const b = 2;\n', '');
    const got = reviewDocument(doc, [r]);
    assert.equal(got.text, 'function f() {\n  const a = 1;\n  return a + b;\n}\n');
    assert.equal(got.hunks[0].start, got.hunks[0].end);
    assert.deepEqual(hunkLines(got.text, got.hunks[0]), { first: 2, last: 2 });
  });

  test('CRLF and tabs come through byte for byte: the reviewed document is what applying the hunks gives', () => {
    const crlf = 'if (x) {\r\n\treturn 1;\r\n}\r\n';
    const r = region(crlf, '\treturn 1;\r\n', '\tx++;\r\n\treturn x;\r\n');
    const got = reviewDocument(crlf, [r]);
    assert.equal(
      got.text,
      crlf.slice(0, r.start) + applyEdits(r.original, r.hunks) + crlf.slice(r.start + r.original.length),
    );
    assert.equal(got.text, 'if (x) {\r\n\tx++;\r\n\treturn x;\r\n}\r\n');
  });

  test('a region with no hunks left (all decided) leaves the document as it is', () => {
    assert.deepEqual(reviewDocument(doc, [{ start: 3, original: 'ction', hunks: [] }]), { text: doc, hunks: [] });
  });
});
