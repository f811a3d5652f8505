// One home for defaults: the settings VS Code shows (package.json) are the ones the code falls
// back to (src/core/defaults.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SETTING_DEFAULTS } from '../src/core/defaults';
import { ROOT } from './helpers';

test('every diffuse.* setting in package.json has the default src/core/defaults.ts gives it', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const props: Record<string, { default: unknown }> = pkg.contributes.configuration.properties;
  const fromPackage = Object.fromEntries(Object.entries(props).map(([k, v]) => [k.replace(/^diffuse\./, ''), v.default]));
  assert.deepEqual(fromPackage, { ...SETTING_DEFAULTS });
});
