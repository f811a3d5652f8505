// npm packages as a source of code: everything in corpus-packages.txt and their dependencies,
// installed with --ignore-scripts (no install script of a third party runs here) into
// training/work/npm. Each installed package folder (scoped and nested ones too) is one package
// of the corpus, with its package.json's version and licence.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function installNpmPackages(listFile, npmDir, log = console.log) {
  const wanted = fs.readFileSync(listFile, 'utf8')
    .split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stamp = path.join(npmDir, 'installed-list.txt');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted.join('\n')) {
    log(`npm: the ${wanted.length} packages are already installed in ${npmDir}`);
    return;
  }
  fs.mkdirSync(npmDir, { recursive: true });
  fs.writeFileSync(path.join(npmDir, 'package.json'), JSON.stringify({ name: 'diffuse-corpus', private: true }));
  log(`npm: installing ${wanted.length} packages (and their dependencies) into ${npmDir}`);
  execFileSync('npm', ['install', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund',
    '--no-save', '--loglevel=error', ...wanted], { cwd: npmDir, stdio: 'inherit' });
  fs.writeFileSync(stamp, wanted.join('\n'));
}

function* packageDirs(nodeModules) {
  let entries;
  try { entries = fs.readdirSync(nodeModules); } catch { return; }
  for (const entry of entries.sort()) {
    if (entry.startsWith('.')) continue;
    const dir = path.join(nodeModules, entry);
    if (entry.startsWith('@')) {
      for (const sub of fs.readdirSync(dir).sort()) yield* packageAndNested(path.join(dir, sub));
    } else {
      yield* packageAndNested(dir);
    }
  }
}

function* packageAndNested(dir) {
  if (!fs.existsSync(path.join(dir, 'package.json'))) return;
  yield dir;
  yield* packageDirs(path.join(dir, 'node_modules'));
}

/** `{ name, version, license, root }` for each distinct installed package (name@version). */
export function npmPackages(npmDir) {
  const out = [];
  const seen = new Set();
  for (const dir of packageDirs(path.join(npmDir, 'node_modules'))) {
    let pj;
    try { pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')); } catch { continue; }
    if (!pj.name || seen.has(pj.name + '@' + pj.version)) continue;
    seen.add(pj.name + '@' + pj.version);
    const license = typeof pj.license === 'string' ? pj.license
      : pj.license?.type ?? (Array.isArray(pj.licenses) ? pj.licenses.map((l) => l.type ?? l).join(' OR ') : 'UNKNOWN');
    out.push({ name: pj.name, version: pj.version ?? '', license, root: dir, source: 'npm' });
  }
  return out;
}

/** Every file under dir, as paths relative to it, skipping nested node_modules and dot folders. */
export function* walkFiles(dir, rel = '') {
  let entries;
  try { entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    const r = rel ? rel + '/' + e.name : e.name;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.')) yield* walkFiles(dir, r);
    } else if (e.isFile()) {
      yield r;
    }
  }
}
