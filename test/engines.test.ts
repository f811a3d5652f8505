// The open engines a team runs (vLLM, SGLang, llama.cpp's server, Ollama, LM Studio) through the
// `openai` backend: fill-in-the-middle without `/fim/completions`, found once per server, and the
// trimming of what a chat model answers. The server is a loopback stand-in that answers as vLLM's
// documentation says it does for DiffusionGemma (test/fixtures/vllmStandIn.ts): vLLM's CPU build
// could not be installed here. The stand-in's text is the test's; what is asserted is the
// protocol, the time budget, cancellation and the trimming, not what a model would write.
import assert from 'node:assert/strict';
import { stepLabel } from '../src/core/view/stepLabel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BackendInfo, BackendState } from '../src/backend/backend';
import { BackendError } from '../src/backend/backend';
import { refusalHint } from '../src/backend/remote/http';
import { OpenAICompatibleBackend } from '../src/backend/remote/openaiCompatible';
import type { ProgressParams } from '../src/backend/requests';
import { FILL_MARKER, fimChatMessages, fimTemplateFor, middleFromAnswer } from '../src/core/prompts/fimPrompt';
import { startLlamaCppStandIn } from './fixtures/llamaCppStandIn';
import { startVllmStandIn, type VllmStandIn } from './fixtures/vllmStandIn';

const GEMMA = 'google/diffusiongemma-26b-a4b';
const QWEN = 'Qwen/Qwen2.5-Coder-1.5B';
const PREFIX = 'function add(a, b) {\n  return ';
const SUFFIX = ';\n}\n';
const CODE = 'function add(a, b) {\n  return a - b;\n}\n';

async function failure(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BackendError, `a BackendError: ${e}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return e;
  }
  assert.fail('the request succeeded');
}

describe('fill-in-the-middle prompts for servers without /fim/completions', () => {
  test("a model's own infilling tokens are chosen from its name, or by the setting", () => {
    assert.equal(fimTemplateFor('Qwen/Qwen2.5-Coder-7B-Instruct')?.name, 'qwen');
    assert.equal(fimTemplateFor('google/codegemma-2b')?.name, 'codegemma');
    assert.equal(fimTemplateFor('bigcode/starcoder2-3b')?.name, 'starcoder');
    assert.equal(fimTemplateFor(GEMMA), undefined, 'a model without published infilling tokens gets the chat prompt');
    assert.equal(fimTemplateFor(GEMMA, 'codegemma')?.name, 'codegemma');
    assert.equal(fimTemplateFor(QWEN, 'none'), undefined);
    assert.equal(fimTemplateFor(QWEN)!.prompt('a(', ')'), '<|fim_prefix|>a(<|fim_suffix|>)<|fim_middle|>');
  });

  test('the chat prompt marks the cursor between the code before and after it', () => {
    const [system, user] = fimChatMessages({ prefix: PREFIX, suffix: SUFFIX, path: 'a.ts', language: 'typescript' });
    assert.match(system.content, /only/);
    assert.equal(user.content, `File: a.ts\nLanguage: typescript\n\n${PREFIX}${FILL_MARKER}${SUFFIX}`);
  });

  test('a chat answer loses its fence, the line it repeats and the suffix it runs into', () => {
    assert.equal(middleFromAnswer('```js\na + b\n```', PREFIX, SUFFIX), 'a + b');
    assert.equal(middleFromAnswer('  return a + b', PREFIX, SUFFIX), 'a + b', 'the repeated line start is dropped');
    assert.equal(middleFromAnswer('a + b;\n}\n', PREFIX, SUFFIX), 'a + b', 'cut where the suffix begins');
    assert.equal(
      middleFromAnswer('a + b;\n}', 'x = f(\n', '\n}\n'),
      'a + b;',
      'a closing line the answer did not open',
    );
    assert.equal(middleFromAnswer(`a + b${FILL_MARKER}`, PREFIX, SUFFIX), 'a + b');
    assert.equal(middleFromAnswer('(x)', 'f(', ')'), '(x)', 'a one-character overlap is new text, not a repeat');
    assert.equal(
      middleFromAnswer('g(1);\nh(2', 'f(', ');'),
      'g(1);\nh(2',
      'a short suffix inside new code is not a cut',
    );
    assert.equal(
      middleFromAnswer('  x = 1;\n  if (x) {\n    y();\n  }', 'function f() {\n', '\n}\n'),
      '  x = 1;\n  if (x) {\n    y();\n  }',
      'an inner closing brace is kept: "}" alone is too common to cut at',
    );
    assert.equal(
      middleFromAnswer('b = 2;\nconst total = a + b;', 'a = 1;\n', '\nconst total = a + b;\n'),
      'b = 2;',
      "the suffix's first line, distinctive enough, is where the answer ran on",
    );
    assert.equal(middleFromAnswer('```ts\na + ', PREFIX, SUFFIX), 'a + ', 'a frame mid-stream has no closing fence');
    assert.equal(middleFromAnswer('a + b<|endoftext|>junk', PREFIX, SUFFIX, ['<|endoftext|>']), 'a + b');
  });

  test("refusals are read from vLLM's, OpenAI's and FastAPI's error bodies without keeping their text", () => {
    assert.equal(refusalHint(400, '400', 'suffix is not currently supported'), 'suffix_unsupported');
    assert.equal(refusalHint(404, '404', 'The model `x` does not exist.'), 'unknown_model');
    assert.equal(refusalHint(404, 'model_not_found', ''), 'unknown_model');
    assert.equal(refusalHint(404, '', 'Not Found'), 'no_route');
    assert.equal(refusalHint(400, '400', 'max_tokens must be at least 1'), undefined);
  });
});

