"""Reductions along a short trailing axis: numpy's reduction against the entry-by-entry form the
mapper's hot paths use (``codesign.compiler.tiles.prod_over`` / ``any_over``, ``tile_words``,
``codesign.compiler.bounds.rows_bounds``).

numpy reduces along a trailing axis of 3-12 entries several times slower than it multiplies,
adds or ors that many strided columns, and the mapper's tilings are rows of a few levels by a
few dimensions. For each kernel, on shapes the edge space's searches meet (a few hundred to a
few thousand rows), prints microseconds per call of numpy's reduction, of the entry-by-entry
form, and of codesign's functions as they run (entry by entry from
``codesign.compiler.tiles.ROWS_BY_ENTRY`` rows on, numpy's reduction below: more calls cost
more than they save on few rows), median of repeats, CPU time, after checking that all give the
same array bit for bit.

Usage::

    python benchmarks/short_axis.py                     # 100, 300 and 2,000 rows
    python benchmarks/short_axis.py --rows 50 5000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codesign.compiler import tiles
from codesign.compiler.bounds import Traffic, rows_bounds
from codesign.compiler.orders import role_combinations
from codesign.compiler.tiles import any_over, prod_over, tile_words
from tests.test_row_reductions import rows_bounds_by_reduction, three_level_accelerator


def _time_us(fn: Callable[[], object], repeats: int = 15) -> float:
    """Median CPU microseconds per call (each repeat runs enough calls to last about 20 ms)."""
    n = 1
    while True:
        t = time.process_time()
        for _ in range(n):
            fn()
        if time.process_time() - t > 0.02:
            break
        n *= 2
    samples = []
    for _ in range(repeats):
        t = time.process_time()
        for _ in range(n):
            fn()
        samples.append((time.process_time() - t) / n * 1e6)
    return float(np.median(samples))


def kernels(M: int) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """``(name, numpy's reduction, codesign's function)`` on ``M`` rows of edge-like shapes."""
    rng = np.random.default_rng(0)
    L, D = 3, 6
    temporal = rng.integers(1, 8, size=(M, L, D), dtype=np.int64)
    coef = np.array([[0, 1, 0, 0, 0, 0], [0, 0, 1, 0, 1, 0], [0, 0, 0, 1, 0, 1]])      # C, P+R, Q+S: an input
    steps = rng.integers(-1, M * 10, size=(M, 12))
    member = rng.random(M * 10) < 0.4
    acc = three_level_accelerator((True, True, False))        # as spaces/edge.yaml
    traffic = Traffic(rng.random((M, L)) * 1e6, -rng.random((M, L, 3, L)) * 1e5,
                      rng.integers(1, 10 ** 6, size=M).astype(np.float64), rng.integers(1, 256, size=(M, L)))
    roles = role_combinations(L, "any")
    return [
        ("prod over dimensions [M, L, D]", lambda: np.prod(temporal, axis=-1), lambda: prod_over(temporal)),
        ("tile words [M, L, D] (3 ranks)", lambda: np.prod(1 + (temporal - 1) @ coef.T, axis=-1),
         lambda: tile_words(coef, temporal)),
        ("any over prime steps [M, 12]", lambda: ((steps >= 0) & member[np.maximum(steps, 0)]).any(axis=1),
         lambda: any_over((steps >= 0) & member[np.maximum(steps, 0)])),
        ("rows_bounds [M, 9 combinations]", lambda: rows_bounds_by_reduction(1e9, acc, traffic, roles),
         lambda: rows_bounds(1e9, acc, traffic, roles)),
    ]


def _same(a: object, b: object) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b)) if isinstance(a, tuple) else bool(np.array_equal(a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[100, 300, 2000], help="rows per call (tilings)")
    args = ap.parse_args()
    switch = tiles.ROWS_BY_ENTRY
    print(f"CPU microseconds per call, median of 15 repeats; codesign's: entry by entry from {switch} rows")
    print(f"{'rows':>5s} {'kernel':34s} {'numpy':>9s} {'by entry':>9s} {'codesign':>9s} {'numpy/codesign':>15s}")
    for M in args.rows:
        for _, old, new in kernels(M):                  # warm up (the allocator adapts to the sizes)
            for _ in range(20):
                old(), new()
        for name, old, new in kernels(M):
            tiles.ROWS_BY_ENTRY = 0                     # always entry by entry
            t_entry, by_entry = _time_us(new), new()
            tiles.ROWS_BY_ENTRY = switch
            t_old, t_new = _time_us(old), _time_us(new)
            if not (_same(old(), new()) and _same(old(), by_entry)):
                raise SystemExit(f"{name}: the forms differ")
            print(f"{M:5d} {name:34s} {t_old:9.1f} {t_entry:9.1f} {t_new:9.1f} {t_old / t_new:14.2f}x")


if __name__ == "__main__":
    main()
