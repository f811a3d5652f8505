#!/usr/bin/env node
// Builds corpus v2 from code that is installable here: npm packages (corpus-packages.txt and
// their dependencies) and Debian packages (Python modules, Go and Rust sources, C/C++ headers,
// Debian's node modules, shell), see corpus/npm.mjs and corpus/debian.mjs.
//
//   npm run model:corpus [-- --work DIR] [--heldout-percent 2] [--no-fetch]
//
// ── Data format (also in /work/notes/data-format.md and training/DATA-FORMAT.md) ─────────────
// work/corpus/train-NNN.jsonl   training documents, ~100 M characters per shard
// work/corpus/heldout.jsonl     held-out documents (whole packages, never in train)
//   one JSON object per line: { package, path, lang, text }; text is UTF-8, LF line ends only
//   (the engine normalises CRLF, so no CR anywhere), special-token strings not yet escaped.
// work/corpus/manifest.json     every package (name, version, licence, source, split, files,
//                               chars), the mix per language, filter/dedup/decontamination counts
// tokenizer.mjs then writes work/data/{train.bin, heldout.bin, meta.json}: little-endian uint16
// token ids (vocabulary ≤ 65,536), every document as bos … eos, documents back to back.
// ──────────────────────────────────────────────────────────────────────────────────────────────
//
// Per package (in the order of a hash of its name): language by extension, filters (generated,
// minified, vendored, data-like, too long lines; corpus/filters.mjs), build variants of one file
// (npm's src/ vs dist/cjs vs dist/esm), exact and near-duplicate removal across the whole corpus
// (corpus/dedup.mjs), HumanEval decontamination (corpus/decontaminate.mjs), a cap per package and
// per language (the mix), then tab conversion of a share of space-indented files (corpus/tabs.mjs).
// The held-out split is chosen by package, so evaluation never sees a file whose siblings were
// trained on; near-duplicates across the split are removed like any other.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEBIAN_GROUPS, debianLicense, fetchDebian } from './corpus/debian.mjs';
import { Decontaminator, loadHumanEvalProblems } from './corpus/decontaminate.mjs';
import { exactKey, minhashSignature, NearDupIndex } from './corpus/dedup.mjs';
import { languageOf, normaliseLineEnds, rejectReason, variantKey, variantPreference, MAX_CHARS } from './corpus/filters.mjs';
import { npmPackages, walkFiles } from './corpus/npm.mjs';
import { indentStyle, isTabIndented, spacesToTabs } from './corpus/tabs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Most characters per language (train and held out together): this sets the mix. */
export const LANGUAGE_CAPS = {
  typescript: 240e6, javascript: 230e6, python: 230e6,
  go: 55e6, rust: 45e6, 'c-cpp': 50e6, shell: 8e6, css: 14e6, html: 10e6,
  markdown: 25e6, json: 8e6, yaml: 5e6, toml: 3e6, sql: 3e6, makefile: 2e6, dockerfile: 1e6,
};
/** Share of space-indented files converted to tabs, for languages almost never tab-indented. */
export const TAB_CONVERT = { python: 0.15, typescript: 0.25, javascript: 0.25, rust: 0.2, css: 0.25, html: 0.25 };
const PACKAGE_CAP_CHARS = 12_000_000;
const HELDOUT_PACKAGE_MAX_CHARS = 2_000_000;
const SHARD_CHARS = 100_000_000;
const NEAR_DUP_THRESHOLD = 0.8;

function hashUnit(s) {
  return parseInt(createHash('sha1').update(s).digest('hex').slice(0, 8), 16) / 2 ** 32;
}

export function isHeldOut(packageName, percent) {
  return hashUnit('diffuse-split:' + packageName) * 100 < percent;
}

function installNpm(listFile, npmDir, log) {
  const wanted = fs.readFileSync(listFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stamp = path.join(npmDir, 'installed-list.txt');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted.join('\n')) {
    log(`npm: the ${wanted.length} listed packages are already installed`);
    return Promise.resolve();
  }
  fs.mkdirSync(npmDir, { recursive: true });
  fs.writeFileSync(path.join(npmDir, 'package.json'), JSON.stringify({ name: 'diffuse-corpus', private: true }));
  log(`npm: installing ${wanted.length} packages and their dependencies into ${npmDir}`);
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['install', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund',
      '--no-save', '--loglevel=error', ...wanted], { cwd: npmDir, stdio: 'inherit' });
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`npm install failed (exit ${code})`));
      fs.writeFileSync(stamp, wanted.join('\n'));
      resolve();
    });
  });
}

