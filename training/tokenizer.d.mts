export declare const PRE_TOKENIZER: Record<string, unknown>;
export declare const PRE_TOKENIZER_V1: Record<string, unknown>;
export declare function truncateBpe(trained: unknown, vocabSize: number, preTokenizer?: unknown): Record<string, unknown>;
export declare function tokenizerConfig(contextLength?: number): Record<string, unknown>;
