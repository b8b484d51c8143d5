"""Access counting: reads, fills and updates per level and tensor for a batch of mappings.

Semantics follow Timeloop's analytical model (Parashar et al., ISPASS 2019):

- A level's tile of a tensor is the bounding box of the tensor's coordinates touched by the
  level's own loops and everything inside it (strided/dilated windows: ``1 + s(P-1) + d(R-1)``).
- Fills of a child are the data new to its tile between consecutive iterations of the temporal
  loops above it ("delta" counting): an inner loop that does not index the tensor keeps the
  tile resident; a sliding window re-fetches only the non-overlapping part.
- Spatial children needing the same data are served by one parent read (multicast): parent
  reads = child fills x number of *distinct* child tiles. Outputs from children with the same
  coordinates are summed on the way up (spatial reduction).
- Operands are read from their innermost level once per MAC step; outputs are read-modified-
  written there, and the first write of each output needs no read.

All counts are per instance of the level; multiply by :func:`instances` for totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.cost.nest import NestBatch
from codesign.workload.ir import Tensor


@dataclass(frozen=True)
class Accesses:
    """Per-instance word counts, each ``[M, L, 3]`` (roles: weights, inputs, outputs)."""

    reads: np.ndarray
    fills: np.ndarray
    updates: np.ndarray


def coefficient_matrix(tensor: Tensor, n_dims: int) -> np.ndarray:
    """``C[r, d]``: coefficient of dimension d in rank r of ``tensor``."""
    c = np.zeros((len(tensor.ranks), n_dims), dtype=np.int64)
    for r, rank in enumerate(tensor.ranks):
        for d, coef in rank:
            c[r, d] += coef
    return c


def rank_extents(coef: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Bounding-box extent per rank ``[M, R]`` of a tile with per-dimension ``extent [M, D]``."""
    return 1 + (extent - 1) @ coef.T


def instances(nest: NestBatch, level: int) -> np.ndarray:
    """Utilized instances of ``level`` (``L`` = MAC units): product of the fanouts above it. ``[M]``."""
    n = np.ones(nest.size, dtype=np.int64)
    for s, at in enumerate(nest.fanout_at):
        if at <= level:
            n = n * np.prod(nest.spatial[:, s, :], axis=1)
    return n


def child_fills(coef: np.ndarray, nest: NestBatch, step: np.ndarray, extent: np.ndarray, child: int) -> np.ndarray:
    """Words filled into one instance of level ``child`` over the whole layer (delta counting). ``[M]``."""
    M, L, D = nest.temporal.shape
    ext_r = rank_extents(coef, extent[:, child, :])
    tile = np.prod(ext_r, axis=1)
    fills = tile.copy()
    if child == 0:
        return fills
    rows = np.arange(M)
    total = np.prod(nest.temporal[:, :child, :].reshape(M, -1), axis=1)
    wrap = np.zeros((M, D), dtype=np.int64)
    done = np.ones(M, dtype=np.int64)
    for level in range(child - 1, -1, -1):
        t_level, s_level = nest.temporal[:, level, :], step[:, level, :]
        for pos in range(D):
            d = nest.perm[:, level, pos]
            f = t_level[rows, d]
            if f.max() == 1:
                continue
            st = s_level[rows, d]
            delta = -wrap
            delta[rows, d] += st
            offset = np.abs(delta @ coef.T)
            overlap = np.prod(np.maximum(0, ext_r - offset), axis=1)
            outer = total // (done * f)
            fills += (f - 1) * outer * (tile - overlap)
            wrap[rows, d] += (f - 1) * st
            done = done * f
    return fills


