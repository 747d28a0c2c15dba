"""Python twin of the `pi` workload (workloads/src/pi.rs): a NumPy Monte Carlo
estimate of pi.

The samples are cut into chunks of 2^20, as in the Rust workload, and chunk
k draws from its own generator: NumPy's PCG64 seeded from child k of
`SeedSequence(seed)` (NumPy's way to give every piece of work an independent
stream; the Rust workload uses xoshiro256++ streams 2^128 draws apart). Each
chunk draws its x and y with `random`, and counts the points with
x^2 + y^2 < 1 with `np.count_nonzero`.

Modes: `seq` (chunk after chunk) and `pool` (the chunks on a
`multiprocessing.Pool` of --workers processes; pool start-up and shut-down
are in the time).

The generators differ from the Rust workload's, so the hit counts differ:
`workloads compare` accepts the two estimates when they are within five
standard deviations of their difference (see its output).

Prints one JSON line: {"twin": "pi", "mode": ..., "workers": ...,
"seconds": ..., "answer": {"hits": ..., "samples": ..., "pi": ...}}.
"""

import argparse
import json
import sys
import time
from multiprocessing import Pool

import numpy as np

CHUNK = 1 << 20


def count_hits(task):
    """Points inside the quarter circle among one chunk's points."""
    seed_seq, n = task
    rng = np.random.default_rng(seed_seq)
    x = rng.random(n)
    y = rng.random(n)
    return int(np.count_nonzero(x * x + y * y < 1.0))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--mode", choices=["seq", "pool"], default="seq")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    if a.samples < 1 or a.workers < 1 or a.seed < 0:
        sys.exit("pi.py: --samples and --workers must be at least 1, --seed at least 0")

    start = time.perf_counter()
    chunks = (a.samples + CHUNK - 1) // CHUNK
    streams = np.random.SeedSequence(a.seed).spawn(chunks)
    tasks = [(streams[k], min(CHUNK, a.samples - k * CHUNK)) for k in range(chunks)]
    if a.mode == "seq":
        hits = sum(count_hits(t) for t in tasks)
    else:
        with Pool(a.workers) as pool:
            hits = sum(pool.map(count_hits, tasks))
    seconds = time.perf_counter() - start

    workers = 1 if a.mode == "seq" else a.workers
    answer = {"hits": hits, "samples": a.samples, "pi": 4.0 * hits / a.samples}
    print(json.dumps({"twin": "pi", "mode": a.mode, "workers": workers,
                      "seconds": seconds, "answer": answer}))


if __name__ == "__main__":
    main()
