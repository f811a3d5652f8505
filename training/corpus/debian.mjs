// Debian binary packages as a source of code: Python modules (python3-*), Go module sources
// (golang-*-dev), Rust crate sources (librust-*-dev), C/C++ headers (lib*-dev and a few header
// libraries), Node modules packaged by Debian (node-*), shell (bash-completion, scripts in bin/).
//
// `apt-get download` needs no root side effects (it writes only the .deb into the current folder)
// and `dpkg-deb --fsys-tarfile | tar -x` unpacks only the files we read, so a rebuild touches
// nothing outside training/work. Package selection is deterministic: every group takes packages
// in the order of a hash of their name until the group's installed-size budget is spent, so a
// later Debian point release changes only the versions, not which packages are taken.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Groups of packages. `budgetMB` bounds the sum of Installed-Size (a proxy for download and
 * unpack time; the per-language character caps in corpus.mjs bound the mix itself).
 */
export const DEBIAN_GROUPS = [
  { name: 'python-stdlib', budgetMB: 100_000, match: (p) => p.name === 'libpython3.11-stdlib' },
  { name: 'python', budgetMB: 1500, match: (p) => /^python3-/.test(p.name) && !/-(dbg|doc|dev)$/.test(p.name) && p.installedKB < 60_000 },
  { name: 'go', budgetMB: 200, match: (p) => /^golang-.*-dev$/.test(p.name) && p.installedKB < 30_000 },
  { name: 'rust', budgetMB: 150, match: (p) => /^librust-.*-dev$/.test(p.name) && p.installedKB < 30_000 },
  { name: 'node', budgetMB: 700, match: (p) => /^node-/.test(p.name) && p.installedKB < 30_000 },
  // headers of -dev packages; static libraries make many of them large, so the size filter is tight
  { name: 'c', budgetMB: 500, match: (p) => /^lib.*-dev$/.test(p.name) && !/^librust-|^libghc-|-java-dev$|^libjs-|^libocaml|^libgo-/.test(p.name) && p.installedKB < 8_000 },
  // well-known header collections, always taken (C++ standard library, Linux UAPI, glibc, Qt, Boost …)
  {
    name: 'c-fixed', budgetMB: 100_000, match: (p) => [
      'libstdc++-12-dev', 'linux-libc-dev', 'libc6-dev', 'libboost1.81-dev', 'libeigen3-dev', 'qtbase5-dev',
      'libglib2.0-dev', 'libgtk-3-dev', 'libssl-dev', 'libsqlite3-dev', 'libcurl4-openssl-dev', 'libxml2-dev',
      'zlib1g-dev', 'libsdl2-dev', 'libvulkan-dev', 'nlohmann-json3-dev', 'libfmt-dev', 'libspdlog-dev',
      'libgtest-dev', 'libbenchmark-dev', 'libabsl-dev', 'libprotobuf-dev', 'libasio-dev', 'libglm-dev',
      'libtbb-dev', 'libpython3.11-dev', 'libuv1-dev', 'libevent-dev', 'libcjson-dev', 'librapidjson-dev',
      'libcatch2-dev', 'libmsgsl-dev', 'libcereal-dev', 'libopencv-core-dev', 'libgl-dev', 'libx11-dev',
    ].includes(p.name),
  },
  { name: 'shell', budgetMB: 100_000, match: (p) => ['bash-completion', 'zsh-common', 'autoconf', 'automake', 'libtool', 'debhelper', 'devscripts', 'dkms', 'git', 'initramfs-tools-core', 'ifupdown', 'dracut-core', 'lsb-base', 'grub-common'].includes(p.name) },
];

/** Files worth unpacking from any package (the corpus filters decide the rest). */
export const DEBIAN_TAR_PATTERNS = [
  '*.py', '*.go', '*.rs', '*.h', '*.hpp', '*.hh', '*.hxx', '*.ipp', '*.tcc', '*.c', '*.cc', '*.cpp',
  '*.js', '*.mjs', '*.cjs', '*.ts', '*.tsx', '*.jsx', '*.sh', '*.bash', '*.css', '*.scss', '*.less', '*.html',
  '*.md', '*.yml', '*.yaml', '*.toml', '*.sql', '*.mk', '*/Makefile', '*/Dockerfile',
  './usr/include/c++/*', './usr/share/bash-completion/completions/*', './usr/bin/*', './usr/sbin/*',
  './usr/share/doc/*/copyright',
];

function hashKey(s) {
  return createHash('sha1').update('diffuse-debian:' + s).digest('hex');
}

