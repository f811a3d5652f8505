// `npm run model:eval:editor` (also part of `npm run bench`): ghost text at the editor's real
// cursor positions, through the same client and worker the editor uses. Writes
// bench/results/editor-view.json and prints a markdown table.
import fs from 'node:fs';
import path from 'node:path';
import { DenoiserClient } from '../src/denoiser/client';
import type { SamplerSettings } from '../src/denoiser/protocol';
import { ROOT } from './cases';
import {
  confidenceCurve, editorCases, GHOST, scoreEditorCase, summarise, thresholdFor, type ScoredCase,
} from './editorView';

/** Byte-exact share the default ghost-text threshold must reach among what is shown. */
export const TARGET_PRECISION = 0.5;
export const CURVE_THRESHOLDS = Array.from({ length: 20 }, (_, i) => Math.round(i * 5) / 100);

export async function runEditorView(client: DenoiserClient, nPerKind: number, sampler: SamplerSettings = {}) {
  const cases = editorCases(nPerKind);
  const scored: ScoredCase[] = [];
  for (const c of cases) {
    const t = Date.now();
    const r = await client.complete({
      prefix: c.prefix, suffix: c.suffix, maxTokens: GHOST.maxTokens,
      sampler: { timeBudgetMs: GHOST.timeBudgetMs, ...sampler },
    });
    const edit = r.edits[0];
    scored.push({ ...scoreEditorCase(edit.text, c), case: c, confidence: edit.confidence, ms: Date.now() - t, calls: r.steps });
  }
  const curve = confidenceCurve(scored.filter((s) => !s.case.crlf), CURVE_THRESHOLDS);
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

export function editorViewMarkdown(r: Awaited<ReturnType<typeof runEditorView>>): string {
  const s = r.summary as Record<string, any>;
  const line = (name: string, x: any) => `| ${name} | ${x.cases} | ${x.exact} % | ${x.normalised_exact} % | ${x.extra_indent} | ${x.blank} % |`;
  const g = r.ghost_confidence;
  return `| ghost text where the editor asks | cases | byte-exact | whitespace-normalised exact | extra indentation | blank |
|---|---|---|---|---|---|
${line('cursor after a new line\'s indentation', s.indent)}
${line('mid-line, after a typed prefix', s.midline)}
${line('empty line (column 0)', s.empty_line)}
${line('2–4 lines after an indented cursor', s.block)}
${line('**all**', s.all)}
${line('tab-indented files', s.tab_files)}
${line('space-indented files', s.space_files)}
${line('CRLF twins', s.crlf_twins.crlf)}
${line('… the same cases in LF', s.crlf_twins.lf)}

Ghost text shown only at confidence ≥ ${g.default_threshold}: ${Math.round(g.coverage * 1000) / 10} % of requests show a suggestion, ${Math.round(g.precision * 1000) / 10} % of those byte-exact.
`;
}

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--per-kind='))?.slice(11) ?? 100);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', 'diffuse-small');
  const client = new DenoiserClient({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const r = await runEditorView(client, n);
  client.dispose();
  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  const { scored, ...rest } = r;
  fs.writeFileSync(path.join(out, 'editor-view.json'), JSON.stringify({ model: path.basename(model), per_kind: n, ...rest }, null, 2) + '\n');
  if (process.argv.includes('--dump')) {
    for (const x of scored) console.log(JSON.stringify({ kind: x.case.kind, crlf: x.case.crlf, want: x.case.want, shown: x.shown, conf: Math.round(x.confidence * 1000) / 1000 }));
  }
  console.log(editorViewMarkdown(r));
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
