#!/usr/bin/env node
// Tokenizer v2: trains the byte-level BPE tokenizer on corpus v2's training split and encodes the
// corpus into token files for train.py.
//
//   npm run model:tokenizer [-- --vocab 16384] [--sample-mb 120] [--encode-only] [--measure 8192,16384,24576]
//
// --encode-only keeps the tokenizer (work/tokenizer, or the committed training/tokenizer-v2 in a fresh
// work folder) and only encodes: what a rebuild for model v2 wants, since the model's ids are v2's.
//
// Writes work/tokenizer/{tokenizer.json,tokenizer_config.json} (also copied to
// training/tokenizer-v2/, which is committed so model v2 is trained and shipped with exactly it)
// and work/data/{train.bin,heldout.bin,meta.json}: little-endian uint16 ids, every document as
// bos … eos, documents back to back (format: training/corpus.mjs, /work/notes/data-format.md).
//
// Whitespace: before byte-level BPE, every "\n" is its own piece and so is the indentation that
// follows it ("\n\t\treturn x" → "\n", "\t\t", "return", " x"). No token spans a line break or
// joins indentation to code, so a prefix that ends after a line's indentation (where the editor's
// cursor usually is) ends on a token boundary, and the model never has to write indentation the
// document already has. The GPT-2 split of the byte-level pre-tokenizer would otherwise glue the
// indentation's last space to the first word (" return") and newlines to indentation.
//
// The Node binding's train() always uses the default BpeTrainer (30k vocabulary, no special
// tokens). BPE merges are learned greedily, so the first N merges of that run *are* the N-merge
// vocabulary: we keep the specials, the full 256-symbol byte alphabet and the first merges, which
// gives an exact smaller tokenizer without a trainer argument.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import tokenizers from 'tokenizers';
import { SPECIAL_TOKENS, escapeSpecialTokens } from './special-tokens.mjs';

const { Tokenizer, byteLevelAlphabet } = tokenizers;
const here = path.dirname(fileURLToPath(import.meta.url));

/** The pre-tokenizer of tokenizer v2 (tokenizer.json form; both tokenizer libraries read it). */
export const PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: '\n' }, behavior: 'Isolated', invert: false },
    // pieces no longer contain "\n", so ^ is the start of a line: its indentation
    { type: 'Split', pattern: { Regex: '^[ \t]+' }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
};

/** The tokenizer of tokenizer v1 (models/diffuse-small), for comparisons only. */
export const PRE_TOKENIZER_V1 = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

function tokenizerJson(preTokenizer, vocab, merges) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

/** Builds the final tokenizer JSON from a (larger) trained one: specials, bytes, first merges. */
export function truncateBpe(trained, vocabSize, preTokenizer = trained.pre_tokenizer) {
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
  return tokenizerJson(preTokenizer, vocab, merges);
}

export function tokenizerConfig(contextLength = 1024) {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: contextLength,
    pad_token: '<|pad|>',
    mask_token: '<|mask|>',
    bos_token: '<|bos|>',
    eos_token: '<|eos|>',
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

/** The documents of one corpus file, in order. */
function* readDocs(file) {
  // shards are ~100 M characters: one string each is well within V8's limit
  const text = fs.readFileSync(file, 'utf8');
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) yield JSON.parse(text.slice(start, end));
    start = end + 1;
  }
}

