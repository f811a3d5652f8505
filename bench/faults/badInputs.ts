// The bad_inputs figures of `npm run reliability`: malformed model folders (each loaded by a fresh
// client and worker), malformed or awkward requests (sent to a healthy worker) and files the CLI
// must refuse. Every case must end, within HANG_MS, in either a refusal whose cause is one line or
// an answer whose edits lie inside the text; anything else is counted against the goal.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHIPPED_MODEL } from '../../src/core/defaults';
import { LocalBackend } from '../../src/backend/local/localBackend';
import { BackendError } from '../../src/backend/backend';
import type { DenoiseResult } from '../../src/backend/requests';
import { ROOT } from '../shared/cases';

const HANG_MS = 30_000;
const MODEL = path.join(ROOT, 'models', SHIPPED_MODEL);
const WORKER = path.join(ROOT, 'dist', 'worker.js');

export interface CaseResult {
  name: string;
  outcome: 'refused' | 'answered' | 'hang' | 'wrong';
  /** The cause given for a refusal, or what was wrong. */
  message: string;
  ms: number;
}

export interface BadInputFigures {
  cases: number;
  /** Refusals with a one-line cause (a model, input or usage error, not an internal one). */
  one_line_causes: number;
  /** Awkward but valid inputs answered with edits inside the text. */
  answered: number;
  hangs: number;
  /** Uncaught exceptions or unhandled rejections in the client's process (the extension host's role). */
  host_crashes: number;
  /** Cases that neither refused with a one-line cause nor answered properly. */
  wrong: number;
  details: CaseResult[];
}

type Outcome = Omit<CaseResult, 'name' | 'ms'>;
type Case = { name: string; run: () => Promise<Outcome> };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'hang'> {
  return Promise.race([p, new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), ms).unref())]);
}

function oneLine(message: string): boolean {
  return message.trim().length > 0 && !message.trim().includes('\n');
}

function judgeError(e: unknown): Outcome {
  if (e instanceof BackendError && (e.code === 'model' || e.code === 'input') && oneLine(e.message))
    return { outcome: 'refused', message: e.message };
  const message = e instanceof Error ? `${e instanceof BackendError ? e.code : e.name}: ${e.message}` : String(e);
  return { outcome: 'wrong', message };
}

function judgeAnswer(text: string, r: DenoiseResult): Outcome {
  const bad = r.edits.find(
    (e) => !(e.start >= 0 && e.start <= e.end && e.end <= text.length && typeof e.text === 'string'),
  );
  if (bad)
    return { outcome: 'wrong', message: `edit ${bad.start}-${bad.end} outside the ${text.length}-character text` };
  return { outcome: 'answered', message: `${r.edits.length} edit(s), ${r.steps} model calls` };
}

/** A copy of the shipped model folder changed by `edit`. */
function folder(edit: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-bad-model-'));
  for (const f of fs.readdirSync(MODEL)) fs.copyFileSync(path.join(MODEL, f), path.join(dir, f));
  edit(dir);
  return dir;
}

function editJson(dir: string, file: string, change: (j: Record<string, any>) => void): void {
  const p = path.join(dir, file);
  const j = JSON.parse(fs.readFileSync(p, 'utf8'));
  change(j);
  fs.writeFileSync(p, JSON.stringify(j));
}

/** Deterministic bytes (the figures must not depend on the run). */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function tinyGraph(kind: string): string | undefined {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-bad-graphs-'));
  try {
    const vocab = String(JSON.parse(fs.readFileSync(path.join(MODEL, 'denoiser.json'), 'utf8')).vocab_size);
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test', 'fixtures', 'tiny_onnx_models.py'), out, vocab], {
      stdio: 'ignore',
    });
    return path.join(out, `${kind}.onnx`);
  } catch {
    return undefined;
  }
}

