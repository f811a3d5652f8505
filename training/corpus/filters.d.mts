export declare function languageOf(rel: string, firstLine?: string): string | null;
export declare function rejectReason(rel: string, text: string): string | null;
export declare function normaliseLineEnds(text: string): string;
export declare function variantKey(rel: string): string;
export declare function variantPreference(rel: string): number;
