"""Access counting: reads, fills and updates per level and tensor for a batch of mappings.

Semantics are those of Timeloop's default analytical model (Parashar et al., ISPASS 2019; the
rules below are read from NVlabs/timeloop ``src/loop-analysis/nest-analysis.cpp`` and
``src/loop-analysis/tiling.cpp`` and checked on the eleven reference cases of
``../shared/reference/timeloop``):

- A level's tile of a tensor is the bounding box of the tensor's coordinates touched by the
  level's own loops and everything inside it (strided/dilated windows: ``1 + s(P-1) + d(R-1)``).
- Fills of a child are the data new to its tile between consecutive iterations of the temporal
  loops above it ("delta" counting), with two refinements of Timeloop's default model:

  * *sampled iterations* (``gExtrapolateUniformTemporal``): each loop above the child runs only
    its iteration 0 (weight 1) and iteration 1 (weight ``N - 1``), so the tile is always compared
    with the previous *sampled* position; a wrap of inner loops moves it by ``v_k - sum v_inner``;
  * *reset on stride change* (``gResetOnStrideChange``): when the tile moves by a non-zero
    translation different from the last one it kept, the whole tile is refetched and the stride
    memory is cleared; a zero translation (the tile stays) fetches nothing.

- Spatial children that need the same data are served by one parent access (multicast; partial
  sums are reduced on the way up). Distinct children are counted per *fanout group* (all fanouts
  directly above one level, Timeloop's X and Y of one level, jointly); across groups (a tensor
  bypassing the levels in between) the counts multiply, as Timeloop's bypass promotion
  (``MaskTiles``) scales the parent's accesses by the bypassed level's access-to-fill ratio.
- Operands are read from their innermost level once per MAC step; outputs are read-modify-
  written there; the first update of each element of a level's partition needs no read, and
  a child's output fills exclude its partition (``reads = updates - partition``,
  ``fills = delta - partition``). The partition is Timeloop's: the whole tensor at level 0,
  scaled at each fanout group by (child tile words / words of the group's union of tiles).

All counts are per instance of the level; multiply by :func:`instances` for totals. The batch is
counted in chunks of about :data:`CHUNK` mappings laid out mapping-last (:mod:`codesign.cost.chunk`);
the kernels are :mod:`codesign.cost.fills` (fills) and :mod:`codesign.cost.multicast`
(distinct children, partitions). Every array op is vectorized over the mappings of a chunk;
Python loops run over chunks, levels, loop positions, fanouts and ranks only. Counts are
int64, exact (computed in int32 for a chunk where :mod:`codesign.cost.headroom` proves that
exact): a chunk whose counts could exceed 2^61 raises
:class:`~codesign.cost.headroom.CountOverflowError` (``dtype=object`` counts in Python ints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.cost.chunk import Chunk, make_chunk
from codesign.cost.fills import child_fills as _child_fills
from codesign.cost.headroom import check_headroom
from codesign.cost.multicast import distinct_children as _distinct_children
from codesign.cost.multicast import fanout_steps, group_products
from codesign.cost.multicast import partition_words as _partition_words
from codesign.cost.nest import NestBatch
from codesign.cost.tables import TensorTable, coefficient_matrix, table_from_coef, tensor_table
from codesign.cost.tensor_chunk import TensorChunk, simple_hits
from codesign.workload.ir import Tensor

CHUNK = 12288                  # mappings per chunk: amortizes ~2 ms of numpy calls (12288-16384 measured best)


@dataclass(frozen=True)
class Accesses:
    """Per-instance word counts, each ``[M, L, 3]`` (roles: weights, inputs, outputs)."""

    reads: np.ndarray
    fills: np.ndarray
    updates: np.ndarray


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


def tensor_chunks(tabs: list[TensorTable], ch: Chunk) -> list[TensorChunk]:
    """Per-tensor caches of a chunk (:class:`~codesign.cost.tensor_chunk.TensorChunk`)."""
    return [TensorChunk(tab, ch, hit) for tab, hit in zip(tabs, simple_hits(tabs, ch))]


def count_chunk(tcs: list[TensorChunk], keeps: tuple[tuple[bool, ...], ...], ch: Chunk,
                into: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reads, fills and updates per instance of one chunk, each ``[L, 3, m]`` (see :func:`count_accesses`).

    ``into``: ``[L, 3, m]`` arrays to write them to (e.g. the chunk's columns of a mapping-last
    batch result: no copy afterwards; the rows no count goes to are zeroed here); else new
    arrays of the chunk's dtype.
    """
    L, _, m = ch.temporal.shape
    if into is None:
        shape = (L, 3, m)
        into = tuple(np.zeros(shape, dtype=ch.temporal.dtype) for _ in range(3))
    else:
        for counts, rows in zip(into, _unwritten(tcs, keeps, L)):
            for lv, role in rows:
                counts[lv, role] = 0
    reads, fills, updates = into
    steps: list[dict[int, np.ndarray]] = []
    products: dict[int, np.ndarray] = {}
    for role, tc in enumerate(tcs):
        levels = [lv for lv in range(L) if keeps[role][lv]]
        partition: dict[int, np.ndarray] = {}

        def part(level: int) -> np.ndarray:
            if level not in partition:
                partition[level] = _partition_words(tc, level)
            return partition[level]

        for parent, child in zip(levels, levels[1:] + [L]):
            groups = sorted({at for at in ch.fanout_at if parent < at <= child})
            if groups and not steps:              # only window ranks use the steps
                steps = fanout_steps(ch, {d for tc2 in tcs for r in tc2.tab.window for d, _ in tc2.tab.terms[r]})
            for at in groups:
                if at not in products:
                    products[at] = group_products(ch, [s for s, a in enumerate(ch.fanout_at) if a == at])
            distinct = _distinct_children(tc, steps, products, parent, child) if groups else None
            if child == L:
                moved = ch.macs
            else:
                moved = _child_fills(tc, child)
                fills[child, role] = moved - part(child) if tc.tab.is_output else moved
            words = moved if distinct is None else moved * distinct
            if tc.tab.is_output:
                updates[parent, role] = words
                reads[parent, role] = words - part(parent)
            else:
                reads[parent, role] = words
    return reads, fills, updates


