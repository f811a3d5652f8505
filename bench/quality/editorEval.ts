// `npm run model:eval:editor` (the same cases are part of `npm run bench`): ghost text at the editor's real
// cursor positions, through the same client and worker the editor uses. Writes
// bench/results/editor-view.json, prints a markdown table and puts it into the model's card
// (--no-card: only prints). --per-kind=N (default 200, as in the bench), --candidates=N, --dump (every case's answer).
import fs from 'node:fs';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { asNumber, readArgs } from '../shared/args';
import { ROOT } from '../shared/cases';
import { editorViewMarkdown, runEditorView } from './editorView';

async function main(): Promise<void> {
  const { values: flags } = readArgs({
    'per-kind': { type: 'string', default: '200' },
    candidates: { type: 'string', default: '1' },
    'no-card': { type: 'boolean', default: false },
    dump: { type: 'boolean', default: false },
  });
  const n = asNumber(flags['per-kind'], 'per-kind');
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const candidates = asNumber(flags.candidates, 'candidates');
  const r = await runEditorView(client, n, {}, candidates);
  client.dispose();
  const { scored, ...rest } = r;
  const record = !flags['no-card'];
  if (record) {
    const out = path.join(ROOT, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(
      path.join(out, 'editor-view.json'),
      JSON.stringify({ model: path.basename(model), per_kind: n, ...rest }, null, 2) + '\n',
    );
  }
  if (flags.dump) {
    for (const x of scored)
      console.log(
        JSON.stringify({
          kind: x.case.kind,
          crlf: x.case.crlf,
          want: x.case.want,
          shown: x.shown,
          conf: Math.round(x.confidence * 1000) / 1000,
        }),
      );
  }
  const table = editorViewMarkdown(r);
  console.log(table);
  if (record) console.log(`editor-eval: wrote ${writeCardBlock(model, n, table)} and bench/results/editor-view.json`);
}

/**
 * Puts the table into the model's card between `<!-- editor-view:begin -->` and
 * `<!-- editor-view:end -->` (appended the first time), so the card quotes what this command measured.
 */
function writeCardBlock(modelDir: string, perKind: number, table: string): string {
  const file = path.join(modelDir, 'MODEL_CARD.md');
  const block = `<!-- editor-view:begin (written by \`npm run model:eval:editor\`; do not edit by hand) -->
### Ghost text where the editor asks

${perKind} held-out cursors of each kind (\`bench/heldout-sample.jsonl\`; 30 % of the space-indented
files shown tab-indented, a quarter of the cases again as CRLF), the editor's ghost-text request
(24 slots, 800 ms budget) through the worker, scored on what the editor would insert after its own
trimming: byte-exact, and whitespace-normalised beside it.

${table}<!-- editor-view:end -->`;
  const card = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const re = /<!-- editor-view:begin[\s\S]*?<!-- editor-view:end -->/;
  fs.writeFileSync(file, re.test(card) ? card.replace(re, block) : `${card.trimEnd()}\n\n${block}\n`);
  return file;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
