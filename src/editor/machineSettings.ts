// Writing Diffuse's machine-scoped settings (`diffuse.backend`, `diffuse.remote.*`) where VS Code
// applies them, and saying where that is; Choose Backend… and Choose Remote Model… write through here.
//
// They stay `machine`-scoped, so that no workspace can redirect the user's code to another server
// (`machine-overridable` would let a workspace's .vscode/settings.json do exactly that;
// `application` would force one backend on every remote machine of a user, where each machine has
// its own server and network). A `machine` setting written to ConfigurationTarget.Global lands in
// the user settings of a local window and in the remote machine's settings ("Remote [name]") of a
// remote window (Remote-SSH, WSL, Dev Containers, Codespaces, code-server): VS Code routes a Global
// write of a machine-scoped key there, the one place it applies. The Settings editor's User tab
// greys these settings out in a remote window; the commands are the way that always works.
import * as vscode from 'vscode';
import { SECTION } from './settings';

/** Where a Global write of a machine-scoped setting lands in this window, in the Settings editor's words. */
export function settingsPlace(): string {
  return vscode.env.remoteName ? `Remote [${vscode.env.remoteName}] settings` : 'User settings';
}

/** Writes `diffuse.<key>` where this window applies it (undefined: back to the default). */
export function writeMachineSetting(key: string, value: unknown): Thenable<void> {
  return vscode.workspace.getConfiguration(SECTION).update(key, value, vscode.ConfigurationTarget.Global);
}
