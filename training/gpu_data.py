"""Unpacks the corpus that training/pack-gpu.mjs packed for the GPU machine.

    python3 training/gpu_data.py unpack .gpu training/work/data

Each device call carries one .gpu/call-NN folder; the machine keeps ignored files between
back-to-back calls, so each call runs this to decompress what has arrived (in parallel) and, once
every piece is there, to join them into train.bin. Every piece's SHA-256 is checked against the
manifest, and the joined train.bin's against meta.json (written where the corpus was encoded).
Prints one line saying what is there and what is missing; exits 0 when train.bin is complete,
3 when pieces are still missing, 1 on a bad piece. Standard library only (lzma).
"""
import hashlib
import json
import lzma
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def find_manifest(src):
    for cand in [os.path.join(src, "manifest.json")] + sorted(
            os.path.join(src, d, "manifest.json") for d in os.listdir(src) if d.startswith("call-")):
        if os.path.exists(cand):
            with open(cand) as f:
                return json.load(f)
    return None


def decompress(args):
    """Decompresses one piece to dest (via a temporary name) and checks its SHA-256."""
    src, dest, want = args
    tmp = dest + ".tmp"
    h = hashlib.sha256()
    try:
        with lzma.open(src) as fin, open(tmp, "wb") as fout:
            for block in iter(lambda: fin.read(1 << 24), b""):
                h.update(block)
                fout.write(block)
    except (lzma.LZMAError, EOFError) as e:
        os.remove(tmp)
        return f"{os.path.basename(src)}: damaged ({e})"
    if h.hexdigest() != want:
        os.remove(tmp)
        return f"{os.path.basename(src)}: SHA-256 mismatch"
    os.replace(tmp, dest)
    return None


def unpack(src, dest):
    manifest = find_manifest(src)
    if manifest is None:
        print(f"gpu_data: no manifest.json under {src} (call-01 carries it)")
        return 3
    os.makedirs(dest, exist_ok=True)
    train = os.path.join(dest, "train.bin")
    held = os.path.join(dest, "heldout.bin")
    if (os.path.exists(train) and os.path.getsize(train) == manifest["train"]["bytes"]
            and os.path.exists(held) and os.path.getsize(held) == manifest["heldout"]["raw_bytes"]):
        print(f"gpu_data: train.bin already complete ({manifest['train']['tokens']:,} tokens) in {dest}")
        return 0
    parts = os.path.join(dest, "parts")
    os.makedirs(parts, exist_ok=True)
    jobs, missing = [], []
    pieces = manifest["train"]["pieces"]
    entries = pieces + [dict(manifest["heldout"], target=os.path.join(dest, "heldout.bin"))]
    for p in entries:
        target = p.get("target") or os.path.join(parts, os.path.basename(p["file"])[: -len(".xz")])
        if os.path.exists(target) and os.path.getsize(target) == p["raw_bytes"]:
            continue
        packed = os.path.join(src, p["file"])
        if not os.path.exists(packed):
            missing.append(p["file"])
            continue
        jobs.append((packed, target, p["raw_sha256"]))
    if jobs:
        with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            errors = [e for e in pool.map(decompress, jobs) if e]
        if errors:
            print("gpu_data: " + "; ".join(errors))
            return 1
    for name, entry in manifest["small"].items():
        path = os.path.join(src, entry["file"])
        if os.path.exists(path):
            shutil.copyfile(path, os.path.join(dest, name))
    have = len(pieces) - sum(1 for m in missing if os.path.basename(m).startswith("train-"))
    if missing:
        calls = sorted({m.split("/")[0] for m in missing})
        print(f"gpu_data: {have}/{len(pieces)} train pieces here; still to carry: {' '.join(calls)}")
        return 3
    if not (os.path.exists(train) and os.path.getsize(train) == manifest["train"]["bytes"]):
        with open(train + ".tmp", "wb") as out:
            for p in pieces:
                with open(os.path.join(parts, os.path.basename(p["file"])[: -len(".xz")]), "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 24)
        want = manifest["train"].get("sha256")
        if want and sha256_file(train + ".tmp") != want:
            os.remove(train + ".tmp")
            print("gpu_data: train.bin SHA-256 differs from meta.json")
            return 1
        os.replace(train + ".tmp", train)
        shutil.rmtree(parts)
    print(f"gpu_data: train.bin complete ({manifest['train']['tokens']:,} tokens) in {dest}")
    return 0


def main(argv):
    if len(argv) != 4 or argv[1] != "unpack":
        print("usage: python3 training/gpu_data.py unpack SRC_DIR DEST_DIR")
        return 2
    return unpack(argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
