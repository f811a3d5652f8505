// What the model picker says of a folder: how many parameters, where the weights come from, their
// licence and dtype, and its size. denoiser.json is read first: training/convert.py records the
// conversion under "converted" (source checkpoint, architecture, dtype, parameters, licence) and
// training/export.py the training under "training" (parameters, tokens seen). MODEL_CARD.md fills
// in what the manifest does not say (a card written by hand, or the facts table of
// training/model-card.mjs with its parameter count).

export interface CardSummary {
  params?: number;
  /** Where the weights come from: "dream, converted from /models/Dream" or "trained by Diffuse on 946.2 M tokens". */
  source?: string;
  licence?: string;
  /** Weight type: fp32, fp16, bf16 or int8. */
  dtype?: string;
}

/** The summary of a folder from its parsed denoiser.json and the text of its MODEL_CARD.md ('' when it has none). */
export function cardSummary(manifest: unknown, card = ''): CardSummary {
  const fromManifest = manifestSummary(manifest);
  const fromCard = cardTextSummary(card);
  return {
    params: fromManifest.params ?? fromCard.params,
    source: fromManifest.source ?? fromCard.source,
    licence: fromManifest.licence ?? fromCard.licence,
    dtype: fromManifest.dtype ?? fromCard.dtype,
  };
}

/**
 * The picker's two lines: sizes ("2.2 M parameters · fp32 · 9.4 MB") and origin ("dream, converted
 * from /ck · licence: MIT"). A licence the folder does not state is said to be unstated, since
 * the user has to look it up before using the weights.
 */
export function summaryLines(s: CardSummary, bytes?: number): { sizes: string; origin: string } {
  const sizes = [
    s.params !== undefined ? `${formatCount(s.params)} parameters` : undefined,
    s.dtype,
    bytes !== undefined ? formatBytes(bytes) : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const origin = [s.source, s.licence ? `licence: ${s.licence}` : 'licence not stated'].filter(Boolean).join(' · ');
  return { sizes, origin };
}

/** 9.4 MB, 7.6 GB: decimal units, as disks and download pages count. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** 2.2 M, 7.6 B: parameter and token counts as model pages write them. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

const DTYPES = ['fp32', 'fp16', 'bf16', 'int8'];

function manifestSummary(manifest: unknown): CardSummary {
  const m = record(manifest);
  const converted = record(m.converted);
  const training = record(m.training);
  if (Object.keys(converted).length) {
    const arch = text(converted.architecture);
    const from = text(converted.from);
    return {
      params: count(converted.params),
      source: from ? `${arch ? `${arch}, ` : ''}converted from ${from}` : arch,
      licence: text(converted.licence),
      dtype: DTYPES.includes(String(converted.dtype)) ? String(converted.dtype) : undefined,
    };
  }
  const tokens = count(training.tokens_seen);
  return {
    params: count(training.params),
    source: Object.keys(training).length
      ? `trained by Diffuse${tokens ? ` on ${formatCount(tokens)} tokens` : ''}`
      : undefined,
  };
}

function cardTextSummary(card: string): CardSummary {
  const licence = /^[ \t]*(?:[-*][ \t]*)?\|?[ \t]*licen[cs]e[ \t]*(?::|\|)[ \t]*([^|\n]+)/im.exec(card)?.[1];
  const source = /^[ \t]*[-*][ \t]*source[ \t]*:[ \t]*`?([^`\n]+)`?/im.exec(card)?.[1];
  // "| parameters | 20.45 M |" (model-card.mjs's facts table) or "- 2.2 M parameters" (convert.py)
  const params =
    /parameters[ \t]*\|[ \t]*([\d.]+)[ \t]*([KMB])\b/i.exec(card) ??
    /([\d.]+)[ \t]*([KMB])[ \t]+parameters/i.exec(card);
  const dtype = /\b(fp32|fp16|bf16|int8)[ \t]+weights\b|\bweights[ \t]+(fp32|fp16|bf16|int8)\b/i.exec(card);
  return {
    licence: licence?.trim().replace(/\.?[ \t]*The licence of the weights applies to this folder\.?$/, '') || undefined,
    source: source?.trim() || undefined,
    params: params
      ? Number(params[1]) * { K: 1e3, M: 1e6, B: 1e9 }[params[2].toUpperCase() as 'K' | 'M' | 'B']
      : undefined,
    dtype: dtype ? (dtype[1] ?? dtype[2]).toLowerCase() : undefined,
  };
}

function record(x: unknown): Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

function text(x: unknown): string | undefined {
  return typeof x === 'string' && x.trim() ? x.trim() : undefined;
}

function count(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined;
}
