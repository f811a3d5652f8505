// The editor's view of ghost text: cases cut from held-out files where the editor really asks
// (after a new line's indentation, mid-line after a typed prefix, an empty line, a block after an
// indented cursor), in space- and tab-indented files, with CRLF twins; each scored byte for byte
// on what the editor would insert (after its own trimming), with the whitespace-normalised score
// beside it so the gap between the two stays visible.
import fs from 'node:fs';
import { trimCompletion } from '../../src/core/completion/completionTrim';
import { SeededRandom } from '../../src/core/sampler/rng';
import type { LocalBackend } from '../../src/backend/local/localBackend';
import type { SamplerSettings } from '../../src/backend/requests';
import { MAX_CHARS_PER_TOKEN } from '../../src/core/text/textWindow';
import { DEFAULTS, SETTING_DEFAULTS } from '../../src/core/defaults';
import { GHOST_PREFIX_MARGIN_CHARS, GHOST_SUFFIX_MARGIN_CHARS } from '../../src/editor/requestWindow';
import { indentStyle, isTabIndented, spacesToTabs } from '../../training/corpus/tabs.mjs';
import { HELDOUT_SAMPLE, normalise } from '../shared/cases';

export type CaseKind = 'indent' | 'midline' | 'empty_line' | 'block';
export const CASE_KINDS: readonly CaseKind[] = ['indent', 'midline', 'empty_line', 'block'];

export interface EditorCase {
  kind: CaseKind;
  /** The file's line endings and indentation as the editor has them. */
  crlf: boolean;
  tabs: boolean;
  /** Index of the LF case this one is the CRLF twin of. */
  twinOf?: number;
  prefix: string;
  suffix: string;
  /** The cursor line's text before the cursor. */
  linePrefix: string;
  /** What the editor should insert (byte-exact, in the file's own line endings). */
  want: string;
}

/** Ghost-text settings as the editor sends them by default (diffuse.ghostText.*). */
export const GHOST = {
  maxTokens: SETTING_DEFAULTS['ghostText.maxTokens'],
  timeBudgetMs: SETTING_DEFAULTS['ghostText.timeBudgetMs'],
  maxLines: SETTING_DEFAULTS['ghostText.maxLines'],
};
/** The editor's request window (ghostText.ts): the engine's budgets in characters plus a margin. */
const PREFIX_CHARS = DEFAULTS.prefixTokens * MAX_CHARS_PER_TOKEN + GHOST_PREFIX_MARGIN_CHARS;
const SUFFIX_CHARS = DEFAULTS.suffixTokens * MAX_CHARS_PER_TOKEN + GHOST_SUFFIX_MARGIN_CHARS;
/** Shares of the held-out files shown to the model tab-indented, and of cases given a CRLF twin. */
const TAB_FILE_SHARE = 0.3;
const CRLF_TWIN_SHARE = 0.25;

interface Doc {
  text: string;
  tabs: boolean;
}

function loadDocs(rng: SeededRandom, file: string): Doc[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).text as string)
    .filter((t) => t.split('\n').length >= 20 && !t.includes('\r'))
    .map((text) => {
      // the corpus's own conversion (training/corpus/tabs.mjs): one tab per indentation unit
      const style = indentStyle(text);
      const convert = style.unit > 0 && style.spaceLines > style.tabLines && rng.nextFloat() < TAB_FILE_SHARE;
      const shown = convert ? spacesToTabs(text, style.unit) : text;
      return { text: shown, tabs: isTabIndented(shown) };
    });
}

const indentOf = (line: string): string => /^[ \t]*/.exec(line)![0];