def distinct_children(coef: np.ndarray, nest: NestBatch, parent: int, child: int) -> np.ndarray:
    """Distinct tiles of a tensor among the spatial children of one parent instance. ``[M]``.

    Children of fanouts between ``parent`` and ``child`` that see the same coordinates share
    one parent access (multicast, or reduction for outputs). Per rank the offsets are
    ``sum coef * step * i`` over the spatial loops; two loops on one rank (e.g. P and R of a
    convolution window) overlap when their steps share a factor, counted in closed form.
    """
    M, L, D = nest.temporal.shape
    fans = [s for s, at in enumerate(nest.fanout_at) if parent < at <= child]
    if not fans:
        return np.ones(M, dtype=np.int64)
    total_temporal = np.prod(nest.temporal, axis=1)
    steps = []
    for s in fans:
        inner = total_temporal.copy()
        for s2, at2 in enumerate(nest.fanout_at):
            if at2 > nest.fanout_at[s]:
                inner = inner * nest.spatial[:, s2, :]
        # temporal factors above the fanout do not move the spatial offsets
        steps.append(inner // np.prod(nest.temporal[:, : nest.fanout_at[s], :], axis=1))
    count = np.ones(M, dtype=np.int64)
    for r in range(coef.shape[0]):
        terms = [(coef[r, d] * steps[k][:, d], nest.spatial[:, s, d])
                 for k, s in enumerate(fans) for d in range(D) if coef[r, d] and nest.spatial[:, s, d].max() > 1]
        if terms:
            count = count * _distinct_sums(terms, M)
    return count


def _distinct_sums(terms: list[tuple[np.ndarray, np.ndarray]], M: int) -> np.ndarray:
    """Number of distinct values of ``sum_k step_k * i_k`` with ``0 <= i_k < n_k``."""
    active = [(u, n) for u, n in terms]
    if not active:
        return np.ones(M, dtype=np.int64)
    if len(active) == 1:
        return active[0][1].astype(np.int64)
    if len(active) == 2:
        (u, a), (v, b) = active
        g = np.gcd(u, v)
        up, vp = u // g, v // g
        return a * b - np.maximum(0, a - vp) * np.maximum(0, b - up)
    prod = np.prod(np.stack([n for _, n in active]), axis=0)
    span = 1 + sum((n - 1) * u for u, n in active)
    return np.minimum(prod, span)


def partition_words(coef: np.ndarray, nest: NestBatch, level: int) -> np.ndarray:
    """Words of a tensor one instance of ``level`` covers over the whole layer. ``[M]``."""
    ext = np.prod(nest.temporal, axis=1)
    for s, at in enumerate(nest.fanout_at):
        if at > level:
            ext = ext * nest.spatial[:, s, :]
    return np.prod(rank_extents(coef, ext), axis=1)


def count_accesses(tensors: tuple[Tensor, Tensor, Tensor], keeps: tuple[tuple[bool, ...], ...],
                   nest: NestBatch, step: np.ndarray, extent: np.ndarray) -> Accesses:
    """Reads, fills and updates per instance for every level and role. ``keeps[role][level]``."""
    M, L, D = nest.temporal.shape
    reads = np.zeros((M, L, 3), dtype=np.int64)
    fills = np.zeros((M, L, 3), dtype=np.int64)
    updates = np.zeros((M, L, 3), dtype=np.int64)
    steps = np.prod(nest.temporal.reshape(M, -1), axis=1)
    for role, tensor in enumerate(tensors):
        coef = coefficient_matrix(tensor, D)
        levels = [lv for lv in range(L) if keeps[role][lv]]
        is_output = tensor.role == "outputs"
        for i, child in enumerate(levels + [L]):
            if i == 0:
                continue
            parent = levels[i - 1]
            distinct = distinct_children(coef, nest, parent, child)
            if child == L:
                moved = steps
            else:
                moved = child_fills(coef, nest, step, extent, child)
                fills[:, child, role] = moved - (partition_words(coef, nest, child) if is_output else 0)
            if is_output:
                updates[:, parent, role] = moved * distinct
                reads[:, parent, role] = updates[:, parent, role] - partition_words(coef, nest, parent)
            else:
                reads[:, parent, role] = moved * distinct
    return Accesses(reads, fills, updates)


def tile_words(tensor: Tensor, extent: np.ndarray) -> np.ndarray:
    """Words of ``tensor``'s tile for per-dimension ``extent [M, D]``. ``[M]``."""
    return np.prod(rank_extents(coefficient_matrix(tensor, extent.shape[1]), extent), axis=1)


__all__ = ["Accesses", "count_accesses", "instances", "tile_words", "math"]
