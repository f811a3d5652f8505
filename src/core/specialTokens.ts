/** Ids of the special tokens every model folder declares in denoiser.json. */
export interface SpecialTokens {
  pad: number;
  mask: number;
  bos: number;
  eos: number;
}
