// `npm run bench:tune`: single-line infills from held-out code decoded under several sampler
// settings, in-process (no worker, so only the decoding differs between rows). Prints model
// calls, exact match and output characters per second for each, against one token per step.
// This is how the default schedule (engine.ts DEFAULTS) was chosen; re-run it after a model update.
//
//   npm run bench:tune -- [--cases 300] [--trace 5] [--docs FILE] ['{"threshold":0.6}' ...]
//
// --docs: held-out files as JSON lines (default bench/heldout-sample.jsonl; after
// `npm run model:corpus`, training/work/corpus/heldout.jsonl has all of the held-out split).
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { Engine } from '../../src/worker/engine';
import { loadModelFolder } from '../../src/worker/loadModel';
import type { SamplerSettings } from '../../src/backend/requests';
import { asNumber, readArgs } from '../shared/args';
import { CaseSource, HELDOUT_SAMPLE, ROOT, normalise, round, runInfills } from '../shared/cases';

const MODEL = process.env.DIFFUSE_BENCH_MODEL ?? path.join(ROOT, 'models', SHIPPED_MODEL);
// the positional arguments are sampler settings as JSON, one row of the table each
const { values: flags, positionals: settings } = readArgs(
  {
    cases: { type: 'string', default: '300' },
    trace: { type: 'string', default: '0' },
    docs: { type: 'string', default: HELDOUT_SAMPLE },
  },
  true,
);
const N = asNumber(flags.cases, 'cases');
const TRACE = asNumber(flags.trace, 'trace');
const DOCS = flags.docs;
const MAX_TOKENS = 24;

const SWEEP: SamplerSettings[] =
  settings.length > 0
    ? settings.map((a) => JSON.parse(a))
    : [
        { tokensPerStep: 1, steps: 1000 },
        {},
        { threshold: 0.7 },
        { threshold: 0.6 },
        { threshold: 0.5 },
        { steps: 4 },
        { steps: 5 },
      ];

async function main(): Promise<void> {
  const loaded = await loadModelFolder(MODEL, 1);
  // rows of logits asked for: each is one softmax over the vocabulary in the sampler
  let rowsAsked = 0;
  const model = {
    vocabSize: loaded.model.vocabSize,
    logits: (ids: Int32Array, positions: Int32Array) => {
      rowsAsked += positions.length;
      return loaded.model.logits(ids, positions);
    },
  };
  const engine = new Engine(model, loaded.codec, loaded.manifest.special_tokens, loaded.manifest.context_length);
  const source = new CaseSource(777, DOCS);
  const infills = Array.from({ length: N }, () => source.lineInfill());
  const rows: string[] = [];
  let baseCps: number | undefined;
  for (const sampler of SWEEP) {
    rowsAsked = 0;
    const traces: string[][] = [];
    const run = await runInfills(infills, (c, i) => {
      const trace: string[] = [];
      if (i < TRACE) traces.push(trace);
      return engine.complete(
        {
          requestId: String(i),
          prefix: c.prefix,
          suffix: c.suffix,
          maxTokens: MAX_TOKENS,
          sampler,
          progress: i < TRACE,
        },
        { onProgress: (p) => trace.push(`  ${p.step}: ${JSON.stringify(p.spans[0])}`) },
      );
    });
    traces.forEach((trace, i) => {
      const [want, got] = [infills[i].want, run.texts[i]];
      const ok = normalise(got) === normalise(want);
      console.log(
        `${JSON.stringify(sampler)} case ${i} ${ok ? 'EXACT' : ''}\n  want ${JSON.stringify(want)}\n${trace.join('\n')}\n  got  ${JSON.stringify(got)}`,
      );
    });
    const cps = run.chars / run.ms;
    baseCps ??= cps;
    rows.push(
      `| ${JSON.stringify(sampler)} | ${round(run.calls / N, 2)} | ${round(rowsAsked / N, 1)} | ${round((run.exact / N) * 100)} % | ${round(run.similarity / N, 3)} | ${round(run.chars / N)} | ${round(run.ms / N)} | ${round(cps / baseCps, 2)}× |`,
    );
    console.log(rows[rows.length - 1]);
  }
  console.log(
    `\n${N} held-out single-line infills from ${path.relative(ROOT, DOCS)}, ${MAX_TOKENS} slots, ${loaded.manifest.name}\n`,
  );
  console.log(
    '| sampler | calls/line | logit rows/line | exact | similarity | chars/line | ms/line | chars/s vs first row |\n|---|---|---|---|---|---|---|---|',
  );
  console.log(rows.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
