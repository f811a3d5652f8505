// Next edit through the backends: Mercury Edit's endpoint through the loopback stand-in (answering
// as Inception documents), and the local model's own corrector through the real worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CURSOR,
  EDIT_CLOSE,
  EDIT_OPEN,
  FILE_OPEN,
  HISTORY_OPEN,
  SNIPPETS_OPEN,
} from '../src/core/prompts/nextEditPrompt';
import { BackendError } from '../src/backend/backend';
import { DiffuseRemoteBackend } from '../src/backend/remote/diffuseRemote';
import { OpenAICompatibleBackend } from '../src/backend/remote/openaiCompatible';
import { startServer } from '../src/serve/server';
import type { LocalBackend } from '../src/backend/local/localBackend';
import { startMercuryStandIn, type MercuryStandIn } from './fixtures/mercuryStandIn';
import { client, runCli, tmpFile } from './helpers';

const KEY = 'sk_test_standin';
const BEFORE =
  'def total_price(items):\n    count = 0\n    for item in items:\n        count += item.price\n    return count\n';
const AFTER = BEFORE.replace('    count = 0', '    total = 0');
const apply = (text: string, e: { start: number; end: number; text: string }): string =>
  text.slice(0, e.start) + e.text + text.slice(e.end);

describe('next edit: mercury', () => {
  let api: MercuryStandIn;
  let answer = '';
  before(async () => {
    api = await startMercuryStandIn({ key: KEY, answer: () => answer });
  });
  after(() => api.close());
  const mercury = (kind: 'mercury' | 'openai' = 'mercury') =>
    new OpenAICompatibleBackend({
      kind,
      baseUrl: api.url,
      fimModel: 'mercury-edit',
      chatModel: 'mercury-2',
      apiKey: KEY,
    });

  test("asks /edit/completions with one user message of the four sections and proposes the rewritten region's change", async () => {
    const renamed = AFTER.replace(/count/g, 'total');
    answer = '```python\n' + renamed + '```';
    const d = mercury();
    assert.equal(d.capabilities.nextEdit, true);
    const r = await d.nextEdit({
      before: BEFORE,
      text: AFTER,
      cursor: AFTER.indexOf('total =') + 5,
      file: { path: 'src/price.py', language: 'python' },
      history: ['--- a/src/price.py\n+++ b/src/price.py\n@@ -2 +2 @@\n-    count = 0\n+    total = 0'],
    });
    const sent = api.requests[api.requests.length - 1];
    assert.equal(sent.path, '/v1/edit/completions');
    assert.equal(sent.body.model, 'mercury-edit');
    const messages = sent.body.messages as { role: string; content: string }[];
    assert.equal(messages.length, 1);
    assert.equal(messages[0].role, 'user');
    const content = messages[0].content;
    for (const m of [
      SNIPPETS_OPEN,
      FILE_OPEN,
      'current_file_path: src/price.py',
      EDIT_OPEN,
      `    total${CURSOR} = 0`,
      EDIT_CLOSE,
      HISTORY_OPEN,
      '+    total = 0',
    ]) {
      assert.ok(content.includes(m), `the prompt holds ${m}`);
    }
    assert.equal(r.edits.length, 1);
    assert.equal(apply(AFTER, r.edits[0]), renamed, 'one edit from the first stale use to the last');
    assert.ok(
      !r.edits[0].text.includes('total = 0') || r.edits[0].start > AFTER.indexOf('total = 0'),
      'the edit itself is not part of the proposal',
    );
  });

  test('the region sent back unchanged, or nothing, is no proposal', async () => {
    answer = '```\n' + AFTER + '```';
    assert.deepEqual((await mercury().nextEdit({ before: BEFORE, text: AFTER, cursor: 0 })).edits, []);
    answer = '';
    assert.deepEqual((await mercury().nextEdit({ before: BEFORE, text: AFTER, cursor: 0 })).edits, []);
  });

  test('a CRLF document gets its proposal in CRLF offsets and text', async () => {
    const crlf = AFTER.replace(/\n/g, '\r\n');
    answer = '```\n' + AFTER.replace('return count', 'return total') + '```';
    const r = await mercury().nextEdit({ before: BEFORE.replace(/\n/g, '\r\n'), text: crlf, cursor: 10 });
    assert.equal(apply(crlf, r.edits[0]), crlf.replace('return count', 'return total'));
  });

  test('an OpenAI-compatible server has no next-edit endpoint: the backend says so without asking', async () => {
    const d = mercury('openai');
    assert.equal(d.capabilities.nextEdit, false);
    const n = api.requests.length;
    await assert.rejects(
      d.nextEdit({ before: BEFORE, text: AFTER, cursor: 0 }),
      (e) => e instanceof BackendError && e.code === 'unsupported',
    );
    assert.equal(api.requests.length, n);
  });

  test("the CLI prints Mercury's proposal as a diff against --after", async () => {
    answer = '```\n' + AFTER.replace('return count', 'return total') + '```';
    const r = await runCli(
      [
        'next-edit',
        '--before',
        tmpFile('a.py', BEFORE),
        '--after',
        tmpFile('a.py', AFTER),
        '--cursor',
        '2:10',
        '--backend',
        'mercury',
        '--base-url',
        api.url,
      ],
      '',
      { INCEPTION_API_KEY: KEY },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^--- .*a\.py\t?\n\+\+\+ .*a\.py \(next edit\)\t?\n/m);
    assert.ok(r.stdout.includes('\n-    return count\n+    return total\n'), r.stdout);
    const sent = api.requests[api.requests.length - 1].body.messages as { content: string }[];
    assert.ok(sent[0].content.includes(`    total${CURSOR} = 0`), 'the cursor from --cursor LINE:COL (1-based)');
  });
});

