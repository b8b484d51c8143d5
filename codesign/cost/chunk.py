"""A slice of a :class:`NestBatch` laid out mapping-last, with the loop arrays the kernels share.

The counting kernels run on chunks of mappings and index mappings along the *last* axis, so
that per-level, per-dimension and per-loop rows are contiguous and every operation is an
element-wise pass over rows (or a reduction across rows, which numpy also runs row by row).
Cumulative operations along loops are written as Python loops over rows: numpy's
``accumulate`` and ``argmax`` along a leading axis iterate column by column and are 10-50x
slower. Selections are arithmetic (``x * mask``): ``np.where`` on data-dependent masks
mispredicts branches and costs ~7 ns per element. Gathers (``np.take``), not scatters
(~4 ns per element). ``np.maximum``/``np.minimum`` with a scalar take numpy's slow path (~8x
a broadcast row of the same values).

dtype: int64, or int32 when :func:`~codesign.cost.headroom.narrow_ok` proves every count of
the chunk fits (see :func:`make_chunk`): AVX2 has no 64-bit integer multiply and int32 passes
move half the bytes (the chunk's arrays stream from L3: the bytes moved set the time);
``object`` computes in Python integers.

Shapes (m mappings in the chunk, L levels, D dimensions, S fanouts):

- ``temporal``, ``step``, ``extent``: ``[L, D, m]`` (see :func:`codesign.cost.nest.step_and_extent`);
  ``spatial``: ``[S, D, m]``;
- the *loops* of levels ``0 .. L-2`` (the innermost level's loops sit above no memory level):
  ``dims``, ``n``, ``active``, ``outer``, ``weight``, ``flat``: ``[L-1, K, m]``, where ``[l, j]``
  is the ``j``-th innermost loop of level ``l`` whose bound is not 1. A loop of bound 1 changes
  no count, so each level's loops are reordered with those first (keeping their order) and
  only the first ``K`` (the most any mapping of the chunk has at one level) are kept; the
  rows after a mapping's own count are loops of bound 1 (``n = 1``, ``active`` false) of the
  sentinel dimension ``D`` (in no rank: :meth:`Chunk.dims_in` is false there; ``flat`` points
  at some row of ``[L, D, m]``, whose value is not used). The loops above child level
  ``c`` are levels ``0 .. c-1``, visited innermost first: level ``c-1`` from ``j = 0``, then
  level ``c-2``, ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.cost.headroom import narrow_ok
from codesign.cost.nest import NestBatch
from codesign.cost.tables import TensorTable


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
    dims: np.ndarray              # [L-1, K, m] dimension of each loop (D: a slot past the mapping's loops)
    n: np.ndarray                 # [L-1, K, m] loop bounds (1: a no-op loop)
    active: np.ndarray            # [L-1, K, m] n > 1
    outer: np.ndarray             # [L-1, K, m] product of the bounds of the loop and all loops outside it
    weight: np.ndarray            # [L-1, K, m] (n - 1) x product of the bounds of the loops outside it
    flat: np.ndarray              # [L-1, K, m] index of the loop's dimension into a raveled [L, D, m] array
    _loop_step: np.ndarray | None = None
    _dim_bit: np.ndarray | None = None
    _unit: frozenset[int] | None = None

    @property
    def size(self) -> int:
        return int(self.temporal.shape[2])

    def unit_dims(self) -> frozenset[int]:
        """The dimensions whose padded bound is 1 in every mapping of the chunk (cached)."""
        if self._unit is None:
            self._unit = frozenset(int(d) for d in np.flatnonzero(self.totals.max(axis=1, initial=1) == 1))
        return self._unit

    def dims_in(self, wanted: tuple[int, ...]) -> np.ndarray:
        """``[L-1, K, m]`` bool: the loop's dimension is one of ``wanted``. Up to 64 dimensions a
        bit test of ``1 << dims`` (cached; two byte-wide passes), else one comparison per dimension."""
        D = self.temporal.shape[1]
        if D > 64:
            out = np.zeros(self.dims.shape, dtype=bool)
            for d in wanted:
                out |= self.dims == d
            return out
        if self._dim_bit is None:
            bit = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= D)
            self._dim_bit = np.left_shift(bit(1), self.dims.astype(bit))
        mask = sum(1 << d for d in set(wanted))
        return (self._dim_bit & self._dim_bit.dtype.type(mask)) != 0

    def loop_step(self) -> np.ndarray:
        """``[L-1, K, m]``: one iteration's step of each loop along its dimension; unspecified in the
        slots past a mapping's loops (weigh it with :meth:`dims_in`, false there)."""
        if self._loop_step is None:
            self._loop_step = np.take(self.step, self.flat)
        return self._loop_step


