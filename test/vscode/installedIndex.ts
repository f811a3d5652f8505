// extensionTestsPath for the VSIX test: Diffuse is the copy installed from the package.
import * as path from 'node:path';
import { runMocha } from './runMocha';

export function run(): Promise<void> {
  return runMocha([path.join(__dirname, 'installed.test.js')]);
}