describe('next edit: local', () => {
  let c: LocalBackend;
  before(async () => {
    c = client();
    await c.start();
  });
  after(() => c.dispose());

  test('after a renamed declaration the model proposes the new name at every stale use, and leaves the edit alone', async () => {
    const r = await c.nextEdit({ before: BEFORE, text: AFTER, cursor: AFTER.indexOf('total =') + 5 });
    assert.equal(r.edits.length, 1);
    const e = r.edits[0];
    // every stale use at once (half a rename is never proposed), and nothing else changed
    assert.equal(apply(AFTER, e), AFTER.replace(/\bcount\b/g, 'total'));
    assert.ok(e.start > AFTER.indexOf('total = 0') + 9, 'a later use, not the edited line');
  });

  test('an edit that needs nothing after it (a comment) gets no proposal', async () => {
    const commented = BEFORE.replace('    for item', '    # every item counts once\n    for item');
    const r = await c.nextEdit({ before: BEFORE, text: commented, cursor: commented.indexOf('once') });
    assert.deepEqual(r.edits, []);
  });

  test('nothing changed, nothing proposed; a cursor outside the text is refused', async () => {
    assert.deepEqual((await c.nextEdit({ before: BEFORE, text: BEFORE, cursor: 0 })).edits, []);
    await assert.rejects(
      c.nextEdit({ before: BEFORE, text: BEFORE, cursor: BEFORE.length + 1 }),
      (e) => e instanceof BackendError && e.code === 'input',
    );
  });

  test('the CLI says when there is no next edit', async () => {
    const r = await runCli([
      'next-edit',
      '--before',
      tmpFile('a.py', BEFORE),
      '--after',
      tmpFile('a.py', BEFORE + '\n'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^no next edit/);
  });
});

describe('next edit: diffuse serve', () => {
  test('a diffuse server proposes what its local engine proposes, to the backend and to the CLI', async () => {
    const local = client();
    const running = await startServer({ denoiser: local, host: '127.0.0.1', port: 0 });
    try {
      const remote = new DiffuseRemoteBackend({ baseUrl: running.url });
      await remote.start();
      assert.equal(remote.capabilities.nextEdit, true, 'the server says it can');
      const ask = { before: BEFORE, text: AFTER, cursor: AFTER.indexOf('total =') + 5 };
      assert.deepEqual((await remote.nextEdit(ask)).edits, (await local.nextEdit(ask)).edits);
      remote.dispose();
      const r = await runCli([
        'next-edit',
        '--before',
        tmpFile('a.py', BEFORE),
        '--after',
        tmpFile('a.py', AFTER),
        '--backend',
        'diffuse',
        '--base-url',
        running.url,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\n\+.*total/);
    } finally {
      await running.close();
      local.dispose();
    }
  });
});
