// Context keys from what the backend in use can do, for package.json's `when` clauses: a command
// the backend cannot serve is left out of the menus and the palette rather than offered and then
// refused (Refine with Instruction needs a chat model, which the built-in model is not).
import * as vscode from 'vscode';
import type { BackendService } from './backendService';

export function registerContextKeys(service: BackendService): vscode.Disposable {
  const set: Record<string, boolean | string> = {};
  const update = (): void => {
    const caps = service.capabilities;
    const keys = {
      'diffuse.backend': service.backend,
      'diffuse.canFollowInstruction': !!caps?.instruction,
      'diffuse.canProposeNextEdit': !!caps?.nextEdit,
    };
    for (const [key, value] of Object.entries(keys)) {
      if (set[key] === value) continue; // the service changes with every request: set only what changed
      set[key] = value;
      void vscode.commands.executeCommand('setContext', key, value);
    }
  };
  update();
  return service.onDidChange(update);
}
