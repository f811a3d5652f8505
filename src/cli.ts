// `diffuse`: the engine from the command line, through the same client and worker as the editor.
//
//   diffuse refine FILE --lines A-B [--strength S]     print the refined region as a diff
//   diffuse fill FILE --at LINE:COL [--max-tokens N]   print the filled text as a diff
//   diffuse complete                                   JSON lines in, JSON lines out
//
// Common options: --model DIR --steps N --threshold X --tokens-per-step K --left-to-right --block-length B
// --temperature T --top-p P --seed N --remask F --threads N --prefix-tokens N --suffix-tokens N --progress
import fs from 'node:fs';
import path from 'node:path';
import { SHIPPED_MODEL } from './core/defaults';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { lineRangeOffsets, positionOffset } from './core/textPosition';
import { DenoiserClient, DenoiserError } from './denoiser/client';
import type { ContextSettings, DenoiseResult, ProgressParams, SamplerSettings } from './denoiser/protocol';

const USAGE = `usage:
  diffuse refine FILE --lines A-B [--strength S]
  diffuse fill FILE --at LINE:COL [--max-tokens N]
  diffuse complete            (stdin: {"id","prefix","suffix","maxTokens"?} per line)
options: --model DIR --steps N --threshold X --tokens-per-step K --left-to-right --block-length B
         --temperature T --top-p P --seed N --remask F --threads N --prefix-tokens N --suffix-tokens N --progress`;

/** The model shipped with the package. */
export const DEFAULT_MODEL_DIR = path.join(__dirname, '..', 'models', SHIPPED_MODEL);

/** A command line that cannot be run: reported in one line, followed by the usage when `withUsage`. */
class UsageError extends Error {
  constructor(message: string, readonly withUsage = false) {
    super(message);
  }
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

const OPTIONS = {
  model: { type: 'string' }, steps: { type: 'string' }, threshold: { type: 'string' },
  'tokens-per-step': { type: 'string' }, 'block-length': { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' },
  seed: { type: 'string' }, remask: { type: 'string' }, threads: { type: 'string' },
  'prefix-tokens': { type: 'string' }, 'suffix-tokens': { type: 'string' },
  lines: { type: 'string' }, strength: { type: 'string' }, at: { type: 'string' }, 'max-tokens': { type: 'string' },
  'left-to-right': { type: 'boolean', default: false },
  progress: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (e) {
    // node:util's errors for an unknown option or a missing value: the first sentence is the cause
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const first = (e as Error).message.split('. ')[0].replace(/^Option '(-[\w-]+)[^']*' argument missing$/, 'option $1 needs a value');
    throw new UsageError(first[0].toLowerCase() + first.slice(1), true);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, file] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!command) throw new UsageError('no command given', true);
  const sampler: SamplerSettings = {
    steps: num(values.steps, 'steps'), threshold: num(values.threshold, 'threshold'),
    tokensPerStep: num(values['tokens-per-step'], 'tokens-per-step'), blockLength: num(values['block-length'], 'block-length'),
    temperature: num(values.temperature, 'temperature'),
    topP: num(values['top-p'], 'top-p'), seed: num(values.seed, 'seed'), remask: num(values.remask, 'remask'),
    leftToRight: values['left-to-right'] || undefined,
  };
  const context: ContextSettings = {
    prefixTokens: num(values['prefix-tokens'], 'prefix-tokens'), suffixTokens: num(values['suffix-tokens'], 'suffix-tokens'),
  };
  const client = new DenoiserClient({
    workerPath: path.join(__dirname, 'worker.js'),
    modelDir: path.resolve(values.model ?? DEFAULT_MODEL_DIR),
    threads: num(values.threads, 'threads') ?? 1,
    log: process.env.DIFFUSE_DEBUG ? (l) => process.stderr.write(l + '\n') : undefined,
    restartDelayMs: 200,
  });
  try {
    switch (command) {
      case 'refine':
      case 'fill': {
        if (!file) throw new UsageError(`diffuse ${command} needs a FILE`);
        const text = readSource(file);
        const onProgress = values.progress ? printProgress : undefined;
        let result: DenoiseResult;
        if (command === 'refine') {
          if (!values.lines) throw new UsageError('diffuse refine needs --lines A-B');
          const m = /^(\d+)(?:-(\d+))?$/.exec(values.lines);
          if (!m) throw new UsageError(`--lines must look like 10-20, got "${values.lines}"`);
          const { start, end } = lineRangeOffsets(text, Number(m[1]), Number(m[2] ?? m[1]));
          await client.start();
          result = await client.refine({ text, start, end, strength: num(values.strength, 'strength'), sampler, context }, { onProgress });
        } else {
          if (!values.at) throw new UsageError('diffuse fill needs --at LINE:COL');
          const m = /^(\d+):(\d+)$/.exec(values.at);
          if (!m) throw new UsageError(`--at must look like 12:5, got "${values.at}"`);
          const at = positionOffset(text, Number(m[1]), Number(m[2]));
          await client.start();
          result = await client.fill({ text, cursors: [at], maxTokens: num(values['max-tokens'], 'max-tokens'), sampler, context }, { onProgress });
        }
        const updated = applyEdits(text, result.edits);
        // Refine below strength 1 corrects: correct code comes back as it was.
        if (updated === text) process.stderr.write('no change the model is sure of\n');
        else process.stdout.write(createTwoFilesPatch(file, file + ' (diffuse)', text, updated, '', '', { context: 3 }));
        process.stderr.write(`${result.steps} model calls, ${result.ms} ms, ${result.canvasTokens}-token canvas\n`);
        return 0;
      }
      case 'complete':
        await client.start();
        return await completeLines(client, sampler, context);
      default:
        throw new UsageError(`unknown command "${command}"`, true);
    }
  } finally {
    client.dispose();
  }
}

function readSource(file: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new UsageError(`${file} is not UTF-8 text (it has undecodable bytes); nothing was changed`);
  }
}

