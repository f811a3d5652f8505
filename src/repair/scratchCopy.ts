// A scratch copy of the user's project, where a repair's check runs on a candidate without the
// user's files ever being written. Files are copied with copy-on-write where the file system has
// it (FICLONE: btrfs, XFS, APFS make the copy free until written) and copied plainly elsewhere —
// never hard-linked, since a check that writes a file (a formatter, a snapshot test, a cache)
// would write through a hard link into the user's file. `.git` is left out (checks do not need
// history and it can be large). Folders that hold installed dependencies (node_modules, virtual
// environments) are linked, not copied: copying them would cost seconds to minutes per copy, and
// a check reads them. A link is not read-only; a check that writes into node_modules or a venv
// writes the user's — a trade made knowingly, because checks install nothing and the
// alternatives (a read-only bind mount) need privileges an editor does not have.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Folders linked into the copy instead of copied: installed dependencies. */
export const LINKED_FOLDERS = new Set(['node_modules', '.venv', 'venv', '.tox', '.nox', 'bower_components']);
/** Folders left out: version control and caches a check rebuilds. */
export const SKIPPED_FOLDERS = new Set(['.git', '.hg', '.svn', '__pycache__', '.pytest_cache', '.mypy_cache']);
/** A project bigger than this is refused rather than copied for every parallel check. */
export const MAX_COPY_FILES = 20_000;
export const MAX_COPY_BYTES = 512 * 1024 * 1024;

export class ScratchCopyError extends Error {}

export interface ScratchCopy {
  /** The copy's root. */
  dir: string;
  /** Writes `text` at `relPath` of the copy (a candidate, or an unsaved buffer). */
  write(relPath: string, text: string): void;
  dispose(): void;
}

/**
 * Copies `root` into a fresh temporary folder, then writes `overrides` (relative path → text:
 * the editor's unsaved buffers) over the copies.
 */
export async function scratchCopy(
  root: string,
  overrides: ReadonlyMap<string, string> = new Map(),
): Promise<ScratchCopy> {
  // asynchronous throughout: the editor's extension host must not stall while a project copies
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'diffuse-repair-'));
  try {
    const budget = { files: MAX_COPY_FILES, bytes: MAX_COPY_BYTES };
    await copyTree(root, dir, budget);
  } catch (e) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw e;
  }
  const write = (relPath: string, text: string) => {
    const target = path.join(dir, relPath);
    if (!target.startsWith(dir + path.sep)) throw new ScratchCopyError(`${relPath} is outside the project`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // a new file in place of the copy (a clone's shared blocks are copy-on-write anyway)
    fs.rmSync(target, { force: true });
    fs.writeFileSync(target, text);
  };
  for (const [relPath, text] of overrides) write(relPath, text);
  return { dir, write, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function copyTree(from: string, to: string, budget: { files: number; bytes: number }): Promise<void> {
  for (const entry of await fsp.readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      if (SKIPPED_FOLDERS.has(entry.name)) continue;
      if (LINKED_FOLDERS.has(entry.name)) {
        await fsp.symlink(source, target, 'dir');
        continue;
      }
      await fsp.mkdir(target);
      await copyTree(source, target, budget);
    } else if (entry.isSymbolicLink()) {
      await fsp.symlink(await fsp.readlink(source), target);
    } else if (entry.isFile()) {
      budget.files--;
      budget.bytes -= (await fsp.stat(source)).size;
      if (budget.files < 0 || budget.bytes < 0) {
        throw new ScratchCopyError(
          `the project is too large to copy for a check (over ${MAX_COPY_FILES} files or ${MAX_COPY_BYTES >> 20} MB): choose a smaller root`,
        );
      }
      await fsp.copyFile(source, target, fs.constants.COPYFILE_FICLONE);
    }
  }
}
