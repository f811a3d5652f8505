#!/usr/bin/env node
// Runs one ONNX graph once with onnxruntime-node, the runtime the extension uses, for the
// conversion check of training/convert.py (the Python side has no onnxruntime).
//
//   node training/onnx-run.mjs REQUEST.json OUT.bin
//
// REQUEST.json: {"model": PATH, "threads": N, "feeds": {NAME: {"type": "int64"|"float32",
// "dims": [...], "data": [...]}}, "outputs": [NAME, ...]}. OUT.bin: the outputs' float32 data,
// one after another in the order asked; OUT.bin.json: their dims.
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const [reqPath, outPath] = process.argv.slice(2);
if (!reqPath || !outPath) {
  console.error('usage: node training/onnx-run.mjs REQUEST.json OUT.bin');
  process.exit(2);
}
const req = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
const session = await ort.InferenceSession.create(req.model, {
  intraOpNumThreads: req.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
});
const feeds = {};
for (const [name, f] of Object.entries(req.feeds)) {
  const data = f.type === 'int64' ? BigInt64Array.from(f.data, (v) => BigInt(v)) : Float32Array.from(f.data);
  feeds[name] = new ort.Tensor(f.type, data, f.dims);
}
const out = await session.run(feeds, req.outputs);
const parts = req.outputs.map((name) => {
  const t = out[name];
  if (t.type !== 'float32') throw new Error(`${name} is ${t.type}, not float32`);
  return t;
});
fs.writeFileSync(outPath, Buffer.concat(parts.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))));
fs.writeFileSync(outPath + '.json', JSON.stringify(parts.map((t) => t.dims)));