async function loadCase(dir: string): Promise<Outcome> {
  const c = new LocalBackend({ workerPath: WORKER, modelDir: dir, threads: 1 });
  try {
    const r = await withTimeout(c.start(), HANG_MS);
    if (r === 'hang') return { outcome: 'hang', message: `no answer to the load in ${HANG_MS} ms` };
    return { outcome: 'wrong', message: 'the broken folder loaded' };
  } catch (e) {
    return judgeError(e);
  } finally {
    c.dispose();
  }
}

function cli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'diffuse.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function cliCase(args: string[], expectRefusal: boolean): Promise<Outcome> {
  const r = await withTimeout(cli(args), HANG_MS);
  if (r === 'hang') return { outcome: 'hang', message: `the CLI did not exit in ${HANG_MS} ms` };
  const lines = r.stderr.trim().split('\n');
  if (expectRefusal) {
    if ((r.code === 1 || r.code === 2) && /^diffuse: /.test(lines[0]) && !/\n\s+at /.test(r.stderr))
      return { outcome: 'refused', message: lines[0] };
    return { outcome: 'wrong', message: `exit ${r.code}: ${r.stderr.slice(0, 200)}` };
  }
  return r.code === 0
    ? { outcome: 'answered', message: lines[lines.length - 1] }
    : { outcome: 'wrong', message: `exit ${r.code}: ${lines[0]}` };
}

export async function runBadInputs(client: LocalBackend, hostCrashes: () => number): Promise<BadInputFigures> {
  const crashesBefore = hostCrashes();
  const float16 = tinyGraph('float16');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-bad-files-'));
  const file = (name: string, content: string | Buffer): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const cases = [...modelFolderCases(tmp, file, float16), ...requestCases(client), ...cliCases(file)];
  const details = await runCases(cases);
  fs.rmSync(tmp, { recursive: true, force: true });
  return {
    cases: details.length,
    one_line_causes: details.filter((d) => d.outcome === 'refused').length,
    answered: details.filter((d) => d.outcome === 'answered').length,
    hangs: details.filter((d) => d.outcome === 'hang').length,
    host_crashes: hostCrashes() - crashesBefore,
    wrong: details.filter((d) => d.outcome === 'wrong').length,
    details,
  };
}

/** Runs the cases one after the other, each timed, with the run's temporary folder names blanked. */
async function runCases(cases: Case[]): Promise<CaseResult[]> {
  const details: CaseResult[] = [];
  for (const c of cases) {
    const t0 = Date.now();
    const r = await c.run();
    // temporary folder names differ per run; the figures file should not
    const message = r.message
      .split(os.tmpdir())
      .join('$TMP')
      .replace(/\$TMP\/diffuse-bad-[\w-]+/g, '$TMP/…');
    details.push({ name: c.name, ...r, message, ms: Date.now() - t0 });
  }
  return details;
}

