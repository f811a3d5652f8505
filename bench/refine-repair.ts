// `npm run bench:repair` (the same cases are part of `npm run bench`): Refine at the default strength on
// held-out regions with and without an injected fault (bench/refineRepair.ts).
import path from 'node:path';
import { SHIPPED_MODEL } from '../src/core/defaults';
import { LocalBackend } from '../src/backend/local/localBackend';
import { ROOT } from './cases';
import { runRefineRepair } from './refineRepair';

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--cases='))?.slice(8) ?? 100);
  const strength = process.argv.find((a) => a.startsWith('--strength='))?.slice(11);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const { figures, outcomes } = await runRefineRepair(client, n, strength ? Number(strength) : undefined);
  client.dispose();
  if (process.argv.includes('--dump')) {
    for (const o of outcomes) {
      const given = o.case.text.slice(o.case.start, o.case.end);
      if (o.proposal !== given)
        console.log(JSON.stringify({ fault: o.case.fault, given, proposal: o.proposal, clean: o.case.clean }));
    }
  }
  console.log(JSON.stringify(figures, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
