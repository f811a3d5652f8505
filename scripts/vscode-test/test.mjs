#!/usr/bin/env node
// `npm run test:vscode`: installs the test VS Code if needed (setup.sh), builds the extension and the
// tests, then runs, each in a fresh VS Code:
//   suite  the mocha suite in the extension host (test/vscode/extension.test.ts)
//   ui     Playwright through the workbench: palette, CodeLens, screenshots (test/vscode/ui.ts)
//   vsix   packages the extension, installs the VSIX and refines from the installed copy
// `node scripts/vscode-test/test.mjs suite ui` runs only those. The model is models/diffuse-v2,
// or DIFFUSE_TEST_MODEL; screenshots land in out/screenshots/ (DIFFUSE_UPDATE_MEDIA=1 copies them to media/).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(root);
const all = ['suite', 'ui', 'vsix'];
const only = process.argv.slice(2).filter((a) => all.includes(a));
const parts = only.length ? only : all;
const step = (what) => console.log(`\n[test:vscode] ${what}`);

step('setup');
execFileSync('bash', ['scripts/vscode-test/setup.sh'], { stdio: 'inherit' });
step('build');
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/vscode-test/build.mjs'], { stdio: 'inherit' });

const model = path.resolve(process.env.DIFFUSE_TEST_MODEL || path.join(root, 'models', 'diffuse-v2'));
if (!fs.existsSync(path.join(model, 'model.onnx'))) {
  console.error(`[test:vscode] no model at ${model}: add models/diffuse-v2 or set DIFFUSE_TEST_MODEL`);
  process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-test-'));
const shots = path.join(root, 'out', 'screenshots');
fs.mkdirSync(shots, { recursive: true });
/** A throw-away workspace (the web workbench autosaves) and user settings for one run. */
const prepare = (name, settings) => {
  const ws = path.join(tmp, name, 'workspace');
  fs.cpSync(path.join(root, 'test', 'vscode', 'fixtures'), ws, { recursive: true });
  const file = path.join(tmp, name, 'settings.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      // the bundled model unless a test model is given (the VSIX carries its own)
      ...(process.env.DIFFUSE_TEST_MODEL ? { 'diffuse.modelPath': model } : {}),
      'diffuse.threads': 1,
      'diffuse.ghostText.enabled': false, // tests trigger ghost text themselves, so requests do not queue up
      ...settings,
    }),
  );
  return { ws, settings: file };
};
const runner = (args) =>
  spawnSync(process.execPath, ['scripts/vscode-test/run.js', ...args], {
    stdio: 'inherit',
    env: { ...process.env, DIFFUSE_REPO: root },
  }).status;

const failed = [];
if (parts.includes('suite')) {
  step('suite: mocha in the extension host');
  const p = prepare('suite', {});
  // DIFFUSE_SUITE_TIMEOUT (seconds): a longer limit for long runs (the reliability figures)
  if (
    runner([
      `--extensionDevelopmentPath=${root}`,
      `--extensionTestsPath=${root}/out/vscode-test/index.js`,
      `--workspace=${p.ws}`,
      `--settings=${p.settings}`,
      `--timeout=${Number(process.env.DIFFUSE_SUITE_TIMEOUT) || 400}`,
      `--screenshot=${shots}/suite-timeout.png`,
    ]) !== 0
  )
    failed.push('suite');
}
if (parts.includes('ui')) {
  step('ui: Playwright through the workbench');
  // threshold 1 and a budget of 24 steps: a run long enough to be seen (and photographed) while it steps;
  // strength 1: a rewrite, so there is a proposal to show (below 1 Refine changes only what it doubts)
  const p = prepare('ui', {
    'diffuse.threshold': 1,
    'diffuse.steps': 24,
    'diffuse.refine.strength': 1,
    'editor.fontSize': 14,
    'diffuse.ghostText.enabled': true,
    // sampling rather than greedy: an early model's greedy choice is mostly newlines, which make a poor picture
    'diffuse.temperature': 1,
  });
  if (
    runner([
      `--extensionDevelopmentPath=${root}`,
      `--ui=${root}/out/vscode-test/ui.js`,
      `--workspace=${p.ws}`,
      `--settings=${p.settings}`,
      '--timeout=300',
      `--screenshot=${shots}/ui-failure.png`,
    ]) !== 0
  )
    failed.push('ui');
  // DIFFUSE_UPDATE_MEDIA=1 refreshes the README's pictures from this run
  else if (process.env.DIFFUSE_UPDATE_MEDIA) {
    for (const f of ['inline-diff.png', 'large-refine.png', 'live-denoising.png', 'ghost-text.png'])
      fs.copyFileSync(path.join(shots, f), path.join(root, 'media', f));
  }
}
if (parts.includes('vsix')) {
  step('vsix: package every platform, check each VSIX, install linux-x64 and refine from the installed copy');
  fs.rmSync(path.join(root, 'out', 'vsix'), { recursive: true, force: true });
  execFileSync('npm', ['run', '-s', 'package'], { stdio: 'inherit' });
  if (spawnSync(process.execPath, ['--test', 'test/package/vsixContents.test.mjs'], { stdio: 'inherit' }).status !== 0)
    failed.push('vsix contents');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const vsix = path.join(root, 'out', 'vsix', `${pkg.name}-linux-x64-${pkg.version}.vsix`);
  const p = prepare('vsix', {});
  if (
    runner([
      `--extensionDevelopmentPath=${root}/test/vscode/stub-extension`,
      `--extensionTestsPath=${root}/out/vscode-test/installedIndex.js`,
      `--installVsix=${vsix}`,
      `--workspace=${p.ws}`,
      `--settings=${p.settings}`,
      '--timeout=300',
    ]) !== 0
  )
    failed.push('vsix');
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(
  failed.length ? `\n[test:vscode] FAILED: ${failed.join(', ')}` : `\n[test:vscode] all passed (${parts.join(', ')})`,
);
process.exit(failed.length ? 1 : 0);
