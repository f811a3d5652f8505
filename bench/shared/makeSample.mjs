#!/usr/bin/env node
// Rebuilds bench/heldout-sample.jsonl: the benchmark's cases come from files of held-out
// packages (never trained on), committed so that `npm run bench` needs no corpus build. Run
// after `npm run model:corpus`; each line carries the package's version and licence from the
// corpus manifest. Deterministic: the same corpus gives the same sample.
//
//   node bench/shared/makeSample.mjs [--corpus training/work/corpus] [--max-bytes 1500000]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opts } = parseArgs({
  options: {
    corpus: { type: 'string', default: path.join(root, 'training', 'work', 'corpus') },
    'max-bytes': { type: 'string', default: '1500000' },
    // no package may dominate the cases
    'per-package': { type: 'string', default: '12' },
  },
});

const manifest = JSON.parse(fs.readFileSync(path.join(opts.corpus, 'manifest.json'), 'utf8'));
const about = new Map();
for (const p of manifest.packages) if (p.split !== 'train' && !about.has(p.name)) about.set(p.name, p);
const files = fs.readFileSync(path.join(opts.corpus, 'heldout.jsonl'), 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l))
  // files with room for cases (bench/shared/cases.ts picks lines 5 to n-15), none huge
  .filter((d) => d.text.split('\n').length >= 30 && d.text.length <= 16000 && about.has(d.package));

// a fixed shuffle (FNV-1a of the path), then round-robin over packages
const hash = (s) => [...s].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0, 2166136261);
const byPackage = new Map();
for (const d of files.sort((a, b) => hash(a.package + a.path) - hash(b.package + b.path))) {
  if (!byPackage.has(d.package)) byPackage.set(d.package, []);
  byPackage.get(d.package).push(d);
}
const out = [];
let bytes = 0;
for (let round = 0; round < Number(opts['per-package']); round++) {
  for (const [name, docs] of [...byPackage].sort((a, b) => a[0].localeCompare(b[0]))) {
    const d = docs[round];
    if (!d || bytes + d.text.length > Number(opts['max-bytes'])) continue;
    const p = about.get(name);
    out.push(JSON.stringify({ package: name, version: p.version, license: p.license, path: d.path, text: d.text }));
    bytes += d.text.length;
  }
}
fs.writeFileSync(path.join(root, 'bench', 'heldout-sample.jsonl'), out.join('\n') + '\n');
console.log(`bench/heldout-sample.jsonl: ${out.length} files of ${byPackage.size} held-out packages, ${(bytes / 1e6).toFixed(2)} MB`);
