"""Python twin of the `axpy` workload (workloads/src/axpy.rs): the talk's
I/O pipeline in NumPy.

For every file pair i of the work folder that `workloads` prepared, read
A_i and B_i (little-endian float64, `np.fromfile`), compute
Y_i = alpha * A_i + B_i and write Y_i with `tofile` to y_NNNNN.bin,
overwriting the file the Rust run wrote there (so both find the same page
cache and the same existing files).

Modes: `seq` (file after file) and `pool` (a `multiprocessing.Pool` of
--workers processes, one file per task, as the talk does). The time printed
is the pipeline's alone, pool start-up and shut-down included; interpreter
start-up and the NumPy import are not in it.

The answer is computed afterwards, untimed, from the files written: the same
fingerprint as the Rust workload (a position-dependent hash of every
element's bits, added up with wrapping; FNV-1a over the files' hashes in
file order) and the same sum in the same order (element after element with
`np.cumsum`, then file after file), so the two agree bit for bit.

Prints one JSON line: {"twin": "axpy", "mode": ..., "workers": ...,
"seconds": ..., "answer": {...}}.
"""

import argparse
import json
import os
import struct
import sys
import time
from multiprocessing import Pool

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def paths(folder, i):
    """The paths of A_i, B_i and Y_i, named as the Rust workload names them."""
    return tuple(os.path.join(folder, f"{x}_{i:05d}.bin") for x in "aby")


def read_vector(path, n):
    """A file of n little-endian float64s."""
    v = np.fromfile(path, dtype="<f8")
    if v.size != n:
        raise SystemExit(f"{path}: {v.size * 8} bytes, expected {n * 8}")
    return v


def process_file(task):
    """Read A_i and B_i, write Y_i = alpha * A_i + B_i (one pipeline step)."""
    folder, i, n, alpha = task
    a_path, b_path, y_path = paths(folder, i)
    a = read_vector(a_path, n)
    b = read_vector(b_path, n)
    y = alpha * a + b
    y.tofile(y_path)


def mix64(z):
    """SplitMix64's finaliser over an array of uint64 (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv_words(words):
    """FNV-1a over 64-bit words, byte by byte, little-endian."""
    h = 0xCBF29CE484222325
    for w in words:
        for k in range(8):
            h ^= (w >> (8 * k)) & 0xFF
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fingerprint(folder, files, n):
    """The Rust workload's answer, from the result files."""
    positions = np.arange(n, dtype=np.uint64) * GOLDEN
    hashes = []
    total = 0.0
    for i in range(files):
        y = read_vector(paths(folder, i)[2], n)
        hashes.append(int(mix64(y.view(np.uint64) ^ positions).sum(dtype=np.uint64)))
        # Element after element, as the Rust loop adds them.
        total += float(np.cumsum(y)[-1])
    return {
        "files": files,
        "nums_per_file": n,
        "sum": total,
        "sum_bits": f"{struct.unpack('<Q', struct.pack('<d', total))[0]:#018x}",
        "hash": f"{fnv_words(hashes):#018x}",
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="the work folder of `workloads`")
    p.add_argument("--files", type=int, required=True)
    p.add_argument("--nums-per-file", type=int, required=True)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--mode", choices=["seq", "pool"], default="seq")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    if a.files < 1 or a.nums_per_file < 1 or a.workers < 1:
        sys.exit("axpy.py: --files, --nums-per-file and --workers must be at least 1")
    tasks = [(a.dir, i, a.nums_per_file, a.alpha) for i in range(a.files)]

    start = time.perf_counter()
    if a.mode == "seq":
        for t in tasks:
            process_file(t)
    else:
        with Pool(a.workers) as pool:
            pool.map(process_file, tasks)
    seconds = time.perf_counter() - start

    answer = fingerprint(a.dir, a.files, a.nums_per_file)
    workers = 1 if a.mode == "seq" else a.workers
    print(json.dumps({"twin": "axpy", "mode": a.mode, "workers": workers,
                      "seconds": seconds, "answer": answer}))


if __name__ == "__main__":
    main()
