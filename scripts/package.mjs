// `npm run package`: builds the extension and packs a VSIX for linux-x64 with @vscode/vsce.
// .vscodeignore keeps only the bundles, the shipped model and onnxruntime-node's linux-x64 binaries.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const target = process.env.DIFFUSE_VSIX_TARGET || 'linux-x64';
const out = `${pkg.name}-${target}-${pkg.version}.vsix`;

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
for (const f of ['model.onnx', 'denoiser.json', 'tokenizer.json']) {
  if (!fs.existsSync(path.join('models', 'diffuse-small', f))) throw new Error(`models/diffuse-small/${f} is missing: the VSIX ships the model`);
}
const [os, arch] = target.split('-');
if (!fs.existsSync(path.join('node_modules', 'onnxruntime-node', 'bin', 'napi-v6', os, arch))) {
  throw new Error(`onnxruntime-node has no ${target} binaries in node_modules`);
}
if (os !== 'linux' || arch !== 'x64') {
  fs.writeFileSync('.vscodeignore', fs.readFileSync('.vscodeignore', 'utf8').replace('napi-v6/linux/x64', `napi-v6/${os}/${arch}`));
}
execFileSync(process.execPath, [
  path.join('node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--target', target, '--out', out,
  // the README's images are in media/, which the VSIX carries; there is no public repository to point at
  '--no-rewrite-relative-links', '--allow-missing-repository', '--skip-license',
], { stdio: 'inherit' });
console.log(`package: ${out} (${(fs.statSync(out).size / 1e6).toFixed(1)} MB)`);
