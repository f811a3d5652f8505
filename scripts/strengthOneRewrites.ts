// Refine at strength 1 on the bench's regions (bench/quality/refineRepair.ts: three-line regions
// of held-out code, clean and with one injected fault): how often the rewrite is shown (not flagged
// `belowOriginal`) and how often a shown one is exactly the code that was there. `--dump` prints
// each case's rating. Run: node scripts/strengthOneRewrites.mjs [--cases=N] [--dump]
import path from 'node:path';
import { SHIPPED_MODEL } from '../src/core/defaults';
import { LocalBackend } from '../src/backend/local/localBackend';
import { repairCases } from '../bench/quality/refineRepair';
import { ROOT } from '../bench/shared/cases';

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--cases='))?.slice(8) ?? 100);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const figures: Record<string, { regions: number; shown: number; shown_exact: number; exact_unchecked: number }> = {};
  for (const c of repairCases(n)) {
    const kind = c.faultLine < 0 ? 'clean' : 'faulty';
    const f = (figures[kind] ??= { regions: 0, shown: 0, shown_exact: 0, exact_unchecked: 0 });
    const r = await client.refine({ text: c.text, start: c.start, end: c.end, strength: 1 });
    const e = r.edits[0];
    const proposal = c.text.slice(c.start, e.start) + e.text + c.text.slice(e.end, c.end);
    const same = proposal === c.clean;
    f.regions++;
    if (same) f.exact_unchecked++;
    if (!r.belowOriginal) {
      f.shown++;
      if (same) f.shown_exact++;
    }
    if (process.argv.includes('--dump'))
      console.log(JSON.stringify({ kind, rating: r.belowOriginal, same, given: c.text.slice(c.start, c.end), proposal }));
  }
  client.dispose();
  console.log(JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
