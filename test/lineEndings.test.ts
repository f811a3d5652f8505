// CRLF documents: the engine denoises their LF form and answers in CRLF, offsets included.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { toLf, withEol } from '../src/core/text/lineEndings';
import { client } from './helpers';

describe('line endings', () => {
  test('offsets map to the LF text and back, a lone CR left alone', () => {
    const text = 'a\r\nbc\r\n\rd\ne';
    const lf = toLf(text);
    assert.equal(lf.text, 'a\nbc\n\rd\ne');
    assert.equal(lf.crlf, true);
    for (let o = 0; o <= text.length; o++) {
      if (text[o - 1] === '\r' && text[o] === '\n') continue; // between CR and LF: no LF offset of its own
      assert.equal(lf.fromLf(lf.toLf(o)), o, `offset ${o}`);
    }
    assert.equal(lf.toLf(text.indexOf('bc')), lf.text.indexOf('bc'));
    assert.equal(withEol('x\ny\r\nz', true), 'x\r\ny\r\nz');
    assert.equal(withEol('x\ny', false), 'x\ny');
  });

  test('a file with a few CRLF among many LF line breaks is an LF file', () => {
    assert.equal(toLf('a\r\nb\nc\nd\n').crlf, false);
  });

  const worker = client();
  after(() => worker.dispose());
  const lines = ['function area(w, h) {', '  const a = w * h;', '  return a;', '}', ''];

  test('a CRLF document gets the same fill as its LF twin, in CRLF', async () => {
    const lfText = lines.join('\n');
    const crlfText = lines.join('\r\n');
    const at = (t: string) => t.indexOf('return') + 'return'.length;
    const a = await worker.fill({ text: lfText, cursors: [at(lfText)], maxTokens: 12 });
    const b = await worker.fill({ text: crlfText, cursors: [at(crlfText)], maxTokens: 12 });
    assert.equal(b.edits[0].start, at(crlfText));
    assert.equal(b.edits[0].text, withEol(a.edits[0].text, true));
    assert.ok(!/(^|[^\r])\n/.test(b.edits[0].text), 'no bare LF in a CRLF answer');
  });

  test('refine in a CRLF document replaces exactly the selected lines, in CRLF', async () => {
    const text = lines.join('\r\n');
    const start = text.indexOf('  const');
    const end = text.indexOf('}');
    const r = await worker.refine({ text, start, end, strength: 1 });
    assert.equal(r.edits[0].start, start);
    assert.equal(r.edits[0].end, end);
    assert.ok(!/(^|[^\r])\n/.test(r.edits[0].text), JSON.stringify(r.edits[0].text));
  });
});
