// The one typed accessor for `diffuse.*` settings (package.json "contributes.configuration").
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ContextSettings, SamplerSettings } from '../denoiser/protocol';

export interface DiffuseSettings {
  /** Absolute model folder ('' in settings = the model shipped with the extension). */
  modelDir: string;
  threads: number;
  sampler: SamplerSettings;
  context: Required<ContextSettings>;
  /** Default strength of Refine Selection (0.1–1). */
  strength: number;
  fillMaxTokens: number;
  ghostText: {
    enabled: boolean;
    delayMs: number;
    timeBudgetMs: number;
    maxTokens: number;
    maxLines: number;
    /** Automatic ghost text is shown only at or above this confidence (0–1). */
    minConfidence: number;
    /** Candidates decoded per request (best first; Alt+] / Alt+[ cycle). */
    candidates: number;
  };
}

export const SECTION = 'diffuse';
/** Candidates beyond this cost more time than cycling through them is worth. */
export const MAX_GHOST_CANDIDATES = 8;

export function readSettings(extensionPath: string): DiffuseSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const modelPath = c.get<string>('modelPath', '').trim();
  const steps = c.get<number>('steps', 0);
  return {
    modelDir: modelPath ? resolveUserPath(modelPath) : path.join(extensionPath, 'models', 'diffuse-small'),
    threads: Math.max(1, Math.floor(c.get<number>('threads', 2))),
    sampler: {
      steps: steps > 0 ? Math.floor(steps) : undefined,
      threshold: c.get<number>('threshold', 0.8),
      temperature: c.get<number>('temperature', 0),
    },
    context: {
      prefixTokens: c.get<number>('context.prefixTokens', 128),
      suffixTokens: c.get<number>('context.suffixTokens', 64),
    },
    strength: clamp(c.get<number>('refine.strength', 0.5), 0.1, 1),
    fillMaxTokens: Math.max(1, Math.floor(c.get<number>('fill.maxTokens', 48))),
    ghostText: {
      enabled: c.get<boolean>('ghostText.enabled', true),
      delayMs: Math.max(0, c.get<number>('ghostText.delayMs', 150)),
      timeBudgetMs: Math.max(50, c.get<number>('ghostText.timeBudgetMs', 800)),
      maxTokens: Math.max(1, Math.floor(c.get<number>('ghostText.maxTokens', 24))),
      maxLines: Math.max(1, Math.floor(c.get<number>('ghostText.maxLines', 4))),
      minConfidence: clamp(c.get<number>('ghostText.minConfidence', 0), 0, 1),
      candidates: clamp(Math.floor(c.get<number>('ghostText.candidates', 1)), 1, MAX_GHOST_CANDIDATES),
    },
  };
}

/** Settings that need a new denoiser process when they change. */
export function affectsDenoiser(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.modelPath`) || e.affectsConfiguration(`${SECTION}.threads`);
}

function resolveUserPath(p: string): string {
  const home = process.env.HOME ?? '';
  const expanded = p.startsWith('~') ? path.join(home, p.slice(1)) : p;
  if (path.isAbsolute(expanded)) return expanded;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return folder ? path.join(folder, expanded) : path.resolve(expanded);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
