// `diffuse`: the engine from the command line, through the same backends as the editor (the local
// worker by default; Mercury, an OpenAI-compatible server or a `diffuse serve` with --backend),
// and `diffuse serve`, which puts the local engine behind HTTP.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { REPAIR_DEFAULTS, SHIPPED_MODEL } from './core/defaults';
import { unifiedDiff } from './core/nextEdit/editHistory';
import { textChange } from './core/nextEdit/nextEditRegions';
import { stepLabel } from './core/view/stepLabel';
import { applyEdits } from './core/text/textEdit';
import { lineRangeOffsets, positionOffset } from './core/text/textPosition';
import { apiKeyVariable, type BackendHooks, createBackend, remoteDefaults } from './backend/createBackend';
import { BACKENDS, BackendError, type BackendKind, type BackendSource, type Backend } from './backend/backend';
import type { ContextSettings, DenoiseResult, ProgressParams, SamplerSettings } from './backend/requests';
import { BackendPool } from './serve/pool';
import { startServer } from './serve/server';
import { gitRoot, repairSummary } from './repair/repairSummary';
import { CheckSetupError, repairFile } from './repair/repairFile';
import { ScratchCopyError } from './repair/scratchCopy';

/** The model shipped with the package. */
const DEFAULT_MODEL_DIR = path.join(__dirname, '..', 'models', SHIPPED_MODEL);
const DEFAULT_PORT = 7431;

const COMMANDS = [
  'refine FILE --lines A-B [--strength S] [--instruction TEXT]   print the refined region as a diff',
  'fill FILE --at LINE:COL [--max-tokens N]                     print the filled text as a diff',
  'complete                       JSON lines in ({"id","prefix","suffix","maxTokens"?}), JSON lines out',
  'next-edit --before FILE --after FILE [--cursor LINE:COL]     print the edit that follows as a diff',
  'repair FILE --check CMD [--lines A-B] [--root DIR] [--max-checks N] [--timeout-ms T]   a verified fix as a diff',
  'serve [--host H] [--port P] [--token T] [--workers N]        the local engine over HTTP',
];

/** Every option, once: the parser's table and the usage text both come from here. */
const OPTIONS = {
  backend: { type: 'string', arg: 'local|mercury|openai|diffuse', help: 'who answers (default local)' },
  'base-url': { type: 'string', arg: 'URL', help: "the remote backend's URL (https://, or http:// on loopback)" },
  'remote-model': { type: 'string', arg: 'NAME', help: 'the remote model (FIM for complete/fill, chat for refine)' },
  model: { type: 'string', arg: 'DIR', help: 'local model folder' },
  threads: { type: 'string', arg: 'N', help: 'onnxruntime threads' },
  ep: { type: 'string', arg: 'cpu|cuda|dml|coreml|webgpu', help: 'onnxruntime execution provider' },
  lines: { type: 'string', arg: 'A-B', help: 'refine: the lines to refine' },
  strength: { type: 'string', arg: 'S', help: 'refine: below 1 corrects, 1 rewrites' },
  instruction: { type: 'string', arg: 'TEXT', help: 'refine: what to do (mercury, openai)' },
  'show-anyway': {
    type: 'boolean',
    default: false,
    help: 'refine: print a rewrite the model rates below the original too',
  },
  check: { type: 'string', arg: 'CMD', help: 'repair: the shell command that must pass (run in a copy of ROOT)' },
  root: { type: 'string', arg: 'DIR', help: "repair: the project copied for the check (default: FILE's git root)" },
  'max-checks': { type: 'string', arg: 'N', help: `repair: most checks (default ${REPAIR_DEFAULTS.maxChecks})` },
  'timeout-ms': { type: 'string', arg: 'T', help: `repair: time limit (default ${REPAIR_DEFAULTS.timeoutMs})` },
  'check-timeout-ms': {
    type: 'string',
    arg: 'T',
    help: `repair: one check's limit (default ${REPAIR_DEFAULTS.checkTimeoutMs})`,
  },
  at: { type: 'string', arg: 'LINE:COL', help: 'fill: the cursor' },
  'max-tokens': { type: 'string', arg: 'N', help: 'fill: slots at the cursor' },
  before: { type: 'string', arg: 'FILE', help: "next-edit: the file before the user's edit" },
  after: { type: 'string', arg: 'FILE', help: 'next-edit: the file after it' },
  cursor: { type: 'string', arg: 'LINE:COL', help: 'next-edit: the cursor (default: the end of the edit)' },
  steps: { type: 'string', arg: 'N', help: 'step budget' },
  threshold: { type: 'string', arg: 'X', help: 'commit slots at least this confident' },
  'tokens-per-step': { type: 'string', arg: 'K', help: 'commit K slots a step instead' },
  'left-to-right': { type: 'boolean', default: false, help: 'commit in text order' },
  'block-length': { type: 'string', arg: 'B', help: 'variable-length window' },
  temperature: { type: 'string', arg: 'T', help: 'sampling temperature' },
  'top-p': { type: 'string', arg: 'P', help: 'nucleus sampling' },
  seed: { type: 'string', arg: 'N', help: 'random seed' },
  remask: { type: 'string', arg: 'F', help: 'self-correction share' },
  'prefix-tokens': { type: 'string', arg: 'N', help: 'context before the span' },
  'suffix-tokens': { type: 'string', arg: 'N', help: 'context after the span' },
  progress: { type: 'boolean', default: false, help: 'print every step' },
  host: { type: 'string', arg: 'H', help: 'serve: address (default 127.0.0.1)' },
  port: { type: 'string', arg: 'P', help: `serve: port (default ${DEFAULT_PORT}, 0 = any free one)` },
  token: { type: 'string', arg: 'T', help: 'serve: bearer token clients must send (or DIFFUSE_API_KEY)' },
  workers: { type: 'string', arg: 'N', help: 'serve: local workers, each its own model session (default 1)' },
  help: { type: 'boolean', short: 'h', default: false, help: 'this text' },
} as const;