describe('the openai backend against vLLM serving DiffusionGemma (loopback stand-in)', () => {
  let vllm: VllmStandIn;
  const answers = {
    // a chat model wraps the middle and repeats the line it was given
    completion: 'a + b',
    chat: '```typescript\n  return a + b;\n}\n```',
  };
  const backend = (o: { model?: string; timeoutMs?: number; onState?: (s: BackendState) => void } = {}) =>
    new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: vllm.url,
      fimModel: o.model ?? GEMMA,
      chatModel: o.model ?? GEMMA,
      apiKey: 'vllm-key',
      timeoutMs: o.timeoutMs,
      onState: o.onState,
    });

  before(async () => {
    vllm = await startVllmStandIn({
      model: GEMMA,
      apiKey: 'vllm-key',
      blockChars: 8,
      blockMs: 5,
      answer: (kind, body) => {
        if (kind === 'completion') return answers.completion;
        const user = (body.messages as { content: string }[]).at(-1)!.content;
        // Refine's prompt marks a selection; ghost text's marks the cursor
        return user.includes(FILL_MARKER) ? answers.chat : '```typescript\n  return a + b;\n```';
      },
    });
  });
  after(() => vllm.close());

  test('start reads the model list; a model the server lacks fails in one line naming its models, sending nothing', async () => {
    const d = backend({ model: 'mercury-edit-2' });
    try {
      const info = await d.start();
      assert.deepEqual(info.models, [GEMMA]);
      assert.equal(vllm.requests.at(-1)!.path, '/v1/models');
      const n = vllm.requests.length;
      const e = await failure(d.complete({ prefix: PREFIX, suffix: SUFFIX }));
      assert.equal(e.code, 'model');
      assert.equal(e.message, `127.0.0.1:${new URL(vllm.url).port} has no model "mercury-edit-2"; it has ${GEMMA}`);
      assert.equal(vllm.requests.length, n, 'nothing was sent');
      assert.ok(!e.message.includes('vllm-key'));
    } finally {
      d.dispose();
    }
  });

  test('ghost text finds the way once: no /fim/completions nor /infill (404), suffix refused (400), then the chat prompt', async () => {
    const states: BackendInfo[] = [];
    const d = backend({ onState: (s) => s.kind === 'ready' && states.push(s.info) });
    try {
      const n = vllm.requests.length;
      const r = await d.complete({ prefix: PREFIX, suffix: SUFFIX, maxTokens: 16, sampler: { timeBudgetMs: 2000 } });
      assert.equal(r.edits[0].text, 'a + b', 'fence, repeated line and suffix trimmed');
      assert.deepEqual(
        vllm.requests.slice(n).map((q) => q.path),
        ['/v1/models', '/v1/fim/completions', '/infill', '/v1/completions', '/v1/chat/completions'],
      );
      assert.equal(states.at(-1)!.fimRoute, 'chat', 'the status bar can say how FIM is asked');
      const m = vllm.requests.length;
      await d.complete({ prefix: PREFIX, suffix: SUFFIX, sampler: { timeBudgetMs: 2000 } });
      assert.deepEqual(
        vllm.requests.slice(m).map((q) => q.path),
        ['/v1/chat/completions'],
        'found once: the next request goes straight there',
      );
    } finally {
      d.dispose();
    }
  });

  test('a model with infilling tokens is asked through /v1/completions with its own template and stop tokens', async () => {
    const qwen = await startVllmStandIn({ model: QWEN, answer: () => 'a + b<|endoftext|>' });
    const d = new OpenAICompatibleBackend({ kind: 'openai', baseUrl: qwen.url, fimModel: QWEN, chatModel: QWEN });
    try {
      const r = await d.complete({ prefix: PREFIX, suffix: SUFFIX, sampler: { timeBudgetMs: 2000 } });
      assert.equal(r.edits[0].text, 'a + b');
      const sent = qwen.requests.at(-1)!;
      assert.equal(sent.path, '/v1/completions');
      assert.equal(sent.body.prompt, `<|fim_prefix|>${PREFIX}<|fim_suffix|>${SUFFIX}<|fim_middle|>`);
      assert.equal(sent.body.suffix, undefined);
      assert.ok((sent.body.stop as string[]).includes('<|endoftext|>'));
      assert.equal((await d.start()).fimRoute, undefined, 'start said nothing yet; the state says it now');
      assert.equal(d.state.kind === 'ready' && d.state.info.fimRoute, 'template');
    } finally {
      d.dispose();
      await qwen.close();
    }
  });

  test('Fill streams whole blocks and shows each as it comes, trimmed', async () => {
    const d = backend();
    const frames: ProgressParams[] = [];
    try {
      const r = await d.fill(
        { text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length], maxTokens: 16 },
        { onProgress: (p) => frames.push(p) },
      );
      assert.equal(r.edits[0].text, 'a + b');
      const blocks = Math.ceil(answers.chat.length / 8);
      assert.equal(frames.length, blocks, 'one frame per block');
      assert.deepEqual(
        frames.map((f) => f.step),
        Array.from({ length: blocks }, (_, k) => k + 1),
        'counted block by block, without a budget',
      );
      assert.ok(frames.every((f) => f.maxSteps === 0));
      assert.ok(
        frames.every((f) => f.unit === 'block'),
        'shown as "block k", not denoising steps',
      );
      assert.equal(stepLabel(frames[1].step, frames[1].maxSteps, frames[1].unit), 'block 2');
      assert.equal(frames.at(-1)!.spans[0].text, 'a + b');
      assert.equal(vllm.requests.at(-1)!.body.stream, true);
    } finally {
      d.dispose();
    }
  });

  test('Refine with an instruction streams the chat answer block by block', async () => {
    const d = backend();
    const frames: ProgressParams[] = [];
    try {
      const start = CODE.indexOf('  return');
      const end = CODE.indexOf('\n}') + 1;
      const r = await d.refine(
        { text: CODE, start, end, instruction: 'fix the sum', file: { path: 'a.ts', language: 'typescript' } },
        { onProgress: (p) => frames.push(p) },
      );
      assert.equal(r.edits[0].text, '  return a + b;\n');
      const sent = vllm.requests.at(-1)!;
      assert.equal(sent.path, '/v1/chat/completions');
      assert.equal(sent.body.model, GEMMA);
      assert.equal(sent.body.diffusing, undefined, 'no Mercury field goes to vLLM');
      assert.ok(frames.length >= 2, 'blocks are shown as they come');
    } finally {
      d.dispose();
    }
  });

  test("ghost text keeps its time budget against a slow engine, and an abort stops the engine's stream", async () => {
    const slow = await startVllmStandIn({ model: GEMMA, blockChars: 4, blockMs: 400, answer: () => answers.chat });
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: slow.url,
      fimModel: GEMMA,
      chatModel: GEMMA,
      timeoutMs: 10_000,
    });
    try {
      const t0 = Date.now();
      const e = await failure(d.complete({ prefix: PREFIX, suffix: SUFFIX, sampler: { timeBudgetMs: 300 } }));
      assert.equal(e.code, 'timeout');
      assert.ok(Date.now() - t0 < 1000, `the budget holds, route finding included (${Date.now() - t0} ms)`);
      const abort = new AbortController();
      const frames: ProgressParams[] = [];
      const pending = d.fill(
        { text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length] },
        {
          signal: abort.signal,
          onProgress: (p) => {
            frames.push(p);
            abort.abort();
          },
        },
      );
      assert.equal((await failure(pending)).code, 'cancelled');
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(slow.abandoned() >= 1, 'the engine saw the client go');
    } finally {
      d.dispose();
      await slow.close();
    }
  });

  test('a server whose model list never answers does not hold ghost text past its budget', async () => {
    const silent = http.createServer(() => undefined); // hears every request, answers none
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: `http://127.0.0.1:${port}/v1`,
      fimModel: GEMMA,
      chatModel: GEMMA,
    });
    try {
      const t0 = Date.now();
      const e = await failure(d.complete({ prefix: PREFIX, suffix: SUFFIX, sampler: { timeBudgetMs: 200 } }));
      assert.equal(e.code, 'timeout');
      assert.ok(Date.now() - t0 < 600, `${Date.now() - t0} ms`);
    } finally {
      d.dispose();
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  test('a block stream cut mid-way is one line, and no socket outlives the backend', async () => {
    const d = backend({ timeoutMs: 5000 });
    try {
      await d.fill({ text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length] }); // finds the way
      vllm.inject({ kind: 'cut-mid-stream' });
      const e = await failure(d.fill({ text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length] }));
      assert.equal(e.code, 'crash');
      assert.match(e.message, /closed the connection/);
      vllm.inject({ kind: 'status', status: 500 });
      assert.match((await failure(d.complete({ prefix: 'a', suffix: '' }))).message, /failed to answer \(500/);
    } finally {
      d.dispose();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(vllm.openSockets(), 0);
  });

  test('a wrong key stops the backend at start with the key command named', async () => {
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: vllm.url,
      fimModel: GEMMA,
      chatModel: GEMMA,
      apiKey: 'wrong',
    });
    try {
      const e = await failure(d.complete({ prefix: 'a', suffix: '' }));
      assert.equal(e.code, 'auth');
      assert.ok(!e.message.includes('wrong'));
      assert.equal(d.state.kind, 'error');
    } finally {
      d.dispose();
    }
  });
});

