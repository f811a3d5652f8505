#!/usr/bin/env node
// Builds the training corpus from code that is installable here: readable sources and type
// declarations of npm packages (corpus-packages.txt and everything they pull in) and Debian's
// Python standard library. Writes training/work/corpus/{train,heldout}.jsonl and manifest.json.
//
//   node training/corpus.mjs [--work DIR] [--heldout-percent 3]
//
// The held-out split is chosen *by package* (a hash of the package name), so evaluation never
// sees a file whose siblings were trained on.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    work: { type: 'string', default: path.join(here, 'work') },
    'heldout-percent': { type: 'string', default: '3' },
    'python-stdlib': { type: 'string', default: '/usr/lib/python3.11' },
  },
});

const CODE_EXT = /\.(d\.ts|ts|tsx|mts|cts|js|mjs|cjs|jsx|py)$/;
const MIN_BYTES = 200;
const MAX_BYTES = 600_000;
const MAX_LINE = 400;
const MAX_MEAN_LINE = 100;
const PACKAGE_CAP_BYTES = 12_000_000;
const HELDOUT_PACKAGE_MAX_BYTES = 2_000_000;
const heldoutPercent = Number(opts['heldout-percent']);

const npmDir = path.join(opts.work, 'npm');
const outDir = path.join(opts.work, 'corpus');

function installNpmPackages() {
  const wanted = fs.readFileSync(path.join(here, 'corpus-packages.txt'), 'utf8')
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (fs.existsSync(path.join(npmDir, 'node_modules', '.package-lock.json'))) {
    console.log(`corpus: npm packages already installed in ${npmDir}`);
    return;
  }
  fs.mkdirSync(npmDir, { recursive: true });
  fs.writeFileSync(path.join(npmDir, 'package.json'), JSON.stringify({ name: 'diffuse-corpus', private: true }));
  console.log(`corpus: installing ${wanted.length} npm packages (and their dependencies) into ${npmDir}`);
  execFileSync('npm', ['install', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund',
    '--no-save', '--loglevel=error', ...wanted], { cwd: npmDir, stdio: 'inherit' });
}

/** Every installed package folder (scoped and nested ones too), each with its package.json. */
function* npmPackageDirs(nodeModules) {
  if (!fs.existsSync(nodeModules)) return;
  for (const entry of fs.readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry);
    if (entry.startsWith('@')) {
      for (const sub of fs.readdirSync(dir)) yield* packageAndNested(path.join(dir, sub));
    } else {
      yield* packageAndNested(dir);
    }
  }
}

function* packageAndNested(dir) {
  if (!fs.existsSync(path.join(dir, 'package.json'))) return;
  yield dir;
  yield* npmPackageDirs(path.join(dir, 'node_modules'));
}

function* walkFiles(dir, skipDir) {
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDir(e.name)) yield* walkFiles(p, skipDir);
    } else if (e.isFile()) {
      yield p;
    }
  }
}

/** Why a file's text is not readable code, or null when it is. */
function rejectReason(rel, text) {
  if (/\.min\.|\.bundle\.|-bundle\./.test(rel)) return 'minified';
  if (text.length < MIN_BYTES) return 'small';
  if (text.length > MAX_BYTES) return 'large';
  if (text.includes('sourceMappingURL=data:')) return 'sourcemap';
  if (text.includes('\u0000')) return 'binary';
  const lines = text.split('\n');
  let total = 0;
  for (const line of lines) {
    if (line.length > MAX_LINE) return 'long-line';
    total += line.length;
  }
  if (total / lines.length > MAX_MEAN_LINE) return 'dense';
  if (/^\s*\/\/ Code generated|@generated|DO NOT EDIT/m.test(text.slice(0, 600))) return 'generated';
  return null;
}

/**
 * Packages often ship one source file several times (src/, lib/, dist/cjs, dist/esm, esm5 …).
 * Files that share this key are build variants of one another; keep only the best one.
 */
function variantKey(rel) {
  const noExt = rel.replace(CODE_EXT, '');
  return noExt.split('/').filter((p) => !/^(src|lib|dist|build|cjs|esm|esm5|esm2015|es|es5|es6|es2015|es2017|es2020|umd|module|modules|node|browser|types|typings|out|_esm|_cjs|_types)$/.test(p)).join('/');
}

