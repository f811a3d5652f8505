// Several ghost-text candidates from one request (Alt+] / Alt+[ cycle through them in VS Code).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { client } from './helpers';

describe('complete with candidates', () => {
  const worker = client();
  after(() => worker.dispose());
  const request = { prefix: 'function add(a, b) {\n  return ', suffix: ';\n}\n', maxTokens: 8 };

  test('candidates come back distinct, best by confidence first, the first one as the edit', async () => {
    const r = await worker.complete({ ...request, candidates: 4, sampler: { seed: 5 } });
    const cs = r.candidates!;
    assert.ok(cs.length >= 2, `distinct candidates: ${JSON.stringify(cs)}`);
    assert.equal(new Set(cs.map((c) => c.text)).size, cs.length);
    for (let i = 1; i < cs.length; i++) assert.ok(cs[i - 1].confidence >= cs[i].confidence);
    assert.deepEqual(r.edits[0], cs[0]);
  });

  test('one candidate is the plain request: no candidates list, the same text', async () => {
    const one = await worker.complete(request);
    const many = await worker.complete({ ...request, candidates: 3 });
    assert.equal(one.candidates, undefined);
    assert.ok(
      many.candidates!.some((c) => c.text === one.edits[0].text),
      'the greedy completion is among them',
    );
  });
});