/** Candidate files of a package: `{ rel, abs }` for files whose language is known. */
function* candidateFiles(pkg) {
  for (const rel of walkFiles(pkg.root)) {
    if (pkg.source === 'debian' && rel.startsWith('usr/share/doc/')) continue;
    const abs = path.join(pkg.root, rel);
    let lang = languageOf(rel);
    if (!lang && pkg.source === 'debian' && /^usr\/s?bin\//.test(rel)) {
      let head = '';
      try {
        const fd = fs.openSync(abs, 'r');
        const buf = Buffer.alloc(80);
        const n = fs.readSync(fd, buf, 0, 80, 0);
        fs.closeSync(fd);
        head = buf.subarray(0, n).toString('latin1').split('\n')[0];
      } catch { continue; }
      lang = languageOf(rel, head);
    }
    if (lang) yield { rel, abs, lang };
  }
}

/** Debian's Python standard library is one package but many projects: one unit per module. */
function expandStdlib(pkg) {
  const libDir = path.join(pkg.root, 'usr', 'lib');
  const pyDir = fs.existsSync(libDir) ? fs.readdirSync(libDir).find((d) => /^python3\.\d+$/.test(d)) : null;
  if (!pyDir) return [pkg];
  const units = new Map();
  for (const rel of walkFiles(path.join(libDir, pyDir))) {
    const top = rel.includes('/') ? rel.split('/')[0] : rel.replace(/\.py$/, '');
    if (top === 'site-packages' || top === 'dist-packages') continue;
    units.set(top, true);
  }
  return [...units.keys()].sort().map((top) => ({
    ...pkg,
    name: `${pkg.name}:${top}`,
    root: path.join(libDir, pyDir),
    only: top,
  }));
}

