// Repair with real parts: the scratch copy, a real check command run in its own process group,
// the worker's score request on the shipped model, and `diffuse repair` end to end with pytest
// fixing the project's example bug.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LocalBackend } from '../src/backend/local/localBackend';
import { DiffuseRemoteBackend } from '../src/backend/remote/diffuseRemote';
import { OpenAICompatibleBackend } from '../src/backend/remote/openaiCompatible';
import { ProjectCheck, runCommand } from '../src/repair/projectCheck';
import { repairFile } from '../src/repair/repairFile';
import { startServer } from '../src/serve/server';
import { startMercuryStandIn } from './fixtures/mercuryStandIn';
import { scratchCopy } from '../src/repair/scratchCopy';
import { client, ROOT, runCli } from './helpers';

const EXAMPLE = path.join(ROOT, 'examples', 'repair');
const hasPytest = spawnSync('python3', ['-m', 'pytest', '--version']).status === 0;

/** A small project: a source file, a test that reads it, a dependency folder, version control. */
function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-project-'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'value.txt'), 'wrong\n');
  fs.mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  fs.mkdirSync(path.join(dir, '.git'));
  fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

/** Every file's path, bytes and mtime under `dir` (links not followed). */
function snapshot(dir: string): string {
  const out: string[] = [];
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const st = fs.lstatSync(path.join(dir, f));
    out.push(`${f} ${st.mtimeMs} ${st.isFile() ? fs.readFileSync(path.join(dir, f), 'utf8') : ''}`);
  }
  return out.join('\n');
}

