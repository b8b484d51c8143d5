"""Candidate tilings for one spatial choice: every level's tiles fit, dominated tilings left out.

Tiles are chosen innermost level first on the divisor lattice of the remaining bounds
(cumulative tiles ``C[l]`` = product of the factors of level ``l`` and every level inside it,
so ``C[l+1]`` divides ``C[l]`` and the capacity of level ``l`` depends on ``C[l]`` alone).
Moving a factor from a level into the level below it never adds traffic for the tensors that
dimension indexes (the tile grows by what the loop above stops moving) nor for the others
(their tile stays, the loop above shrinks). The exception is a level whose loops are all
irrelevant to a tensor: that tensor then keeps its tile across the level above as well, and a
relevant factor moved in would end it. Hence the candidates:

- innermost level: the tiles that fit and cannot take one more factor from the level above
  (a larger innermost tile only helps: nothing below it but the MACs);
- every level between: a largest fitting tile above the one inside it (no prime factor of an
  outer loop can move in), or one that grows only dimensions a given tensor ignores (so the
  level stays irrelevant to that tensor), or no loops at all;
- the outermost level takes what is left.
"""

from __future__ import annotations

import numpy as np

from codesign.compiler.tiles import Lattice, capacity_at, divisors, lattice, level_limits
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

MAX_INNER = 256          # innermost tiles kept (the largest) when more fit
MAX_CHAINS = 4096        # partial tilings kept per level between (the largest tiles)


def level_fits(layer: Layer, acc: Accelerator, lat: Lattice, axes: np.ndarray) -> np.ndarray:
    """``[G, L]``: whether cumulative tile ``lat.points[g]`` fits level ``l`` under spatial ``axes[3, D]``."""
    inner = lat.points * axes[2]
    outer = inner * axes[0] * axes[1]
    out = np.ones((lat.size, len(acc.levels)), dtype=bool)
    for lv, level in enumerate(acc.levels):
        if level.size_bytes is not None:
            extent = outer if lv < acc.first_per_pe_level else inner
            out[:, lv] = capacity_at(layer, acc, extent, lv) <= level.size_bytes
    return out


def tiling_candidates(layer: Layer, acc: Accelerator, axes: np.ndarray) -> np.ndarray:
    """Temporal factors ``[T, L, D]`` of the candidate tilings for spatial choice ``axes[3, D]``."""
    L, D = len(acc.levels), len(layer.dims)
    q = tuple(-(-b // int(f)) for b, f in zip(layer.bounds, np.prod(axes, axis=0)))
    if L == 1:
        return np.array(q, dtype=np.int64).reshape(1, 1, D)
    lat = lattice(q)
    ok = level_fits(layer, acc, lat, axes)
    P = lat.points
    inner = np.flatnonzero(ok[:, L - 1])
    if L == 2:
        inner = np.flatnonzero(lat.maximal(ok[:, 1]))
    elif len(inner) > MAX_INNER:
        need = np.prod(P[inner], axis=1)
        inner = inner[np.argsort(-need, kind="stable")[:MAX_INNER]]
    chains = inner[:, None]
    rel = [t.relevant(D) for t in layer.tensors]
    for lv in range(L - 2, 0, -1):
        child = chains[:, 0]
        fits_here = ok[child, lv]
        chains, child = chains[fits_here], child[fits_here]
        biggest = np.flatnonzero(lat.maximal(ok[:, lv]))
        above = np.all(P[biggest][None, :, :] % P[child][:, None, :] == 0, axis=2)      # [N, |max|]
        rows, cols = np.nonzero(above)
        options = [np.stack([biggest[cols], rows], axis=1), np.stack([child, np.arange(len(child))], axis=1)]
        for r in rel:
            free = np.flatnonzero(~np.array(r))
            grown = lat.grow(ok[:, lv], child, free)
            options.append(np.stack([grown, np.arange(len(child))], axis=1))
        pairs = np.concatenate(options)
        _, first = np.unique(pairs[:, 0] * len(chains) + pairs[:, 1], return_index=True)
        picked = pairs[np.sort(first)]
        if len(picked) > MAX_CHAINS:     # deep hierarchies: keep the largest tiles of this level
            picked = picked[np.sort(np.argsort(-np.prod(P[picked[:, 0]], axis=1), kind="stable")[:MAX_CHAINS])]
        chains = np.concatenate([picked[:, :1], chains[picked[:, 1]]], axis=1)
    parent = P[chains[:, 0]] if L > 2 else np.broadcast_to(np.array(q), (len(chains), D))
    keep = _maximal_within(lat, ok[:, L - 1], chains[:, -1], parent)
    chains = chains[keep]
    cumulative = np.concatenate([np.broadcast_to(np.array(q), (len(chains), 1, D)), P[chains]], axis=1)
    outer = np.concatenate([cumulative[:, 1:], np.ones((len(chains), 1, D), dtype=np.int64)], axis=1)
    return cumulative // outer


def greedy_tiles(layer: Layer, acc: Accelerator, axes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Largest tiles that fit, innermost level first, for spatial choices ``axes[S, 3, D]``: ``[S, L, D]``.

    At each level (innermost first) each dimension in ``order`` takes the largest divisor of
    what is left of it that keeps the level's tiles within capacity; the outermost level takes
    the rest. A level where even factor 1 overflows keeps 1 (the mapping then does not fit).
    """
    S, L, D = len(axes), len(acc.levels), len(layer.dims)
    q = -(-np.array(layer.bounds, dtype=np.int64) // np.prod(axes, axis=1))       # [S, D]
    temporal = np.ones((S, L, D), dtype=np.int64)
    limits = level_limits(acc)
    array = np.where(np.arange(L)[None, :, None] < acc.first_per_pe_level, (axes[:, 0] * axes[:, 1])[:, None, :], 1)
    for lv in range(L - 1, 0, -1):
        for d in order:
            left = q[:, d] // np.prod(temporal[:, :, d], axis=1)                  # [S]
            f = np.array(sorted({x for v in np.unique(left) for x in divisors(int(v))}, reverse=True))
            usable = left[:, None] % f[None, :] == 0                              # [S, F]
            inner = np.prod(temporal[:, lv:, :], axis=1) * axes[:, 2] * array[:, lv]
            extent = np.repeat(inner[:, None, :], len(f), axis=1)
            extent[:, :, d] = extent[:, :, d] * f[None, :]
            ok = usable & (capacity_at(layer, acc, extent, lv) <= limits[lv])
            temporal[:, lv, d] = np.where(ok.any(axis=1), f[np.argmax(ok, axis=1)], 1)
    temporal[:, 0] = q // np.prod(temporal[:, 1:], axis=1)
    return temporal


def _maximal_within(lat: Lattice, member: np.ndarray, idx: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Whether tile ``idx[N]`` takes no prime factor more and still fits and divides ``parent[N, D]``."""
    up = lat.prime_steps[idx]                                                     # [N, n]
    safe = np.maximum(up, 0)
    divides = np.all(parent[:, None, :] % lat.points[safe] == 0, axis=2)
    return ~((up >= 0) & member[safe] & divides).any(axis=1)
