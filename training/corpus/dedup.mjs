// Exact and near-duplicate detection for the corpus.
//
// Exact: a SHA-1 of the text with trailing whitespace and blank lines removed, so copies that
// differ only in blank lines or line-end spaces count as one.
//
// Near: MinHash over 5-word shingles with one-permutation hashing (each shingle is hashed once
// and lands in one of 64 bins, each bin keeps its minimum; empty bins borrow from the next
// non-empty one), then LSH with 16 bands of 4 bins. A candidate from a shared band is a
// duplicate when at least `threshold` of the 64 bins agree (an estimate of the Jaccard
// similarity of the shingle sets). One hash per shingle instead of 64 keeps the whole corpus
// (about a gigabyte of text) to seconds of hashing on one core.
import { createHash } from 'node:crypto';

export function exactKey(text) {
  const normal = text.split('\n').map((l) => l.trimEnd()).filter((l) => l).join('\n');
  return createHash('sha1').update(normal).digest('base64');
}

const BINS = 64;
const ROWS = 4;
const BANDS = BINS / ROWS;
const EMPTY = 0xffffffff;
const SHINGLE = 5;

function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isWordChar(c) {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c > 127;
}

/** The 64-bin one-permutation MinHash signature of a text, or null when it has too few shingles. */
export function minhashSignature(text) {
  const sig = new Uint32Array(BINS).fill(EMPTY);
  const ring = new Uint32Array(SHINGLE);
  let words = 0;
  let h = 0x811c9dc5;
  let inWord = false;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 32;
    if (isWordChar(c)) {
      h = Math.imul(h ^ c, 0x01000193);
      inWord = true;
      continue;
    }
    if (!inWord) continue;
    inWord = false;
    ring[words % SHINGLE] = h >>> 0;
    h = 0x811c9dc5;
    words += 1;
    if (words < SHINGLE) continue;
    // order-sensitive combination of the last SHINGLE word hashes
    let s = 0x9e3779b9;
    for (let k = 0; k < SHINGLE; k++) s = Math.imul(s ^ ring[(words + k) % SHINGLE], 0x27d4eb2d) + k;
    s = fmix32(s);
    const bin = s >>> 26;
    const v = s & 0x3ffffff;
    if (v < sig[bin]) sig[bin] = v;
  }
  if (words < SHINGLE + 3) return null;
  // densify: an empty bin takes the value of the next non-empty bin, marked by the distance
  for (let b = 0; b < BINS; b++) {
    if (sig[b] !== EMPTY) continue;
    for (let d = 1; d < BINS; d++) {
      const v = sig[(b + d) % BINS];
      if (v !== EMPTY && v < 0x4000000) { sig[b] = (v + d * 0x4000000) >>> 0; break; }
    }
  }
  return sig;
}

/** Estimated Jaccard similarity of two signatures: the share of bins that agree. */
export function similarity(a, b) {
  let same = 0;
  for (let i = 0; i < BINS; i++) if (a[i] === b[i]) same += 1;
  return same / BINS;
}

export class NearDupIndex {
  constructor(threshold = 0.8) {
    this.threshold = threshold;
    this.bands = Array.from({ length: BANDS }, () => new Map());
    this.sigs = new Uint32Array(BINS * 1024);
    this.count = 0;
  }

  static bandKey(sig, b) {
    let h = 0x12345 + b;
    for (let r = 0; r < ROWS; r++) h = Math.imul(h ^ sig[b * ROWS + r], 0x01000193);
    return fmix32(h);
  }

  /** The id of an indexed near-duplicate of sig, or -1. */
  find(sig) {
    for (let b = 0; b < BANDS; b++) {
      const other = this.bands[b].get(NearDupIndex.bandKey(sig, b));
      if (other === undefined) continue;
      if (similarity(sig, this.sigs.subarray(other * BINS, other * BINS + BINS)) >= this.threshold) return other;
    }
    return -1;
  }

  /** Indexes sig; returns its id. */
  add(sig) {
    const id = this.count++;
    if (this.count * BINS > this.sigs.length) {
      const grown = new Uint32Array(this.sigs.length * 2);
      grown.set(this.sigs);
      this.sigs = grown;
    }
    this.sigs.set(sig, id * BINS);
    for (let b = 0; b < BANDS; b++) {
      const key = NearDupIndex.bandKey(sig, b);
      if (!this.bands[b].has(key)) this.bands[b].set(key, id);
    }
    return id;
  }
}
