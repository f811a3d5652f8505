// What the model picker shows of a folder without loading it: its card summary (core/view/modelCard.ts)
// and size, or the one-line reason it cannot load. Only the manifest step of a load runs
// (manifest.ts: the files are there, denoiser.json is valid), so listing a 7 B folder reads a
// few kilobytes, and the extension host never loads onnxruntime.
import fs from 'node:fs';
import path from 'node:path';
import { cardSummary, type CardSummary } from '../core/view/modelCard';
import { firstLine, knownWeightBytes, readManifest } from './manifest';

export interface FolderSummary {
  dir: string;
  /** The folder's last path segment. */
  name: string;
  /** Bytes of weights on disk (model.onnx and its external data). */
  bytes?: number;
  card: CardSummary;
  /** Why the folder cannot load, in one line; absent for a folder that passes the manifest step. */
  problem?: string;
}

export function summarizeFolder(dir: string): FolderSummary {
  const name = path.basename(dir);
  let manifest: unknown;
  try {
    manifest = readManifest(dir).manifest;
  } catch (e) {
    return { dir, name, bytes: knownWeightBytes(dir), card: {}, problem: firstLine(e) };
  }
  return { dir, name, bytes: knownWeightBytes(dir), card: cardSummary(manifest, readCard(dir)) };
}

/**
 * The model folders under `root` (the extension's models/): each subfolder with denoiser.json and
 * model.onnx, by name.
 */
export function modelFoldersIn(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return []; // an extension packaged without models/
  }
  return names
    .sort()
    .map((n) => path.join(root, n))
    .filter((d) => fs.existsSync(path.join(d, 'denoiser.json')) && fs.existsSync(path.join(d, 'model.onnx')));
}

function readCard(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');
  } catch {
    return ''; // the card is documentation: a folder without one still loads
  }
}
