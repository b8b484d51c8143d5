"""Random legal mappings of one layer, as a :class:`NestBatch` (benchmarks and tests).

A mapping is legal when every dimension's factors (temporal at each level, spatial at each
fanout) multiply exactly to its bound and every fanout's spatial factors multiply to at most
its size. Per fanout, up to ``max_dims_per_fanout`` dimensions are unrolled by a random
divisor of what is left of them; fanouts above the same level unroll different dimensions
unless ``shared_fanout_dims``. What is left of each dimension is split over the temporal
levels by random divisors, in a random order of levels; loop orders are random permutations.
Everything is drawn vectorized over the batch.
"""

from __future__ import annotations

import numpy as np

from codesign.cost.nest import NestBatch


def _divisor_table(bounds: tuple[int, ...]) -> np.ndarray:
    """``[D, K]``: the divisors of each bound, padded with 0."""
    divs = [[f for f in range(1, b + 1) if b % f == 0] for b in bounds]
    table = np.zeros((len(bounds), max(len(d) for d in divs)), dtype=np.int64)
    for d, row in enumerate(divs):
        table[d, :len(row)] = row
    return table


def _random_divisor(rng: np.random.Generator, table: np.ndarray, dim: np.ndarray, rest: np.ndarray,
                    cap: np.ndarray) -> np.ndarray:
    """Per row, a uniformly drawn divisor of ``rest`` that is at most ``cap`` (1 always qualifies). ``[M]``."""
    cand = table[dim]                                                     # [M, K]
    ok = (cand > 0) & (cand <= cap[:, None]) & (rest[:, None] % np.maximum(cand, 1) == 0)
    pick = np.argmax(rng.random(cand.shape) * ok, axis=1)
    return cand[np.arange(len(dim)), pick]


def random_nests(bounds: tuple[int, ...], n_levels: int, fanout_at: tuple[int, ...], fanout_sizes: tuple[int, ...],
                 size: int, rng: np.random.Generator, max_dims_per_fanout: int = 2,
                 shared_fanout_dims: bool = False) -> NestBatch:
    """``size`` random legal mappings of a layer with loop ``bounds`` (see the module docstring).

    ``fanout_at[s]`` is the level fanout ``s`` sits directly above, ``fanout_sizes[s]`` its
    number of instances (e.g. PE rows, PE columns).
    """
    D, L, S = len(bounds), n_levels, len(fanout_at)
    table = _divisor_table(bounds)
    rest = np.broadcast_to(np.asarray(bounds, dtype=np.int64), (size, D)).copy()
    spatial = np.ones((size, S, D), dtype=np.int64)
    rows = np.arange(size)
    splittable = np.asarray(bounds) > 1
    for s in range(S):
        cap = np.full(size, int(fanout_sizes[s]), dtype=np.int64)
        order = np.argsort(rng.random((size, D)) + ~splittable, axis=1)   # splittable dims first, shuffled
        n_dims = rng.integers(0, max_dims_per_fanout + 1, size=size)
        for slot in range(max_dims_per_fanout):
            dim = order[:, slot]
            allowed = (slot < n_dims) & splittable[dim]
            if not shared_fanout_dims:
                for s2 in range(s):
                    if fanout_at[s2] == fanout_at[s]:
                        allowed &= spatial[rows, s2, dim] == 1
            f = np.where(allowed, _random_divisor(rng, table, dim, rest[rows, dim], cap), 1)
            spatial[rows, s, dim] *= f
            rest[rows, dim] //= f
            cap //= f
    temporal = np.ones((size, L, D), dtype=np.int64)
    level_order = np.argsort(rng.random((size, D, L)), axis=2)            # [M, D, L]
    for k in range(L - 1):
        for d in range(D):
            lv = level_order[:, d, k]
            f = _random_divisor(rng, table, np.full(size, d), rest[:, d], rest[:, d])
            temporal[rows, lv, d] = f
            rest[:, d] //= f
    for d in range(D):
        temporal[rows, level_order[:, d, L - 1], d] = rest[:, d]
    perm = np.argsort(rng.random((size, L, D)), axis=2)
    return NestBatch(temporal, perm, spatial, tuple(fanout_at))


__all__ = ["random_nests"]