function variantPreference(rel) {
  let score = 0;
  if (/(^|\/)src\//.test(rel)) score += 4;
  if (/\.(ts|tsx|mts|cts)$/.test(rel) && !rel.endsWith('.d.ts')) score += 3;
  if (rel.endsWith('.d.ts')) score += 1; // declarations are kept beside .js, but win over a second .d.ts copy
  if (/(^|\/)(cjs|umd)\//.test(rel)) score -= 1;
  return score;
}

function hashOf(s) {
  return createHash('sha1').update(s).digest('hex');
}

function isHeldOut(packageName) {
  return parseInt(hashOf('diffuse-split:' + packageName).slice(0, 8), 16) % 100 < heldoutPercent;
}

function collectPackage(name, version, license, root, files, seen, stats) {
  const variants = new Map();
  for (const abs of files) {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (!CODE_EXT.test(rel)) continue;
    let text;
    try { text = fs.readFileSync(abs, 'utf8'); } catch { continue; }
    const reason = rejectReason(rel, text);
    if (reason) { stats[reason] = (stats[reason] ?? 0) + 1; continue; }
    // declarations and implementations of one module are different texts: separate variant groups
    const key = variantKey(rel) + (rel.endsWith('.d.ts') ? '#d' : '');
    const prev = variants.get(key);
    if (!prev || variantPreference(rel) > variantPreference(prev.rel)) {
      if (prev) stats.variant = (stats.variant ?? 0) + 1;
      variants.set(key, { rel, text });
    } else {
      stats.variant = (stats.variant ?? 0) + 1;
    }
  }
  const docs = [];
  let bytes = 0;
  for (const { rel, text } of [...variants.values()].sort((a, b) => a.rel.localeCompare(b.rel))) {
    const h = hashOf(text);
    if (seen.has(h)) { stats.duplicate = (stats.duplicate ?? 0) + 1; continue; }
    if (bytes + text.length > PACKAGE_CAP_BYTES) { stats.cap = (stats.cap ?? 0) + 1; continue; }
    seen.add(h);
    bytes += text.length;
    docs.push({ package: name, path: rel, text });
  }
  return { name, version, license, files: docs.length, bytes, docs };
}

function npmPackages(seen, stats) {
  const out = [];
  const seenNames = new Set();
  for (const dir of npmPackageDirs(path.join(npmDir, 'node_modules'))) {
    let pj;
    try { pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')); } catch { continue; }
    if (!pj.name || seenNames.has(pj.name + '@' + pj.version)) continue;
    seenNames.add(pj.name + '@' + pj.version);
    const license = typeof pj.license === 'string' ? pj.license : pj.license?.type ?? 'UNKNOWN';
    const files = walkFiles(dir, (d) => d === 'node_modules' || d.startsWith('.'));
    out.push(collectPackage(pj.name, pj.version, license, dir, files, seen, stats));
  }
  return out;
}

/** Debian's Python standard library; each top-level module or package counts as one package. */
function pythonPackages(seen, stats) {
  const root = opts['python-stdlib'];
  if (!fs.existsSync(root)) return [];
  const version = path.basename(root).replace('python', '');
  const groups = new Map();
  for (const abs of walkFiles(root, (d) => d === '__pycache__' || d === 'site-packages' || d === 'dist-packages' || d.startsWith('.'))) {
    const rel = path.relative(root, abs);
    const top = rel.includes(path.sep) ? rel.split(path.sep)[0] : rel.replace(/\.py$/, '');
    if (!groups.has(top)) groups.set(top, []);
    groups.get(top).push(abs);
  }
  const out = [];
  for (const [top, files] of [...groups].sort()) {
    out.push(collectPackage(`python-stdlib:${top}`, version, 'PSF-2.0', root, files, seen, stats));
  }
  return out;
}

function main() {
  installNpmPackages();
  const seen = new Set();
  const stats = {};
  const packages = [...npmPackages(seen, stats), ...pythonPackages(seen, stats)]
    .filter((p) => p.files > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
  fs.mkdirSync(outDir, { recursive: true });
  const writers = { train: [], heldout: [] };
  const totals = { train: { files: 0, bytes: 0, packages: 0, byExtension: {} }, heldout: { files: 0, bytes: 0, packages: 0, byExtension: {} } };
  for (const p of packages) {
    // a very large package would dominate the held-out split and make it one code style
    const split = isHeldOut(p.name) && p.bytes <= HELDOUT_PACKAGE_MAX_BYTES ? 'heldout' : 'train';
    p.split = split;
    totals[split].packages += 1;
    for (const d of p.docs) {
      writers[split].push(JSON.stringify(d));
      totals[split].files += 1;
      totals[split].bytes += d.text.length;
      const ext = d.path.endsWith('.d.ts') ? '.d.ts' : path.extname(d.path);
      totals[split].byExtension[ext] = (totals[split].byExtension[ext] ?? 0) + d.text.length;
    }
  }
  for (const split of ['train', 'heldout']) {
    fs.writeFileSync(path.join(outDir, `${split}.jsonl`), writers[split].join('\n') + '\n');
  }
  const manifest = {
    built: new Date().toISOString(),
    filters: { MIN_BYTES, MAX_BYTES, MAX_LINE, MAX_MEAN_LINE, PACKAGE_CAP_BYTES, heldoutPercent },
    rejected: stats,
    totals,
    packages: packages.map(({ name, version, license, files, bytes, split }) => ({ name, version, license, files, bytes, split })),
  };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  console.log(`corpus: ${packages.length} packages; train ${totals.train.files} files ${(totals.train.bytes / 1e6).toFixed(1)} MB; ` +
    `held out ${totals.heldout.files} files ${(totals.heldout.bytes / 1e6).toFixed(1)} MB in ${totals.heldout.packages} packages`);
  console.log('corpus: rejected', JSON.stringify(stats));
}

main();
