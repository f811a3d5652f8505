export declare function exactKey(text: string): string;
export declare function minhashSignature(text: string): Uint32Array | null;
export declare function similarity(a: Uint32Array, b: Uint32Array): number;
export declare class NearDupIndex {
  constructor(threshold?: number);
  count: number;
  find(sig: Uint32Array): number;
  add(sig: Uint32Array): number;
}
