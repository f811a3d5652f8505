#!/usr/bin/env node
// The same mocha suite under @vscode/test-electron, for machines that can download a desktop VS Code
// (this project's CI cannot; it uses run.js). Builds first; the model is models/diffuse-v2 or
// DIFFUSE_TEST_MODEL (through the workspace settings of a throw-away workspace).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(root);
execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
execFileSync(process.execPath, ['scripts/vscode-test/build.mjs'], { stdio: 'inherit' });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuse-electron-'));
const ws = path.join(tmp, 'workspace');
const userData = path.join(tmp, 'user-data');
fs.cpSync(path.join(root, 'test', 'vscode', 'fixtures'), ws, { recursive: true });
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
// user settings, as with run.js: the suite changes settings at the user level
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify({
    ...(process.env.DIFFUSE_TEST_MODEL ? { 'diffuse.modelPath': path.resolve(process.env.DIFFUSE_TEST_MODEL) } : {}),
    'diffuse.ghostText.enabled': false,
  }),
);
try {
  await runTests({
    version: '1.100.3',
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out', 'vscode-test', 'index.js'),
    launchArgs: [ws, '--user-data-dir', userData, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error('[electron] tests failed:', e.message ?? e);
  process.exit(1);
}
