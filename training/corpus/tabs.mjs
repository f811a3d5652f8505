// Indentation variety. Published Python, TypeScript, JavaScript, Rust and CSS are nearly all
// space-indented, but the editor meets tab-indented files of every language; a model that never
// saw `\t` before `return` writes spaces into a tab-indented file. So a share of the
// space-indented files of those languages is converted to tabs (corpus.mjs picks which, by a
// hash of the path, and reports the share before and after).

/** Counts of lines indented with tabs and with spaces, and the space indentation unit (0: none). */
export function indentStyle(text) {
  let tabLines = 0;
  let spaceLines = 0;
  const widths = [];
  for (const line of text.split('\n')) {
    const c = line.charCodeAt(0);
    if (c === 9) { tabLines += 1; continue; }
    if (c !== 32) { if (line.length) widths.push(0); continue; }
    const n = line.length - line.trimStart().length;
    if (n === line.length) continue; // whitespace-only line
    if (line.charCodeAt(n - 1) === 9 || line.slice(0, n).includes('\t')) continue; // mixed
    spaceLines += 1;
    // the ' * ' lines of block comments sit one space off the grid by design
    if (line.charCodeAt(n) !== 42) widths.push(n);
  }
  // the unit: the most common step by which indentation grows from one line to the next
  const steps = new Map();
  for (let i = 1; i < widths.length; i++) {
    const d = widths[i] - widths[i - 1];
    if (d > 0 && d <= 8) steps.set(d, (steps.get(d) ?? 0) + 1);
  }
  let unit = 0;
  let best = 0;
  for (const [d, n] of steps) if (n > best || (n === best && d < unit)) { unit = d; best = n; }
  // alignment-heavy files (most widths not multiples of the unit) have no usable unit
  if (unit) {
    const aligned = widths.filter((w) => w > 0 && w % unit === 0).length;
    if (aligned < 0.9 * widths.filter((w) => w > 0).length) unit = 0;
  }
  return { tabLines, spaceLines, unit };
}

/** True when a file is indented with tabs (more tab-led than space-led lines). */
export function isTabIndented(text) {
  const s = indentStyle(text);
  return s.tabLines > s.spaceLines;
}

/**
 * Replaces each line's leading spaces by one tab per `unit` spaces; a remainder smaller than
 * the unit stays as spaces after the tabs (continuation lines aligned to a bracket, ` * ` in
 * block comments), which is how tab-indented code is written. Lines with tabs already in their
 * indentation are left alone.
 */
export function spacesToTabs(text, unit) {
  if (!(unit > 0)) throw new Error('spacesToTabs: the indentation unit must be positive');
  return text.split('\n').map((line) => {
    if (line.charCodeAt(0) !== 32) return line;
    const n = line.length - line.trimStart().length;
    const lead = line.slice(0, n);
    if (lead.includes('\t')) return line;
    if (n === line.length) return ''; // whitespace-only line: editors strip it, so do we
    return '\t'.repeat(Math.floor(n / unit)) + ' '.repeat(n % unit) + line.slice(n);
  }).join('\n');
}
