// The status bar item: model state (loading / ready / busy with its step / error) and the last
// request's latency; a click opens the Diffuse menu.
import * as vscode from 'vscode';
import type { DenoiserService } from './denoiserService';

/** Creates the item and keeps it current; returns it (the integration tests read its text) and its disposable. */
export function registerStatusBar(service: DenoiserService): { item: vscode.StatusBarItem; disposable: vscode.Disposable } {
  const item = vscode.window.createStatusBarItem('diffuse.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'Diffuse';
  item.command = 'diffuse.showMenu';
  const update = (): void => {
    const s = service.state;
    const a = service.activity;
    const latency = service.lastLatencyMs !== undefined ? ` ${service.lastLatencyMs} ms` : '';
    item.backgroundColor = undefined;
    if (s.kind === 'error') {
      item.text = '$(error) Diffuse';
      item.tooltip = `Diffuse: the model failed to load. ${s.message}\nClick for options.`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    } else if (s.kind === 'starting' || s.kind === 'restarting') {
      item.text = '$(loading~spin) Diffuse: loading';
      item.tooltip = s.kind === 'restarting' ? `Diffuse: ${s.message}; restarting` : 'Diffuse: loading the model';
    } else if (a) {
      item.text = a.step !== undefined ? `$(sync~spin) Diffuse: ${a.kind} step ${a.step}/${a.maxSteps}` : `$(sync~spin) Diffuse: ${a.kind}`;
      item.tooltip = 'Diffuse is denoising. Press Escape in the editor to cancel.';
    } else if (s.kind === 'ready') {
      item.text = `$(sparkle) Diffuse${latency}`;
      item.tooltip = `Diffuse: ${s.info.name} ready (${s.info.threads} thread${s.info.threads === 1 ? '' : 's'})` + (latency ? `; last request took${latency}` : '');
    } else {
      item.text = '$(circle-slash) Diffuse';
      item.tooltip = 'Diffuse: the denoiser is stopped';
    }
  };
  update();
  item.show();
  const sub = service.onDidChange(update);
  return { item, disposable: vscode.Disposable.from(item, sub) };
}