/** One case of `kind` cut from `doc` at a random line, or undefined when that line does not fit. */
function cut(kind: CaseKind, doc: Doc, rng: SeededRandom): Omit<EditorCase, 'crlf' | 'tabs'> | undefined {
  const lines = doc.text.split('\n');
  const i = 3 + rng.nextInt(Math.max(1, lines.length - 8));
  const line = lines[i] ?? '';
  const indent = indentOf(line);
  const code = line.slice(indent.length).trimEnd();
  const lineStart = lines.slice(0, i).join('\n').length + (i > 0 ? 1 : 0);
  const at = (cursor: number, after: number, want: string, linePrefix: string) => ({
    kind,
    prefix: doc.text.slice(Math.max(0, cursor - PREFIX_CHARS), cursor),
    suffix: doc.text.slice(after, after + SUFFIX_CHARS),
    linePrefix,
    want,
  });
  if (code.length < 4 || code.length > 120 || /^(\/\/|\*|\/\*|#)/.test(code)) return undefined;
  switch (kind) {
    case 'indent':
      // Enter was pressed and the editor indented the new line: the line's code is the answer.
      if (!indent) return undefined;
      return at(lineStart + indent.length, lineStart + line.length, code, indent);
    case 'midline': {
      // A prefix of the line's code was typed, up to a word or punctuation boundary.
      const cuts = [...code.matchAll(/[\s(.,=:[{]+/g)]
        .map((m) => m.index! + m[0].length)
        .filter((c) => c > 0 && c < code.length);
      if (cuts.length === 0) return undefined;
      const c = cuts[rng.nextInt(cuts.length)];
      return at(lineStart + indent.length + c, lineStart + line.length, code.slice(c), indent + code.slice(0, c));
    }
    case 'empty_line':
      // The cursor on an empty line between two lines (column 0): the whole line, indentation included.
      return at(lineStart, lineStart + line.length, indent + code, '');
    case 'block': {
      // 2–4 whole lines of the same block after an indented cursor (the editor shows at most 4).
      if (!indent) return undefined;
      const k = 2 + rng.nextInt(3);
      const block = lines.slice(i, i + k);
      if (block.length < k || block.some((l) => !l.trim() || indentOf(l).length < indent.length)) return undefined;
      const end = lineStart + block.join('\n').length;
      return at(
        lineStart + indent.length,
        end,
        block
          .join('\n')
          .slice(indent.length)
          .replace(/[ \t]+$/gm, ''),
        indent,
      );
    }
  }
}

/** `n` cases per kind, spread over the held-out files, plus CRLF twins of a share of them. */
export function editorCases(nPerKind: number, seed = 4242, file = HELDOUT_SAMPLE): EditorCase[] {
  const rng = new SeededRandom(seed);
  const docs = loadDocs(rng, file);
  const out: EditorCase[] = [];
  for (const kind of CASE_KINDS) {
    for (let found = 0, tries = 0; found < nPerKind && tries < nPerKind * 200; tries++) {
      const doc = docs[rng.nextInt(docs.length)];
      const c = cut(kind, doc, rng);
      if (!c) continue;
      found++;
      out.push({ ...c, crlf: false, tabs: doc.tabs });
    }
  }
  const lf = out.length;
  for (let i = 0; i < lf; i++) {
    if (rng.nextFloat() >= CRLF_TWIN_SHARE) continue;
    const c = out[i];
    const crlf = (s: string): string => s.replace(/\n/g, '\r\n');
    out.push({ ...c, crlf: true, twinOf: i, prefix: crlf(c.prefix), suffix: crlf(c.suffix), want: crlf(c.want) });
  }
  return out;
}

export interface EditorScore {
  /** What the editor would insert ('' = nothing shown). */
  shown: string;
  exact: boolean;
  normalisedExact: boolean;
  /** The insertion starts with whitespace the cursor's line already ends with (or, at a line's
   *  indentation, any horizontal whitespace: the document has the indentation already). */
  extraIndent: boolean;
  blank: boolean;
}

/** Scores a raw completion as the editor would show it (ghostText.ts → trimCompletion). */
export function scoreEditorCase(raw: string, c: EditorCase): EditorScore {
  const shown = trimCompletion(raw, { linePrefix: c.linePrefix, suffix: c.suffix, maxLines: GHOST.maxLines });
  // The editor inserts in the document's line endings; the trimmer works on LF.
  const inserted = c.crlf ? shown.replace(/\r?\n/g, '\r\n') : shown;
  const endsInSpace = /[ \t]$/.test(c.linePrefix) || (c.linePrefix !== '' && c.linePrefix.trim() === '');
  return {
    shown: inserted,
    exact: inserted === c.want,
    normalisedExact: normalise(inserted) === normalise(c.want),
    extraIndent: endsInSpace && /^[ \t]/.test(inserted),
    blank: inserted === '',
  };
}

export interface ScoredCase extends EditorScore {
  case: EditorCase;
  confidence: number;
  ms: number;
  calls: number;
}

const pct = (k: number, n: number): number => Math.round((1000 * k) / Math.max(1, n)) / 10;

function row(xs: ScoredCase[]) {
  return {
    cases: xs.length,
    exact: pct(xs.filter((x) => x.exact).length, xs.length),
    normalised_exact: pct(xs.filter((x) => x.normalisedExact).length, xs.length),
    extra_indent: xs.filter((x) => x.extraIndent).length,
    blank: pct(xs.filter((x) => x.blank).length, xs.length),
  };
}

/** Per-kind and overall rows, LF vs their CRLF twins, tab files vs space files. */
export function summarise(scored: ScoredCase[]) {
  const lf = scored.filter((s) => !s.case.crlf);
  const crlf = scored.filter((s) => s.case.crlf);
  const twins = crlf.map((s) => lf[s.case.twinOf!]);
  return {
    all: row(lf),
    ...Object.fromEntries(CASE_KINDS.map((k) => [k, row(lf.filter((s) => s.case.kind === k))])),
    tab_files: row(lf.filter((s) => s.case.tabs)),
    space_files: row(lf.filter((s) => !s.case.tabs)),
    crlf_twins: { crlf: row(crlf), lf: row(twins) },
  };
}

/**
 * For each threshold, the share of requests whose suggestion would be shown (coverage: a
 * non-blank suggestion at or above the threshold) and the share of shown ones that are
 * byte-exact (precision).
 */
export function confidenceCurve(scored: ScoredCase[], thresholds: number[]) {
  return thresholds.map((threshold) => {
    const shown = scored.filter((s) => !s.blank && s.confidence >= threshold);
    return {
      threshold,
      coverage: Math.round((1000 * shown.length) / Math.max(1, scored.length)) / 1000,
      precision: Math.round((1000 * shown.filter((s) => s.exact).length) / Math.max(1, shown.length)) / 1000,
    };
  });
}

/** The lowest threshold whose shown suggestions are at least `precision` byte-exact. */
export function thresholdFor(curve: ReturnType<typeof confidenceCurve>, precision: number): number | undefined {
  return curve.find((p) => p.coverage > 0 && p.precision >= precision)?.threshold;
}

/** Byte-exact share the default ghost-text threshold must reach among what is shown. */
export const TARGET_PRECISION = 0.5;
export const CURVE_THRESHOLDS = Array.from({ length: 20 }, (_, i) => Math.round(i * 5) / 100);

export async function runEditorView(
  client: LocalBackend,
  nPerKind: number,
  sampler: SamplerSettings = {},
  candidates = 1,
) {
  const cases = editorCases(nPerKind);
  const scored: ScoredCase[] = [];
  for (const c of cases) {
    const t = Date.now();
    const r = await client.complete({
      prefix: c.prefix,
      suffix: c.suffix,
      maxTokens: GHOST.maxTokens,
      candidates,
      sampler: { timeBudgetMs: GHOST.timeBudgetMs, ...sampler },
    });
    const edit = r.edits[0];
    scored.push({
      ...scoreEditorCase(edit.text, c),
      case: c,
      confidence: edit.confidence,
      ms: Date.now() - t,
      calls: r.steps,
    });
    if (process.env.DEBUG_CANDIDATES && r.candidates)
      console.error(r.candidates.map((x) => `${x.confidence.toFixed(2)} ${JSON.stringify(x.text)}`).join(' | '));
  }
  const curve = confidenceCurve(
    scored.filter((s) => !s.case.crlf),
    CURVE_THRESHOLDS,
  );
  const defaultThreshold = thresholdFor(curve, TARGET_PRECISION);
  const atDefault = curve.find((p) => p.threshold === defaultThreshold);
  return {
    summary: summarise(scored),
    ghost_confidence: {
      default_threshold: defaultThreshold ?? null,
      coverage: atDefault?.coverage ?? 0,
      precision: atDefault?.precision ?? 0,
      curve,
    },
    scored,
  };
}

const pctOf = (x: number): number => Math.round(x * 1000) / 10;

export function editorViewMarkdown(r: Awaited<ReturnType<typeof runEditorView>>): string {
  const s = r.summary as Record<string, any>;
  const line = (name: string, x: any) =>
    `| ${name} | ${x.cases} | ${x.exact} % | ${x.normalised_exact} % | ${x.extra_indent} | ${x.blank} % |`;
  const g = r.ghost_confidence;
  return `| ghost text where the editor asks | cases | byte-exact | whitespace-normalised exact | extra indentation | blank |
|---|---|---|---|---|---|
${line("cursor after a new line's indentation", s.indent)}
${line('mid-line, after a typed prefix', s.midline)}
${line('empty line (column 0)', s.empty_line)}
${line('2–4 lines after an indented cursor', s.block)}
${line('**all**', s.all)}
${line('tab-indented files', s.tab_files)}
${line('space-indented files', s.space_files)}
${line('CRLF twins', s.crlf_twins.crlf)}
${line('… the same cases in LF', s.crlf_twins.lf)}

${
  g.default_threshold === null
    ? `No confidence threshold makes at least ${TARGET_PRECISION * 100} % of the shown suggestions byte-exact on these cases.`
    : `Ghost text shown only at confidence ≥ ${g.default_threshold}: ${pctOf(g.coverage)} % of requests show a suggestion, ${pctOf(g.precision)} % of those byte-exact.`
}
Confidence threshold → share of requests shown / share of those byte-exact: ${g.curve
    .filter((p) => p.threshold >= 0.3 && p.threshold <= 0.9 && Math.round(p.threshold * 100) % 10 === 0)
    .map((p) => `${p.threshold} → ${pctOf(p.coverage)} % / ${pctOf(p.precision)} %`)
    .join(', ')}.
`;
}
