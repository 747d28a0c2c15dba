"""Python twin of the `sums` workload (workloads/src/sums.rs): summing large
arrays with NumPy, as the course shows.

The arrays are the files array_NNNNN.bin (little-endian float64) that
`workloads compare` wrote from the Rust workload's own arrays; they are read
before the clock starts, as the Rust workload builds its arrays before its
clock starts.

Modes:
- `seq`: `np.sum` of each array, the totals added in array order;
- `threads`: the same `np.sum` calls on a `multiprocessing.pool.ThreadPool`
  of --workers threads (NumPy releases the interpreter lock inside `np.sum`);
- `element`: the pitfall, twin of the Rust `element` mode: every element is
  added one at a time by a pure-Python loop, on a ThreadPool whose threads
  take turns on the interpreter lock (no speed-up).

Every element is a multiple of 2^-20 in [0, 1) and there are fewer than
2^33 of them, so every partial sum is exact: any order of additions
(NumPy's pairwise sum, threads, element by element) gives the same bits as
the Rust workload.

Prints one JSON line: {"twin": "sums", "mode": ..., "workers": ...,
"seconds": ..., "answer": {...}}.
"""

import argparse
import json
import os
import struct
import sys
import time
from multiprocessing.pool import ThreadPool

import numpy as np

# Elements a pure-Python loop takes from NumPy at a time (`element` mode),
# as the Rust workload's chunks.
CHUNK = 1 << 16


def load(folder, arrays, length):
    """The arrays, from the files the Rust side wrote."""
    out = []
    for k in range(arrays):
        path = os.path.join(folder, f"array_{k:05d}.bin")
        v = np.fromfile(path, dtype="<f8")
        if v.size != length:
            sys.exit(f"{path}: {v.size * 8} bytes, expected {length * 8}")
        out.append(v)
    return out


def element_sum(array):
    """Adds the elements of one array one at a time, in Python."""
    total = 0.0
    for start in range(0, array.size, CHUNK):
        for x in array[start:start + CHUNK].tolist():
            total += x
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="the folder of the array files")
    p.add_argument("--arrays", type=int, required=True)
    p.add_argument("--len", type=int, required=True)
    p.add_argument("--mode", choices=["seq", "threads", "element"], default="seq")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    if a.arrays < 1 or a.len < 1 or a.workers < 1:
        sys.exit("sums.py: --arrays, --len and --workers must be at least 1")
    arrays = load(a.dir, a.arrays, a.len)

    start = time.perf_counter()
    if a.mode == "seq":
        totals = [np.sum(v) for v in arrays]
    else:
        work = np.sum if a.mode == "threads" else element_sum
        with ThreadPool(a.workers) as pool:
            totals = pool.map(work, arrays)
    total = 0.0
    for t in totals:
        total += float(t)
    seconds = time.perf_counter() - start

    workers = 1 if a.mode == "seq" else a.workers
    answer = {
        "total": total,
        "total_bits": f"{struct.unpack('<Q', struct.pack('<d', total))[0]:#018x}",
        "elements": a.arrays * a.len,
    }
    print(json.dumps({"twin": "sums", "mode": a.mode, "workers": workers,
                      "seconds": seconds, "answer": answer}))


if __name__ == "__main__":
    main()
