// Turns a span's text at one denoising step into styled runs: still-masked slots (MASK_GLYPH)
// pending, text that appeared since the previous step fresh, the rest plain. This is what makes
// the denoising visible: glyphs resolve into tokens, step by step, in no left-to-right order.
import { diffChars } from 'diff';
import type { ImageRun } from './spanImage';
import { MASK_GLYPH } from '../text/spanText';

export function progressRuns(previous: string, current: string): ImageRun[] {
  const runs: ImageRun[] = [];
  const push = (text: string, style: ImageRun['style']): void => {
    if (!text) return;
    const last = runs[runs.length - 1];
    if (last && last.style === style) last.text += text;
    else runs.push({ text, style });
  };
  for (const c of diffChars(previous, current)) {
    if (c.removed) continue;
    // split glyph runs out of every change: a glyph is always pending, whatever the diff says
    for (const part of c.value.split(new RegExp(`(${MASK_GLYPH}+)`))) {
      if (!part) continue;
      push(part, part[0] === MASK_GLYPH ? 'pending' : c.added && previous ? 'fresh' : 'same');
    }
  }
  return runs;
}

/** Splits image runs into lines (newlines dropped). */
export function imageRunsToLines(runs: readonly ImageRun[]): ImageRun[][] {
  const lines: ImageRun[][] = [[]];
  for (const r of runs) {
    r.text.split('\n').forEach((p, i) => {
      if (i > 0) lines.push([]);
      if (p) lines[lines.length - 1].push({ text: p, style: r.style });
    });
  }
  return lines;
}