function applyEdits(text: string, edits: { start: number; end: number; text: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function printProgress(p: ProgressParams): void {
  const body = p.spans.map((s) => s.text).join('\n──── next span ────\n');
  process.stderr.write(`\n── step ${p.step}/${p.maxSteps} (${p.spans.reduce((n, s) => n + s.masked, 0)} masked) ──\n${body}\n`);
}

/** `diffuse complete`: one JSON request per stdin line, one JSON answer per line, in order. */
async function completeLines(client: DenoiserClient, sampler: SamplerSettings, context: ContextSettings): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let id: unknown = null;
    try {
      const req = JSON.parse(line) as { id?: unknown; prefix?: unknown; suffix?: unknown; maxTokens?: unknown };
      id = req.id ?? null;
      if (typeof req.prefix !== 'string' || typeof (req.suffix ?? '') !== 'string') throw new UsageError('"prefix" and "suffix" must be strings');
      if (req.maxTokens !== undefined && typeof req.maxTokens !== 'number') throw new UsageError('"maxTokens" must be a number');
      const r = await client.complete({ prefix: req.prefix, suffix: (req.suffix as string | undefined) ?? '', maxTokens: req.maxTokens as number | undefined, sampler, context });
      const confidence = Math.round(r.edits[0].confidence * 1000) / 1000;
      process.stdout.write(JSON.stringify({ id, completion: r.edits[0].text, confidence, steps: r.steps, ms: r.ms }) + '\n');
    } catch (e) {
      const message = e instanceof SyntaxError ? `invalid JSON: ${e.message}` : e instanceof Error ? e.message : String(e);
      process.stdout.write(JSON.stringify({ id, error: message }) + '\n');
      if (e instanceof DenoiserError && e.code === 'model') return 1;
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof UsageError || e instanceof DenoiserError || e instanceof RangeError ? e.message : e instanceof Error ? e.stack : String(e);
    process.stderr.write(`diffuse: ${message}\n${e instanceof UsageError && e.withUsage ? `${USAGE}\n` : ''}`);
    process.exit(e instanceof UsageError || e instanceof RangeError ? 2 : 1);
  },
);