function corpusFiles(corpusDir, split) {
  if (split === 'heldout') return [path.join(corpusDir, 'heldout.jsonl')];
  const manifest = JSON.parse(fs.readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'));
  return manifest.shards.train.map((f) => path.join(corpusDir, f));
}

/** Writes a deterministic sample of the training text (every step-th document) for BPE training. */
function writeSample(corpusDir, textDir, sampleChars) {
  const files = corpusFiles(corpusDir, 'train');
  const manifest = JSON.parse(fs.readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8'));
  const step = Math.max(1, Math.round(manifest.totals.train.chars / sampleChars));
  fs.rmSync(textDir, { recursive: true, force: true });
  fs.mkdirSync(textDir, { recursive: true });
  const out = [];
  let shard = [];
  let size = 0;
  let i = 0;
  const flush = () => {
    if (!shard.length) return;
    const f = path.join(textDir, `sample-${String(out.length).padStart(3, '0')}.txt`);
    fs.writeFileSync(f, shard.join('\n'));
    out.push(f);
    shard = [];
    size = 0;
  };
  for (const file of files) {
    for (const d of readDocs(file)) {
      if (i++ % step !== 0) continue;
      shard.push(escapeSpecialTokens(d.text));
      size += d.text.length;
      if (size > 8e6) flush();
    }
  }
  flush();
  return { files: out, step };
}

/** Trains the full default-size BPE with the given pre-tokenizer; returns its JSON. */
function trainFull(preTokenizer, sampleFiles, scratch) {
  const seedPath = path.join(scratch, 'seed.json');
  fs.writeFileSync(seedPath, JSON.stringify(tokenizerJson(preTokenizer, {}, [])));
  const tok = Tokenizer.fromFile(seedPath);
  tok.train(sampleFiles);
  const trainedPath = path.join(scratch, 'trained-full.json');
  tok.save(trainedPath);
  return JSON.parse(fs.readFileSync(trainedPath, 'utf8'));
}

/** Characters per token of a tokenizer JSON on a list of texts. */
async function charsPerToken(json, texts, scratch) {
  const p = path.join(scratch, `measure-${crypto.randomUUID()}.json`);
  fs.writeFileSync(p, JSON.stringify(json));
  const tok = Tokenizer.fromFile(p);
  let chars = 0;
  let tokens = 0;
  for (let i = 0; i < texts.length; i += 256) {
    const encs = await tok.encodeBatch(texts.slice(i, i + 256), { addSpecialTokens: false });
    encs.forEach((e, j) => { tokens += e.getIds().length; chars += texts[i + j].length; });
  }
  fs.rmSync(p);
  return chars / tokens;
}

function sha256File(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 24);
  let n;
  while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return h.digest('hex');
}

async function encodeSplit(tok, files, outFile, { bos, eos }) {
  const fd = fs.openSync(outFile, 'w');
  let total = 0;
  let docs = 0;
  const byLang = {};
  for (const file of files) {
    let batch = [];
    const flush = async () => {
      if (!batch.length) return;
      const encs = await tok.encodeBatch(batch.map((d) => escapeSpecialTokens(d.text)), { addSpecialTokens: false });
      const parts = [];
      encs.forEach((e, j) => {
        const ids = e.getIds();
        // bos … eos around every file: the editor's canvas starts with bos when its prefix reaches
        // the top of the file and ends with eos when its suffix reaches the end
        const arr = new Uint16Array(ids.length + 2);
        arr[0] = bos;
        arr.set(ids, 1);
        arr[ids.length + 1] = eos;
        parts.push(arr);
        total += arr.length;
        docs += 1;
        const l = (byLang[batch[j].lang ?? 'unknown'] ??= { docs: 0, chars: 0, tokens: 0 });
        l.docs += 1;
        l.chars += batch[j].text.length;
        l.tokens += ids.length;
      });
      for (const a of parts) fs.writeSync(fd, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
      batch = [];
    };
    for (const d of readDocs(file)) {
      batch.push(d);
      if (batch.length >= 512) await flush();
    }
    await flush();
  }
  fs.closeSync(fd);
  return { docs, tokens: total, byLang };
}

/** Tokens per language and split, from meta.json into the corpus manifest's mix (one place for the mix). */
export function addTokensToManifest(corpusDir, dataDir) {
  const file = path.join(corpusDir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'meta.json'), 'utf8'));
  for (const split of ['train', 'heldout']) {
    for (const [lang, m] of Object.entries(manifest.mix[split])) {
      const t = meta.tokens_by_lang[split][lang];
      m.tokens = t ? t.tokens : 0;
      m.charsPerToken = t ? Number((t.chars / t.tokens).toFixed(3)) : null;
    }
  }
  manifest.tokens = { ...meta.tokens, vocab_size: meta.vocab_size, tokenizer_sha256: meta.tokenizer_sha256 };
  fs.writeFileSync(file, JSON.stringify(manifest, null, 1));
}

