// `npm run bench:repair` (also part of `npm run bench`): Refine at the default strength on
// held-out regions with and without an injected fault (bench/refineRepair.ts).
import path from 'node:path';
import { DenoiserClient } from '../src/denoiser/client';
import { ROOT } from './cases';
import { repairCases, repairFigures, type RepairOutcome } from './refineRepair';

export async function runRefineRepair(client: DenoiserClient, n: number, strength?: number) {
  const outcomes: RepairOutcome[] = [];
  for (const c of repairCases(n)) {
    const r = await client.refine({ text: c.text, start: c.start, end: c.end, strength });
    const e = r.edits[0];
    outcomes.push({ case: c, proposal: c.text.slice(c.start, e.start) + e.text + c.text.slice(e.end, c.end) });
  }
  return { figures: repairFigures(outcomes), outcomes };
}

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--cases='))?.slice(8) ?? 100);
  const strength = process.argv.find((a) => a.startsWith('--strength='))?.slice(11);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', 'diffuse-small');
  const client = new DenoiserClient({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const { figures, outcomes } = await runRefineRepair(client, n, strength ? Number(strength) : undefined);
  client.dispose();
  if (process.argv.includes('--dump')) {
    for (const o of outcomes) {
      const given = o.case.text.slice(o.case.start, o.case.end);
      if (o.proposal !== given) console.log(JSON.stringify({ fault: o.case.fault, given, proposal: o.proposal, clean: o.case.clean }));
    }
  }
  console.log(JSON.stringify(figures, null, 2));
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
