"""Python twin of the `amdahl` workload (workloads/src/amdahl.rs): a serial
part and a parallel part.

Unit i of work is 20,000 dependent rounds of x = mix64(x + 0x9E3779B97F4A7C15)
from x = i, SplitMix64's finaliser in wrapping 64-bit arithmetic, as in the
Rust workload. A pure-Python loop would take minutes; NumPy cannot shorten
the chain of one unit, so this twin runs many units at once, one array
element per unit, as a NumPy user would.

The first round(serial_fraction * units) units are the serial part, on the
main process; the rest is the parallel part: on the main process too in
`seq` mode, in contiguous blocks on a `multiprocessing.Pool` of --workers
processes in `pool` mode (pool start-up and shut-down are in the time).

The answer is the wrapping sum of every unit's value, an integer: the Rust
workload's, exactly.

Prints one JSON line: {"twin": "amdahl", "mode": ..., "workers": ...,
"seconds": ..., "answer": {...}}.
"""

import argparse
import json
import math
import sys
import time
from multiprocessing import Pool

import numpy as np

UNIT_ITERS = 20_000
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def units_sum(bounds):
    """The wrapping sum of the values of units [lo, hi), all at once."""
    lo, hi = bounds
    x = np.arange(lo, hi, dtype=np.uint64)
    for _ in range(UNIT_ITERS):
        x += GOLDEN
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return int(x.sum(dtype=np.uint64))


def blocks(lo, hi, parts):
    """[lo, hi) cut into `parts` contiguous blocks whose sizes differ by at most one."""
    n = hi - lo
    return [(lo + n * k // parts, lo + n * (k + 1) // parts) for k in range(parts)]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, required=True)
    p.add_argument("--serial-fraction", type=float, required=True)
    p.add_argument("--mode", choices=["seq", "pool"], default="seq")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    if a.units < 1 or a.workers < 1 or not 0.0 <= a.serial_fraction <= 1.0:
        sys.exit("amdahl.py: --units and --workers must be at least 1, "
                 "--serial-fraction between 0 and 1")
    # Rust's round(): halves away from zero (Python's round() takes them to
    # even); x - floor(x) is exact for x >= 0.
    x = a.serial_fraction * a.units
    serial = min(math.floor(x) + (1 if x - math.floor(x) >= 0.5 else 0), a.units)

    start = time.perf_counter()
    total = units_sum((0, serial))
    if a.mode == "seq":
        total += units_sum((serial, a.units))
    else:
        with Pool(a.workers) as pool:
            total += sum(pool.map(units_sum, blocks(serial, a.units, a.workers)))
    total &= 0xFFFFFFFFFFFFFFFF
    seconds = time.perf_counter() - start

    workers = 1 if a.mode == "seq" else a.workers
    answer = {"serial_units": serial, "parallel_units": a.units - serial,
              "sum": f"{total:#018x}"}
    print(json.dumps({"twin": "amdahl", "mode": a.mode, "workers": workers,
                      "seconds": seconds, "answer": answer}))


if __name__ == "__main__":
    main()