describe("the openai backend against llama.cpp's server (loopback stand-in)", () => {
  test("ghost text and Fill go to /infill beside /v1, where the server applies the model's own FIM tokens", async () => {
    const llama = await startLlamaCppStandIn({ alias: 'qwen2.5-coder-1.5b', answer: () => 'a + b' });
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: llama.url,
      fimModel: 'qwen2.5-coder-1.5b',
      chatModel: 'qwen2.5-coder-1.5b',
    });
    try {
      const ghost = await d.complete({
        prefix: PREFIX,
        suffix: SUFFIX,
        maxTokens: 16,
        sampler: { timeBudgetMs: 2000 },
      });
      assert.equal(ghost.edits[0].text, 'a + b');
      assert.deepEqual(
        llama.requests.map((q) => q.path),
        ['/v1/models', '/v1/fim/completions', '/infill'],
      );
      const sent = llama.requests.at(-1)!.body;
      assert.equal(sent.input_prefix, PREFIX);
      assert.equal(sent.input_suffix, SUFFIX);
      assert.equal(sent.n_predict, 16);
      assert.equal(d.state.kind === 'ready' && d.state.info.fimRoute, 'infill');
      const frames: ProgressParams[] = [];
      const fill = await d.fill(
        { text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length] },
        { onProgress: (p) => frames.push(p) },
      );
      assert.equal(fill.edits[0].text, 'a + b', 'streamed pieces without [DONE] are joined');
      assert.equal(frames.length, 2);
      assert.equal(llama.requests.at(-1)!.path, '/infill', 'found once');
    } finally {
      d.dispose();
      await llama.close();
    }
  });
});

