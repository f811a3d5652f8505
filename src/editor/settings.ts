// The one typed accessor for `diffuse.*` settings (package.json "contributes.configuration").
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SETTING_DEFAULTS, SHIPPED_MODEL, STRENGTH_RANGE, type SettingName } from '../core/defaults';
import { remoteDefaults } from '../backend/createBackend';
import { isBackendKind, type BackendKind } from '../backend/backend';
import { FIM_TEMPLATE_SETTINGS } from '../core/prompts/fimPrompt';
import type { ContextSettings, SamplerSettings } from '../backend/requests';

export interface DiffuseSettings {
  /** Absolute model folder ('' in settings = the model shipped with the extension). */
  modelDir: string;
  threads: number;
  /** onnxruntime execution provider of the local model ('cpu' when unset). */
  executionProvider?: string;
  /** Who answers, and where a remote backend is (machine-scoped: a workspace cannot redirect them). */
  backend: {
    kind: BackendKind;
    baseUrl: string;
    fimModel: string;
    chatModel: string;
    /** `auto`, `none` or a family of core/prompts/fimPrompt.ts's FIM_TEMPLATES (an unknown name reads as `auto`). */
    fimTemplate: string;
    /** Characters of code on each side of the span sent to a remote model. */
    contextChars: number;
    timeoutMs: number;
  };
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
  nextEdit: {
    enabled: boolean;
  };
  repair: {
    /** The user's own check command ('' = none); only user (or remote) settings count, never a workspace's. */
    check: string;
    maxChecks: number;
    /** The whole repair's time limit. */
    timeoutMs: number;
  };
}

export const SECTION = 'diffuse';
/** Candidates beyond this cost more time than cycling through them is worth. */
export const MAX_GHOST_CANDIDATES = 8;

export function readSettings(extensionPath: string): DiffuseSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  // every fallback comes from the one table package.json is checked against
  const get = <K extends SettingName>(key: K): (typeof SETTING_DEFAULTS)[K] =>
    c.get<(typeof SETTING_DEFAULTS)[K]>(key, SETTING_DEFAULTS[key]);
  const modelPath = get('modelPath').trim();
  const steps = get('steps');
  const chosen = get('backend') as string;
  const kind = isBackendKind(chosen) ? chosen : 'local';
  const remote =
    kind === 'mercury' || kind === 'openai' ? remoteDefaults(kind) : { baseUrl: '', fimModel: '', chatModel: '' };
  const ep = get('executionProvider') as string;
  return {
    modelDir: modelPath ? resolveUserPath(modelPath) : path.join(extensionPath, 'models', SHIPPED_MODEL),
    threads: Math.max(1, Math.floor(get('threads'))),
    executionProvider: ep && ep !== 'cpu' ? ep : undefined,
    backend: {
      kind,
      baseUrl: get('remote.baseUrl').trim() || remote.baseUrl,
      fimModel: get('remote.fimModel').trim() || remote.fimModel,
      chatModel: get('remote.chatModel').trim() || remote.chatModel,
      fimTemplate: fimTemplateSetting(get('remote.fimTemplate')),
      contextChars: Math.max(200, Math.floor(get('remote.contextChars'))),
      timeoutMs: Math.max(1000, get('remote.timeoutMs')),
    },
    sampler: {
      steps: steps > 0 ? Math.floor(steps) : undefined,
      threshold: get('threshold'),
      temperature: get('temperature'),
    },
    context: {
      prefixTokens: get('context.prefixTokens'),
      suffixTokens: get('context.suffixTokens'),
    },
    strength: clamp(get('refine.strength'), STRENGTH_RANGE.min, STRENGTH_RANGE.max),
    fillMaxTokens: Math.max(1, Math.floor(get('fill.maxTokens'))),
    ghostText: {
      enabled: get('ghostText.enabled'),
      delayMs: Math.max(0, get('ghostText.delayMs')),
      timeBudgetMs: Math.max(50, get('ghostText.timeBudgetMs')),
      maxTokens: Math.max(1, Math.floor(get('ghostText.maxTokens'))),
      maxLines: Math.max(1, Math.floor(get('ghostText.maxLines'))),
      minConfidence: clamp(get('ghostText.minConfidence'), 0, 1),
      candidates: clamp(Math.floor(get('ghostText.candidates')), 1, MAX_GHOST_CANDIDATES),
    },
    nextEdit: {
      enabled: get('nextEdit.enabled'),
    },
    repair: {
      // the package.json scope ("machine") already keeps workspaces out; reading only the user's
      // own value says so here too, where a workspace would make Diffuse run a command
      check: String(c.inspect<string>('repair.check')?.globalValue ?? SETTING_DEFAULTS['repair.check']),
      maxChecks: Math.max(1, Math.floor(get('repair.maxChecks'))),
      timeoutMs: Math.max(1000, get('repair.timeoutMs')),
    },
  };
}

/** Settings that need a new denoiser process when they change. */
export function affectsBackend(e: vscode.ConfigurationChangeEvent): boolean {
  return [
    'modelPath',
    'threads',
    'executionProvider',
    'backend',
    'remote.baseUrl',
    'remote.fimModel',
    'remote.chatModel',
    'remote.fimTemplate',
    'remote.timeoutMs',
  ].some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
}

function fimTemplateSetting(v: string): string {
  const name = String(v).trim().toLowerCase();
  return (FIM_TEMPLATE_SETTINGS as readonly string[]).includes(name) ? name : 'auto';
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
