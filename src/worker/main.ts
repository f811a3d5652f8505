// The denoiser child process: loads a model folder and serves requests over vscode-jsonrpc on
// Node's IPC channel. Requests run one at a time (the model is CPU-bound; interleaving two
// would only make both slower); a cancelled request stops between denoising steps.
import { type CancellationToken, ResponseError, createMessageConnection } from 'vscode-jsonrpc/node';
import { IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { BadInputError, CancelledError, Engine } from './engine';
import { ModelFolderError, loadModelFolder } from './loadModel';
import type { DenoiseResult, ProgressParams } from '../backend/requests';
import {
  CompleteRequest,
  ErrorCodes,
  FillRequest,
  LoadProgressNotification,
  LoadRequest,
  NextEditRequest,
  ProgressNotification,
  RefineRequest,
  ScoreRequest,
  AlternativesRequest,
  type ModelInfo,
} from '../backend/local/protocol';

let engine: Engine | undefined;
let queue: Promise<unknown> = Promise.resolve();

function runQueued<R = DenoiseResult>(token: CancellationToken, job: (e: Engine) => Promise<R>): Promise<R> {
  const run = async (): Promise<R> => {
    if (token.isCancellationRequested) throw new ResponseError(ErrorCodes.cancelled, 'request cancelled');
    if (!engine) throw new ResponseError(ErrorCodes.notLoaded, 'no model is loaded');
    try {
      return await job(engine);
    } catch (e) {
      if (e instanceof CancelledError) throw new ResponseError(ErrorCodes.cancelled, 'request cancelled');
      if (e instanceof BadInputError) throw new ResponseError(ErrorCodes.badInput, e.message);
      throw e;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

function main(): void {
  const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  const hooks = (token: CancellationToken) => ({
    isCancelled: () => token.isCancellationRequested,
    onProgress: (p: ProgressParams) => {
      void connection.sendNotification(ProgressNotification, p);
    },
  });

  // Loading is never cancelled: a half-loaded session is worse than a late one.
  connection.onRequest(LoadRequest, async (p): Promise<ModelInfo> => {
    const t0 = Date.now();
    const threads = p.threads && p.threads > 0 ? Math.floor(p.threads) : 1;
    try {
      const loaded = await loadModelFolder(p.modelDir, threads, {
        executionProvider: p.executionProvider,
        // awaited: the notification leaves before a step that holds the thread (the tokenizer's parse, the session)
        onStage: (stage) => connection.sendNotification(LoadProgressNotification, { stage }),
      });
      engine = new Engine(loaded.model, loaded.codec, loaded.manifest.special_tokens, loaded.manifest.context_length);
      return {
        name: loaded.manifest.name,
        modelDir: p.modelDir,
        vocabSize: loaded.manifest.vocab_size,
        contextLength: loaded.manifest.context_length,
        loadMs: Date.now() - t0,
        threads,
        executionProvider: loaded.executionProvider,
        ...(loaded.note ? { providerNote: loaded.note } : {}),
      };
    } catch (e) {
      engine = undefined;
      if (e instanceof ModelFolderError) throw new ResponseError(ErrorCodes.modelInvalid, e.message);
      throw e;
    }
  });
  connection.onRequest(RefineRequest, (p, token) => runQueued(token, (e) => e.refine(p, hooks(token))));
  connection.onRequest(FillRequest, (p, token) => runQueued(token, (e) => e.fill(p, hooks(token))));
  connection.onRequest(CompleteRequest, (p, token) => runQueued(token, (e) => e.complete(p, hooks(token))));
  connection.onRequest(NextEditRequest, (p, token) => runQueued(token, (e) => e.nextEdit(p, hooks(token))));
  connection.onRequest(ScoreRequest, (p, token) => runQueued(token, (e) => e.scoreTokens(p)));
  connection.onRequest(AlternativesRequest, (p, token) => runQueued(token, (e) => e.alternatives(p)));
  // The parent going away ends the worker: it never outlives the editor or CLI that started it.
  process.on('disconnect', () => process.exit(0));
  connection.listen();
}

main();
