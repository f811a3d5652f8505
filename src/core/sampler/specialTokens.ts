/** Ids of the special tokens every model folder declares in denoiser.json. */
export interface SpecialTokens {
  pad: number;
  mask: number;
  bos: number;
  eos: number;
  /**
   * DreamOn's `<|expand|>`, when the folder declares it: a masked slot that predicts it asks for
   * a second slot (one mask becomes two), so a variable-length span can grow where it is short.
   */
  expand?: number;
}

/**
 * Which ids a slot may take, as a table over the vocabulary: never mask, bos or eos (they mark
 * the canvas, not code); pad and expand only where a span may change length (`withPad`).
 */
export function realTokenTable(vocab: number, special: SpecialTokens, withPad: boolean): Uint8Array {
  const table = new Uint8Array(vocab).fill(1);
  for (const id of [special.mask, special.bos, special.eos]) table[id] = 0;
  if (!withPad) {
    table[special.pad] = 0;
    if (special.expand !== undefined) table[special.expand] = 0;
  }
  return table;
}
