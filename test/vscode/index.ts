// extensionTestsPath for the development copy of the extension (also the entry for
// @vscode/test-electron on a machine with a desktop VS Code: see scripts/vscode-test/electron.mjs).
import * as path from 'node:path';
import { runMocha } from './runMocha';

export function run(): Promise<void> {
  // reliability.test.js skips itself unless DIFFUSE_RELIABILITY_OUT is set (npm run reliability)
  return runMocha([
    path.join(__dirname, 'extension.test.js'),
    path.join(__dirname, 'userFacing.test.js'),
    path.join(__dirname, 'nextEdit.test.js'),
    path.join(__dirname, 'remote.test.js'),
    path.join(__dirname, 'convertedModel.test.js'),
    path.join(__dirname, 'repair.test.js'),
    path.join(__dirname, 'reliability.test.js'),
  ]);
}
