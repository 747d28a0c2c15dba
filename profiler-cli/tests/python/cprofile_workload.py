"""A small program for the cProfile import tests.

    python3 cprofile_workload.py OUT.prof [mutual]

profiles `main()` with cProfile and dumps the stats to OUT.prof. The call
graph has direct recursion (fib, walk), functions called from several
places (helper, sorted, len) and methods; with `mutual`, also mutual
recursion (is_even/is_odd), which the import cannot always rebuild exactly.
"""

import cProfile
import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def helper(xs):
    return sorted(xs)[: len(xs) // 2]


def walk(depth):
    if depth == 0:
        return helper([3, 1, 2])
    return walk(depth - 1) + [depth]


class Grid:
    def __init__(self, n):
        self.cells = [float(i) for i in range(n)]

    def relax(self):
        self.cells = [c * 0.5 for c in self.cells]
        return helper(self.cells)


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


def main(mutual):
    total = 0
    for _ in range(3):
        total += fib(18)
    g = Grid(20000)
    for _ in range(5):
        g.relax()
    for d in range(4):
        walk(d)
    helper(list(range(100, 0, -1)))
    if mutual:
        for n in range(30):
            is_even(n)
    return total


if __name__ == "__main__":
    out = sys.argv[1]
    mutual = len(sys.argv) > 2 and sys.argv[2] == "mutual"
    prof = cProfile.Profile()
    prof.enable()
    main(mutual)
    prof.disable()
    prof.dump_stats(out)
