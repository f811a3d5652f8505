// The layering the folders show, kept by a test rather than by discipline: the pure core imports
// nothing but itself (and pure libraries), the editor reaches backends only through the seam and
// its factory, the worker knows nothing of VS Code, and no backend knows the editor.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

/** A file of src/ (path relative to the repository root, `/`-separated) and its source. */
type Source = { file: string; text: string };

/** Pure libraries the core may use: no I/O, no process, no network. */
const PURE_PACKAGES = ['diff'];
/** What the editor may import of src/backend: the interface, the requests and the factory. */
const SEAM = ['src/backend/backend.ts', 'src/backend/requests.ts', 'src/backend/createBackend.ts'];

function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm))
    specs.push(m[1]);
  return specs;
}

/** `spec` imported by `file`: a repository path for a relative import, else the package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const p = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
  return p.endsWith('.ts') ? p : `${p}.ts`;
}

const under = (dir: string) => (p: string) => p.startsWith(`${dir}/`);

/** One line per import that breaks the layering. */
function boundaryViolations(sources: Source[]): string[] {
  const out: string[] = [];
  for (const { file, text } of sources) {
    for (const spec of importsOf(text)) {
      const to = target(file, spec);
      const why = ruleBroken(file, to);
      if (why) out.push(`${file} imports ${spec}: ${why}`);
    }
  }
  return out;
}

function ruleBroken(file: string, to: string): string | undefined {
  const isPackage = !to.startsWith('src/');
  if (under('src/core')(file)) {
    if (isPackage && !PURE_PACKAGES.includes(to))
      return 'the core imports no package with I/O (vscode, onnxruntime, node:*)';
    if (!isPackage && !under('src/core')(to)) return 'the core imports nothing outside src/core';
  }
  if (under('src/editor')(file) && under('src/backend')(to) && !SEAM.includes(to)) {
    return 'the editor reaches a backend only through backend.ts, requests.ts and createBackend.ts';
  }
  if (under('src/editor')(file) && (under('src/worker')(to) || under('src/serve')(to)))
    return 'the editor runs no worker or server code';
  const hostless = ['src/worker', 'src/backend', 'src/serve', 'src/modelFolder', 'src/repair'].some((d) =>
    under(d)(file),
  );
  if (hostless && to === 'vscode') return 'only the editor imports vscode';
  if (hostless && under('src/editor')(to)) return 'only extension.ts imports the editor';
  if (under('src/worker')(file) && (under('src/backend/remote')(to) || under('src/serve')(to)))
    return 'the worker runs the local model only';
  if (under('src/backend')(file) && (under('src/worker')(to) || under('src/serve')(to))) {
    return 'a backend starts the worker as a process, never imports it';
  }
  if (to === 'onnxruntime-node' && !under('src/worker')(file)) return 'only the worker loads onnxruntime';
  return undefined;
}

function sourcesOf(dir: string): Source[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => {
      const file = path.posix.join(dir, f.split(path.sep).join('/'));
      return { file, text: fs.readFileSync(file, 'utf8') };
    });
}

describe('the architecture', () => {
  test('every import in src/ keeps the layering', () => {
    assert.deepEqual(boundaryViolations(sourcesOf('src')), []);
  });

  test('a core file importing vscode, a socket or the worker is caught', () => {
    const found = boundaryViolations([
      { file: 'src/core/text/bad.ts', text: "import * as vscode from 'vscode';\nimport net from 'node:net';" },
      { file: 'src/core/sampler/bad.ts', text: "import { Engine } from '../../worker/engine';" },
      {
        file: 'src/core/review/fine.ts',
        text: "import { diffLines } from 'diff';\nimport { applyEdits } from '../text/textEdit';",
      },
    ]);
    assert.equal(found.length, 3);
    assert.match(found[0], /^src\/core\/text\/bad\.ts imports vscode: the core imports no package/);
    assert.match(
      found[2],
      /src\/core\/sampler\/bad\.ts imports \.\.\/\.\.\/worker\/engine: the core imports nothing outside/,
    );
  });

  test('the editor importing a backend directly, or the worker importing vscode, is caught', () => {
    const found = boundaryViolations([
      { file: 'src/editor/x.ts', text: "import { LocalBackend } from '../backend/local/localBackend';" },
      { file: 'src/editor/y.ts', text: "import { createBackend } from '../backend/createBackend';" },
      { file: 'src/worker/z.ts', text: "import * as vscode from 'vscode';" },
      { file: 'src/backend/remote/w.ts', text: "import { Engine } from '../../worker/engine';" },
    ]);
    assert.equal(found.length, 3, found.join('\n'));
    assert.match(found[0], /src\/editor\/x\.ts .*only through/);
    assert.match(found[1], /src\/worker\/z\.ts imports vscode: only the editor/);
    assert.match(found[2], /never imports it/);
  });
});

describe('the linter', () => {
  const biome = path.resolve('node_modules', '.bin', 'biome');
  /** Lints one file placed at src/core/text/example.ts of a scratch tree with this repository's config. */
  const lint = (text: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-lint-'));
    fs.copyFileSync('biome.json', path.join(dir, 'biome.json'));
    fs.mkdirSync(path.join(dir, 'src', 'core', 'text'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'core', 'text', 'example.ts'), text);
    const run = spawnSync(biome, ['lint', '.'], { cwd: dir, encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    return run;
  };

  test('passes clean code and fails a deliberate violation', () => {
    const clean = lint('export const one = 1;\n');
    assert.equal(clean.status, 0, clean.stderr + clean.stdout);
    const broken = lint('export function f(a: number) {\n  return a == 1 ? a : a;\n}\n');
    assert.notEqual(broken.status, 0);
    assert.match(broken.stderr + broken.stdout, /noDoubleEquals/);
  });
});
