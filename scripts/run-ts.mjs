// Runs one TypeScript entry point (a bench, a slow test): bundles it with esbuild, as
// scripts/build.mjs bundles the extension, into out/run/<entry's name>.js and runs that with node,
// passing on every argument after the entry. The exit status is the entry's.
//
//   node scripts/run-ts.mjs [--test] ENTRY.ts [ARGS...]
//
// --test runs the bundle under node's test runner (spec reporter). Native addons and vscode stay
// external: they load from node_modules at run time. The bundle sits two folders below the
// repository, as the unit tests' bundles in out/test/ do, so paths taken from __dirname agree.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const at = argv.findIndex((a) => a.endsWith('.ts'));
if (at < 0) {
  console.error('usage: node scripts/run-ts.mjs [--test] ENTRY.ts [ARGS...]');
  process.exit(2);
}
const { values: opts } = parseArgs({ args: argv.slice(0, at), options: { test: { type: 'boolean', default: false } } });
const entry = argv[at];
const outfile = path.join(root, 'out', 'run', `${path.basename(entry, '.ts')}.js`);

await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['onnxruntime-node', 'tokenizers', 'vscode'],
  logLevel: 'warning',
});
await esbuild.stop(); // its service process need not outlive the build

const runner = opts.test ? ['--test', '--test-reporter=spec'] : [];
const run = spawnSync(process.execPath, [...runner, outfile, ...argv.slice(at + 1)], { stdio: 'inherit' });
if (run.signal) process.kill(process.pid, run.signal);
process.exit(run.status ?? 1);