def _unwritten(tcs: list[TensorChunk], keeps: tuple[tuple[bool, ...], ...], L: int
               ) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """The ``(level, role)`` rows of reads, fills and updates that :func:`count_chunk` leaves alone."""
    reads, fills, updates = [], [], []
    for role, tc in enumerate(tcs):
        levels = [lv for lv in range(L) if keeps[role][lv]]
        reads += [(lv, role) for lv in range(L) if lv not in levels]
        fills += [(lv, role) for lv in range(L) if lv not in levels[1:]]
        updates += [(lv, role) for lv in range(L) if not tc.tab.is_output or lv not in levels]
    return reads, fills, updates


def count_accesses(tensors: tuple[Tensor, Tensor, Tensor], keeps: tuple[tuple[bool, ...], ...],
                   nest: NestBatch, step: np.ndarray | None = None, extent: np.ndarray | None = None,
                   dtype: type = np.int64) -> Accesses:
    """Reads, fills and updates per instance for every level and role. ``keeps[role][level]``.

    The outermost keeper of a tensor is its backing store (no fills); a tensor kept nowhere
    moves no data. ``step`` and ``extent`` (:func:`codesign.cost.nest.step_and_extent`) are
    derived from ``nest`` when not given. ``dtype=object`` counts in Python integers (no
    headroom limit; slow).
    """
    M, L, D = nest.temporal.shape
    tabs = [tensor_table(t, D) for t in tensors]
    reads = np.zeros((M, L, 3), dtype=dtype)
    fills = np.zeros((M, L, 3), dtype=dtype)
    updates = np.zeros((M, L, 3), dtype=dtype)
    for rows in chunks(nest):
        ch = make_chunk(nest, rows, dtype, step, extent, tabs)
        if ch.temporal.dtype == np.int64:
            check_headroom(tabs, ch, rows)
        r, f, u = count_chunk(tensor_chunks(tabs, ch), keeps, ch)
        reads[rows] = np.moveaxis(r, -1, 0)
        fills[rows] = np.moveaxis(f, -1, 0)
        updates[rows] = np.moveaxis(u, -1, 0)
    return Accesses(reads, fills, updates)


def chunks(nest: NestBatch) -> list[slice]:
    """The mappings of each chunk: consecutive slices of about :data:`CHUNK` mappings (the last one
    at most as long as the others). The batch is cut into ``round(M / CHUNK)`` (at least one)
    near-equal chunks: a short tail chunk would pay a whole chunk's fixed cost (~2 ms of numpy
    calls) for a few mappings."""
    M = nest.size
    if not M:
        return [slice(0, 0)]
    size = -(-M // max(1, round(M / CHUNK)))
    return [slice(start, min(M, start + size)) for start in range(0, M, size)]


def _whole(coef: np.ndarray, nest: NestBatch, step: np.ndarray | None = None,
           extent: np.ndarray | None = None) -> TensorChunk:
    tab = table_from_coef(coef)
    ch = make_chunk(nest, slice(0, nest.size), np.int64, step, extent)
    return tensor_chunks([tab], ch)[0]


def child_fills(coef: np.ndarray, nest: NestBatch, step: np.ndarray, extent: np.ndarray, child: int) -> np.ndarray:
    """Words moved into one instance of level ``child`` over the whole layer (Timeloop deltas). ``[M]``.

    ``coef`` is the tensor's :func:`coefficient_matrix`; see :mod:`codesign.cost.fills`.
    """
    return _child_fills(_whole(coef, nest, step, extent), child)


def distinct_children(coef: np.ndarray, nest: NestBatch, parent: int, child: int) -> np.ndarray:
    """Distinct tiles of a tensor among the spatial children of one parent instance. ``[M]``.

    Children of the fanouts between ``parent`` and ``child`` that see the same coordinates share
    one parent access (multicast, or reduction for outputs); see :mod:`codesign.cost.multicast`.
    """
    tc = _whole(coef, nest)
    ch = tc.ch
    products = {at: group_products(ch, [s for s, a in enumerate(ch.fanout_at) if a == at]) for at in set(ch.fanout_at)}
    count = _distinct_children(tc, fanout_steps(ch), products, parent, child)
    return np.ones(nest.size, dtype=np.int64) if count is None else count


def partition_words(coef: np.ndarray, nest: NestBatch, extent: np.ndarray, level: int) -> np.ndarray:
    """Timeloop's partition of a tensor at one instance of ``level`` (words). ``[M]``."""
    return _partition_words(_whole(coef, nest, None, extent), level)


def tile_words(tensor: Tensor, extent: np.ndarray) -> np.ndarray:
    """Words of ``tensor``'s tile for per-dimension ``extent [M, D]``. ``[M]``."""
    return np.prod(rank_extents(coefficient_matrix(tensor, extent.shape[1]), extent), axis=1)


__all__ = ["Accesses", "CHUNK", "chunks", "count_accesses", "count_chunk", "tensor_chunks", "instances", "tile_words",
           "child_fills", "distinct_children", "partition_words", "coefficient_matrix", "rank_extents"]
