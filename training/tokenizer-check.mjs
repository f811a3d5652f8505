#!/usr/bin/env node
// Checks that the extension's tokenizer (@huggingface/tokenizers, pure JS) gives exactly the ids
// of the training tokenizer (Hugging Face's Rust library through the `tokenizers` package) on
// held-out documents of the corpus, and that no token joins indentation to code.
//
//   node training/tokenizer-check.mjs [--tokenizer training/tokenizer-v2/tokenizer.json] [--docs 1000]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import tokenizers from 'tokenizers';
import { escapeSpecialTokens } from './special-tokens.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    tokenizer: { type: 'string', default: path.join(here, 'tokenizer-v2', 'tokenizer.json') },
    heldout: { type: 'string', default: path.join(here, 'work', 'corpus', 'heldout.jsonl') },
    docs: { type: 'string', default: '1000' },
  },
});
const json = JSON.parse(fs.readFileSync(opts.tokenizer, 'utf8'));
const hf = new HfTokenizer(json, {});
const rust = tokenizers.Tokenizer.fromFile(opts.tokenizer);
const lines = fs.readFileSync(opts.heldout, 'utf8').split('\n').filter(Boolean);
const n = Number(opts.docs);
const step = Math.max(1, Math.floor(lines.length / n));
let docs = 0;
let tokens = 0;
let mismatched = 0;
let glued = 0;
// bytes per token (one byte-level symbol per byte), to find where tokens start in the UTF-8 text
const tokenBytes = [];
for (const [t, id] of Object.entries(json.model.vocab)) tokenBytes[id] = [...t].length;
for (let i = 0; i < lines.length && docs < n; i += step) {
  const text = escapeSpecialTokens(JSON.parse(lines[i]).text);
  const want = (await rust.encode(text, null, { addSpecialTokens: false })).getIds();
  const got = hf.encode(text, { add_special_tokens: false }).ids;
  docs += 1;
  tokens += want.length;
  if (want.length !== got.length || want.some((id, j) => id !== got[j])) mismatched += 1;
  // every line start and every end of indentation must be a token boundary
  const starts = new Set([0]);
  let pos = 0;
  for (const id of want) { pos += tokenBytes[id]; starts.add(pos); }
  let lineStart = 0;
  for (const line of text.split('\n')) {
    const indentEnd = lineStart + line.length - line.replace(/^[ \t]+/, '').length;
    if (!starts.has(lineStart) || !starts.has(indentEnd)) glued += 1;
    lineStart += Buffer.byteLength(line) + 1;
  }
}
console.log(`tokenizer-check: ${docs} held-out documents, ${tokens} tokens: ${mismatched} documents with different ids, ${glued} lines whose start or end of indentation falls inside a token`);
process.exit(mismatched || glued ? 1 : 0);
