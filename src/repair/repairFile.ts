// Repair one file until its check passes: run the check on the file as it is (nothing to do when
// it passes), find where the failure probably is, search candidates from the backend's model and
// the classic templates in the order the model ranks them, and return only a candidate the check
// passed. The editor and `diffuse repair` both call this; neither writes the user's file before
// the user accepts.

import type { Backend } from '../backend/backend';
import { failureCause } from '../core/repair/failurePointers';
import { functionRanges } from '../core/repair/functionRanges';
import {
  type Candidate,
  type CandidateSource,
  type RepairEvent,
  type RepairModel,
  SCORE_CONTEXT,
  type SourceFigures,
  searchRepair,
} from '../core/repair/search';
import { type RepairRegion, whereToLook } from '../core/repair/whereToLook';
import { chatRepair } from './chatRepair';
import { ProjectCheck } from './projectCheck';

/** The check cannot run at all (its command is missing, the project cannot be copied). */
export class CheckSetupError extends Error {}

export interface RepairOptions {
  backend: Backend;
  /** The project's root (copied, never written) and the file's path relative to it. */
  root: string;
  relPath: string;
  /** The file's text as the editor has it (maybe unsaved). */
  text: string;
  language: string;
  /** The check: a shell command run at the copy's root. */
  command: string;
  /** Other unsaved buffers, relative path → text. */
  overrides?: ReadonlyMap<string, string>;
  /** 1-based lines the user selected: the search stays inside them. */
  lines?: { first: number; last: number };
  cursorLine?: number;
  maxChecks: number;
  /** The whole repair's time limit, and each check's. */
  timeoutMs: number;
  checkTimeoutMs: number;
  parallel: number;
  signal?: AbortSignal;
  onEvent?: (e: RepairEvent | { kind: 'baseline'; passed: boolean; cause: string }) => void;
}

export type RepairReport =
  | { status: 'passes'; ms: number }
  | {
      status: 'fixed' | 'no-fix';
      fix?: Candidate & { text: string };
      checks: number;
      candidates: number;
      ms: number;
      stoppedBy: string;
      /** The cause of the last failure (no fix), or of the original failure (fixed). */
      cause: string;
      regions: RepairRegion[];
      bySource: Record<CandidateSource, SourceFigures>;
    };

export async function repairFile(o: RepairOptions): Promise<RepairReport> {
  const t0 = Date.now();
  const check = new ProjectCheck({
    root: o.root,
    relPath: o.relPath,
    command: o.command,
    timeoutMs: o.checkTimeoutMs,
    parallel: o.parallel,
    overrides: o.overrides,
  });
  try {
    const baseline = await check.run(o.text, o.signal);
    // the shell's "not found" and "not executable": no candidate can make such a check pass
    if (baseline.exitCode === 127 || baseline.exitCode === 126) {
      throw new CheckSetupError(`the check cannot run: ${failureCause(baseline.output)}`);
    }
    o.onEvent?.({ kind: 'baseline', passed: baseline.passed, cause: failureCause(baseline.output) });
    if (baseline.passed) return { status: 'passes', ms: Date.now() - t0 };
    let regions = whereToLook({
      text: o.text,
      language: o.language,
      relPath: o.relPath,
      output: baseline.output,
      selection: o.lines,
      cursorLine: o.cursorLine,
    });
    if (regions.length === 0) {
      // nothing points anywhere: every function of the file, in order
      regions = functionRanges(o.text, o.language).map((f) => ({
        ...f,
        header: true,
        pointed: [],
        why: `${f.name}, in the file`,
      }));
    }
    if (regions.length === 0) {
      regions = [{ first: 1, last: o.text.split('\n').length, pointed: [], why: 'the file' }];
    }
    await o.backend.start();
    const byChat = !o.backend.capabilities.score && o.backend.capabilities.instruction;
    const result = byChat
      ? await chatRepair({
          backend: o.backend,
          text: o.text,
          language: o.language,
          relPath: o.relPath,
          command: o.command,
          region: regions[0],
          output: baseline.output,
          check: (text) => check.run(text, o.signal),
          rounds: Math.min(CHAT_ROUNDS, o.maxChecks),
          deadline: t0 + o.timeoutMs,
          signal: o.signal,
          onEvent: o.onEvent,
        })
      : await searchRepair({
          failure: baseline.output,
          text: o.text,
          language: o.language,
          regions,
          model: repairModel(o.backend, o.signal),
          check: (text) => check.run(text, o.signal),
          maxChecks: o.maxChecks,
          deadline: t0 + o.timeoutMs,
          parallel: o.parallel,
          signal: o.signal,
          onEvent: o.onEvent,
        });
    return {
      status: result.fix ? 'fixed' : 'no-fix',
      fix: result.fix,
      checks: result.checks,
      candidates: result.candidates,
      ms: Date.now() - t0,
      stoppedBy: result.stoppedBy,
      cause: failureCause(result.lastFailure ?? baseline.output),
      regions,
      bySource: result.bySource,
    };
  } finally {
    check.dispose();
  }
}

/** Rounds a chat model gets: each answer checked, its failure sent back. */
export const CHAT_ROUNDS = 3;

/** The search's view of a backend: scores through `score`, proposals through fill-in-the-middle. */
export function repairModel(backend: Backend, signal?: AbortSignal): RepairModel {
  if (!backend.score || !backend.capabilities.score) {
    throw new CheckSetupError(
      `the ${backend.kind} backend can neither score code nor follow an instruction: choose the local, mercury or openai backend`,
    );
  }
  const score = backend.score.bind(backend);
  const alternatives = backend.alternatives?.bind(backend);
  return {
    score: async (text, start, end) => (await score({ text, start, end, context: SCORE_CONTEXT }, { signal })).tokens,
    alternatives: alternatives
      ? (text, start, end, candidates) =>
          alternatives({ text, start, end, candidates, context: SCORE_CONTEXT }, { signal })
      : undefined,
    propose: async (text, start, end, maxTokens, n) => {
      const r = await backend.complete(
        { prefix: text.slice(0, start), suffix: text.slice(end), maxTokens, candidates: n },
        { signal },
      );
      const texts = (r.candidates ?? r.edits).map((e) => e.text);
      return [...new Set(texts)].filter((t) => t !== text.slice(start, end));
    },
  };
}
