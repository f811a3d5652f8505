// What makes a request's positions unusable, said once for every backend: the local engine and
// the remote ones refuse the same inputs with the same words.

/** Why cursors cannot be filled at in `text`, or undefined when they can. */
export function cursorsProblem(text: string, cursors: readonly number[]): string | undefined {
  if (cursors.length === 0) return 'no cursor to fill at';
  const outside = cursors.find((c) => !(c >= 0 && c <= text.length));
  return outside === undefined ? undefined : `cursor ${outside} is outside the text`;
}

/** Why `[start, end)` of `text` cannot be refined, or undefined when it can. */
export function selectionProblem(text: string, start: number, end: number): string | undefined {
  if (!(start >= 0 && end <= text.length && start <= end)) return `selection ${start}-${end} is outside the text`;
  return start === end ? 'the selection is empty: select the code to refine' : undefined;
}