const USAGE = [
  'usage:',
  ...COMMANDS.map((c) => `  diffuse ${c}`),
  'options:',
  ...Object.entries(OPTIONS).map(([name, o]) => `  --${name}${'arg' in o ? ` ${o.arg}` : ''}`.padEnd(44) + o.help),
  'keys: INCEPTION_API_KEY (mercury), DIFFUSE_API_KEY (openai, diffuse)',
].join('\n');

/** A command line that cannot be run: reported in one line, followed by the usage when `withUsage`. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly withUsage = false,
  ) {
    super(message);
  }
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
  return n;
}

function parse(argv: string[]) {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([k, o]) => [
      k,
      {
        type: o.type,
        ...('short' in o ? { short: o.short } : {}),
        ...('default' in o ? { default: o.default } : {}),
      },
    ]),
  ) as { [K in keyof typeof OPTIONS]: { type: (typeof OPTIONS)[K]['type'] } };
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (e) {
    // node:util's errors for an unknown option or a missing value: the first sentence is the cause
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw e;
    const first = (e as Error).message
      .split('. ')[0]
      .replace(/^Option '(-[\w-]+)[^']*' argument missing$/, 'option $1 needs a value');
    throw new UsageError(first[0].toLowerCase() + first.slice(1), true);
  }
}

type Values = ReturnType<typeof parse>['values'];

/** The backend the flags ask for; a remote one needs its URL and model, and its key from the environment. */
function backendSource(v: Values, command: string): BackendSource {
  const kind = (v.backend ?? 'local') as BackendKind;
  if (!BACKENDS.includes(kind))
    throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${v.backend}"`);
  if (kind === 'local') {
    if (v['base-url'] || v['remote-model'])
      throw new UsageError('--base-url and --remote-model need a remote --backend (mercury, openai or diffuse)');
    return {
      kind,
      modelDir: path.resolve(v.model ?? DEFAULT_MODEL_DIR),
      threads: num(v.threads, 'threads') ?? 1,
      executionProvider: v.ep,
    };
  }
  if (v.model) throw new UsageError(`--model is a local model folder; the ${kind} backend's model is --remote-model`);
  const variable = apiKeyVariable(kind)!;
  const apiKey = process.env[variable] || undefined;
  if (kind === 'diffuse') {
    if (!v['base-url']) throw new UsageError('--backend diffuse needs --base-url (the URL `diffuse serve` printed)');
    return { kind, baseUrl: v['base-url'], apiKey };
  }
  const defaults = remoteDefaults(kind);
  const baseUrl = v['base-url'] ?? defaults.baseUrl;
  if (!baseUrl) throw new UsageError(`--backend ${kind} needs --base-url`);
  const fimModel = v['remote-model'] ?? defaults.fimModel;
  const chatModel = v['remote-model'] ?? defaults.chatModel;
  if (!fimModel) throw new UsageError(`--backend ${kind} needs --remote-model (the server's model for ${command})`);
  if (kind === 'mercury' && !apiKey) throw new UsageError(`--backend mercury needs an API key in ${variable}`);
  return { kind, baseUrl, fimModel, chatModel, apiKey };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  const [command, file] = positionals;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!command) throw new UsageError('no command given', true);
  if (!['refine', 'fill', 'complete', 'next-edit', 'repair', 'serve'].includes(command))
    throw new UsageError(`unknown command "${command}"`, true);
  const settings = requestSettings(values);
  const source = backendSource(values, command);
  if (command === 'serve' && source.kind !== 'local')
    throw new UsageError('diffuse serve serves the local engine: leave out --backend');
  const hooks = {
    workerPath: path.join(__dirname, 'worker.js'),
    log: process.env.DIFFUSE_DEBUG ? (l: string) => process.stderr.write(l + '\n') : undefined,
    restartDelayMs: 200,
  };
  const denoiser = command === 'serve' ? servedBackend(source, hooks, values) : createBackend(source, hooks);
  try {
    switch (command) {
      case 'refine':
      case 'fill':
        return await editFile(denoiser, command, file, values, settings);
      case 'complete':
        await denoiser.start();
        return await completeLines(denoiser, settings);
      case 'next-edit':
        return await nextEdit(denoiser, values);
      case 'repair':
        return await repairCommand(denoiser, file, values);
      case 'serve':
        return await serveUntilStopped(denoiser, values);
    }
  } finally {
    denoiser.dispose();
  }
  return 0;
}

