// The special tokens of the shipped tokenizer, in id order (pad = 0, mask = 1, bos = 2, eos = 3).
export const SPECIAL_TOKENS = ['<|pad|>', '<|mask|>', '<|bos|>', '<|eos|>'];

/**
 * Both tokenizer libraries encode a literal "<|mask|>" in source text as the special token.
 * A zero-width space after "<" keeps such text ordinary (it is vanishingly rare in code).
 */
export function escapeSpecialTokens(text) {
  if (!text.includes('<|')) return text;
  let out = text;
  for (const s of SPECIAL_TOKENS) out = out.split(s).join('<\u200b' + s.slice(1));
  return out;
}
