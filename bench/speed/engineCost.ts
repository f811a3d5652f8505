// `npm run bench` part `engines`: what Diffuse's own side costs per ghost-text request through the
// `openai` backend (building the request, reading the answer, trimming it), against the loopback
// stand-ins of vLLM serving DiffusionGemma (no /fim/completions, `suffix` refused: the backend
// finds its fallback once, then asks every time by it) and of Mercury's API.
//
// The stand-ins run in this process and answer at once (no frame or block delay). Each request is
// timed through the backend, then the very HTTP request it sent (path and body, as the stand-in
// recorded it) is sent again by a bare client on a keep-alive agent like the backend's, which reads
// the answer and parses nothing. The bare replay is the stand-in's time and the HTTP hop; the
// backend's time minus it, paired on the same request, is Diffuse's side. Which goes first
// alternates, so drift on a shared machine falls on both.
import http from 'node:http';
import type { Backend } from '../../src/backend/backend';
import { OpenAICompatibleBackend } from '../../src/backend/remote/openaiCompatible';
import { startMercuryStandIn } from '../../test/fixtures/mercuryStandIn';
import { startVllmStandIn } from '../../test/fixtures/vllmStandIn';
import { CaseSource, quantile, round } from '../shared/cases';
import { GHOST } from '../quality/editorView';

/** Diffuse's side of a ghost request, p95, on either engine. */
export const ENGINE_GOAL_P95_MS = 5;

const GEMMA = 'google/diffusiongemma-26b-a4b';
const QWEN = 'Qwen/Qwen2.5-Coder-1.5B';
const KEY = 'bench-key';
/** What a chat model answers for a missing middle: a fence and the line it was given, repeated. */
const CHAT_ANSWER = '```typescript\n  const total = items.reduce((sum, x) => sum + x.price * x.count, 0);\n```';
const MIDDLE = 'items.reduce((sum, x) => sum + x.price * x.count, 0);';

export interface EngineCost {
  requests: number;
  /** How the backend asked FIM once it had found the server's way. */
  fim_route: string;
  /** The backend's whole call. */
  client_p50_ms: number;
  client_p95_ms: number;
  /** The same HTTP request replayed bare: the stand-in and the hop. */
  replay_p50_ms: number;
  /** Paired (backend − bare replay): Diffuse's side. */
  diffuse_p50_ms: number;
  diffuse_p95_ms: number;
}

export interface EngineFigures {
  /** vLLM serving DiffusionGemma (no infilling tokens): the chat fallback. */
  vllm: EngineCost;
  /** vLLM serving a model with published infilling tokens (Qwen): its template through /completions. */
  vllm_template: EngineCost;
  mercury: EngineCost;
  goal_p95_ms: number;
  method: string;
}

interface Recorded {
  path: string;
  body: Record<string, unknown>;
}

/** Sends one recorded request again and reads the whole answer without parsing it. */
function replayer(baseUrl: string): { send: (r: Recorded) => Promise<number>; close: () => void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const base = new URL(baseUrl);
  const send = (r: Recorded): Promise<number> =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const text = JSON.stringify(r.body);
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          path: r.path,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
            authorization: `Bearer ${KEY}`,
          },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => resolve(performance.now() - t));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  return { send, close: () => agent.destroy() };
}

async function measure(
  backend: Backend,
  url: string,
  requests: Recorded[],
  cases: { prefix: string; suffix: string }[],
): Promise<EngineCost> {
  const ask = (c: { prefix: string; suffix: string }) =>
    backend.complete({ ...c, maxTokens: GHOST.maxTokens, sampler: { timeBudgetMs: GHOST.timeBudgetMs } });
  const replay = replayer(url);
  try {
    await backend.start();
    // warm: the backend finds the server's way to ask FIM, both agents open their connection
    for (const c of cases.slice(0, 20)) {
      await ask(c);
      await replay.send(requests.at(-1)!);
    }
    const client: number[] = [];
    const bare: number[] = [];
    const paired: number[] = [];
    const timedCases = cases.slice(20);
    for (const [i, c] of timedCases.entries()) {
      const before = requests.length;
      const timeClient = async () => {
        const t = performance.now();
        await ask(c);
        return performance.now() - t;
      };
      let a: number;
      let b: number;
      if (i % 2 === 0) {
        a = await timeClient();
        b = await replay.send(requests[before]);
      } else {
        // the replay needs the request first: ask once untimed, replay it, then time the same ask
        await ask(c);
        b = await replay.send(requests[before]);
        a = await timeClient();
      }
      // the stand-in records the replays too: 2 requests, or 3 with the untimed ask
      if (requests.length - before !== (i % 2 === 0 ? 2 : 3))
        throw new Error(`the backend sent ${requests.length - before} requests for one ghost request`);
      client.push(a);
      bare.push(b);
      paired.push(a - b);
    }
    const last = requests.at(-1)!;
    return {
      requests: timedCases.length,
      fim_route: last.path.endsWith('/chat/completions')
        ? 'chat'
        : last.path.endsWith('/fim/completions')
          ? 'fim'
          : 'suffix' in last.body
            ? 'suffix'
            : 'template',
      client_p50_ms: round(quantile(client, 0.5), 2),
      client_p95_ms: round(quantile(client, 0.95), 2),
      replay_p50_ms: round(quantile(bare, 0.5), 2),
      diffuse_p50_ms: round(quantile(paired, 0.5), 2),
      diffuse_p95_ms: round(quantile(paired, 0.95), 2),
    };
  } finally {
    replay.close();
    backend.dispose();
  }
}

export async function runEngineCost(n: number): Promise<EngineFigures> {
  const source = new CaseSource(2929);
  const cases = Array.from({ length: n + 20 }, () => source.ghost());
  const vllmAt = async (model: string) => {
    const server = await startVllmStandIn({
      model,
      apiKey: KEY,
      blockChars: 1 << 20, // one block: the answer at once
      answer: (kind) => (kind === 'chat' ? CHAT_ANSWER : `${MIDDLE}<|endoftext|>`),
    });
    const backend = new OpenAICompatibleBackend({
      kind: 'openai',
      baseUrl: server.url,
      fimModel: model,
      chatModel: model,
      apiKey: KEY,
    });
    try {
      return await measure(backend, server.url, server.requests, cases);
    } finally {
      await server.close();
    }
  };
  const vllm = await vllmAt(GEMMA);
  const vllmTemplate = await vllmAt(QWEN);
  const api = await startMercuryStandIn({ key: KEY, models: ['mercury-edit-2', 'mercury-2'], answer: () => MIDDLE });
  let mercury: EngineCost;
  try {
    const backend = new OpenAICompatibleBackend({
      kind: 'mercury',
      baseUrl: api.url,
      fimModel: 'mercury-edit-2',
      chatModel: 'mercury-2',
      apiKey: KEY,
    });
    mercury = await measure(backend, api.url, api.requests, cases);
  } finally {
    await api.close();
  }
  return {
    vllm,
    vllm_template: vllmTemplate,
    mercury,
    goal_p95_ms: ENGINE_GOAL_P95_MS,
    method:
      "ghost text (the editor's 24 tokens and budget) on held-out cursors through the openai backend against stand-ins in this " +
      'process that answer at once; each request timed through the backend and then replayed bare (same path and body, a keep-alive ' +
      "agent, the answer read but not parsed), alternating which goes first; Diffuse's side = the paired difference",
  };
}
