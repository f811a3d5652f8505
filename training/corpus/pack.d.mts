export interface PackedFile { file: string; bytes: number; sha256: string; raw_bytes?: number; raw_sha256?: string; offset?: number }
export interface GpuManifest {
  format: number;
  train: { bytes: number; tokens: number; sha256: string | null; pieces: PackedFile[] };
  heldout: PackedFile;
  calls: { folder: string; bytes: number; files: string[] }[];
  compressed_bytes: number;
}
export declare function packGpu(o: { work: string; out: string; callMiB: number; pieceMiB: number; preset?: string; log?: (m: string) => void }): GpuManifest;