def _mapping_last(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 0, -1), dtype=dtype)


def _fits_int32(a: np.ndarray) -> bool:
    """Every entry of the integer array ``a`` is in ``[0, 2^31)`` (one OR-reduction: a negative
    entry makes the OR negative)."""
    if not a.size:
        return True
    folded = int(np.bitwise_or.reduce(a, axis=None))
    return 0 <= folded < (1 << 31)


def make_chunk(nest: NestBatch, rows: slice, dtype: type = np.int64, step: np.ndarray | None = None,
               extent: np.ndarray | None = None, tabs: list[TensorTable] | None = None) -> Chunk:
    """The chunk of mappings ``rows`` of ``nest``; ``dtype`` object computes in Python ints.

    ``step`` and ``extent`` (``[M, L, D]``, :func:`codesign.cost.nest.step_and_extent` of the
    whole batch) are used when given instead of being derived again. With ``tabs`` (the
    layer's tensor tables) an int64 chunk is built in int32 instead when every factor is
    below 2^31 (one OR-reduction) and :func:`~codesign.cost.headroom.narrow_ok` proves all its
    counts fit (for an upper bound of the chunk's largest padded bounds, :func:`_padded_max_ok`);
    its counts are the same integers.
    """
    temporal_rows, spatial_rows = nest.temporal[rows], nest.spatial[rows]
    if dtype is np.int64 and tabs is not None and _fits_int32(temporal_rows) and _fits_int32(spatial_rows):
        temporal = _mapping_last(temporal_rows, np.int32)
        spatial = _mapping_last(spatial_rows, np.int32)
        if _padded_max_ok(tabs, temporal, spatial, nest.fanout_at):
            dtype = np.int32
        else:
            temporal, spatial = temporal.astype(np.int64), spatial.astype(np.int64)
    else:
        temporal = _mapping_last(temporal_rows, dtype)
        spatial = _mapping_last(spatial_rows, dtype)
    L, D, m = temporal.shape
    fanout_at = nest.fanout_at
    # step[l] = temporal factors of the levels below l x spatial factors of the fanouts below l
    derived = np.empty_like(temporal)
    inside = None
    for level in range(L - 1, -1, -1):
        for s, at in enumerate(fanout_at):
            if at == level + 1:
                inside = spatial[s] if inside is None else inside * spatial[s]
        if inside is None:
            derived[level] = 1
            inside = temporal[level]
        else:
            derived[level] = inside
            inside = inside * temporal[level]
    totals = inside
    for s, at in enumerate(fanout_at):
        if at == 0:
            totals = totals * spatial[s]
    step = derived if step is None else _mapping_last(step[rows], dtype)
    extent = temporal * step if extent is None else _mapping_last(extent[rows], dtype)

    index = np.int32 if (L - 1) * D * m < (1 << 31) and dtype is not object else np.int64
    column = np.arange(m, dtype=index)
    offset = (np.arange(L - 1, dtype=index) * index(D * m))[:, None, None] + column     # [L-1, 1, m]
    # loop orders, with one more row per level holding the sentinel dimension D
    perm = np.empty((L - 1, D + 1, m), dtype=np.int8 if D < 127 else index)
    np.copyto(perm[:, :D], np.moveaxis(nest.perm[rows][:, :L - 1], 0, -1), casting="unsafe")
    perm[:, D] = D
    dims, live_slot = _live_first(temporal, perm, column)
    K = dims.shape[1]
    flat = dims.astype(index)
    flat *= index(m)
    flat += offset
    n = np.take(temporal, flat)                             # (a sentinel slot reads level l+1's first row)
    # a slot after the mapping's own live loops is a loop of bound 1
    n -= 1
    n *= live_slot
    n += 1
    outer = np.empty_like(n)
    level_outer = None                                      # product of the loops of the levels above
    for level in range(L - 1):
        right = level_outer
        for j in range(K - 1, -1, -1):
            if right is None:
                outer[level, j] = n[level, j]
            else:
                np.multiply(n[level, j], right, out=outer[level, j])
            right = outer[level, j]
        level_outer = right
    weight = np.empty_like(n)
    if L > 1 and K:
        np.subtract(outer[:, :-1], outer[:, 1:], out=weight[:, :-1])
        weight[0, -1] = outer[0, -1] - 1
        np.subtract(outer[1:, -1], outer[:-1, 0], out=weight[1:, -1])
    macs = temporal[L - 1, 0] if level_outer is None else level_outer * temporal[L - 1, 0]
    for d in range(1, D):
        macs = macs * temporal[L - 1, d]
    return Chunk(temporal, spatial, step, extent, fanout_at, totals, macs, dims, n, n != 1, outer, weight, flat)


