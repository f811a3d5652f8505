// Opens every VSIX `npm run package` built (out/vsix/) and checks what it carries: the bundles, the
// model, onnxruntime-node's JavaScript and exactly its own platform's native binaries, the licence,
// and nothing of the sources. Run by `node scripts/vscode-test/test.mjs vsix` after packaging:
//   node --test test/package/vsixContents.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

/** The native files each platform needs (onnxruntime-node 1.30: the binding and the runtime it loads). */
const NATIVE = {
  'darwin-arm64': ['libonnxruntime.1.dylib', 'onnxruntime_binding.node'],
  'linux-arm64': ['libonnxruntime.so.1', 'onnxruntime_binding.node'],
  'linux-x64': ['libonnxruntime.so.1', 'onnxruntime_binding.node'],
  'win32-arm64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'],
  'win32-x64': ['DirectML.dll', 'dxcompiler.dll', 'dxil.dll', 'onnxruntime.dll', 'onnxruntime_binding.node'],
};

const REQUIRED = [
  'extension/package.json', 'extension/readme.md', 'extension/changelog.md', 'extension/LICENSE.txt', 'extension/media/icon.png',
  'extension/dist/extension.js', 'extension/dist/worker.js',
  ...['denoiser.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'MODEL_CARD.md'].map((f) => `extension/models/diffuse-v2/${f}`),
  'extension/node_modules/onnxruntime-node/package.json', 'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-common/package.json', 'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  // {"type": "commonjs"}: without it Node would load dist/cjs as ES modules (the package says "module")
  'extension/node_modules/onnxruntime-common/dist/cjs/package.json',
];

/** A zip's entries from its central directory: name, method, sizes and where its data starts. */
function readZip(file) {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, `${file} is not a zip (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, `${file}: central directory entry ${i} is damaged`);
    const nameLen = buf.readUInt16LE(at + 28);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    entries.set(name, {
      method: buf.readUInt16LE(at + 10), compressed: buf.readUInt32LE(at + 20), size: buf.readUInt32LE(at + 24), local: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  const read = (name) => {
    const e = entries.get(name);
    assert.ok(e, `${file} has no ${name}`);
    const start = e.local + 30 + buf.readUInt16LE(e.local + 26) + buf.readUInt16LE(e.local + 28);
    const raw = buf.subarray(start, start + e.compressed);
    const data = e.method === 8 ? zlib.inflateRawSync(raw) : raw;
    assert.equal(data.length, e.size, `${file}: ${name} inflates to its recorded size`);
    return data;
  };
  return { entries, read };
}

const dir = path.join(root, 'out', 'vsix');
const built = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.vsix')) : [];

test('npm run package built one VSIX per platform onnxruntime-node ships', () => {
  const expected = fs.readdirSync(path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6'))
    .flatMap((os) => fs.readdirSync(path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6', os)).map((arch) => `${os}-${arch}`)).sort();
  assert.deepEqual(expected, Object.keys(NATIVE), 'this test knows every platform onnxruntime-node ships');
  assert.deepEqual(built.sort(), expected.map((t) => `${pkg.name}-${t}-${pkg.version}.vsix`));
});

for (const target of Object.keys(NATIVE)) {
  test(`the ${target} VSIX carries the extension, the model and only ${target}'s native binaries`, () => {
    const file = path.join(dir, `${pkg.name}-${target}-${pkg.version}.vsix`);
    assert.ok(fs.existsSync(file), `${file} was built`);
    const zip = readZip(file);
    const names = [...zip.entries.keys()];
    for (const f of REQUIRED) assert.ok(zip.entries.has(f), `${target}: carries ${f}`);

    const [os, arch] = target.split('-');
    const native = names.filter((n) => n.startsWith('extension/node_modules/onnxruntime-node/bin/')).sort();
    assert.deepEqual(native, NATIVE[target].map((f) => `extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/${f}`).sort());
    for (const f of NATIVE[target]) {
      const local = fs.statSync(path.join(root, 'node_modules/onnxruntime-node/bin/napi-v6', os, arch, f)).size;
      assert.equal(zip.entries.get(`extension/node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/${f}`).size, local, `${f} whole`);
    }

    const manifest = zip.read('extension.vsixmanifest').toString('utf8');
    assert.match(manifest, new RegExp(`TargetPlatform="${target}"`), 'the manifest names its platform');
    const inner = JSON.parse(zip.read('extension/package.json').toString('utf8'));
    assert.equal(inner.name, pkg.name);
    assert.equal(inner.version, pkg.version);
    assert.equal(inner.main, './dist/extension.js');
    assert.match(zip.read('extension/LICENSE.txt').toString('utf8'), /^MIT License\n\nCopyright \(c\) \d{4} the Diffuse authors/);
    for (const f of ['model.onnx', 'tokenizer.json', 'denoiser.json']) {
      assert.ok(zip.read(`extension/models/diffuse-v2/${f}`).equals(fs.readFileSync(path.join(root, 'models/diffuse-v2', f))), `${f} is the shipped one`);
    }

    // sources stay out; the walkthrough's sample file is content a user opens, not code Diffuse runs
    const stray = names.filter((n) => /^extension\/(src|test|training|bench|scripts|out|\.vscode-test)\//.test(n)
      || /\.map$/.test(n) || (/\.ts$/.test(n) && !/\.d\.ts$/.test(n) && !n.startsWith('extension/media/walkthrough/')));
    assert.deepEqual(stray, [], 'no sources, tests, source maps or training files');
    const other = names.filter((n) => n.startsWith('extension/node_modules/') && !/^extension\/node_modules\/onnxruntime-(node|common)\//.test(n));
    assert.deepEqual(other, [], 'no other dependency (esbuild bundles them)');
  });
}
