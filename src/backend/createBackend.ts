// The one factory of backends, shared by the editor, the CLI and `diffuse serve`: a source (a
// model folder, or a URL) in, a Backend out.
import { LocalBackend } from './local/localBackend';
import type { BackendKind, BackendSource, Backend, BackendState } from './backend';
import { DiffuseRemoteBackend } from './remote/diffuseRemote';
import {
  MERCURY_BASE_URL,
  MERCURY_CHAT_MODEL,
  MERCURY_FIM_MODEL,
  OpenAICompatibleBackend,
} from './remote/openaiCompatible';

export interface BackendHooks {
  /** The bundled worker script (dist/worker.js), for the local backend. */
  workerPath: string;
  onState?: (s: BackendState) => void;
  log?: (line: string) => void;
  /** Deadline of a remote Refine or Fill. */
  remoteTimeoutMs?: number;
  /** Local worker: restart back-off's first delay. */
  restartDelayMs?: number;
}

export function createBackend(source: BackendSource, hooks: BackendHooks): Backend {
  switch (source.kind) {
    case 'local':
      return new LocalBackend({
        workerPath: hooks.workerPath,
        modelDir: source.modelDir,
        threads: source.threads,
        executionProvider: source.executionProvider,
        onState: hooks.onState,
        log: hooks.log,
        restartDelayMs: hooks.restartDelayMs,
      });
    case 'mercury':
    case 'openai':
      return new OpenAICompatibleBackend({
        ...source,
        timeoutMs: hooks.remoteTimeoutMs,
        onState: hooks.onState,
        log: hooks.log,
      });
    case 'diffuse':
      return new DiffuseRemoteBackend({ ...source, timeoutMs: hooks.remoteTimeoutMs, onState: hooks.onState });
  }
}

/** What a remote source is when the user gave only the backend: Mercury's own URL and models. */
export function remoteDefaults(kind: 'mercury' | 'openai'): { baseUrl: string; fimModel: string; chatModel: string } {
  return kind === 'mercury'
    ? { baseUrl: MERCURY_BASE_URL, fimModel: MERCURY_FIM_MODEL, chatModel: MERCURY_CHAT_MODEL }
    : { baseUrl: '', fimModel: '', chatModel: '' };
}

/** The environment variable the CLI reads a backend's key from. */
export function apiKeyVariable(kind: BackendKind): string | undefined {
  return kind === 'mercury' ? 'INCEPTION_API_KEY' : kind === 'local' ? undefined : 'DIFFUSE_API_KEY';
}
