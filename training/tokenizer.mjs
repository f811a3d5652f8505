#!/usr/bin/env node
// Trains the byte-level BPE tokenizer on the training split and encodes the corpus into token
// files for train.py.
//
//   node training/tokenizer.mjs [--work DIR] [--vocab 8192] [--sample-mb 80] [--encode-only]
//
// Writes work/tokenizer/{tokenizer.json,tokenizer_config.json} and
// work/data/{train.bin,heldout.bin,meta.json} (uint16 ids, each file as bos … eos).
//
// The Node binding's train() always uses the default BpeTrainer (30k vocabulary, no special
// tokens). BPE merges are learned greedily, so the first N merges of that run *are* the
// N-merge vocabulary: we keep the specials, the full 256-symbol byte alphabet and the first
// merges, which gives an exact smaller tokenizer without a trainer argument.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import tokenizers from 'tokenizers';
import { SPECIAL_TOKENS, escapeSpecialTokens } from './special-tokens.mjs';

const { Tokenizer, BPE, byteLevelPreTokenizer, byteLevelAlphabet } = tokenizers;
const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    work: { type: 'string', default: path.join(here, 'work') },
    vocab: { type: 'string', default: '8192' },
    'sample-mb': { type: 'string', default: '80' },
    'encode-only': { type: 'boolean', default: false },
  },
});
const corpusDir = path.join(opts.work, 'corpus');
const tokDir = path.join(opts.work, 'tokenizer');
const dataDir = path.join(opts.work, 'data');

function readDocs(split) {
  const file = path.join(corpusDir, `${split}.jsonl`);
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** Builds the final tokenizer JSON from a (larger) trained one: specials, bytes, first merges. */
export function truncateBpe(trained, vocabSize) {
  const alphabet = byteLevelAlphabet();
  // null prototype: "toString" and friends are real tokens here, not inherited properties
  const vocab = Object.create(null);
  let next = 0;
  for (const s of SPECIAL_TOKENS) vocab[s] = next++;
  for (const ch of alphabet) if (!Object.hasOwn(vocab, ch)) vocab[ch] = next++;
  const merges = [];
  for (const m of trained.model.merges) {
    if (next >= vocabSize) break;
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (!Object.hasOwn(vocab, a) || !Object.hasOwn(vocab, b)) continue;
    const merged = a + b;
    merges.push([a, b]);
    if (!Object.hasOwn(vocab, merged)) vocab[merged] = next++;
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

function trainTokenizer() {
  const docs = readDocs('train');
  // A deterministic sample keeps training fast; merges of frequent pieces are stable under sampling.
  const budget = Number(opts['sample-mb']) * 1e6;
  const step = Math.max(1, Math.ceil(docs.reduce((n, d) => n + d.text.length, 0) / budget));
  const textDir = path.join(opts.work, 'tokenizer-text');
  fs.rmSync(textDir, { recursive: true, force: true });
  fs.mkdirSync(textDir, { recursive: true });
  const files = [];
  let shard = [];
  let size = 0;
  const flush = () => {
    if (!shard.length) return;
    const f = path.join(textDir, `shard-${String(files.length).padStart(3, '0')}.txt`);
    fs.writeFileSync(f, shard.join('\n'));
    files.push(f);
    shard = [];
    size = 0;
  };
  docs.forEach((d, i) => {
    if (i % step !== 0) return;
    shard.push(escapeSpecialTokens(d.text));
    size += d.text.length;
    if (size > 8e6) flush();
  });
  flush();
  console.log(`tokenizer: training BPE on ${files.length} shards (every ${step}. file)`);
  const t0 = Date.now();
  const tok = new Tokenizer(BPE.empty());
  tok.setPreTokenizer(byteLevelPreTokenizer(false, true));
  tok.train(files);
  const trainedPath = path.join(textDir, 'trained-full.json');
  tok.save(trainedPath);
  const trained = JSON.parse(fs.readFileSync(trainedPath, 'utf8'));
  const final = truncateBpe(trained, Number(opts.vocab));
  fs.mkdirSync(tokDir, { recursive: true });
  fs.writeFileSync(path.join(tokDir, 'tokenizer.json'), JSON.stringify(final));
  fs.writeFileSync(path.join(tokDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(), null, 2));
  fs.rmSync(textDir, { recursive: true, force: true });
  console.log(`tokenizer: ${Object.keys(final.model.vocab).length} tokens, ${final.model.merges.length} merges in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function tokenizerConfig() {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 1024,
    pad_token: '<|pad|>',
    mask_token: '<|mask|>',
    bos_token: '<|bos|>',
    eos_token: '<|eos|>',
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

async function encodeSplit(tok, split, { bos, eos }) {
  const docs = readDocs(split);
  const chunks = [];
  let total = 0;
  const batch = 256;
  for (let i = 0; i < docs.length; i += batch) {
    const texts = docs.slice(i, i + batch).map((d) => escapeSpecialTokens(d.text));
    const encs = await tok.encodeBatch(texts, { addSpecialTokens: false });
    for (const e of encs) {
      const ids = e.getIds();
      // bos … eos around every file: the editor's canvas starts with bos when its prefix reaches
      // the top of the file and ends with eos when its suffix reaches the end
      const arr = new Uint16Array(ids.length + 2);
      arr[0] = bos;
      arr.set(ids, 1);
      arr[ids.length + 1] = eos;
      chunks.push(arr);
      total += arr.length;
    }
  }
  const out = new Uint16Array(total);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  fs.writeFileSync(path.join(dataDir, `${split}.bin`), Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  console.log(`tokenizer: ${split}: ${docs.length} files -> ${total} tokens`);
  return total;
}

async function encodeCorpus() {
  const tok = Tokenizer.fromFile(path.join(tokDir, 'tokenizer.json'));
  const json = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8'));
  const vocab = json.model.vocab;
  const special = { pad: vocab['<|pad|>'], mask: vocab['<|mask|>'], bos: vocab['<|bos|>'], eos: vocab['<|eos|>'] };
  fs.mkdirSync(dataDir, { recursive: true });
  const counts = {};
  for (const split of ['train', 'heldout']) counts[split] = await encodeSplit(tok, split, special);
  // byte-level BPE writes '\n' as 'Ċ'; these ids let train.py cut line-aligned spans
  const newlineIds = Object.entries(vocab).filter(([t]) => t.includes('Ċ')).map(([, id]) => id).sort((a, b) => a - b);
  fs.writeFileSync(path.join(dataDir, 'meta.json'), JSON.stringify({
    vocab_size: Object.keys(vocab).length, special, newline_token_ids: newlineIds, tokens: counts,
  }));
  fs.copyFileSync(path.join(tokDir, 'tokenizer.json'), path.join(dataDir, 'tokenizer.json'));
  fs.copyFileSync(path.join(tokDir, 'tokenizer_config.json'), path.join(dataDir, 'tokenizer_config.json'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!opts['encode-only']) trainTokenizer();
  await encodeCorpus();
}
