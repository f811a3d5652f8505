// What a chat model is told when Repair asks it (mercury, openai backends): the check that
// fails, its output's end (where runners print the failure), and to change only what is needed.
// The code and the region go through Refine's own prompt (refinePrompt.ts) as the selection.

/** Characters of a check's output a repair request carries (its end). */
export const REPAIR_OUTPUT_CHARS = 4000;

export function repairInstruction(command: string, output: string): string {
  const tail = output.length > REPAIR_OUTPUT_CHARS ? `…${output.slice(-REPAIR_OUTPUT_CHARS)}` : output;
  return [
    `The check \`${command}\` fails on this file. Its output ends:`,
    '```',
    tail.trimEnd(),
    '```',
    'Fix the selected code so that the check passes. Change only what is needed and keep what is right;',
    'do not change the tests or the code outside the selection.',
  ].join('\n');
}
