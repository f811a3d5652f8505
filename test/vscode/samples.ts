// Documents more than one suite types into.

/** A counter a next-edit test renames at its declaration (line 1, columns 6–11); the other uses still say `count`. */
export const RENAME_SAMPLE = [
  'export function total(items: Item[]): number {',
  '  let count = 0;',
  '  for (const item of items) {',
  '    count += item.price;',
  '  }',
  '  return count;',
  '}',
  '',
].join('\n');
