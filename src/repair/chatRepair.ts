// Repair through a chat model (the mercury and openai backends), which cannot score code but can
// read a failure: the region goes out as Refine's selection with the check's failing output as
// the instruction; the answer is checked; a failing answer goes back with its own new output,
// a few rounds at most. Only an answer that passes is returned.

import type { Backend } from '../backend/backend';
import { repairInstruction } from '../core/prompts/repairPrompt';
import type { Candidate, CheckOutcome, RepairEvent, RepairSearchResult } from '../core/repair/search';
import type { RepairRegion } from '../core/repair/whereToLook';
import { applyEdits } from '../core/text/textEdit';
import { lineStarts } from '../core/text/textPosition';

export interface ChatRepairOptions {
  backend: Backend;
  text: string;
  language: string;
  relPath: string;
  command: string;
  region: RepairRegion;
  /** The failing output of the check on `text`. */
  output: string;
  check: (text: string) => Promise<CheckOutcome>;
  /** Rounds at most (each one request and one check). */
  rounds: number;
  deadline: number;
  signal?: AbortSignal;
  onEvent?: (e: RepairEvent) => void;
}

export async function chatRepair(o: ChatRepairOptions): Promise<RepairSearchResult> {
  const figures = { candidates: 0, checked: 0, passed: 0 };
  const bySource = {
    model: { candidates: 0, checked: 0, passed: 0 },
    classic: { candidates: 0, checked: 0, passed: 0 },
    chat: figures,
  };
  let text = o.text;
  let output = o.output;
  const seen = new Set<string>([o.text]);
  const users = regionOffsets(o.text, o.region.first, o.region.last);
  for (let round = 0; round < o.rounds; round++) {
    if (o.signal?.aborted)
      return {
        checks: figures.checked,
        candidates: figures.candidates,
        stoppedBy: 'cancelled',
        lastFailure: output,
        bySource,
      };
    if (Date.now() >= o.deadline) break;
    // the region in the current text: the lines it had, which an answer may have grown or shrunk
    const { start, end } = regionOffsets(text, o.region.first, regionLast(o, text));
    const answer = await o.backend.refine(
      {
        text,
        start,
        end,
        instruction: repairInstruction(o.command, output),
        file: { path: o.relPath, language: o.language },
      },
      { signal: o.signal },
    );
    const next = applyEdits(text, answer.edits);
    if (seen.has(next)) break; // the model answers what it already answered: asking again will not help
    seen.add(next);
    figures.candidates++;
    // the candidate against the user's text, as one edit over the region
    const edit = { ...users, text: next.slice(users.start, next.length - (o.text.length - users.end)) };
    const candidate: Candidate = { edit, source: 'chat', template: `round ${round + 1}`, score: 0 };
    o.onEvent?.({ kind: 'checking', candidate, text: next });
    const outcome = await o.check(next);
    figures.checked++;
    o.onEvent?.({ kind: 'checked', candidate, outcome, checks: figures.checked });
    if (outcome.passed) {
      figures.passed++;
      return {
        fix: { ...candidate, text: next },
        checks: figures.checked,
        candidates: figures.candidates,
        stoppedBy: 'fixed',
        bySource,
      };
    }
    text = next;
    output = outcome.output;
  }
  return {
    checks: figures.checked,
    candidates: figures.candidates,
    stoppedBy: Date.now() >= o.deadline ? 'time' : 'exhausted',
    lastFailure: output,
    bySource,
  };
}

/** The region's last line in `text`, after answers changed the number of lines in it. */
function regionLast(o: ChatRepairOptions, text: string): number {
  const grown = text.split('\n').length - o.text.split('\n').length;
  return Math.max(o.region.first, o.region.last + grown);
}

function regionOffsets(text: string, first: number, last: number): { start: number; end: number } {
  const starts = lineStarts(text);
  return {
    start: starts[first - 1] ?? text.length,
    end: last < starts.length ? starts[last] : text.length,
  };
}