/** The sampler and context flags every request carries. */
interface RequestSettings {
  sampler: SamplerSettings;
  context: ContextSettings;
}

function requestSettings(values: Values): RequestSettings {
  const sampler: SamplerSettings = {
    steps: num(values.steps, 'steps'),
    threshold: num(values.threshold, 'threshold'),
    tokensPerStep: num(values['tokens-per-step'], 'tokens-per-step'),
    blockLength: num(values['block-length'], 'block-length'),
    temperature: num(values.temperature, 'temperature'),
    topP: num(values['top-p'], 'top-p'),
    seed: num(values.seed, 'seed'),
    remask: num(values.remask, 'remask'),
    leftToRight: values['left-to-right'] || undefined,
  };
  const context: ContextSettings = {
    prefixTokens: num(values['prefix-tokens'], 'prefix-tokens'),
    suffixTokens: num(values['suffix-tokens'], 'suffix-tokens'),
  };
  return { sampler, context };
}

async function editFile(
  denoiser: Backend,
  command: 'refine' | 'fill',
  file: string | undefined,
  values: Values,
  { sampler, context }: RequestSettings,
): Promise<number> {
  if (!file) throw new UsageError(`diffuse ${command} needs a FILE`);
  const text = readSource(file);
  const onProgress = values.progress ? printProgress : undefined;
  let result: DenoiseResult;
  if (command === 'refine') {
    if (!values.lines) throw new UsageError('diffuse refine needs --lines A-B');
    const m = /^(\d+)(?:-(\d+))?$/.exec(values.lines);
    if (!m) throw new UsageError(`--lines must look like 10-20, got "${values.lines}"`);
    const { start, end } = lineRangeOffsets(text, Number(m[1]), Number(m[2] ?? m[1]));
    if (values.instruction !== undefined && !denoiser.capabilities.instruction) {
      throw new UsageError(
        `the ${denoiser.kind} backend cannot follow an instruction: use --backend mercury or openai, or leave out --instruction`,
      );
    }
    await denoiser.start();
    result = await denoiser.refine(
      {
        text,
        start,
        end,
        strength: num(values.strength, 'strength'),
        instruction: values.instruction,
        file: { path: path.basename(file), language: languageOf(file) },
        sampler,
        context,
      },
      { onProgress },
    );
  } else {
    if (!values.at) throw new UsageError('diffuse fill needs --at LINE:COL');
    const m = /^(\d+):(\d+)$/.exec(values.at);
    if (!m) throw new UsageError(`--at must look like 12:5, got "${values.at}"`);
    const at = positionOffset(text, Number(m[1]), Number(m[2]));
    await denoiser.start();
    result = await denoiser.fill(
      { text, cursors: [at], maxTokens: num(values['max-tokens'], 'max-tokens'), sampler, context },
      { onProgress },
    );
  }
  const updated = applyEdits(text, result.edits);
  const below = result.belowOriginal;
  if (below && !values['show-anyway'])
    process.stderr.write(
      `the model's rewrite scores below your code (${below.proposal.toFixed(2)} against ${below.original.toFixed(2)}, ` +
        'mean log-probability a token): no diff; --show-anyway prints it\n',
    );
  // Refine below strength 1 corrects: correct code comes back as it was.
  else if (updated === text) process.stderr.write('no change the model is sure of\n');
  else process.stdout.write(createTwoFilesPatch(file, file + ' (diffuse)', text, updated, '', '', { context: 3 }));
  process.stderr.write(
    denoiser.kind === 'local' || denoiser.kind === 'diffuse'
      ? `${result.steps}${result.stepBudget ? ` of ${result.stepBudget} budgeted` : ''} model calls, ${result.ms} ms, ${result.canvasTokens}-token canvas\n`
      : `${denoiser.kind}: ${result.steps} frame${result.steps === 1 ? '' : 's'}, ${result.ms} ms\n`,
  );
  return 0;
}

