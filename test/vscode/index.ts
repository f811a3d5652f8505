// extensionTestsPath for the development copy of the extension (also the entry for
// @vscode/test-electron on a machine with a desktop VS Code: see scripts/vscode-test/electron.mjs).
import * as path from 'node:path';
import { runMocha } from './runMocha';

export function run(): Promise<void> {
  return runMocha([path.join(__dirname, 'extension.test.js')]);
}
