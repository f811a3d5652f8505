// Packs work/data for the lent GPU machine (the library behind training/pack-gpu.mjs, which says why).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const MiB = 1 << 20;

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function xz(buf, preset) {
  const r = spawnSync('xz', [`-${preset}`, '-T2', '-c'], { input: buf, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
  return r.stdout;
}

export function packGpu({ work, out, callMiB, pieceMiB, preset = '6', log = console.log }) {
  const dataDir = path.join(work, 'data');
  const meta = JSON.parse(fs.readFileSync(path.join(dataDir, 'meta.json'), 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const callBytes = callMiB * MiB;
  const calls = [];
  const newCall = () => {
    const folder = `call-${String(calls.length + 1).padStart(2, '0')}`;
    fs.mkdirSync(path.join(out, folder));
    calls.push({ folder, bytes: 0, files: [] });
    return calls[calls.length - 1];
  };
  const place = (name, buf, extra = {}) => {
    let call = calls[calls.length - 1];
    if (!call || call.bytes + buf.length > callBytes) call = newCall();
    if (buf.length > callBytes) throw new Error(`${name}: ${buf.length} bytes is over one call's ${callBytes}`);
    fs.writeFileSync(path.join(out, call.folder, name), buf);
    call.bytes += buf.length;
    call.files.push(name);
    return { file: `${call.folder}/${name}`, bytes: buf.length, sha256: sha256(buf), ...extra };
  };
  const t0 = Date.now();
  // the small files first, so call-01 alone lets a run check the tokenizer and held-out data
  const small = {};
  for (const f of ['meta.json', 'tokenizer.json', 'tokenizer_config.json']) small[f] = place(f, fs.readFileSync(path.join(dataDir, f)));
  const held = fs.readFileSync(path.join(dataDir, 'heldout.bin'));
  const heldout = place('heldout.bin.xz', xz(held, preset), { raw_bytes: held.length, raw_sha256: sha256(held) });
  const trainFile = path.join(dataDir, 'train.bin');
  const total = fs.statSync(trainFile).size;
  const pieceBytes = 2 * Math.floor((pieceMiB * MiB) / 2); // even, so no token is cut in two
  const fd = fs.openSync(trainFile, 'r');
  const pieces = [];
  for (let off = 0; off < total; off += pieceBytes) {
    const raw = Buffer.alloc(Math.min(pieceBytes, total - off));
    fs.readSync(fd, raw, 0, raw.length, off);
    const name = `train-${String(pieces.length).padStart(3, '0')}.bin.xz`;
    const packed = xz(raw, preset);
    pieces.push(place(name, packed, { offset: off, raw_bytes: raw.length, raw_sha256: sha256(raw) }));
    log(`pack-gpu: ${name}: ${(raw.length / MiB).toFixed(0)} MiB -> ${(packed.length / MiB).toFixed(1)} MiB`);
  }
  fs.closeSync(fd);
  const manifest = {
    format: 1,
    built: new Date().toISOString(),
    compressor: `xz -${preset}`,
    train: { bytes: total, tokens: total / 2, sha256: meta.sha256?.train ?? null, pieces },
    heldout,
    small,
    calls: calls.map((c) => ({ folder: c.folder, bytes: c.bytes, files: c.files })),
    compressed_bytes: calls.reduce((n, c) => n + c.bytes, 0),
    seconds: (Date.now() - t0) / 1000,
    unpack: 'python3 training/gpu_data.py unpack .gpu training/work/data',
  };
  const text = JSON.stringify(manifest, null, 1);
  fs.writeFileSync(path.join(out, 'manifest.json'), text);
  fs.writeFileSync(path.join(out, calls[0].folder, 'manifest.json'), text);
  log(`pack-gpu: ${(total / MiB).toFixed(0)} MiB of token ids -> ${(manifest.compressed_bytes / MiB).toFixed(1)} MiB in ${calls.length} call folders (${manifest.seconds.toFixed(0)} s)`);
  return manifest;
}