describe('a server that takes `suffix` without using it', () => {
  test('its completion, which runs on past the cursor, is cut where the suffix begins', async () => {
    // the stand-in refuses `suffix` as vLLM does; this one accepts it and continues the prompt
    const ignoring = http.createServer(async (req, res) => {
      for await (const _ of req);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (path === '/v1/completions')
        send(200, {
          object: 'text_completion',
          choices: [{ index: 0, text: 'a + b;\n}\n\nfunction sub(a, b) {', finish_reason: 'length' }],
        });
      else send(404, { error: { message: 'Not Found', type: 'not_found', code: 404 } });
    });
    await new Promise<void>((resolve) => ignoring.listen(0, '127.0.0.1', resolve));
    const { port } = ignoring.address() as AddressInfo;
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: `http://127.0.0.1:${port}/v1`,
      fimModel: 'm',
      chatModel: 'm',
    });
    try {
      const r = await d.complete({ prefix: PREFIX, suffix: SUFFIX, sampler: { timeBudgetMs: 2000 } });
      assert.equal(r.edits[0].text, 'a + b');
      assert.equal(d.state.kind === 'ready' && d.state.info.fimRoute, 'suffix');
    } finally {
      d.dispose();
      ignoring.closeAllConnections();
      await new Promise((r) => ignoring.close(r));
    }
  });
});

