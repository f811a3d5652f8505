// What the status bar says for each state of the backend, a running request and the last
// ghost-text suggestion (src/core/view/statusText.ts; editor/statusBar.ts only paints it).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type StatusView, statusText } from '../src/core/view/statusText';

const READY_LOCAL: StatusView['state'] = {
  kind: 'ready',
  info: { backend: 'local', name: 'diffuse-small', where: '/models/diffuse-small', threads: 2 },
};
const view = (v: Partial<StatusView>): StatusView => ({ backend: 'local', state: READY_LOCAL, now: 0, ...v });

describe('status bar text', () => {
  test('a ready local model says so, with its threads, and that nothing leaves the machine', () => {
    const s = statusText(view({ latencyMs: 120 }));
    assert.equal(s.text, '$(sparkle) Diffuse 120 ms');
    assert.equal(
      s.tooltip,
      'Diffuse: diffuse-small ready (2 threads; nothing leaves this machine); last request took 120 ms',
    );
    assert.equal(s.error, false);
  });

  test('a remote backend is named in the text and the tooltip says code is sent there', () => {
    const s = statusText(
      view({
        backend: 'mercury',
        state: { kind: 'ready', info: { backend: 'mercury', name: 'mercury-coder', where: 'https://api.example' } },
      }),
    );
    assert.equal(s.text, '$(sparkle) Diffuse · mercury');
    assert.match(s.tooltip, /mercury \(mercury-coder\) at https:\/\/api\.example: the code .* is sent there/);
  });

  test('the tooltip says how a remote server is asked for fill-in-the-middle, once the first request found out', () => {
    const info = { backend: 'openai', name: 'google/diffusion-gemma', where: 'http://127.0.0.1:8000/v1' };
    const before = statusText(view({ backend: 'openai', state: { kind: 'ready', info } }));
    assert.doesNotMatch(before.tooltip, /Ghost text and Fill at Cursor ask/, 'nothing is claimed before it is known');
    const chat = statusText(view({ backend: 'openai', state: { kind: 'ready', info: { ...info, fimRoute: 'chat' } } }));
    assert.match(
      chat.tooltip,
      /\nGhost text and Fill at Cursor ask through a chat prompt that asks for the middle only \(the server has no infilling endpoint\)\.$/,
    );
    const fim = statusText(
      view({ backend: 'mercury', state: { kind: 'ready', info: { ...info, backend: 'mercury', fimRoute: 'fim' } } }),
    );
    assert.match(fim.tooltip, /ask through POST \/fim\/completions\./);
    assert.equal(fim.text, '$(sparkle) Diffuse · mercury', 'the text stays short');
  });

  test('a remote backend whose key was refused is an error naming the backend, with the refusal in the tooltip', () => {
    const message = '127.0.0.1:4000 refused the API key (401): set it with "Diffuse: Set API Key…"';
    const s = statusText(view({ backend: 'mercury', state: { kind: 'error', message } }));
    assert.equal(s.text, '$(error) Diffuse · mercury');
    assert.equal(s.tooltip, `Diffuse (mercury) cannot answer. ${message}\nClick for options.`);
    assert.equal(s.error, true);
  });

  test('a model that failed to load is an error with its message and a hint to click', () => {
    const s = statusText(view({ state: { kind: 'error', message: 'denoiser.json is missing' } }));
    assert.equal(s.text, '$(error) Diffuse');
    assert.equal(s.tooltip, 'Diffuse: the model failed to load. denoiser.json is missing\nClick for options.');
    assert.equal(s.error, true);
  });

  test('a load in progress shows the folder, its size, the step and the seconds so far', () => {
    const s = statusText(
      view({
        state: { kind: 'starting', load: { name: 'big-7b', bytes: 7.6e9, stage: 'session', startedAt: 1_000 } },
        now: 13_500,
      }),
    );
    assert.match(s.text, /^\$\(loading~spin\) Diffuse: loading big-7b \(7\.\d GB\) · weights · 12 s$/);
  });

  test('a remote backend starting is "connecting", not "loading"', () => {
    const s = statusText(view({ backend: 'openai', state: { kind: 'starting' } }));
    assert.equal(s.text, '$(loading~spin) Diffuse · openai: connecting');
    assert.equal(s.tooltip, 'Diffuse: connecting to openai');
  });

  test('a running Refine shows its session title and step over the latency and ghost text', () => {
    const s = statusText(
      view({
        latencyMs: 80,
        ghost: { shown: true, confidence: 0.9, threshold: 0.6, reason: 'empty' },
        busy: { kind: 'refine', title: 'Refine', step: 3, maxSteps: 12, budgeted: true },
      }),
    );
    assert.equal(s.text, '$(sync~spin) Diffuse: refine step 3/12');
    assert.match(s.tooltip, /Press Escape in the editor to cancel\. The step count's total is the budget/);
  });

  test('a held-back suggestion shows a closed eye and its confidence, and the tooltip says why in words', () => {
    const s = statusText(
      view({ ghost: { shown: false, confidence: 0.62, threshold: 0.7, reason: 'below threshold' }, heldBack: 4 }),
    );
    assert.equal(s.text, '$(sparkle) Diffuse $(eye-closed) 0.62');
    assert.match(s.tooltip, /held back: confidence 0\.62 is below diffuse\.ghostText\.minConfidence \(0\.7\)\./);
    assert.match(s.tooltip, /Press Alt\+\\ to see it anyway/);
    assert.match(s.tooltip, /choose a stronger model/);
    assert.match(s.tooltip, /4 automatic suggestions were held back this session/);
  });

  test('a shown suggestion shows an open eye; a failed or empty one shows nothing', () => {
    assert.equal(
      statusText(view({ ghost: { shown: true, confidence: 0.91, threshold: 0.6, reason: 'empty' } })).text,
      '$(sparkle) Diffuse $(eye) 0.91',
    );
    assert.equal(
      statusText(view({ ghost: { shown: false, threshold: 0.6, reason: 'failed' } })).text,
      '$(sparkle) Diffuse',
    );
  });

  test('a waiting next edit replaces the ghost-text part and names its line', () => {
    const s = statusText(
      view({ nextEditLine: 7, ghost: { shown: true, confidence: 0.9, threshold: 0.6, reason: 'empty' } }),
    );
    assert.equal(s.text, '$(sparkle) Diffuse $(arrow-right) next edit');
    assert.match(s.tooltip, /A next edit waits at line 7: Tab jumps to it/);
  });

  test('next edit that proposes nothing says so, and why a suggestion was withdrawn', () => {
    const none = statusText(view({ nextEditOutcome: { status: 'none' } }));
    assert.equal(none.text, '$(sparkle) Diffuse $(circle-slash) no next edit');
    assert.match(none.tooltip, /nothing near your last change needs changing/);
    const withdrawn = statusText(
      view({ nextEditOutcome: { status: 'withdrawn', detail: 'the rename provider renames 3 uses' } }),
    );
    assert.match(
      withdrawn.tooltip,
      /withdrawn because it would leave the code worse \(the rename provider renames 3 uses\)/,
    );
  });
});
