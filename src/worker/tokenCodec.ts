import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenCodec } from '../core/text/spanText';

/**
 * The model folder's tokenizer (tokenizer.json + tokenizer_config.json) through
 * @huggingface/tokenizers, the pure-JS port of the library the training side uses.
 */
export class HfTokenCodec implements TokenCodec {
  private readonly tokenizer: Tokenizer;
  /** Decoded text of every id, for boundary healing. */
  private readonly tokenTexts: string[];
  readonly vocabSize: number;
  private readonly specialStrings: string[];

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown, specialStrings: string[]) {
    this.tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
    const json = tokenizerJson as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] };
    const ids = [...Object.values(json.model?.vocab ?? {}), ...(json.added_tokens ?? []).map((t) => t.id)];
    // a loop, not Math.max(...ids): spreading Qwen's 151k ids overflows the call stack
    let top = -1;
    for (const id of ids) if (id > top) top = id;
    this.vocabSize = top + 1;
    this.specialStrings = specialStrings.filter((s) => s.length > 0);
    this.tokenTexts = [];
    for (let id = 0; id < this.vocabSize; id++) this.tokenTexts.push(this.decode([id]));
  }

  encode(text: string): Int32Array {
    return Int32Array.from(
      this.tokenizer.encode(escapeSpecialTokens(text, this.specialStrings), { add_special_tokens: false }).ids,
    );
  }

  decode(ids: ArrayLike<number>): string {
    // the library refuses an empty list; an empty span is an empty string
    if (ids.length === 0) return '';
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  idsStartingWith(text: string, rest?: (after: string) => boolean): Int32Array {
    const out: number[] = [];
    this.tokenTexts.forEach((t, id) => {
      if (t.startsWith(text) && (!rest || rest(t.slice(text.length)))) out.push(id);
    });
    return Int32Array.from(out);
  }
}

/**
 * A literal special-token string in user code (say "<|mask|>") would be encoded as the special
 * token itself. A zero-width space after its first character keeps it ordinary text; training
 * escapes its corpus the same way (training/special-tokens.mjs).
 */
export function escapeSpecialTokens(text: string, specials: readonly string[]): string {
  let out = text;
  for (const s of specials) if (out.includes(s)) out = out.split(s).join(s[0] + '\u200b' + s.slice(1));
  return out;
}
