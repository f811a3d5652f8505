// `npm run model:span-end [-- --model DIR --masks 16 --problems 150]`: does the model know where a
// span ends from the code, or only from how many masks it is shown? On HumanEval-Infilling
// multi-line problems whose answer has two lines or more, the span is laid out as the sampler shows it
// while writing (sampler.ts growWindows): the answer so far, then a window of masks, then the code
// after the span. It prints the model's pad probability at the window's first slot after the
// complete answer (pad is right) and after each incomplete one, its first lines (pad is wrong).
// A model that reads the code puts the first high and the second low, at any window width.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { realTokenTable } from '../../src/core/sampler/specialTokens';
import { tokenProbability } from '../../src/core/sampler/tokenChoice';
import { Engine } from '../../src/worker/engine';
import { loadModelFolder } from '../../src/worker/loadModel';
import { readArgs } from '../shared/args';
import { ROOT } from '../shared/cases';

// Loaded at run time, not bundled: the script finds its data next to itself (import.meta.url).
type HumanEval = typeof import('../../training/humaneval.mjs');

interface Problem {
  prompt: string;
  suffix: string;
  canonical_solution: string;
}

const { values } = readArgs({
  model: { type: 'string', default: path.join(ROOT, 'models', SHIPPED_MODEL) },
  masks: { type: 'string', default: '4,16' },
  problems: { type: 'string', default: '150' },
  seed: { type: 'string', default: '2' },
});

async function main(): Promise<void> {
  const { loadProblems, sample } = (await import(
    pathToFileURL(path.join(ROOT, 'training', 'humaneval.mjs')).href
  )) as HumanEval;
  const loaded = await loadModelFolder(path.resolve(values.model!), 1);
  const { model, codec, manifest } = loaded;
  const special = manifest.special_tokens;
  const engine = new Engine(model, codec, special, manifest.context_length);
  const allowed = realTokenTable(model.vocabSize, special, true);

  /** Pad probability at the first of `masks` slots after `written`, between the prompt and the suffix. */
  const padProbability = async (p: Problem, written: string, masks: number): Promise<number> => {
    const canvas = engine.fillCanvas(p.prompt + written + p.suffix, [p.prompt.length + written.length], masks);
    const logits = await model.logits(canvas.ids, Int32Array.of(canvas.spans[0].offset));
    return tokenProbability(logits, 0, model.vocabSize, special.pad, allowed);
  };

  /** An answer's lines, each with its newline (every HumanEval answer ends with one). */
  const linesOf = (p: Problem): string[] => p.canonical_solution.split(/(?<=\n)/);
  const problems = (sample(loadProblems('multi'), Number(values.problems), Number(values.seed)) as Problem[]).filter(
    (p) => linesOf(p).length >= 2,
  );
  const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)].toFixed(3);
  console.log(
    `model ${path.basename(values.model!)}: ${problems.length} multi-line problems with two lines or more (seed ${values.seed})\n`,
  );
  console.log(
    '| masks shown | pad probability after the complete answer (median) | after an incomplete one (median) | incomplete cases |',
  );
  console.log('|---|---|---|---|');
  for (const masks of values.masks!.split(',').map(Number)) {
    const complete: number[] = [];
    const incomplete: number[] = [];
    for (const p of problems) {
      const lines = linesOf(p);
      complete.push(await padProbability(p, p.canonical_solution, masks));
      for (let j = 1; j < lines.length; j++) {
        if (lines[j - 1].trim()) incomplete.push(await padProbability(p, lines.slice(0, j).join(''), masks));
      }
    }
    console.log(`| ${masks} | ${median(complete)} | ${median(incomplete)} | ${incomplete.length} |`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