/** `diffuse next-edit`: the edit that follows `--before` → `--after`, as a diff against `--after`. */
async function nextEdit(denoiser: Backend, values: Values): Promise<number> {
  if (!values.before || !values.after) throw new UsageError('diffuse next-edit needs --before FILE and --after FILE');
  const before = readSource(values.before);
  const text = readSource(values.after);
  let cursor = textChange(before, text)?.afterEnd ?? 0;
  if (values.cursor !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(values.cursor);
    if (!m) throw new UsageError(`--cursor must look like 12:5, got "${values.cursor}"`);
    cursor = positionOffset(text, Number(m[1]), Number(m[2]));
  }
  const name = path.basename(values.after);
  await denoiser.start();
  // after start: a diffuse server says what it can do when it is reached
  if (!denoiser.nextEdit || !denoiser.capabilities.nextEdit)
    throw new UsageError(
      `the ${denoiser.kind} backend cannot propose next edits: use --backend local, mercury or diffuse`,
    );
  const result = await denoiser.nextEdit!({
    before,
    text,
    cursor,
    file: { path: name, language: languageOf(values.after) },
    history: [unifiedDiff(name, before, text)],
  });
  const updated = applyEdits(text, result.edits);
  if (updated === text) process.stdout.write("no next edit: nothing in the edit's neighbourhood needs changing\n");
  else
    process.stdout.write(
      createTwoFilesPatch(values.after, values.after + ' (next edit)', text, updated, '', '', { context: 3 }),
    );
  process.stderr.write(
    `${denoiser.kind}: ${result.steps} model call${result.steps === 1 ? '' : 's'}, ${result.ms} ms\n`,
  );
  return 0;
}

/**
 * `diffuse repair`: a fix that passes `--check`, as a diff against FILE on stdout; one summary line
 * on stderr. Exit 0 fixed, 1 no fix found, 3 the check already passes, 2 the check cannot run.
 */
async function repairCommand(backend: Backend, file: string | undefined, values: Values): Promise<number> {
  if (!file) throw new UsageError('diffuse repair needs a FILE');
  if (!values.check) throw new UsageError('diffuse repair needs --check "CMD" (the test or compiler that must pass)');
  const text = readSource(file);
  const root = path.resolve(values.root ?? gitRoot(path.dirname(path.resolve(file))));
  const relPath = path.relative(root, path.resolve(file));
  if (relPath.startsWith('..') || path.isAbsolute(relPath))
    throw new UsageError(`${file} is not inside --root ${root}`);
  let lines: { first: number; last: number } | undefined;
  if (values.lines) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(values.lines);
    if (!m) throw new UsageError(`--lines must look like 10-20, got "${values.lines}"`);
    lines = { first: Number(m[1]), last: Number(m[2] ?? m[1]) };
  }
  const report = await repairFile({
    backend,
    root,
    relPath,
    text,
    language: languageOf(file),
    command: values.check,
    lines,
    maxChecks: num(values['max-checks'], 'max-checks') ?? REPAIR_DEFAULTS.maxChecks,
    timeoutMs: num(values['timeout-ms'], 'timeout-ms') ?? REPAIR_DEFAULTS.timeoutMs,
    checkTimeoutMs: num(values['check-timeout-ms'], 'check-timeout-ms') ?? REPAIR_DEFAULTS.checkTimeoutMs,
    // the model's threads propose and score; the other cores run checks
    parallel: Math.max(1, Math.min(4, os.availableParallelism() - (num(values.threads, 'threads') ?? 1))),
    onEvent: values.progress ? (e) => process.stderr.write(`${JSON.stringify(e)}\n`) : undefined,
  }).catch((e: unknown) => {
    if (e instanceof ScratchCopyError || e instanceof CheckSetupError) throw new UsageError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UsageError(`the check cannot run: ${(e as Error).message}`);
    throw e;
  });
  process.stderr.write(`${repairSummary(report)}\n`);
  if (report.status === 'passes') return 3;
  if (report.status === 'no-fix' || !report.fix) return 1;
  process.stdout.write(createTwoFilesPatch(file, `${file} (repaired)`, text, report.fix.text, '', '', { context: 3 }));
  return 0;
}

