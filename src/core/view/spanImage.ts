// Draws lines of styled text as an SVG image. Editor decorations cannot add lines, so the live
// denoising view is drawn as an image next to the span (the technique Continue's next-edit view
// uses); the proposal is reviewed in a diff editor (src/editor/reviewDiff.ts). Pure string
// building: no DOM, no vscode.
import type { StyledRun } from '../review/reviewHunks';

export type ImageRunStyle = StyledRun['style'] | 'pending' | 'fresh' | 'caption';

export interface ImageRun {
  text: string;
  style: ImageRunStyle;
}

export interface ImageTheme {
  fontFamily: string;
  fontSize: number;
  lineHeight: number;
  /** Advance of one character of the monospace font, in px. */
  charWidth: number;
  tabSize: number;
  foreground: string;
  background: string;
  border: string;
  /** Still-masked slots. */
  pending: string;
  /** Tokens committed by the latest step. */
  fresh: string;
  addedBackground: string;
  removedBackground: string;
  /** Optional caption drawn above the text (e.g. "step 3/12"). */
  captionColor: string;
}

export interface SpanImage {
  svg: string;
  width: number;
  height: number;
}

const PAD_X = 6;
const PAD_Y = 2;

/** An SVG of `lines`, each a list of runs; tabs expand to `tabSize` columns. */
export function renderSpanImage(lines: readonly ImageRun[][], theme: ImageTheme, caption?: string): SpanImage {
  const { charWidth: cw, lineHeight: lh } = theme;
  const rows = caption ? [[{ text: caption, style: 'caption' as const }], ...lines] : lines;
  let cols = 8;
  const body: string[] = [];
  rows.forEach((runs, row) => {
    let col = 0;
    const y = PAD_Y + row * lh;
    const baseline = y + Math.round(lh * 0.5 + theme.fontSize * 0.35);
    for (const run of runs) {
      const text = expandTabs(run.text, col, theme.tabSize);
      const x = PAD_X + col * cw;
      const w = text.length * cw;
      const bg =
        run.style === 'added' ? theme.addedBackground : run.style === 'removed' ? theme.removedBackground : undefined;
      if (bg) body.push(`<rect x="${x}" y="${y}" width="${w}" height="${lh}" fill="${bg}"/>`);
      const fill =
        run.style === 'pending'
          ? theme.pending
          : run.style === 'fresh'
            ? theme.fresh
            : run.style === 'caption'
              ? theme.captionColor
              : theme.foreground;
      const extra =
        run.style === 'caption' ? ' font-style="italic"' : run.style === 'fresh' ? ' font-weight="bold"' : '';
      // One <text> per run at its own column keeps runs aligned with their backgrounds even when
      // the image's font is not exactly the editor's.
      body.push(`<text x="${x}" y="${baseline}" fill="${fill}"${extra}>${escapeXml(text)}</text>`);
      col += text.length;
    }
    cols = Math.max(cols, col);
  });
  const width = Math.ceil(PAD_X * 2 + cols * cw);
  const height = Math.ceil(PAD_Y * 2 + Math.max(1, rows.length) * lh);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect x="0.5" y="0.5" width="${width - 1}" height="${height - 1}" rx="3" fill="${theme.background}" stroke="${theme.border}"/>` +
    `<g font-family="${escapeXml(theme.fontFamily)}" font-size="${theme.fontSize}px" xml:space="preserve">${body.join('')}</g></svg>`;
  return { svg, width, height };
}

/** The image as a data: URI, usable as a decoration's contentIconPath. */
export function svgDataUri(svg: string): string {
  return `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;
}

function expandTabs(text: string, col: number, tabSize: number): string {
  if (!text.includes('\t')) return text;
  let out = '';
  for (const ch of text) {
    if (ch === '\t') {
      const n = tabSize - ((col + out.length) % tabSize);
      out += ' '.repeat(n);
    } else out += ch;
  }
  return out;
}

function escapeXml(s: string): string {
  return (
    s
      .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
      // characters XML 1.0 does not allow would make the whole image invalid
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
  );
}