/** Running (a zombie whose parent died is dead: a container's init may never reap it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the scratch copy and the check', () => {
  test('holds the unsaved buffers, links dependencies, leaves out .git, and writes nothing back', async () => {
    const dir = project();
    const was = snapshot(dir);
    const copy = await scratchCopy(dir, new Map([['src/unsaved.txt', 'typed, never saved\n']]));
    try {
      assert.equal(fs.readFileSync(path.join(copy.dir, 'src', 'unsaved.txt'), 'utf8'), 'typed, never saved\n');
      assert.ok(fs.lstatSync(path.join(copy.dir, 'node_modules')).isSymbolicLink());
      assert.ok(!fs.existsSync(path.join(copy.dir, '.git')));
      copy.write('src/value.txt', 'right\n');
      // a check that writes files (a cache, a formatter) writes them in the copy only
      const r = await runCommand('cat src/value.txt > seen.txt && echo x >> src/value.txt', copy.dir, 10_000);
      assert.equal(r.passed, true, r.output);
      assert.equal(fs.readFileSync(path.join(copy.dir, 'seen.txt'), 'utf8'), 'right\n');
    } finally {
      copy.dispose();
    }
    assert.equal(snapshot(dir), was);
    assert.ok(
      fs.existsSync(path.join(dir, 'node_modules', 'dep', 'index.js')),
      'disposing unlinks, never deletes through',
    );
  });

  test('a check past its limit is killed with its children', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-hang-'));
    const r = await runCommand('sleep 30 & echo $! > child.pid; sleep 30', dir, 500);
    assert.equal(r.passed, false);
    assert.equal(r.timedOut, true);
    assert.match(r.output, /ran past its 500 ms limit/);
    const pid = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(!alive(pid), 'the background child is gone too');
  });

  test('results are cached by candidate, and parallel checks use separate copies', async () => {
    const dir = project();
    const check = new ProjectCheck({
      root: dir,
      relPath: 'src/value.txt',
      command: 'sleep 0.2; grep -q right src/value.txt',
      timeoutMs: 10_000,
      parallel: 2,
    });
    try {
      const [a, b] = await Promise.all([check.run('right\n'), check.run('wrong\n')]);
      assert.equal(a.passed, true);
      assert.equal(b.passed, false);
      await check.run('right\n');
      assert.equal(check.runs, 2);
    } finally {
      check.dispose();
    }
  });
});

describe('the score request on the shipped model', () => {
  let backend: LocalBackend;
  before(async () => {
    backend = client();
    await backend.start();
  });
  after(() => backend.dispose());

  test('every token of the range, in order, in the text’s own offsets (CRLF too)', async () => {
    const lf = 'def add(a, b):\n    return a + b\n';
    const crlf = lf.replaceAll('\n', '\r\n');
    for (const text of [lf, crlf]) {
      const start = text.indexOf('return');
      const r = await backend.score({ text, start, end: text.length });
      assert.ok(r.tokens.length >= 4);
      assert.equal(r.tokens[0].start, start);
      assert.equal(r.tokens.at(-1)!.end, text.length);
      r.tokens.forEach((t, i) => {
        assert.ok(t.logProb <= 0 && t.bestProb > 0 && t.bestProb <= 1);
        if (i > 0) assert.equal(t.start, r.tokens[i - 1].end);
      });
    }
  });

  test('the model finds a correct operator likelier than a wrong one', async () => {
    const sum = async (text: string) =>
      (await backend.score({ text, start: 0, end: text.length })).tokens.reduce((s, t) => s + t.logProb, 0);
    const right = await sum('for i in range(len(xs)):\n    total += xs[i]\n');
    const wrong = await sum('for i in range(len(xs)):\n    total -= xs[i]\n');
    assert.ok(right > wrong, `${right} > ${wrong}`);
  });
});

describe('diffuse repair', { skip: hasPytest ? false : 'pytest is not installed' }, () => {
  test('fixes the example bug with the shipped model: a diff that passes, the files untouched', async () => {
    const was = snapshot(EXAMPLE);
    const r = await runCli([
      'repair',
      `${EXAMPLE}/stats.py`,
      '--check',
      'python3 -m pytest -x -q tests',
      '--root',
      EXAMPLE,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^fixed after \d+ checks \(\d+ candidates, [\d.]+ s; /);
    assert.match(r.stdout, /^-\s+if v < best:$/m);
    assert.match(r.stdout, /^\+\s+if v > best:$/m);
    assert.equal(snapshot(EXAMPLE), was, 'nothing written before Accept');
    // the diff applied to a copy makes the test pass
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-applied-'));
    fs.cpSync(EXAMPLE, dir, { recursive: true });
    execFileSync('patch', ['-s', path.join(dir, 'stats.py')], { input: r.stdout });
    assert.equal(spawnSync('python3', ['-m', 'pytest', '-q', 'tests'], { cwd: dir }).status, 0);
  });

  test('exit 3 when the check passes, 2 when it cannot run, 1 when nothing passes', async () => {
    const passes = await runCli(['repair', `${EXAMPLE}/stats.py`, '--check', 'true', '--root', EXAMPLE]);
    assert.equal(passes.code, 3, passes.stderr);
    assert.match(passes.stderr, /nothing to repair: the check passes/);
    const missing = await runCli([
      'repair',
      `${EXAMPLE}/stats.py`,
      '--check',
      'no-such-checker-xyz',
      '--root',
      EXAMPLE,
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^diffuse: the check cannot run: .*not found/);
    const never = await runCli([
      'repair',
      `${EXAMPLE}/stats.py`,
      '--check',
      'echo "tests/test_stats.py:14: AssertionError in running_max"; false',
      '--root',
      EXAMPLE,
      '--max-checks',
      '3',
    ]);
    assert.equal(never.code, 1, never.stderr);
    assert.match(never.stderr, /^no fix after 3 checks \(\d+ candidates, [\d.]+ s\): /);
    assert.equal(never.stdout, '');
  });
});

describe('repair through the other backends', { skip: hasPytest ? false : 'pytest is not installed' }, () => {
  test('a chat model (the Mercury stand-in): its failing answer goes back with the new output, a passing one is kept', async () => {
    const answers = ['        if v <= best:\n', '        if v > best:\n'];
    let asked = 0;
    const api = await startMercuryStandIn({
      key: KEY,
      models: ['mercury-2', 'mercury-edit-2'],
      answer: (kind) => {
        if (kind !== 'chat') return '';
        const body = stripFunction(answers[Math.min(asked++, answers.length - 1)]);
        return `\`\`\`python\n${body}\`\`\``;
      },
    });
    const backend = new OpenAICompatibleBackend({
      kind: 'mercury',
      baseUrl: api.url,
      fimModel: 'mercury-edit-2',
      chatModel: 'mercury-2',
      apiKey: KEY,
    });
    try {
      const text = fs.readFileSync(path.join(EXAMPLE, 'stats.py'), 'utf8');
      const report = await repairFile({
        backend,
        root: EXAMPLE,
        relPath: 'stats.py',
        text,
        language: 'python',
        command: 'python3 -m pytest -x -q tests',
        maxChecks: 10,
        timeoutMs: 60_000,
        checkTimeoutMs: 20_000,
        parallel: 1,
      });
      assert.equal(report.status, 'fixed');
      assert.ok(report.fix);
      assert.match(report.fix.text, /if v > best:/);
      assert.equal(report.checks, 2);
      const chats = api.requests.filter((r) => r.path.endsWith('/chat/completions'));
      assert.equal(chats.length, 2);
      const second = JSON.stringify(chats[1].body);
      assert.match(second, /python3 -m pytest -x -q tests/);
      assert.match(second, /if v <= best:/, 'the second round refines the first answer');
      assert.match(second, /assert \[1, 1, 1, 1, 1\]/, "with the first answer's own failure");
    } finally {
      backend.dispose();
      await api.close();
    }
  });

  test('diffuse serve answers the search (score and masked alternatives) over HTTP', async () => {
    const local = client();
    const running = await startServer({ denoiser: local, host: '127.0.0.1', port: 0 });
    const remote = new DiffuseRemoteBackend({ baseUrl: running.url });
    try {
      await remote.start();
      assert.equal(remote.capabilities.score, true);
      const text = fs.readFileSync(path.join(EXAMPLE, 'stats.py'), 'utf8');
      const report = await repairFile({
        backend: remote,
        root: EXAMPLE,
        relPath: 'stats.py',
        text,
        language: 'python',
        command: 'python3 -m pytest -x -q tests',
        maxChecks: 40,
        timeoutMs: 120_000,
        checkTimeoutMs: 20_000,
        parallel: 1,
      });
      assert.equal(report.status, 'fixed', JSON.stringify(report));
      assert.ok(report.fix);
      assert.match(report.fix.text, /if v >=? best:/);
    } finally {
      remote.dispose();
      await running.close();
      local.dispose();
    }
  });
});

const KEY = 'sk_test_standin';

/** The region Refine sends is the function running_max; the answer is its new text with `line` in it. */
function stripFunction(line: string): string {
  return [
    'def running_max(values):',
    '    best = values[0]',
    '    out = []',
    '    for v in values:',
    line.replace(/\n$/, ''),
    '            best = v',
    '        out.append(best)',
    '    return out',
    '',
  ].join('\n');
}
