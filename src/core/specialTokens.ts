/** Ids of the special tokens every model folder declares in denoiser.json. */
export interface SpecialTokens {
  pad: number;
  mask: number;
  bos: number;
  eos: number;
}

/**
 * Which ids a slot may take, as a table over the vocabulary: never mask, bos or eos (they mark
 * the canvas, not code); pad only where a span may end early (`withPad`).
 */
export function realTokenTable(vocab: number, special: SpecialTokens, withPad: boolean): Uint8Array {
  const table = new Uint8Array(vocab).fill(1);
  for (const id of [special.mask, special.bos, special.eos]) table[id] = 0;
  if (!withPad) table[special.pad] = 0;
  return table;
}
