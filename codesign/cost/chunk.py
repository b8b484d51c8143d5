"""A slice of a :class:`NestBatch` laid out mapping-last, with the loop arrays the kernels share.

The counting kernels run on chunks of mappings and index mappings along the *last* axis, so
that per-level, per-dimension and per-loop rows are contiguous and every operation is an
element-wise pass over rows (or a reduction across rows, which numpy also runs row by row).
Cumulative operations along loops are written as Python loops over rows: numpy's
``accumulate`` and ``argmax`` along a leading axis iterate column by column and are 10-50x
slower. Selections are arithmetic (``x * mask``): ``np.where`` on data-dependent masks
mispredicts branches and costs ~7 ns per element.

Shapes (m mappings in the chunk, L levels, D dimensions, S fanouts):

- ``temporal``, ``step``, ``extent``: ``[L, D, m]`` (see :func:`codesign.cost.nest.step_and_extent`);
  ``spatial``: ``[S, D, m]``;
- the *loops* of levels ``0 .. L-2`` (the innermost level's loops sit above no memory level):
  ``dims``, ``n``, ``active``, ``outer``, ``weight``, ``flat``: ``[L-1, K, m]``, where ``[l, j]``
  is the ``j``-th innermost loop of level ``l`` whose bound is not 1. A loop of bound 1 changes
  no count, so each level's loops are reordered with those first (keeping their order) and
  only the first ``K`` (the most any mapping of the chunk has at one level) are kept; the
  rows after a mapping's own count hold its loops of bound 1. The loops above child level
  ``c`` are levels ``0 .. c-1``, visited innermost first: level ``c-1`` from ``j = 0``, then
  level ``c-2``, ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.cost.nest import NestBatch


@dataclass
class Chunk:
    """Mapping-last arrays of some mappings of a batch (see the module docstring)."""

    temporal: np.ndarray
    spatial: np.ndarray
    step: np.ndarray
    extent: np.ndarray
    fanout_at: tuple[int, ...]
    totals: np.ndarray            # [D, m] padded bound of each dimension (all its factors)
    macs: np.ndarray              # [m] product of all temporal factors: MAC steps per MAC unit
    dims: np.ndarray              # [L-1, K, m] dimension of each loop
    n: np.ndarray                 # [L-1, K, m] loop bounds (1: a no-op loop)
    active: np.ndarray            # [L-1, K, m] n > 1
    outer: np.ndarray             # [L-1, K, m] product of the bounds of the loop and all loops outside it
    weight: np.ndarray            # [L-1, K, m] (n - 1) x product of the bounds of the loops outside it
    flat: np.ndarray              # [L-1, K, m] index of the loop's dimension into a raveled [L-1, D, m] array

    @property
    def size(self) -> int:
        return int(self.temporal.shape[2])

    def in_loop_order(self, per_dim: np.ndarray) -> np.ndarray:
        """``per_dim [L-1, D, m]`` (indexed by dimension) re-indexed by loop: ``[l, j]`` of loop j of level l."""
        return np.take(per_dim, self.flat)


def _mapping_last(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 0, -1), dtype=dtype)


def make_chunk(nest: NestBatch, rows: slice, dtype: type = np.int64, step: np.ndarray | None = None,
               extent: np.ndarray | None = None) -> Chunk:
    """The chunk of mappings ``rows`` of ``nest``; ``dtype`` object computes in Python ints.

    ``step`` and ``extent`` (``[M, L, D]``, :func:`codesign.cost.nest.step_and_extent` of the
    whole batch) are used when given instead of being derived again.
    """
    temporal = _mapping_last(nest.temporal[rows], dtype)
    spatial = _mapping_last(nest.spatial[rows], dtype)
    L, D, m = temporal.shape
    perm = _mapping_last(nest.perm[rows][:, :L - 1], np.int64)
    fanout_at = nest.fanout_at
    # step[l] = temporal factors of the levels below l x spatial factors of the fanouts below l
    derived = np.empty_like(temporal)
    inside = np.ones((D, m), dtype=dtype)
    for level in range(L - 1, -1, -1):
        for s, at in enumerate(fanout_at):
            if at == level + 1:
                inside = inside * spatial[s]
        derived[level] = inside
        inside = inside * temporal[level]
    totals = inside
    for s, at in enumerate(fanout_at):
        if at == 0:
            totals = totals * spatial[s]
    step = derived if step is None else _mapping_last(step[rows], dtype)
    extent = temporal * step if extent is None else _mapping_last(extent[rows], dtype)

    column = np.arange(m)
    dims, K = _live_first(temporal, perm, column)
    flat = dims * m + column
    flat += (np.arange(L - 1) * (D * m))[:, None, None]
    n = np.take(temporal[:L - 1], flat)
    outer = np.empty_like(n)
    level_outer = np.ones(m, dtype=dtype)                    # product of the loops of the levels above
    for level in range(L - 1):
        right = level_outer
        for j in range(K - 1, -1, -1):
            np.multiply(n[level, j], right, out=outer[level, j])
            right = outer[level, j]
        level_outer = right
    weight = np.empty_like(n)
    if L > 1 and K:
        np.subtract(outer[:, :-1], outer[:, 1:], out=weight[:, :-1])
        weight[0, -1] = outer[0, -1] - 1
        np.subtract(outer[1:, -1], outer[:-1, 0], out=weight[1:, -1])
    macs = level_outer
    for d in range(D):
        macs = macs * temporal[L - 1, d]
    return Chunk(temporal, spatial, step, extent, fanout_at, totals, macs, dims, n, n != 1, outer, weight, flat)


def _live_first(temporal: np.ndarray, perm: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, int]:
    """Each level's loop order (levels ``0 .. L-2``) with the loops of bound > 1 first, order kept,
    cut to the most such loops any mapping has at one level. ``([L-1, K, m], K)``.

    Counting-sort positions (small-integer arithmetic) and one scatter per level: ``np.put``
    and ``put_along_axis`` are 3x slower than a flat fancy assignment.
    """
    L, D, m = temporal.shape
    out = np.empty((L - 1, D, m), dtype=np.int64)
    small = np.int8 if D < 127 else np.int64
    rank = np.arange(D, dtype=small)[:, None]
    K = 0
    for level in range(L - 1):
        live = np.take(temporal[level], perm[level] * m + column) != 1
        count = np.empty((D, m), dtype=small)
        count[0] = live[0]
        for j in range(1, D):
            np.add(count[j - 1], live[j], out=count[j])
        total = count[-1]
        K = max(K, int(total.max()) if m else 0)
        # live loops go to count - 1, the others after all live ones, in order
        dead_at = total + rank - count
        dest = dead_at + (count - 1 - dead_at) * live
        index = dest.astype(np.int64)
        index *= m
        index += column
        out[level].reshape(-1)[index.reshape(-1)] = perm[level].reshape(-1)
    return out[:, :K], K


__all__ = ["Chunk", "make_chunk"]