/** Broken model folders, each loaded by a fresh client and worker (`float16`: a graph with float16 logits, if Python could make one). */
function modelFolderCases(
  tmp: string,
  file: (name: string, content: string) => string,
  float16: string | undefined,
): Case[] {
  return [
    { name: 'model folder that does not exist', run: () => loadCase(path.join(tmp, 'no-such-model')) },
    { name: 'model folder that is a file', run: () => loadCase(file('model-as-file', 'x')) },
    { name: 'model.onnx missing', run: () => loadCase(folder((d) => fs.rmSync(path.join(d, 'model.onnx')))) },
    { name: 'tokenizer.json missing', run: () => loadCase(folder((d) => fs.rmSync(path.join(d, 'tokenizer.json')))) },
    { name: 'denoiser.json missing', run: () => loadCase(folder((d) => fs.rmSync(path.join(d, 'denoiser.json')))) },
    {
      name: 'model.onnx truncated to half',
      run: () =>
        loadCase(
          folder((d) => {
            const b = fs.readFileSync(path.join(d, 'model.onnx'));
            fs.writeFileSync(path.join(d, 'model.onnx'), b.subarray(0, b.length >> 1));
          }),
        ),
    },
    {
      name: 'model.onnx of random bytes (1 MB)',
      run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'model.onnx'), bytes(1 << 20, 7)))),
    },
    { name: 'model.onnx empty', run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'model.onnx'), ''))) },
    {
      name: 'model.onnx is a folder',
      run: () =>
        loadCase(
          folder((d) => {
            fs.rmSync(path.join(d, 'model.onnx'));
            fs.mkdirSync(path.join(d, 'model.onnx'));
          }),
        ),
    },
    ...(float16
      ? [
          {
            name: 'model.onnx with float16 logits',
            run: () =>
              loadCase(
                folder((d) => {
                  fs.copyFileSync(float16, path.join(d, 'model.onnx'));
                  editJson(d, 'denoiser.json', (j) => {
                    j.context_length = 256;
                  });
                }),
              ),
          },
        ]
      : []),
    {
      name: 'tokenizer of another vocabulary (8000 tokens)',
      run: () =>
        loadCase(
          folder((d) =>
            editJson(d, 'tokenizer.json', (j) => {
              for (const [k, v] of Object.entries(j.model.vocab as Record<string, number>))
                if (v >= 8000) delete j.model.vocab[k];
              j.model.merges = (j.model.merges as (string | string[])[]).filter((m) => {
                const [a, b] = Array.isArray(m) ? m : m.split(' ');
                return a + b in j.model.vocab;
              });
            }),
          ),
        ),
    },
    {
      name: 'tokenizer.json not JSON',
      run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'tokenizer.json'), '{"model": {'))),
    },
    {
      name: 'tokenizer.json without a model section',
      run: () => loadCase(folder((d) => editJson(d, 'tokenizer.json', (j) => delete j.model))),
    },
    {
      name: 'denoiser.json not JSON',
      run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'denoiser.json'), '{ "contract": 1,'))),
    },
    {
      name: 'denoiser.json empty',
      run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'denoiser.json'), ''))),
    },
    {
      name: 'denoiser.json binary (random bytes)',
      run: () => loadCase(folder((d) => fs.writeFileSync(path.join(d, 'denoiser.json'), bytes(4096, 11)))),
    },
    {
      name: 'denoiser.json of 10 MB',
      run: () =>
        loadCase(
          folder((d) =>
            fs.writeFileSync(path.join(d, 'denoiser.json'), `{"contract": 1, "pad": "${'x'.repeat(10 << 20)}"}`),
          ),
        ),
    },
    {
      name: 'denoiser.json with NUL bytes',
      run: () =>
        loadCase(
          folder((d) =>
            fs.writeFileSync(
              path.join(d, 'denoiser.json'),
              Buffer.concat([Buffer.from('{"contract":'), Buffer.alloc(16), Buffer.from('1}')]),
            ),
          ),
        ),
    },
    {
      name: 'context_length as a string',
      run: () => loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.context_length = '256')))),
    },
    {
      name: 'context_length beyond the trained window',
      run: () => loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.context_length = 4096)))),
    },
    {
      name: 'special tokens sharing an id',
      run: () =>
        loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.special_tokens.eos = j.special_tokens.bos)))),
    },
    {
      name: 'vocab_size differing from the tokenizer',
      run: () => loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.vocab_size = 9000)))),
    },
    {
      name: 'input name the graph lacks',
      run: () => loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.inputs.ids = 'tokens')))),
    },
    {
      name: 'contract version 99',
      run: () => loadCase(folder((d) => editJson(d, 'denoiser.json', (j) => (j.contract = 99)))),
    },
  ];
}

