// The extension's tokenizer (@huggingface/tokenizers, pure JS) must give exactly the ids the
// training tokenizer (Hugging Face's Rust library through the `tokenizers` package) gives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { prepareSpans } from '../src/core/text/spanText';
import { HfTokenCodec, escapeSpecialTokens } from '../src/worker/tokenCodec';
import { MODEL_DIR, ROOT } from './helpers';

const json = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'));
const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer_config.json'), 'utf8'));
const specials: string[] = json.added_tokens.map((t: { content: string }) => t.content);
const codec = new HfTokenCodec(json, config, specials);
const rust = RustTokenizer.fromFile(path.join(MODEL_DIR, 'tokenizer.json'));

function fixtures(): [string, string][] {
  const files = [
    ...fs
      .readdirSync(path.join(ROOT, 'src', 'core'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(ROOT, 'src', 'core', f)),
    ...fs
      .readdirSync(path.join(ROOT, 'training'))
      .filter((f) => /\.(py|mjs)$/.test(f))
      .map((f) => path.join(ROOT, 'training', f)),
    path.join(ROOT, 'examples', 'sample.ts'),
  ];
  return [
    ...files.map((f): [string, string] => [path.relative(ROOT, f), fs.readFileSync(f, 'utf8')]),
    ['unicode', 'const café = "naïve → ünïcödé 日本語 🙂";\n\t\r\n  tabs\tand  spaces  \n'],
    ['empty lines', '\n\n\nx\n\n'],
  ];
}

describe('tokenizer', () => {
  for (const [name, text] of fixtures()) {
    test(`@huggingface/tokenizers ids equal the training tokenizer's on ${name}`, async () => {
      // both sides see the text as the engine sends it (special-token strings escaped)
      const escaped = escapeSpecialTokens(text, specials);
      const expected = (await rust.encode(escaped, null, { addSpecialTokens: false })).getIds();
      assert.deepEqual([...codec.encode(text)], expected);
      assert.equal(codec.decode(expected), escaped, 'decoding gives the text back');
    });
  }

  test('no tokens decode to the empty string', () => {
    assert.equal(codec.decode([]), '');
  });

  test('a literal special-token string in user code stays ordinary text', () => {
    const ids = codec.encode('const s = "<|mask|>";');
    assert.ok(!ids.includes(1), 'the mask id does not appear');
  });

  describe('a span after spaces or tabs never starts with more of them', () => {
    const at = (before: string) =>
      prepareSpans(codec, before + '\nnext();\n', [{ start: before.length, end: before.length }], {
        prefixChars: 1000,
        suffixChars: 1000,
        slotsFor: () => 8,
        variableLength: true,
      });
    const firsts = (p: ReturnType<typeof at>) => [...p.spans[0].firstAllowed!].map((id) => codec.decode([id]));
    for (const [name, before] of [
      ['a space-indented line', 'function f() {\n    '],
      ['a tab-indented line', 'function f() {\n\t\t'],
      ['mid-line after `= `', 'const x = '],
    ]) {
      test(name, () => {
        const p = at(before);
        const heal = p.edges[0].heal;
        assert.equal(
          codec.decode(p.contexts[0]) + heal,
          before,
          'context and healed text are the text before the cursor',
        );
        const allowed = firsts(p);
        assert.ok(allowed.length > 100, 'code of every kind can start the span');
        for (const t of allowed)
          assert.ok(t.startsWith(heal) && /^[^ \t]/.test(t.slice(heal.length)), JSON.stringify(t));
        // what the model would write after the indentation is a natural token of the whole line
        const line = before + 'return x;';
        assert.deepEqual([...codec.encode(line)].slice(0, p.contexts[0].length), [...p.contexts[0]]);
      });
    }
  });

  test('token healing candidates all start with the healed text', () => {
    const ids = codec.idsStartingWith(' ret');
    assert.ok(ids.length > 1);
    for (const id of ids) assert.ok(codec.decode([id]).startsWith(' ret'));
  });
});
