// How request text becomes token spans and back: token healing at the start of a span and the
// newline a span takes in at its end. A one-character-per-token codec keeps the cases readable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { prepareSpans, spanReplacement, type TokenCodec } from '../src/core/text/spanText';

const chars: TokenCodec = {
  encode: (t) => Int32Array.from([...t].map((c) => c.charCodeAt(0))),
  decode: (ids) => String.fromCharCode(...Array.from(ids)),
  idsStartingWith: (t) => Int32Array.from(t.length === 1 ? [t.charCodeAt(0)] : []),
};
const text = (ids: Int32Array): string => chars.decode(ids);
const opts = { prefixChars: 1000, suffixChars: 1000, slotsFor: () => 8, variableLength: true };

describe('prepareSpans', () => {
  test('the last token before a span moves into it and must start the span', () => {
    const p = prepareSpans(chars, 'let x = 1;\nlet y', [{ start: 16, end: 16 }], opts);
    assert.equal(text(p.contexts[0]), 'let x = 1;\nlet ');
    assert.equal(p.edges[0].heal, 'y');
    assert.deepEqual([...p.spans[0].firstAllowed!], ['y'.charCodeAt(0)]);
  });

  test('a cursor at the end of a line takes the newline into the span and gives it back', () => {
    const src = 'if (a) {\n  run(\n}\n';
    const at = src.indexOf('(\n}') + 1;
    const p = prepareSpans(chars, src, [{ start: at, end: at }], opts);
    assert.equal(p.edges[0].tail, '\n');
    assert.equal(text(p.contexts[1]), '}\n', 'the suffix starts after the newline');
    const generated = chars.encode('(a, b);\n');
    assert.equal(spanReplacement(chars, generated, p.edges[0]), 'a, b);');
  });

  test('whole selected lines take no extra newline and heal nothing', () => {
    const src = 'a\nbb\ncc\n\nd\n';
    const p = prepareSpans(chars, src, [{ start: 2, end: 8 }], { ...opts, slotsFor: (o) => o.length });
    assert.equal(p.edges[0].tail, '');
    assert.equal(p.edges[0].heal, '', 'a line break before the span is a natural boundary: nothing to heal');
    assert.equal(text(p.spans[0].original), 'bb\ncc\n');
  });

  test("a result that does not reach the newline keeps the document's newline in place", () => {
    const p = prepareSpans(chars, 'x = \ny', [{ start: 4, end: 4 }], opts);
    assert.equal(p.edges[0].heal, '', 'one character per token: the space stays whole in the context');
    assert.equal(spanReplacement(chars, chars.encode('42'), p.edges[0]), '42');
  });

  test('several spans: each takes its own edges and the text between them stays context', () => {
    const src = 'a(\nb(\nc\n';
    const p = prepareSpans(
      chars,
      src,
      [
        { start: 2, end: 2 },
        { start: 5, end: 5 },
      ],
      opts,
    );
    assert.deepEqual(
      p.edges.map((e) => [e.heal, e.tail]),
      [
        ['(', '\n'],
        ['(', '\n'],
      ],
    );
    assert.equal(text(p.contexts[1]), 'b', 'between: the second line without its last token');
    assert.equal(text(p.contexts[2]), 'c\n');
  });
});
