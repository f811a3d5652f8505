// The extension's tokenizer (@huggingface/tokenizers, pure JS) must give exactly the ids the
// training tokenizer (Hugging Face's Rust library through the `tokenizers` package) gives.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { HfTokenCodec, escapeSpecialTokens } from '../src/denoiser/tokenCodec';
import { MODEL_DIR, ROOT } from './helpers';

const json = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8'));
const config = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer_config.json'), 'utf8'));
const specials: string[] = json.added_tokens.map((t: { content: string }) => t.content);
const codec = new HfTokenCodec(json, config, specials);
const rust = RustTokenizer.fromFile(path.join(MODEL_DIR, 'tokenizer.json'));

function fixtures(): [string, string][] {
  const files = [
    ...fs.readdirSync(path.join(ROOT, 'src', 'core')).map((f) => path.join(ROOT, 'src', 'core', f)),
    ...fs.readdirSync(path.join(ROOT, 'training')).filter((f) => /\.(py|mjs)$/.test(f)).map((f) => path.join(ROOT, 'training', f)),
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

  test('token healing candidates all start with the healed text', () => {
    const ids = codec.idsStartingWith(' ret');
    assert.ok(ids.length > 1);
    for (const id of ids) assert.ok(codec.decode([id]).startsWith(' ret'));
  });
});
