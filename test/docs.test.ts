// The documentation says what the repository holds: README stays a first screen, every setting
// and every command-line flag is documented, the sizes README quotes are the files' sizes, links
// resolve, nothing cites a design file outside the repository, and the generated pages are what
// scripts/benchmarks-doc.mjs writes from bench/results and package.json now.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const README = read('README.md');
const DOCS = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

/** Bytes of a file, or of every file under a folder. */
function bytesOf(full: string): number {
  const st = fs.statSync(full);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(full).reduce((n, f) => n + bytesOf(path.join(full, f)), 0);
}

/** Every file under `dir` (relative to the root) whose name ends with one of `exts`. */
function filesUnder(dir: string, exts: string[]): string[] {
  const full = path.join(ROOT, dir);
  if (!fs.existsSync(full)) return [];
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return ['node_modules', 'work', '__pycache__'].includes(e.name) ? [] : filesUnder(rel, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [rel] : [];
  });
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

test('README is a first screen: at most 250 lines, and it keeps the two commands CI runs', () => {
  const lines = README.split('\n').length - (README.endsWith('\n') ? 1 : 0);
  assert.ok(lines <= 250, `README.md has ${lines} lines`);
  // .ci/run runs exactly README's developer commands
  assert.match(README, /^npm ci && npm run demo\b/m);
  assert.match(README, /^npm test\b/m);
});

test('every diffuse.* setting in package.json is documented in README or docs/', () => {
  const pkg = JSON.parse(read('package.json'));
  const docs = [README, ...DOCS.map(read)].join('\n');
  const missing = Object.keys(pkg.contributes.configuration.properties).filter((k) => !docs.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'run npm run docs:benchmarks to regenerate docs/settings.md');
  for (const k of [
    'diffuse.backend',
    'diffuse.remote.baseUrl',
    'diffuse.nextEdit.enabled',
    'diffuse.executionProvider',
  ])
    assert.ok(README.includes(`\`${k}\``), `README names ${k}`);
});

test('the sizes and parameter counts README quotes are those of the files under models/', () => {
  const models = fs.readdirSync(path.join(ROOT, 'models')).map((m) => path.join(ROOT, 'models', m));
  const sizes = models.flatMap((m) => [bytesOf(m), ...fs.readdirSync(m).map((f) => bytesOf(path.join(m, f)))]);
  const params = models
    .map((m) => JSON.parse(fs.readFileSync(path.join(m, 'denoiser.json'), 'utf8')).training?.params)
    .filter((p): p is number => typeof p === 'number');
  const matches = (quoted: string, values: number[], unit: number): boolean => {
    const decimals = quoted.split('.')[1]?.length ?? 0;
    return values.some((v) => (v / unit).toFixed(decimals) === quoted);
  };
  const units: Record<string, number> = { kB: 1e3, MB: 1e6, GB: 1e9 };
  for (const m of README.matchAll(/(\d+(?:\.\d+)?) ?(kB|MB|GB)\b/g))
    assert.ok(matches(m[1], sizes, units[m[2]]), `README's "${m[0]}" is the size of no file or folder under models/`);
  for (const m of README.matchAll(/(\d+(?:\.\d+)?) ?M parameters/g))
    assert.ok(matches(m[1], params, 1e6), `README's "${m[0]}" is no model's parameter count (denoiser.json)`);
});

test("the VSIX README names has package.json's version", () => {
  const { version } = JSON.parse(read('package.json'));
  for (const m of README.matchAll(/diffuse-[a-z0-9]+-[a-z0-9]+-(\d+\.\d+\.\d+)\.vsix/g))
    assert.equal(m[1], version, m[0]);
});

test('no file cites a design file outside the repository; citations of docs/design.md name its sections', () => {
  const outside = `DESIGN${'.md'}`; // spelled apart so that this file does not cite it
  const files = [
    'README.md',
    'CHANGELOG.md',
    ...['src', 'training', 'test', 'bench', 'docs', 'scripts'].flatMap((d) =>
      filesUnder(d, ['.ts', '.mts', '.mjs', '.js', '.py', '.sh', '.md']),
    ),
  ];
  const design = read('docs/design.md');
  const sections = new Set([...design.matchAll(/^#+ (.+)$/gm)].map((m) => m[1].trim()));
  // a RegExp from a string, so that this file's own source does not match it
  const CITATION = /docs\/design\.md[:,]? "([^"]+)"/g;
  const citing: string[] = [];
  for (const file of files) {
    const text = read(file);
    if (text.includes(outside)) citing.push(file);
    for (const m of text.matchAll(CITATION))
      assert.ok(sections.has(m[1]), `${file} cites a section docs/design.md lacks: ${m[1]}`);
  }
  assert.deepEqual(citing, []);
});

test('docs/benchmarks.md and docs/settings.md are what scripts/benchmarks-doc.mjs writes now', () => {
  const r = spawnSync(process.execPath, ['scripts/benchmarks-doc.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('every command and option of src/cli.ts is in docs/cli.md', () => {
  const cli = read('src/cli.ts');
  const cliDoc = read('docs/cli.md');
  const commands = /const COMMANDS = \[([\s\S]*?)\];/.exec(cli);
  const options = /const OPTIONS = \{([\s\S]*?)\n\} as const;/.exec(cli);
  assert.ok(commands && options, 'src/cli.ts has COMMANDS and OPTIONS');
  for (const m of commands[1].matchAll(/^\s*'([a-z][a-z-]*)\b/gm))
    assert.ok(cliDoc.includes(`### \`diffuse ${m[1]}`), `docs/cli.md has a section for diffuse ${m[1]}`);
  for (const m of options[1].matchAll(/^ {2}'?([a-z][a-z-]*)'?: \{/gm))
    assert.ok(cliDoc.includes(`--${m[1]}`), `docs/cli.md documents --${m[1]}`);
});

test('relative links in README and docs/ lead to files and headings that exist', () => {
  for (const file of ['README.md', ...DOCS]) {
    const text = read(file);
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1];
      if (/^[a-z]+:/.test(link)) continue;
      const [target, anchor] = link.split('#');
      const full = target ? path.join(ROOT, path.dirname(file), target) : path.join(ROOT, file);
      assert.ok(fs.existsSync(full), `${file} links to ${link}, which does not exist`);
      if (anchor && full.endsWith('.md')) {
        const headings = [...fs.readFileSync(full, 'utf8').matchAll(/^#+ (.+)$/gm)].map((h) => anchorOf(h[1]));
        assert.ok(headings.includes(anchor), `${file} links to ${link}: no such heading`);
      }
    }
  }
});