// A real engine, where one runs: `DIFFUSE_ENGINE_URL` is its /v1 URL (for vLLM serving
// test/fixtures/tiny_diffusion_gemma.py's model, see there). Random weights answer noise, so only
// the protocol, the budget and cancellation are asserted.
const ENGINE = process.env.DIFFUSE_ENGINE_URL;

describe('the openai backend against a real engine (DIFFUSE_ENGINE_URL)', {
  skip: ENGINE ? false : 'no engine: set DIFFUSE_ENGINE_URL to a vLLM, SGLang or llama.cpp server',
}, () => {
  test('ghost text, Fill and Refine with an instruction answer; the budget holds and an abort cancels', async () => {
    const probe = new OpenAICompatibleBackend({ kind: 'openai', baseUrl: ENGINE!, fimModel: '', chatModel: '' });
    const [model] = await probe.listModels();
    probe.dispose();
    assert.ok(model, 'the engine lists its model');
    const states: BackendInfo[] = [];
    const d = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: ENGINE!,
      fimModel: model,
      chatModel: model,
      timeoutMs: 120_000,
      onState: (s) => s.kind === 'ready' && states.push(s.info),
    });
    try {
      const ghost = await d.complete({
        prefix: PREFIX,
        suffix: SUFFIX,
        maxTokens: 16,
        sampler: { timeBudgetMs: 60_000 },
      });
      assert.equal(typeof ghost.edits[0].text, 'string');
      assert.ok(states.at(-1)?.fimRoute, 'the way FIM is asked was found');
      const frames: ProgressParams[] = [];
      const fill = await d.fill(
        { text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length], maxTokens: 16 },
        { onProgress: (p) => frames.push(p) },
      );
      assert.equal(fill.edits.length, 1);
      const start = CODE.indexOf('  return');
      const refine = await d.refine({ text: CODE, start, end: start + 16, instruction: 'fix the sum' });
      assert.equal(refine.edits.length, 1);
      const t0 = Date.now();
      const late = await d
        .complete({ prefix: PREFIX, suffix: SUFFIX, maxTokens: 256, sampler: { timeBudgetMs: 1 } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(Date.now() - t0 < 1000, 'the budget holds');
      if (late) assert.equal((late as BackendError).code, 'timeout');
      const abort = new AbortController();
      const pending = d.fill(
        { text: `${PREFIX}${SUFFIX}`, cursors: [PREFIX.length], maxTokens: 256 },
        { signal: abort.signal },
      );
      setTimeout(() => abort.abort(), 5);
      assert.equal((await failure(pending)).code, 'cancelled');
    } finally {
      d.dispose();
    }
  });
});
