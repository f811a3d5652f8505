// Shared fixtures for tests that run the real worker, model and CLI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHIPPED_MODEL } from '../src/core/defaults';
import assert from 'node:assert/strict';
import { LocalBackend, type LocalBackendOptions } from '../src/backend/local/localBackend';
import { BackendError } from '../src/backend/backend';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MODEL_DIR = path.join(ROOT, 'models', SHIPPED_MODEL);
// DIFFUSE_TEST_WORKER runs the tests against another build of the worker (say, one from before a fix)
export const WORKER = process.env.DIFFUSE_TEST_WORKER || path.join(ROOT, 'dist', 'worker.js');
export const CLI = path.join(ROOT, 'bin', 'diffuse.js');

export function client(o: Partial<LocalBackendOptions> = {}): LocalBackend {
  return new LocalBackend({ workerPath: WORKER, modelDir: MODEL_DIR, threads: 1, restartDelayMs: 50, ...o });
}

/** The one-line cause a model folder is refused with (fails the test when it loads). */
export async function loadError(dir: string): Promise<string> {
  const c = client({ modelDir: dir });
  try {
    await c.start();
  } catch (e) {
    assert.ok(e instanceof BackendError);
    assert.equal(e.code, 'model');
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e.message;
  } finally {
    c.dispose();
  }
  assert.fail('the model loaded');
}

/** A throw-away copy of the shipped model folder, to break in one way. */
export function modelCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-model-'));
  for (const f of fs.readdirSync(MODEL_DIR)) fs.copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
  return dir;
}

export function tmpFile(name: string, content: string | Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-file-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/**
 * How far int8 logits may move from float ones, as a share of the logits' range. onnxruntime's
 * u8s8 kernels on x86-64 CPUs without VNNI (AVX2 only) add pairs of products in 16 bits, which
 * saturate: measured on such a CPU (AMD EPYC, AVX2), the shipped model's cached and full int8 calls
 * differ by 13 % of the range and a tiny export by 19 % of its logits' range, against under 6 % with
 * VNNI. The argmax checks beside these bounds hold on both.
 */
export function int8Tolerance(withVnni: number): number {
  let flags = '';
  try {
    flags = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return withVnni; // not Linux: no way to tell, keep the strict bound
  }
  const x86 = /\bflags\s*:/.test(flags);
  return !x86 || /\b(avx512_vnni|avx_vnni)\b/.test(flags) ? withVnni : 0.25;
}
