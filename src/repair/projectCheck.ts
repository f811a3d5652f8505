// The check that decides whether a candidate is right: a command the user already has (a test, a
// type check, a compiler) run with a shell in a scratch copy of the project whose repaired file
// holds the candidate. Each run has a time limit and is killed with its whole process group (a
// test runner's children die with it); its output's tail is kept for the cause; results are
// cached by the candidate's text; up to `parallel` checks run at once, each in its own copy, so
// that two candidates never share a file.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { CheckOutcome } from '../core/repair/search';
import { type ScratchCopy, scratchCopy } from './scratchCopy';

/** Characters of a check's output kept (the end: where runners print the failure summary). */
const OUTPUT_TAIL = 16_000;

export interface ProjectCheckOptions {
  /** The project's root, copied and never written. */
  root: string;
  /** The repaired file, relative to `root`. */
  relPath: string;
  /** A shell command, run with its working directory at the copy's root. */
  command: string;
  /** Each run's time limit. */
  timeoutMs: number;
  /** Checks at once (each gets its own copy). */
  parallel: number;
  /** Unsaved buffers (relative path → text) the copies hold instead of the files on disk. */
  overrides?: ReadonlyMap<string, string>;
}

export class ProjectCheck {
  private readonly copies: ScratchCopy[] = [];
  private readonly free: ScratchCopy[] = [];
  private readonly waiting: ((c: ScratchCopy) => void)[] = [];
  private readonly cache = new Map<string, Promise<CheckOutcome>>();
  private disposed = false;
  /** Runs started (cached answers are not runs). */
  runs = 0;

  constructor(private readonly o: ProjectCheckOptions) {}

  /** Runs the check with the repaired file holding `text`; the same text is run once. */
  run(text: string, signal?: AbortSignal): Promise<CheckOutcome> {
    const key = createHash('sha256').update(text).digest('hex');
    let outcome = this.cache.get(key);
    if (!outcome) {
      outcome = this.runInCopy(text, signal);
      this.cache.set(key, outcome);
      // a cancelled run says nothing of the candidate: forget it
      outcome.catch(() => this.cache.delete(key));
    }
    return outcome;
  }

  dispose(): void {
    this.disposed = true;
    for (const c of this.copies) c.dispose();
    this.copies.length = 0;
  }

  private async runInCopy(text: string, signal?: AbortSignal): Promise<CheckOutcome> {
    const copy = await this.acquire();
    try {
      copy.write(this.o.relPath, text);
      this.runs++;
      return await runCommand(this.o.command, copy.dir, this.o.timeoutMs, signal);
    } finally {
      this.release(copy);
    }
  }

  private async acquire(): Promise<ScratchCopy> {
    if (this.disposed) throw new Error('the check was disposed');
    const free = this.free.pop();
    if (free) return free;
    if (this.copies.length < Math.max(1, this.o.parallel)) {
      const copy = await scratchCopy(this.o.root, this.o.overrides);
      if (this.disposed) {
        copy.dispose();
        throw new Error('the check was disposed');
      }
      this.copies.push(copy);
      return copy;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(copy: ScratchCopy): void {
    const next = this.waiting.shift();
    if (next) next(copy);
    else this.free.push(copy);
  }
}

/**
 * Runs `command` with a shell in `cwd` as the leader of a new process group, and kills the group
 * at the time limit, on abort, and after the command exits (a child left behind in the
 * background dies too). Passed means exit status 0 within the limit.
 */
export function runCommand(
  command: string,
  cwd: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CheckOutcome> {
  if (signal?.aborted) return Promise.reject(new Error('cancelled'));
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      cwd,
      shell: true,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // no stale bytecode from the user's tree, and no colour codes in the output we parse
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = () => {
      killGroup();
      reject(new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      killGroup();
      if (signal?.aborted) return;
      const ms = Date.now() - t0;
      if (timedOut) output += `\nthe check ran past its ${timeoutMs} ms limit and was stopped`;
      resolve({ passed: code === 0 && !timedOut, output, ms, timedOut, exitCode: code });
    });
  });
}