async function main() {
  const { values: opts } = parseArgs({
    options: {
      work: { type: 'string', default: path.join(here, 'work') },
      'heldout-percent': { type: 'string', default: '2' },
      'no-fetch': { type: 'boolean', default: false },
      // for trying the pipeline quickly: only every N-th package (by the hash order)
      sample: { type: 'string', default: '1' },
      humaneval: { type: 'string', default: path.join(here, 'benchmarks', 'human-eval-infilling', 'HumanEval-SingleLineInfilling.jsonl.gz') },
    },
  });
  const t0 = Date.now();
  const times = {};
  const log = (m) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${m}`);
  const work = path.resolve(opts.work);
  const heldoutPercent = Number(opts['heldout-percent']);
  const npmDir = path.join(work, 'npm');
  const outDir = path.join(work, 'corpus');

  // 1. sources (cached under work/: a second build downloads nothing)
  const sample = Number(opts.sample);
  const sampled = (name) => sample <= 1 || Math.floor(hashUnit('diffuse-sample:' + name) * sample) === 0;
  const debian = await fetchSources(work, npmDir, { fetch: !opts['no-fetch'], sampled }, log);
  times.fetchSeconds = (Date.now() - t0) / 1000;
  const humanevalFile = fs.existsSync(opts.humaneval) ? opts.humaneval
    : path.join(here, '..', '..', 'shared', 'benchmarks', 'human-eval-infilling', 'HumanEval-SingleLineInfilling.jsonl.gz');
  const decon = new Decontaminator(loadHumanEvalProblems(humanevalFile));
  log(`decontamination: ${decon.keys.length} HumanEval problems from ${humanevalFile}`);
  const packages = listPackages(npmDir, debian, sampled);
  log(`packages: ${packages.length}`);

  // 2. every package's documents, filtered, deduplicated and capped, into the split's files
  const seen = newCorpusState(decon);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const out = openCorpusFiles(outDir);
  const manifestPackages = [];
  let done = 0;
  for (const pkg of packages) {
    done += 1;
    if (done % 1000 === 0) log(`${done}/${packages.length} packages; ${JSON.stringify(seen.langChars)}`);
    const { docs, chars } = packageDocs(pkg, seen);
    if (!docs.length) continue;
    const split = packageSplit(pkg.name, docs, chars, heldoutPercent);
    writeDocs(out, split, pkg.name, docs, seen);
    manifestPackages.push({ name: pkg.name, version: pkg.version, license: pkg.license, source: pkg.source, group: pkg.group, split, files: docs.length, chars });
  }
  out.close();
  times.totalSeconds = (Date.now() - t0) / 1000;

  // 3. the manifest
  const settings = { LANGUAGE_CAPS, TAB_CONVERT, PACKAGE_CAP_CHARS, HELDOUT_PACKAGE_MAX_CHARS, heldoutPercent, NEAR_DUP_THRESHOLD, debianGroups: DEBIAN_GROUPS.map((g) => ({ name: g.name, budgetMB: g.budgetMB })) };
  const manifest = corpusManifest(manifestPackages, { settings, times, seen, shards: out.shards });
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  const { totals, mix, stats } = manifest;
  log(`corpus: train ${totals.train.files} files ${(totals.train.chars / 1e6).toFixed(1)} M chars in ${totals.train.packages} packages; ` +
    `held out ${totals.heldout.files} files ${(totals.heldout.chars / 1e6).toFixed(1)} M chars in ${totals.heldout.packages} packages`);
  log(`corpus: exact duplicates ${stats.exactDuplicate}, near duplicates ${stats.nearDuplicate}, contaminated ${stats.contaminated.files} ${JSON.stringify(stats.contaminated.byRule)}`);
  log(`corpus: mix (train, M chars) ${Object.entries(mix.train).map(([l, m]) => `${l} ${(m.chars / 1e6).toFixed(1)}`).join(', ')}`);
}

/** npm's packages installed into npmDir and Debian's unpacked under work/ (each fetched only
 * when `fetch` and not there yet; Debian's `sampled` ones only); returns Debian's. */
async function fetchSources(work, npmDir, { fetch, sampled }, log) {
  const npmDone = fetch ? installNpm(path.join(here, 'corpus-packages.txt'), npmDir, log) : Promise.resolve();
  const debian = await fetchDebian(work, log, { download: fetch, keep: (p) => sampled(p.name) });
  await npmDone;
  return debian;
}

/** The packages to read, npm's (the `sampled` ones) and Debian's, the Python standard library
 * one unit per module, in the order of a hash of their name. */
function listPackages(npmDir, debian, sampled) {
  return [
    ...npmPackages(npmDir).filter((p) => sampled(p.name)),
    ...debian.flatMap((p) => {
      const pkg = { name: p.name, version: p.version, license: debianLicense(p.root, p.name), root: p.root, source: 'debian', group: p.group };
      return p.name === 'libpython3.11-stdlib' ? expandStdlib(pkg) : [pkg];
    }),
  ].map((p) => ({ ...p, order: hashUnit('diffuse-order:' + p.name) }))
    .sort((a, b) => a.order - b.order);
}

/** What the build has kept so far, across packages: exact and near-duplicate indexes, characters
 * per language (the caps), the mix per split, tab counts and the filters' counts. */
function newCorpusState(decon) {
  return {
    decon,
    stats: { rejected: {}, variant: 0, exactDuplicate: 0, nearDuplicate: 0, packageCap: 0, languageCap: 0, contaminated: { files: 0, byRule: {}, problems: {}, examples: [] } },
    seenExact: new Set(),
    near: new NearDupIndex(NEAR_DUP_THRESHOLD),
    langChars: Object.fromEntries(Object.keys(LANGUAGE_CAPS).map((l) => [l, 0])),
    mix: { train: {}, heldout: {} },
    tabs: {},
  };
}

/** heldout.jsonl and the train shards (a new one every SHARD_CHARS characters). */
function openCorpusFiles(outDir) {
  const shards = [];
  let shardFd = null;
  let shardChars = 0;
  const heldoutFd = fs.openSync(path.join(outDir, 'heldout.jsonl'), 'w');
  const writeTrain = (line, chars) => {
    if (shardFd === null || shardChars >= SHARD_CHARS) {
      if (shardFd !== null) fs.closeSync(shardFd);
      const name = `train-${String(shards.length).padStart(3, '0')}.jsonl`;
      shards.push(name);
      shardFd = fs.openSync(path.join(outDir, name), 'w');
      shardChars = 0;
    }
    fs.writeSync(shardFd, line);
    shardChars += chars;
  };
  return {
    shards,
    /** One JSON line of `chars` text characters into heldout.jsonl or the current train shard. */
    write(split, line, chars) {
      if (split === 'heldout') fs.writeSync(heldoutFd, line);
      else writeTrain(line, chars);
    },
    close() {
      if (shardFd !== null) fs.closeSync(shardFd);
      fs.closeSync(heldoutFd);
    },
  };
}

/** The package's documents that pass: the preferred build variant of each file (src/ and .ts
 * before dist/ and .js), then the filters, the package and language caps, exact and near
 * duplicates and decontamination, each counted in seen.stats. */
function packageDocs(pkg, seen) {
  const { stats, langChars } = seen;
  const variants = new Map();
  for (const f of candidateFiles(pkg)) {
    if (pkg.only && f.rel.split('/')[0].replace(/\.py$/, '') !== pkg.only) continue;
    if (langChars[f.lang] >= LANGUAGE_CAPS[f.lang]) { stats.languageCap += 1; continue; }
    const key = variantKey(f.rel);
    const prev = variants.get(key);
    if (prev && variantPreference(prev.rel) >= variantPreference(f.rel)) { stats.variant += 1; continue; }
    if (prev) stats.variant += 1;
    variants.set(key, f);
  }
  const docs = [];
  let chars = 0;
  for (const f of [...variants.values()].sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    let text;
    try {
      if (fs.statSync(f.abs).size > MAX_CHARS * 2) { stats.rejected.large = (stats.rejected.large ?? 0) + 1; continue; }
      text = normaliseLineEnds(fs.readFileSync(f.abs, 'utf8'));
    } catch { continue; }
    const reason = rejectReason(f.rel, text);
    if (reason) { stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1; continue; }
    if (chars + text.length > PACKAGE_CAP_CHARS) { stats.packageCap += 1; continue; }
    if (langChars[f.lang] + text.length > LANGUAGE_CAPS[f.lang]) { stats.languageCap += 1; continue; }
    const ek = exactKey(text);
    if (seen.seenExact.has(ek)) { stats.exactDuplicate += 1; continue; }
    seen.seenExact.add(ek);
    const sig = minhashSignature(text);
    if (sig && seen.near.find(sig) >= 0) { stats.nearDuplicate += 1; continue; }
    const hit = seen.decon.check(text);
    if (hit) {
      const c = stats.contaminated;
      c.files += 1;
      c.byRule[hit.rule] = (c.byRule[hit.rule] ?? 0) + 1;
      c.problems[hit.problem] = (c.problems[hit.problem] ?? 0) + 1;
      if (c.examples.length < 50) c.examples.push(`${pkg.name}/${f.rel} (${hit.rule}, ${hit.problem})`);
      continue;
    }
    if (sig) seen.near.add(sig);
    chars += text.length;
    langChars[f.lang] += text.length;
    docs.push({ rel: f.rel, lang: f.lang, text });
  }
  return { docs, chars };
}

/** 'heldout' or 'train'. A package that is a large part of its language (bash-completion is most
 * of the shell) would take that language out of training: held out only when under 2 % of the
 * language's cap. */
function packageSplit(name, docs, chars, heldoutPercent) {
  if (!isHeldOut(name, heldoutPercent)) return 'train';
  const byLang = {};
  for (const d of docs) byLang[d.lang] = (byLang[d.lang] ?? 0) + d.text.length;
  const mainLang = Object.entries(byLang).sort((a, b) => b[1] - a[1])[0][0];
  const heldoutMax = Math.min(HELDOUT_PACKAGE_MAX_CHARS, 0.02 * LANGUAGE_CAPS[mainLang]);
  return chars <= heldoutMax ? 'heldout' : 'train';
}

/** The document's text as written: a share (TAB_CONVERT) of space-indented files converted to
 * tabs, counted in seen.tabs. */
function convertTabs(pkgName, d, seen) {
  const t = (seen.tabs[d.lang] ??= { files: 0, tabBefore: 0, converted: 0, tabAfter: 0 });
  t.files += 1;
  let text = d.text;
  const tabbed = isTabIndented(text);
  if (tabbed) t.tabBefore += 1;
  const share = TAB_CONVERT[d.lang];
  if (!tabbed && share && hashUnit('diffuse-tabs:' + pkgName + '/' + d.rel) < share) {
    const { unit, spaceLines } = indentStyle(text);
    if (spaceLines >= 3 && (unit === 2 || unit === 4 || unit === 8)) {
      text = spacesToTabs(text, unit);
      t.converted += 1;
    }
  }
  if (tabbed || text !== d.text) t.tabAfter += 1;
  return text;
}

/** The package's documents into the split's file, tab-converted (convertTabs) and counted in the mix. */
function writeDocs(out, split, pkgName, docs, seen) {
  for (const d of docs) {
    const text = convertTabs(pkgName, d, seen);
    const m = (seen.mix[split][d.lang] ??= { files: 0, chars: 0 });
    m.files += 1;
    m.chars += text.length;
    out.write(split, JSON.stringify({ package: pkgName, path: d.rel, lang: d.lang, text }) + '\n', text.length);
  }
}

/** manifest.json: the settings, timings, totals per split, the mix, tab and filter counts,
 * licences and every package. */
function corpusManifest(manifestPackages, { settings, times, seen, shards }) {
  const totals = {};
  for (const split of ['train', 'heldout']) {
    const ps = manifestPackages.filter((p) => p.split === split);
    totals[split] = { packages: ps.length, files: ps.reduce((n, p) => n + p.files, 0), chars: ps.reduce((n, p) => n + p.chars, 0) };
  }
  const licenses = {};
  for (const p of manifestPackages) licenses[p.license] = (licenses[p.license] ?? 0) + 1;
  return {
    version: 2,
    built: new Date().toISOString(),
    settings,
    times,
    totals,
    mix: seen.mix,
    tabs: seen.tabs,
    stats: seen.stats,
    licenses: Object.fromEntries(Object.entries(licenses).sort((a, b) => b[1] - a[1])),
    shards: { train: shards, heldout: 'heldout.jsonl' },
    packages: manifestPackages.sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(`corpus: ${e.message}`); process.exit(1); });
}
