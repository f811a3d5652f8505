export declare const normalise: (s: string) => string;
export declare function similarity(a: string, b: string): number;