/** Malformed or awkward requests to a healthy worker. */
function requestCases(client: LocalBackend): Case[] {
  const code = 'export function area(w: number, h: number): number {\n  const a = w * h;\n  return a;\n}\n';
  const span = (text: string, marker: string) => ({
    start: text.indexOf(marker),
    end: text.indexOf(marker) + marker.length,
  });
  const request = async (text: string, ask: (c: LocalBackend) => Promise<DenoiseResult>): Promise<Outcome> => {
    try {
      const r = await withTimeout(ask(client), HANG_MS);
      return r === 'hang' ? { outcome: 'hang', message: `no answer in ${HANG_MS} ms` } : judgeAnswer(text, r);
    } catch (e) {
      return judgeError(e);
    }
  };
  const refine = (text: string, start: number, end: number, extra: object = {}) =>
    request(text, (c) => c.refine({ text, start, end, strength: 1, sampler: { steps: 8 }, ...extra }));
  return [
    { name: 'selection outside the text', run: () => refine(code, 10, code.length + 50) },
    { name: 'empty selection', run: () => refine(code, 5, 5) },
    { name: 'strength 5', run: () => refine(code, 0, 20, { strength: 5 }) },
    {
      name: 'threshold NaN',
      run: () => request(code, (c) => c.complete({ prefix: 'a', suffix: 'b', sampler: { threshold: Number.NaN } })),
    },
    { name: 'no cursor to fill', run: () => request(code, (c) => c.fill({ text: code, cursors: [] })) },
    {
      name: 'NUL bytes inside the span',
      run: () => {
        const t = code.replace('w * h', 'w \0\0 h');
        return refine(t, t.indexOf('  const'), t.indexOf('  return'));
      },
    },
    {
      name: 'lone surrogates inside the span',
      run: () => {
        const t = code.replace('w * h', 'w \ud800 h \udc00');
        return refine(t, t.indexOf('  const'), t.indexOf('  return'));
      },
    },
    {
      name: 'emoji inside the span',
      run: () => {
        const t = code.replace('w * h', 'w * h // 📐 área 🧮');
        return refine(t, t.indexOf('  const'), t.indexOf('  return'));
      },
    },
    {
      name: 'CRLF text',
      run: () => {
        const t = code.replace(/\n/g, '\r\n');
        return refine(t, span(t, '  const a = w * h;\r\n').start, span(t, '  const a = w * h;\r\n').end);
      },
    },
    {
      name: 'a 200,000-character line',
      run: () => {
        const t = `const data = [${'1, '.repeat(66_000)}];\n`;
        return refine(t, 100_000, 100_040);
      },
    },
    { name: 'empty text, fill at 0', run: () => request('', (c) => c.fill({ text: '', cursors: [0], maxTokens: 8 })) },
    {
      name: '10 MB text, refine a line in the middle',
      run: () => {
        const t = 'let x = compute(1);\n'.repeat(500_000);
        return refine(t, 5_000_000, 5_000_020);
      },
    },
    {
      name: 'binary content (random bytes as text)',
      run: () => {
        const t = bytes(4096, 3).toString('latin1');
        return refine(t, 1000, 1100);
      },
    },
    {
      name: 'maxTokens 100000',
      run: () =>
        request(code, (c) =>
          c.complete({ prefix: 'let a = ', suffix: ';\n', maxTokens: 100_000, sampler: { steps: 4 } }),
        ),
    },
  ];
}

/** Files the CLI must refuse, and one large file it must answer. */
function cliCases(file: (name: string, content: string | Buffer) => string): Case[] {
  return [
    {
      name: 'CLI: a non-UTF-8 file',
      run: () =>
        cliCase(['refine', file('latin1.ts', Buffer.from('const caf\xe9 = 1;\n', 'latin1')), '--lines', '1-1'], true),
    },
    {
      name: 'CLI: a binary file',
      run: () => cliCase(['refine', file('blob.bin', bytes(65536, 5)), '--lines', '1-1'], true),
    },
    { name: 'CLI: an empty file', run: () => cliCase(['refine', file('empty.ts', ''), '--lines', '1-1'], true) },
    {
      name: 'CLI: a 10 MB file',
      run: () =>
        cliCase(
          [
            'refine',
            file('big.ts', 'let x = compute(1);\n'.repeat(500_000)),
            '--lines',
            '250000-250001',
            '--steps',
            '4',
          ],
          false,
        ),
    },
  ];
}
