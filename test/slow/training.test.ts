// The slow part of the training pipeline's tests (`npm run test:training`, part of `npm test`):
// the Python unit tests (loss goes down, resume is bit-exact, the loss against F.cross_entropy,
// editor-position spans, export round-trips) and the GPU run of training/device-train.sh played
// on the CPU with a tiny model: probe, train, export, parts within the device's limits, then
// device-unpack.sh puts them back together and the extension's own CLI answers with the result.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { MODEL_DIR, ROOT } from '../helpers';

const PYTHON = '/usr/bin/python3';
const env = { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '2' };

describe('training pipeline (slow)', () => {
  test('Python unit tests pass (loss goes down, resume is bit-exact, export round-trips)', () => {
    const r = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'training/tests', '-v'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15 * 60_000,
      env,
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /\nOK/);
  });

  /** Token files as the corpus writes them (bos … eos per file), from this repo's own sources. */
  async function writeData(dir: string): Promise<void> {
    const tok = RustTokenizer.fromFile(path.join(MODEL_DIR, 'tokenizer.json'));
    // the sampler's sources (src/core is in sub-folders by idea; all of it is 0.1 M tokens)
    const sampler = path.join(ROOT, 'src', 'core', 'sampler');
    const files = fs
      .readdirSync(sampler)
      .filter((f) => f.endsWith('.ts'))
      .sort()
      .map((f) => path.join(sampler, f));
    const encode = async (list: string[]): Promise<Buffer> => {
      const ids: number[] = [];
      for (const f of list) ids.push(2, ...(await tok.encode(fs.readFileSync(f, 'utf8'))).getIds(), 3);
      return Buffer.from(Uint16Array.from(ids).buffer);
    };
    fs.mkdirSync(dir, { recursive: true });
    const train = await encode(files.slice(2));
    const heldout = await encode(files.slice(0, 2));
    fs.writeFileSync(path.join(dir, 'train.bin'), train);
    fs.writeFileSync(path.join(dir, 'heldout.bin'), heldout);
    const vocab = JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'tokenizer.json'), 'utf8')).model.vocab as Record<
      string,
      number
    >;
    const ids = (re: RegExp) =>
      Object.entries(vocab)
        .filter(([t]) => re.test(t))
        .map(([, i]) => i)
        .sort((a, b) => a - b);
    fs.writeFileSync(
      path.join(dir, 'meta.json'),
      JSON.stringify({
        vocab_size: Object.keys(vocab).length,
        special: { pad: 0, mask: 1, bos: 2, eos: 3 },
        newline_token_ids: ids(/Ċ/),
        indent_token_ids: ids(/^[Ġĉ]+$/),
        tokens: { train: train.length / 2, heldout: heldout.length / 2 },
        tokens_by_lang: { train: { typescript: { tokens: train.length / 2 } } },
      }),
    );
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      fs.copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
  }

  test('the GPU run, played on the CPU with a tiny model, returns a model the extension loads', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-device-'));
    const work = path.join(tmp, 'work');
    await writeData(path.join(work, 'data'));
    const deviceEnv = {
      ...env,
      PYTHON,
      DIFFUSE_WORK: work,
      DIFFUSE_GPU_DIR: path.join(tmp, 'no-gpu-dir'),
      DIFFUSE_TRAIN_ARGS: '--n-layer 2 --d-model 64 --n-head 2 --seq-len 128 --batch-size 8 --workers 1 --threads 1',
      DIFFUSE_PART_BYTES: '300k', // a tiny model must still come back in several parts
      DIFFUSE_EXPORT_RESERVE_S: '20',
    };
    const device = (out: string, steps: string[]) => {
      fs.mkdirSync(out, { recursive: true });
      const r = spawnSync('bash', ['training/device-train.sh', ...steps], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 5 * 60_000,
        env: { ...deviceEnv, OUT: out },
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };

    // the first call: receive and probe (a few compiled steps on the GPU; eager here)
    const probeOut = path.join(tmp, 'out-probe');
    assert.match(device(probeOut, ['receive', 'probe']), /probe: exit 0/);
    const probeLog = fs.readFileSync(path.join(probeOut, 'probe.log'), 'utf8');
    assert.match(probeLog, /step 30 .* tok\/s/);
    assert.match(probeLog, /profile of steps 11-15 \(5 steps, [\d.]+ ms a step wall.*\n\| operator \| ms a step/);

    // the training call: trains, exports, splits
    const out = path.join(tmp, 'out-train');
    const log = device(out, ['receive', 'train', '200', '--max-steps', '30', '--log-every', '10']);
    assert.match(log, /stopped \(limit reached\) at step 30/);
    const files = fs.readdirSync(out);
    const parts = files.filter((f) => f.startsWith('model.onnx.part-'));
    assert.ok(parts.length >= 2, files.join(' '));
    assert.ok(files.includes('run.tar.gz') && files.includes('train.log'), files.join(' '));
    // what the device gives back: at most 8 files of at most 16 MiB, plain names
    assert.ok(files.length <= 8, files.join(' '));
    for (const f of files) {
      assert.match(f, /^[A-Za-z0-9._-]+$/);
      assert.ok(fs.statSync(path.join(out, f)).size <= 16 * 2 ** 20, f);
    }
    assert.match(fs.readFileSync(path.join(out, 'train.log'), 'utf8'), /step 30 tokens .* tok\/s/);

    // back here: reassembled, checked against the SHA-256 taken there, loaded by the CLI
    const model = path.join(tmp, 'model');
    const r = spawnSync('bash', ['training/device-unpack.sh', out, model], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 2 * 60_000,
      env: { ...env, DIFFUSE_WORK: work },
    });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /model\.onnx: OK/);
    const answer = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      id: number;
      completion?: string;
      error?: string;
    };
    assert.equal(answer.error, undefined);
    assert.equal(typeof answer.completion, 'string');
    const info = JSON.parse(fs.readFileSync(path.join(model, 'denoiser.json'), 'utf8'));
    assert.equal(info.name, 'model'); // its folder's name here, not the device's working folder
    assert.equal(info.context_length, 128);
    assert.equal(info.trained_context_length, 128);
    assert.equal(info.training.steps, 30);
    // the run's speed travels with the model, for its card
    assert.ok(info.training.throughput.tokens_per_s > 0);
    assert.match(info.training.throughput.device, /CPU/);
    const card = fs.readFileSync(path.join(model, 'MODEL_CARD.md'), 'utf8');
    assert.match(card, /\| tokens trained \| 0\.0 M in 30 steps of 8 × 128 tokens \|/);
    assert.match(card, /\| throughput \| 0\.\d\d M tokens\/s .*CPU/);
    assert.match(card, /\| training data \| 0\.0 M tokens \(\+ 0\.0 M held out\): typescript 100\.0 % \|/);
    const curve = JSON.parse(fs.readFileSync(path.join(model, 'training-curve.json'), 'utf8')) as {
      tokens_seen: number;
    }[];
    assert.equal(curve[curve.length - 1].tokens_seen, 30 * 8 * 128);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
