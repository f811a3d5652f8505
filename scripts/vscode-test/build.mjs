// Bundles the integration tests (test/vscode/*.ts) into out/vscode-test/ for the extension host.
// vscode comes from the host and mocha from node_modules at run time.
import fs from 'node:fs';
import * as esbuild from 'esbuild';

fs.rmSync('out/vscode-test', { recursive: true, force: true });
await esbuild.build({
  entryPoints: [
    'index',
    'installedIndex',
    'extension.test',
    'userFacing.test',
    'nextEdit.test',
    'remote.test',
    'convertedModel.test',
    'repair.test',
    'reliability.test',
    'installed.test',
    'ui',
  ].map((f) => `test/vscode/${f}.ts`),
  outdir: 'out/vscode-test',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['vscode', 'mocha', 'playwright-core'],
  logLevel: 'warning',
});
