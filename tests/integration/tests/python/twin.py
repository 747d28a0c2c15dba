"""The Python twin of tests/it/cprofile_twin.rs: the same call structure, run
under CPython's cProfile. Prints, as JSON, each named function's ncalls,
primitive calls and per-caller (nc, cc), restricted to the twin's functions."""
import cProfile
import json
import pstats
import sys

NAMES = {"twin_main", "fib", "relax", "generic_sum", "fetch", "ping", "pong", "run_parallel", "par_item"}


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Grid:
    def relax(self):
        return 0


def generic_sum(xs):
    total = 0
    for x in xs:
        total += x
    return total


def fetch():
    return 1


def ping(n):
    if n > 0:
        pong(n - 1)


def pong(n):
    if n > 0:
        ping(n - 1)


def par_item(i):
    return i * 2


def run_parallel():
    total = 0
    for i in range(100):
        total += par_item(i)
    return total


def twin_main(grid):
    fib(20)
    for _ in range(3):
        grid.relax()
    generic_sum([1, 2, 3])
    generic_sum([1.0, 2.0])
    fetch()
    fetch()
    ping(5)
    run_parallel()


def main():
    grid = Grid()
    prof = cProfile.Profile()
    prof.enable()
    twin_main(grid)
    prof.disable()
    stats = pstats.Stats(prof).stats
    out = {}
    for (_file, _line, name), (cc, nc, _tt, _ct, callers) in stats.items():
        if name not in NAMES:
            continue
        out[name] = {
            "nc": nc,
            "cc": cc,
            "callers": {c[2]: [v[0], v[1]] for c, v in callers.items() if c[2] in NAMES},
        }
    json.dump(out, sys.stdout, sort_keys=True)


main()
