// How a repair's outcome is said in one line (the CLI's stderr, the editor's notification and
// review title), and where a file's project root is when nobody says.

import fs from 'node:fs';
import path from 'node:path';
import type { RepairReport } from './repairFile';

export function repairSummary(r: RepairReport): string {
  const seconds = (r.ms / 1000).toFixed(1);
  if (r.status === 'passes') return `nothing to repair: the check passes (${seconds} s)`;
  const checks = `${r.checks} check${r.checks === 1 ? '' : 's'}`;
  const tried = `${r.candidates} candidate${r.candidates === 1 ? '' : 's'}, ${seconds} s`;
  if (r.status === 'fixed' && r.fix) return `fixed after ${checks} (${tried}; ${r.fix.source}: ${r.fix.template})`;
  return `no fix after ${checks} (${tried}): ${r.cause}`;
}

/** The nearest folder at or above `dir` holding `.git`, else `dir` itself. */
export function gitRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}
