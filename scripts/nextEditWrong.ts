// The next-edit bench's cases (bench/quality/nextEdit.ts) with every proposal that is not an
// exact follow-up printed, for reading what goes wrong. Run under the heavy lock:
// node out/nextEditWrong.js [--cases=N]
import path from 'node:path';
import { SHIPPED_MODEL } from '../src/core/defaults';
import { LocalBackend } from '../src/backend/local/localBackend';
import { heldoutCases, isExactFollowUp, runNextEdit } from '../bench/quality/nextEdit';
import { ROOT } from '../bench/shared/cases';
import type { Backend, NextEditInput } from '../src/backend/backend';
import type { DenoiseResult } from '../src/backend/requests';

async function main(): Promise<void> {
  const n = Number(process.argv.find((a) => a.startsWith('--cases='))?.slice(8) ?? Infinity);
  const model = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
  const client = new LocalBackend({ workerPath: path.join(ROOT, 'dist', 'worker.js'), modelDir: model, threads: 1 });
  await client.start();
  const cases = heldoutCases(n);
  // the bench's own loop, through a backend that keeps each answer (in the order of the cases)
  const answers: DenoiseResult[] = [];
  const recording = Object.assign(Object.create(client), {
    nextEdit: async (q: NextEditInput) => {
      const r = await client.nextEdit(q);
      answers.push(r);
      return r;
    },
  }) as Backend;
  const figures = await runNextEdit(recording, cases);
  cases.forEach((c, i) => {
    const p = answers[i].edits[0];
    if (!p || isExactFollowUp(c.after, p, c.followUps)) return;
    const line = (at: number) => c.after.slice(0, at).split('\n').length;
    console.log(
      JSON.stringify({
        kind: c.kind,
        line: line(p.start),
        was: c.after.slice(p.start, p.end),
        now: p.text,
        context: c.after.slice(c.after.lastIndexOf('\n', p.start - 1) + 1, c.after.indexOf('\n', p.end)),
        followUpLines: c.followUps.map((f) => line(f.start)),
        editLine: line(c.cursor),
      }),
    );
  });
  console.log(JSON.stringify(figures, null, 2));
  client.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
