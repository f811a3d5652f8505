// Bundles test/*.test.ts into out/test/ for node's test runner (native addons stay external).
import fs from 'node:fs';
import * as esbuild from 'esbuild';

const entryPoints = fs
  .readdirSync('test')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/${f}`);
fs.rmSync('out/test', { recursive: true, force: true });
await esbuild.build({
  entryPoints,
  outdir: 'out/test',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  // native addons stay external: they load from node_modules at run time
  external: ['vscode', 'onnxruntime-node', 'tokenizers'],
  logLevel: 'warning',
});