/** Parses `apt-cache dumpavail`: one record per package name (the first, i.e. candidate, version). */
export function parseAvailable(text) {
  const out = new Map();
  for (const rec of text.split('\n\n')) {
    const name = /^Package: (\S+)/m.exec(rec)?.[1];
    if (!name || out.has(name)) continue;
    out.set(name, {
      name,
      version: /^Version: (\S+)/m.exec(rec)?.[1] ?? '',
      installedKB: Number(/^Installed-Size: (\d+)/m.exec(rec)?.[1] ?? 0),
      arch: /^Architecture: (\S+)/m.exec(rec)?.[1] ?? '',
      source: /^Source: (\S+)/m.exec(rec)?.[1] ?? name,
    });
  }
  return out;
}

/** The packages each group takes, deterministic for one package list. */
export function selectPackages(available, groups = DEBIAN_GROUPS) {
  const taken = new Set();
  const selection = [];
  for (const g of groups) {
    const candidates = [...available.values()].filter((p) => !taken.has(p.name) && g.match(p))
      .sort((a, b) => hashKey(a.name).localeCompare(hashKey(b.name)));
    let kb = 0;
    for (const p of candidates) {
      if (kb + p.installedKB > g.budgetMB * 1024) continue;
      kb += p.installedKB;
      taken.add(p.name);
      selection.push({ ...p, group: g.name });
    }
  }
  return selection;
}

function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}…: exit ${code}: ${err.trim().split('\n').pop()}`))));
  });
}

/** Downloads (into cacheDir, skipping what is there) and unpacks the selected packages. */
export async function fetchDebian(workDir, log = console.log, { download = true, keep = () => true } = {}) {
  const cacheDir = path.join(workDir, 'deb', 'cache');
  const unpackDir = path.join(workDir, 'deb', 'unpacked');
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.mkdirSync(unpackDir, { recursive: true });
  const available = parseAvailable(execFileSync('apt-cache', ['dumpavail'], { maxBuffer: 1 << 30, encoding: 'utf8' }));
  const selection = selectPackages(available).filter(keep);
  const have = new Map(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.deb')).map((f) => [f.split('_')[0], f]));
  const missing = download ? selection.filter((p) => !have.has(p.name)) : [];
  log(`debian: ${selection.length} packages selected, ${missing.length} to download`);
  // one apt-get per 1000 names (each call re-reads the package lists); one unavailable name
  // fails its whole batch, so a failed batch is halved until the name is found and skipped
  const fetchNames = async (names) => {
    try {
      await run('apt-get', ['download', '-q', ...names], { cwd: cacheDir });
    } catch (e) {
      if (names.length === 1) { log(`debian: skipped ${names[0]}: ${e.message}`); return; }
      const done = new Set(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.deb')).map((f) => f.split('_')[0]));
      const left = names.filter((n) => !done.has(n));
      const half = Math.ceil(left.length / 2);
      if (left.length) { await fetchNames(left.slice(0, half)); await fetchNames(left.slice(half)); }
    }
  };
  for (let i = 0; i < missing.length; i += 1000) await fetchNames(missing.slice(i, i + 1000).map((p) => p.name));
  for (const f of fs.readdirSync(cacheDir)) if (f.endsWith('.deb')) have.set(f.split('_')[0], f);
  const packages = [];
  const queue = selection.filter((p) => have.has(p.name));
  const unpackOne = async (p) => {
    const deb = path.join(cacheDir, have.get(p.name));
    const dest = path.join(unpackDir, p.name);
    const done = path.join(dest, '.unpacked');
    if (!fs.existsSync(done)) {
      fs.rmSync(dest, { recursive: true, force: true });
      fs.mkdirSync(dest, { recursive: true });
      // tar exits 2 when a pattern matches nothing: that is normal here, so its status is ignored
      await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards --no-same-owner --no-same-permissions ${DEBIAN_TAR_PATTERNS.map((x) => `'${x}'`).join(' ')} 2>/dev/null; exit 0`, 'sh', deb, dest]);
      fs.writeFileSync(done, '');
    }
    packages.push({ ...p, version: have.get(p.name).split('_')[1].replace(/%3a/g, ':'), root: dest });
  };
  // two unpackers: dpkg-deb and tar are separate processes, so this uses both cores
  const workers = Array.from({ length: 2 }, async () => { while (queue.length) await unpackOne(queue.shift()); });
  await Promise.all(workers);
  packages.sort((a, b) => hashKey(a.name).localeCompare(hashKey(b.name)));
  log(`debian: ${packages.length} packages unpacked`);
  return packages;
}

/** The licence named by a Debian copyright file (DEP-5: the first License: field), or UNKNOWN. */
export function debianLicense(root, name) {
  const file = path.join(root, 'usr', 'share', 'doc', name, 'copyright');
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return 'UNKNOWN'; }
  const m = /^License:\s*(\S[^\n]*)/m.exec(text);
  return m ? m[1].trim().slice(0, 80) : 'see copyright';
}
