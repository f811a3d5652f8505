// Remembers recent ghost-text completions so that typing what the ghost text shows costs nothing:
// after the user types the first k characters of a cached completion, the rest is returned
// without asking the model. Keys are the text around the cursor (a tail of the prefix and a head
// of the suffix), so the cache works in any document without tracking offsets.

interface Entry {
  prefixTail: string;
  suffixHead: string;
  completion: string;
}

export class CompletionCache {
  private entries: Entry[] = [];

  constructor(
    private readonly capacity = 64,
    /** Characters of prefix / suffix that identify a position. */
    private readonly keyChars = 400,
  ) {}

  put(prefix: string, suffix: string, completion: string): void {
    if (!completion) return;
    const e = { prefixTail: prefix.slice(-this.keyChars), suffixHead: suffix.slice(0, this.keyChars), completion };
    this.entries = [
      e,
      ...this.entries.filter((x) => !(x.prefixTail === e.prefixTail && x.suffixHead === e.suffixHead)),
    ];
    this.entries.length = Math.min(this.entries.length, this.capacity);
  }

  /** What is left of a cached completion at this position, or undefined. */
  get(prefix: string, suffix: string): string | undefined {
    const head = suffix.slice(0, this.keyChars);
    for (const e of this.entries) {
      if (!sameSuffix(head, e.suffixHead)) continue;
      // The user has typed completion[0, k): the prefix now ends with prefixTail + that.
      for (let k = 0; k < e.completion.length; k++) {
        const typed = e.completion.slice(0, k);
        if (prefix.endsWith(e.prefixTail + typed)) {
          this.entries = [e, ...this.entries.filter((x) => x !== e)];
          return e.completion.slice(k);
        }
      }
    }
    return undefined;
  }

  clear(): void {
    this.entries = [];
  }
}

/** Suffix heads match when one is a prefix of the other (the window may have shifted by typing). */
function sameSuffix(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n) === b.slice(0, n) && (n > 0 || a.length === b.length);
}