def _padded_max_ok(tabs: list[TensorTable], temporal: np.ndarray, spatial: np.ndarray,
                   fanout_at: tuple[int, ...]) -> bool:
    """:func:`~codesign.cost.headroom.narrow_ok` for an upper bound of the chunk's largest padded
    bound of each dimension: the product of its factors in float32 (half the memory traffic of
    float64), each of the ``2F`` roundings (``F`` factors) at most 2^-24 relative, scaled up by
    ``(1 + 2^-23)^(2F)``. Overflow gives inf (not narrow)."""
    if not temporal.shape[2]:
        return True
    with np.errstate(over="ignore"):
        padded = temporal[0].astype(np.float32)
        for level in range(1, temporal.shape[0]):
            padded *= temporal[level].astype(np.float32)
        for s in range(len(fanout_at)):
            padded *= spatial[s].astype(np.float32)
        factors = temporal.shape[0] + len(fanout_at)
        return narrow_ok(tabs, padded.max(axis=1).astype(np.float64) * (1.0 + 2.0 ** -23) ** (2 * factors))


def _live_first(temporal: np.ndarray, perm: np.ndarray, column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each level's loop order (levels ``0 .. L-2``) with the loops of bound > 1 first, order kept,
    cut to the most such loops any mapping has at one level (K): the dimensions ``[L-1, K, m]``
    (the sentinel ``D`` in the slots past a mapping's own loops of bound > 1) and whether each
    slot holds one of those loops ``[L-1, K, m]``.

    ``perm [L-1, D+1, m]``: the loop orders, row ``D`` the sentinel. Slot ``k`` holds loop
    ``src_k`` = the number of loops whose running count of loops of bound > 1 is at most ``k``
    (the (k+1)-th such loop; ``D`` past the last): gathers only, no scatter (numpy's scatters
    cost ~4 ns per element, its gathers ~1.5; a 256-entry table lookup of ``src`` by the byte
    of live loops was measured slower than these byte-wide passes).
    """
    L, D, m = temporal.shape
    small = perm.dtype
    live = _live_in_loop_order(temporal, perm[:, :D])                 # [L-1, D, m]
    count = _running(live.view(np.int8) if small == np.int8 else live.astype(small))
    total = count[:, -1]
    K = int(total.max()) if total.size else 0
    slots = np.arange(K, dtype=small)[None, :, None]
    src = np.zeros((L - 1, K, m), dtype=small)
    for j in range(D):
        src += count[:, j:j + 1] <= slots
    index = column.dtype.type
    src_flat = src.astype(column.dtype)
    src_flat *= index(m)
    src_flat += (np.arange(L - 1, dtype=column.dtype) * index((D + 1) * m))[:, None, None] + column
    return np.take(perm, src_flat), slots < total[:, None, :]


def _live_in_loop_order(temporal: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """``[L-1, D, m]`` bool: loop ``j`` of level ``l`` (dimension ``perm[l, j]``) has a bound > 1.

    For up to 8 dimensions, one byte per mapping and level holds which dimensions have a bound
    > 1 (bit d), and loop j's bit is shifted out with ``perm``: byte arithmetic instead of a
    gather (~10x cheaper); else a gather from ``temporal`` at ``perm``.
    """
    L, D, m = temporal.shape
    live = temporal[:L - 1] != 1
    if D <= 8 and perm.dtype == np.int8:
        shifted = live.view(np.uint8)
        shifted <<= np.arange(D, dtype=np.uint8)[:, None]
        bits = np.bitwise_or.reduce(shifted, axis=1, keepdims=True)
        shifted = np.right_shift(bits, perm.view(np.uint8))
        shifted &= np.uint8(1)
        return shifted.view(bool)
    where = perm.astype(np.int64)
    where *= m
    where += (np.arange(L - 1) * (D * m))[:, None, None] + np.arange(m)
    return np.take(live, where)


def _running(count: np.ndarray) -> np.ndarray:
    """Running sum along axis 1 of ``count [L-1, D, m]`` (a Python loop over rows: numpy's
    ``cumsum`` along a middle axis runs column by column)."""
    out = np.empty_like(count)
    out[:, 0] = count[:, 0]
    for j in range(1, count.shape[1]):
        np.add(out[:, j - 1], count[:, j], out=out[:, j])
    return out


__all__ = ["Chunk", "make_chunk"]
