// `npm run model:eval:editor` (the same cases are part of `npm run bench`): ghost text at the editor's real
// cursor positions, through the same client and worker the editor uses. Writes
// bench/results/editor-view.json and prints a markdown table.
import fs from 'node:fs';
import path from 'node:path';
import { DenoiserClient } from '../src/denoiser/client';
import { ROOT } from './cases';
import { editorViewMarkdown, runEditorView } from './editorView';

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--per-kind='))?.slice(11) ?? 100);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', 'diffuse-small');
  const client = new DenoiserClient({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const candidates = Number(process.argv.find((a) => a.startsWith('--candidates='))?.slice(13) ?? 1);
  const r = await runEditorView(client, n, {}, candidates);
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

main().catch((e) => { console.error(e); process.exit(1); });
