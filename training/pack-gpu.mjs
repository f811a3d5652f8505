#!/usr/bin/env node
// Packs the encoded corpus (work/data) for the lent GPU machine, whose calls each carry at most
// 64 MiB of working tree (the repo's tracked files take ~16 MB of that): train.bin is cut into
// raw pieces, each compressed with xz (Python's lzma reads it there; zstd is not guaranteed),
// and the pieces are grouped into one folder per device call, each under --call-mib.
//
//   npm run model:pack-gpu [-- --work training/work] [--out .gpu] [--call-mib 40] [--piece-mib 16]
//
// Writes .gpu/call-01/ … .gpu/call-NN/ and .gpu/manifest.json (also inside call-01). call-01
// holds heldout.bin.xz, meta.json and the tokenizer too. On the GPU machine, each call carries
// its folder and runs `python3 training/gpu_data.py unpack .gpu training/work/data`, which
// decompresses what arrived (16 cores, in parallel), checks every piece's SHA-256 and, once all
// pieces are there, joins them into train.bin and checks its SHA-256 against meta.json.
// Compressed token ids were measured smaller than compressed source text (see DATA-FORMAT.md),
// and shipping ids leaves nothing to re-tokenise there.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packGpu } from './corpus/pack.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    work: { type: 'string', default: path.join(here, 'work') },
    out: { type: 'string', default: path.join(here, '..', '.gpu') },
    'call-mib': { type: 'string', default: '40' },
    'piece-mib': { type: 'string', default: '16' },
    preset: { type: 'string', default: '6' },
  },
});
try {
  packGpu({ work: opts.work, out: opts.out, callMiB: Number(opts['call-mib']), pieceMiB: Number(opts['piece-mib']), preset: opts.preset });
} catch (e) {
  console.error(`pack-gpu: ${e.message}`);
  process.exit(1);
}