/** What `diffuse serve` serves: one local worker, or `--workers N` of them behind one queue. */
function servedBackend(source: BackendSource, hooks: BackendHooks, values: Values): Backend {
  const n = num(values.workers, 'workers') ?? 1;
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--workers must be a whole number from 1, got "${values.workers}"`);
  return n === 1
    ? createBackend(source, hooks)
    : new BackendPool(Array.from({ length: n }, () => createBackend(source, hooks)));
}

async function serveUntilStopped(denoiser: Backend, values: Values): Promise<number> {
  const port = num(values.port, 'port') ?? DEFAULT_PORT;
  const running = await startServer({
    denoiser,
    host: values.host ?? '127.0.0.1',
    port,
    token: values.token ?? process.env.DIFFUSE_API_KEY ?? undefined,
    log: (l) => process.stderr.write(l + '\n'),
  }).catch((e: unknown) => {
    if (e instanceof BackendError && e.code === 'input') throw new UsageError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new UsageError(`port ${port} is in use: give another with --port`);
    throw e;
  });
  process.stdout.write(`diffuse serve: listening on ${running.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
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

/** A language name for a remote model's prompt, from the file's extension. */
function languageOf(file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  const names: Record<string, string> = {
    ts: 'typescript',
    tsx: 'typescriptreact',
    js: 'javascript',
    jsx: 'javascriptreact',
    mjs: 'javascript',
    py: 'python',
    rs: 'rust',
    go: 'go',
    c: 'c',
    h: 'c',
    cc: 'cpp',
    cpp: 'cpp',
    hpp: 'cpp',
    java: 'java',
    sh: 'shellscript',
    md: 'markdown',
  };
  return names[ext] ?? (ext || 'plaintext');
}

function printProgress(p: ProgressParams): void {
  const body = p.spans.map((s) => s.text).join('\n──── next span ────\n');
  const masked = p.spans.reduce((n, s) => n + s.masked, 0);
  process.stderr.write(
    `\n── ${stepLabel(p.step, p.maxSteps, p.unit)}${masked ? ` (${masked} masked)` : ''} ──\n${body}\n`,
  );
}

/** `diffuse complete`: one JSON request per stdin line, one JSON answer per line, in order. */
async function completeLines(denoiser: Backend, { sampler, context }: RequestSettings): Promise<number> {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let id: unknown = null;
    try {
      const req = JSON.parse(line) as { id?: unknown; prefix?: unknown; suffix?: unknown; maxTokens?: unknown };
      id = req.id ?? null;
      if (typeof req.prefix !== 'string' || typeof (req.suffix ?? '') !== 'string')
        throw new UsageError('"prefix" and "suffix" must be strings');
      if (req.maxTokens !== undefined && typeof req.maxTokens !== 'number')
        throw new UsageError('"maxTokens" must be a number');
      const r = await denoiser.complete({
        prefix: req.prefix,
        suffix: (req.suffix as string | undefined) ?? '',
        maxTokens: req.maxTokens as number | undefined,
        sampler,
        context,
      });
      const confidence = denoiser.capabilities.confidence ? Math.round(r.edits[0].confidence * 1000) / 1000 : null;
      process.stdout.write(
        JSON.stringify({ id, completion: r.edits[0].text, confidence, steps: r.steps, ms: r.ms }) + '\n',
      );
    } catch (e) {
      const message =
        e instanceof SyntaxError ? `invalid JSON: ${e.message}` : e instanceof Error ? e.message : String(e);
      process.stdout.write(JSON.stringify({ id, error: message }) + '\n');
      if (e instanceof BackendError && (e.code === 'model' || e.code === 'auth' || e.code === 'quota')) return 1;
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message =
      e instanceof UsageError || e instanceof BackendError || e instanceof RangeError
        ? e.message
        : e instanceof Error
          ? e.stack
          : String(e);
    process.stderr.write(`diffuse: ${message}\n${e instanceof UsageError && e.withUsage ? `${USAGE}\n` : ''}`);
    process.exit(e instanceof UsageError || e instanceof RangeError ? 2 : 1);
  },
);
