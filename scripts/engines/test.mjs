#!/usr/bin/env node
// `npm run test:engines`: the `openai` backend against a real engine, llama.cpp's server. Builds
// `llama-server` once from the llama.cpp source that llama-cpp-python's sdist on PyPI vendors (the
// one place these machines can fetch llama.cpp from), writes a tiny random-weight model with that
// source's own gguf-py (test/fixtures/tiny_gguf.py: nothing downloaded), starts the server on
// loopback, and runs test/engines.test.ts with DIFFUSE_ENGINE_URL pointing at it: ghost text, Fill
// and Refine with an instruction, asserting the protocol, the time budget and cancellation.
//
//   npm run test:engines              build (about 10 minutes on 2 cores, once) and test
//   LLAMA_SERVER=/path/llama-server npm run test:engines      a llama-server you built yourself
//
// Needs python3 with numpy, cmake and a C++ compiler. The build is kept in .engines/.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** llama-cpp-python's release whose vendored llama.cpp (commit 0c1e570) was tried here. */
const SDIST = {
  name: 'llama-cpp-python',
  version: '0.3.36',
  file: 'llama_cpp_python-0.3.36.tar.gz',
  sha256: '832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e',
};
const work = path.join(root, '.engines', `llama.cpp-${SDIST.version}`);
const source = path.join(work, `llama_cpp_python-${SDIST.version}`, 'vendor', 'llama.cpp');
const say = (m) => console.log(`[test:engines] ${m}`);
/** Debian's Python, as README's setup has it (its numpy writes the model), else the one on PATH. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function run(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...o });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

async function fetchSource() {
  if (fs.existsSync(path.join(source, 'CMakeLists.txt'))) return;
  fs.mkdirSync(work, { recursive: true });
  say(`fetching ${SDIST.name} ${SDIST.version}'s sdist from PyPI (77 MB; it vendors llama.cpp)`);
  // the file itself, from PyPI's simple index: pip would first build the package's metadata, and
  // with its build dependencies from source that took minutes
  const index = await fetch(`https://pypi.org/simple/${SDIST.name}/`, {
    headers: { accept: 'application/vnd.pypi.simple.v1+json' },
  }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`PyPI's index answered ${r.status}`))));
  const file = index.files.find((f) => f.filename === SDIST.file);
  if (!file) throw new Error(`PyPI has no ${SDIST.file}`);
  const bytes = Buffer.from(await (await fetch(file.url)).arrayBuffer());
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== SDIST.sha256) throw new Error(`${SDIST.file}: sha256 ${sha256}, expected ${SDIST.sha256}`);
  fs.writeFileSync(path.join(work, SDIST.file), bytes);
  run('tar', ['xzf', SDIST.file], { cwd: work });
}

function buildServer() {
  const binary = path.join(work, 'build', 'bin', 'llama-server');
  if (fs.existsSync(binary)) return binary;
  say('building llama-server (about 10 minutes on 2 cores; kept for later runs)');
  // no network at build time: the web UI would be fetched, and curl is not needed for local files
  run('cmake', [
    '-S',
    source,
    '-B',
    path.join(work, 'build'),
    '-DCMAKE_BUILD_TYPE=Release',
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_OPENSSL=OFF',
    '-DGGML_NATIVE=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_UI=OFF',
  ]);
  run('cmake', ['--build', path.join(work, 'build'), '--target', 'llama-server', `-j${os.availableParallelism()}`]);
  return binary;
}

function writeModel() {
  const model = path.join(work, 'tiny.gguf');
  if (fs.existsSync(model)) return model;
  // the gguf-py of the same llama.cpp source, so the file matches the server that reads it
  run(PYTHON, [path.join(root, 'test', 'fixtures', 'tiny_gguf.py'), model], {
    env: { ...process.env, PYTHONPATH: path.join(source, 'gguf-py') },
  });
  return model;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, server) {
  for (const until = Date.now() + 60_000; Date.now() < until; ) {
    if (server.exitCode !== null) throw new Error(`llama-server exited (${server.exitCode}) before it was up`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('llama-server did not answer /health within 60 s');
}

async function main() {
  let binary = process.env.LLAMA_SERVER;
  if (!binary) {
    await fetchSource();
    binary = buildServer();
  } else await fetchSource(); // the model is written with the source's gguf-py
  const model = writeModel();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  say(`${path.relative(root, binary)} -m ${path.basename(model)} on ${url}`);
  const server = spawn(binary, ['-m', model, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (d) => {
    log = (log + d).slice(-4000);
  });
  try {
    await waitForHealth(url, server);
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-tests.mjs')], { stdio: 'inherit', cwd: root });
    const t = spawnSync(
      process.execPath,
      ['--test', '--test-reporter=spec', path.join(root, 'out', 'test', 'engines.test.js')],
      { stdio: 'inherit', cwd: root, env: { ...process.env, DIFFUSE_ENGINE_URL: `${url}/v1` } },
    );
    if (t.status !== 0) {
      console.error(`[test:engines] failed; llama-server's last words:\n${log}`);
      process.exitCode = 1;
    } else say('passed against a real llama-server');
  } finally {
    server.kill();
  }
}

main().catch((e) => {
  console.error(`[test:engines] ${e.message}`);
  process.exit(1);
});
