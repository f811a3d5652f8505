// `npm run package`: builds the extension and packs one VSIX per platform onnxruntime-node ships
// binaries for (node_modules/onnxruntime-node/bin/napi-v6/<os>/<arch>), with @vscode/vsce --target,
// into out/vsix/diffuse-<target>-<version>.vsix. Each VSIX carries only its own platform's native
// binaries. vsce runs in a staging folder (out/vsix/stage) that holds the files .vscodeignore may
// admit and only that platform's binaries: run in the repository, vsce would list every file under
// it (a training corpus is hundreds of thousands) and could not leave other platforms out without
// rewriting .vscodeignore. DIFFUSE_VSIX_TARGETS=linux-x64,win32-x64 packs only those.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
const outDir = path.resolve('out', 'vsix');

/** Every <os>-<arch> onnxruntime-node has binaries for, e.g. linux-x64 (vsce's target names). */
export function shippedTargets() {
  return fs
    .readdirSync(BIN)
    .flatMap((os) => fs.readdirSync(path.join(BIN, os)).map((arch) => `${os}-${arch}`))
    .sort();
}

/**
 * The native files a target needs. The npm tarball turns the macOS library's version symlink
 * into a second identical 44 MB copy (libonnxruntime.1.30.0.dylib beside libonnxruntime.1.dylib,
 * the name the binding loads), so a file identical to one with a shorter name is left out.
 */
export function targetFiles(target) {
  const [os, arch] = target.split('-');
  const dir = path.join(BIN, os, arch);
  const names = fs.readdirSync(dir).sort((a, b) => a.length - b.length || a.localeCompare(b));
  const kept = [];
  for (const name of names) {
    const bytes = fs.readFileSync(path.join(dir, name));
    if (!kept.some((k) => k.bytes.equals(bytes))) kept.push({ name, bytes });
  }
  return kept.map((k) => `${BIN}/${os}/${arch}/${k.name}`).sort();
}

/** What the staging folder holds besides onnxruntime-node's binaries; .vscodeignore picks from it. */
const STAGED = [
  'package.json',
  'README.md',
  'CHANGELOG.md',
  'LICENSE',
  '.vscodeignore',
  'media',
  'dist',
  'models/diffuse-v2',
  'node_modules/onnxruntime-common',
];
const ORT = 'node_modules/onnxruntime-node';

function stage(target) {
  const dir = path.join(outDir, 'stage');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const p of STAGED) fs.cpSync(p, path.join(dir, p), { recursive: true });
  for (const p of ['LICENSE', 'dist'])
    if (fs.existsSync(path.join(ORT, p))) fs.cpSync(path.join(ORT, p), path.join(dir, ORT, p), { recursive: true });
  for (const f of targetFiles(target)) fs.cpSync(f, path.join(dir, f));
  // vsce collects node_modules through `npm list --production`, which must find every declared
  // dependency. The VSIX's only unbundled one is onnxruntime-node (esbuild bundles the rest), and
  // onnxruntime-node's own adm-zip and global-agent serve only its install script, never run here.
  const manifest = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  manifest.dependencies = { 'onnxruntime-node': manifest.dependencies['onnxruntime-node'] };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  const ort = JSON.parse(fs.readFileSync(path.join(ORT, 'package.json'), 'utf8'));
  ort.dependencies = { 'onnxruntime-common': ort.dependencies['onnxruntime-common'] };
  fs.writeFileSync(path.join(dir, ORT, 'package.json'), JSON.stringify(ort, null, 2) + '\n');
  return dir;
}

function main() {
  const targets = process.env.DIFFUSE_VSIX_TARGETS ? process.env.DIFFUSE_VSIX_TARGETS.split(',') : shippedTargets();
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  for (const f of ['model.onnx', 'denoiser.json', 'tokenizer.json']) {
    if (!fs.existsSync(path.join('models', 'diffuse-v2', f)))
      throw new Error(`models/diffuse-v2/${f} is missing: the VSIX ships the model`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const target of targets) {
    const [os, arch] = target.split('-');
    if (!fs.existsSync(path.join(BIN, os ?? '', arch ?? '')))
      throw new Error(`onnxruntime-node has no ${target} binaries in node_modules`);
    const out = path.join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
    const dir = stage(target);
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce'),
        'package',
        '--target',
        target,
        '--out',
        out,
        // the README's images are in media/, which the VSIX carries; there is no public repository to point at
        '--no-rewrite-relative-links',
        '--allow-missing-repository',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    console.log(`package: ${path.relative(root, out)} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB)`);
  }
  fs.rmSync(path.join(outDir, 'stage'), { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