async function main() {
  const { values: opts } = parseArgs({
    options: {
      work: { type: 'string', default: path.join(here, 'work') },
      vocab: { type: 'string', default: '16384' },
      'sample-mb': { type: 'string', default: '120' },
      'encode-only': { type: 'boolean', default: false },
      measure: { type: 'string', default: '' },
      'measure-docs': { type: 'string', default: '3000' },
    },
  });
  const t0 = Date.now();
  const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}`);
  const corpusDir = path.join(opts.work, 'corpus');
  const tokDir = path.join(opts.work, 'tokenizer');
  const dataDir = path.join(opts.work, 'data');
  let measure;
  if (!opts['encode-only']) measure = await buildTokenizer(opts, { corpusDir, tokDir }, log);
  else if (!fs.existsSync(path.join(tokDir, 'tokenizer.json'))) {
    // a fresh work folder: encode with the committed tokenizer v2, the one model v2 is trained with
    fs.mkdirSync(tokDir, { recursive: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(here, 'tokenizer-v2', f), path.join(tokDir, f));
    log('tokenizer: encoding with the committed training/tokenizer-v2');
  }
  await encodeCorpus(corpusDir, tokDir, dataDir, log);
  if (measure) fs.writeFileSync(path.join(tokDir, 'measure.json'), JSON.stringify(measure, null, 1));
  addTokensToManifest(corpusDir, dataDir);
  log('tokenizer: done');
}

/** Trains the BPE on a sample of the corpus and writes it to tokDir and its committed copy
 * (training/tokenizer-v2 for the project's own work folder, else tokDir/published). With
 * --measure, returns chars/token on held-out documents for other vocabulary sizes and for v1's
 * pre-tokenizer. */
async function buildTokenizer(opts, { corpusDir, tokDir }, log) {
  const scratch = path.join(opts.work, 'tokenizer-text');
  const { files, step } = writeSample(corpusDir, scratch, Number(opts['sample-mb']) * 1e6);
  log(`tokenizer: training BPE on ${files.length} sample files (every ${step}. document)`);
  const trained = trainFull(PRE_TOKENIZER, files, scratch);
  log(`tokenizer: trained ${trained.model.merges.length} merges`);
  const final = truncateBpe(trained, Number(opts.vocab), PRE_TOKENIZER);
  fs.mkdirSync(tokDir, { recursive: true });
  fs.writeFileSync(path.join(tokDir, 'tokenizer.json'), JSON.stringify(final));
  fs.writeFileSync(path.join(tokDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(), null, 2));
  log(`tokenizer: ${Object.keys(final.model.vocab).length} tokens, ${final.model.merges.length} merges`);
  let measure;
  if (opts.measure) {
    const held = [...readDocs(path.join(corpusDir, 'heldout.jsonl'))];
    const n = Number(opts['measure-docs']);
    const sample = held.filter((_, i) => i % Math.max(1, Math.floor(held.length / n)) === 0).map((d) => escapeSpecialTokens(d.text));
    const trainedV1 = trainFull(PRE_TOKENIZER_V1, files, scratch);
    measure = { heldoutDocs: sample.length, heldoutChars: sample.reduce((a, t) => a + t.length, 0), v2: {}, v1PreTokenizer: {} };
    for (const v of opts.measure.split(',').map(Number)) {
      measure.v2[v] = Number((await charsPerToken(truncateBpe(trained, v, PRE_TOKENIZER), sample, scratch)).toFixed(4));
      measure.v1PreTokenizer[v] = Number((await charsPerToken(truncateBpe(trainedV1, v, PRE_TOKENIZER_V1), sample, scratch)).toFixed(4));
      log(`tokenizer: vocab ${v}: ${measure.v2[v]} chars/token (v1's pre-tokenizer: ${measure.v1PreTokenizer[v]})`);
    }
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  // the committed copy follows the project's own build only (not trial builds in other folders)
  const committed = path.resolve(opts.work) === path.join(here, 'work') ? path.join(here, 'tokenizer-v2') : path.join(tokDir, 'published');
  fs.mkdirSync(committed, { recursive: true });
  fs.copyFileSync(path.join(tokDir, 'tokenizer.json'), path.join(committed, 'tokenizer.json'));
  fs.copyFileSync(path.join(tokDir, 'tokenizer_config.json'), path.join(committed, 'tokenizer_config.json'));
  return measure;
}

/** The corpus's splits encoded with tokDir's tokenizer into dataDir's train.bin and heldout.bin,
 * with meta.json (special ids, newline and indentation ids, token counts per language, hashes)
 * and a copy of the tokenizer files. */
async function encodeCorpus(corpusDir, tokDir, dataDir, log) {
  const tok = Tokenizer.fromFile(path.join(tokDir, 'tokenizer.json'));
  const json = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8'));
  const vocab = json.model.vocab;
  const special = { pad: vocab['<|pad|>'], mask: vocab['<|mask|>'], bos: vocab['<|bos|>'], eos: vocab['<|eos|>'] };
  fs.mkdirSync(dataDir, { recursive: true });
  const splits = {};
  for (const split of ['train', 'heldout']) {
    const t = Date.now();
    splits[split] = await encodeSplit(tok, corpusFiles(corpusDir, split), path.join(dataDir, `${split}.bin`), special);
    splits[split].sha256 = sha256File(path.join(dataDir, `${split}.bin`));
    splits[split].seconds = (Date.now() - t) / 1000;
    log(`tokenizer: ${split}: ${splits[split].docs} documents -> ${splits[split].tokens} tokens`);
  }
  // "\n" is always a token of its own (see PRE_TOKENIZER), so this is exactly one id; the list
  // form is kept for train.py, which reads v1's data too
  const newlineIds = Object.entries(vocab).filter(([t]) => t.includes('Ċ')).map(([, id]) => id).sort((a, b) => a - b);
  // tokens made only of spaces/tabs (Ġ is the space, ĉ the tab): indentation pieces
  const indentIds = Object.entries(vocab).filter(([t]) => /^[Ġĉ]+$/.test(t)).map(([, id]) => id).sort((a, b) => a - b);
  const heldLangs = splits.heldout.byLang;
  fs.writeFileSync(path.join(dataDir, 'meta.json'), JSON.stringify({
    format: 2,
    vocab_size: Object.keys(vocab).length,
    special,
    newline_token_ids: newlineIds,
    indent_token_ids: indentIds,
    tokens: { train: splits.train.tokens, heldout: splits.heldout.tokens },
    docs: { train: splits.train.docs, heldout: splits.heldout.docs },
    sha256: { train: splits.train.sha256, heldout: splits.heldout.sha256 },
    tokens_by_lang: { train: splits.train.byLang, heldout: heldLangs },
    heldout_chars_per_token: Number((Object.values(heldLangs).reduce((a, l) => a + l.chars, 0) / Object.values(heldLangs).reduce((a, l) => a + l.tokens, 0)).toFixed(4)),
    tokenizer_sha256: sha256File(path.join(tokDir, 'tokenizer.json')),
  }, null, 1));
  fs.copyFileSync(path.join(tokDir, 'tokenizer.json'), path.join(dataDir, 'tokenizer.json'));
  fs.copyFileSync(path.join(tokDir, 'tokenizer_config.json'), path.join(dataDir, 'tokenizer_config.json'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(`tokenizer: ${e.message}`); process.exit(1); });
}
