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

All counts are per instance of the level; multiply by :func:`instances` for totals. Every array
op is vectorized over the M mappings; Python loops run over levels, loop positions, fanouts and
ranks only.
"""

from __future__ import annotations

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
    """Words moved into one instance of level ``child`` over the whole layer (Timeloop deltas). ``[M]``.

    The temporal loops above the child, outermost first, are sampled at iterations {0, 1} (see
    the module docstring), so the visits form a binary counter whose transition of type ``k``
    (loop k advances, all inner loops wrap from 1 to 0) translates the tile by
    ``u_k = v_k - sum_{j inside k, N_j > 1} v_j`` (``v`` = tile translation of one iteration) and
    has total weight ``W_k = (N_k - 1) prod_{j outside k} N_j``. A transition fetches
    ``tile - overlap(u_k)`` unless it resets (``tile``) or ``u_k = 0`` (nothing).

    Which transitions reset depends on the previous non-zero translation only: a transition
    resets iff the previous one did not and their translations differ. The sequence of
    transitions of loops ``k..n`` is ``S(k+1), u_k, S(k+1)``, so it is folded from the
    innermost loop outwards, keeping for both possible reset states of its first non-zero
    transition the weighted overlap restored by resets (``extra``) and whether its last
    non-zero transition reset (``last``).
    """
    M = nest.size
    ext_r = rank_extents(coef, extent[:, child, :])                       # [M, R]
    tile = np.prod(ext_r, axis=1)
    if child == 0:
        return tile.copy()
    rows = np.arange(M)
    total = np.prod(nest.temporal[:, :child, :].reshape(M, -1), axis=1)
    inner_prod = np.ones(M, dtype=np.int64)                                 # prod of N inside
    inner_sum = np.zeros_like(ext_r)                                        # sum of v inside (N > 1)
    first_u = np.zeros_like(ext_r)                                          # innermost non-zero u
    has = np.zeros(M, dtype=bool)                                           # a non-zero u inside
    extra = np.zeros((2, M), dtype=np.int64)
    last = np.zeros((2, M), dtype=bool)
    base = tile.copy()
    for level in range(child - 1, -1, -1):
        for pos in range(nest.temporal.shape[2]):                          # innermost first
            d = nest.perm[:, level, pos]
            n = nest.temporal[rows, level, d]
            active = n > 1
            v = np.where(active[:, None], coef[:, d].T * step[rows, level, d][:, None], 0)
            u = v - inner_sum
            moves = active & (u != 0).any(axis=1)
            overlap = np.prod(np.maximum(0, ext_r - np.abs(u)), axis=1)
            weight = (n - 1) * (total // (inner_prod * n))
            base += np.where(moves, weight * (tile - overlap), 0)
            same = (u == first_u).all(axis=1)
            new_extra, new_last = extra.copy(), last.copy()
            for b in (0, 1):
                # u_k non-zero after a sequence with a non-zero translation: u_k resets iff the
                # sequence ended without a reset and u_k differs; the repeated sequence starts
                # with a reset iff u_k did not reset and its first translation differs from u_k.
                resets = ~last[b] & ~same
                again = (~resets & ~same).astype(np.int64)
                ex_again = np.where(again == 1, extra[1], extra[0])
                ls_again = np.where(again == 1, last[1], last[0])
                e_nz = extra[b] + (n - 1) * (resets * overlap + ex_again)
                # u_k zero: the repeated sequence continues the same stride (no reset)
                e_z = extra[b] + (n - 1) * extra[0]
                # no non-zero translation inside: u_k is the sequence's first, reset state b
                e_first = (n - 1) * b * overlap
                new_extra[b] = np.where(has & moves, e_nz, np.where(has & active, e_z,
                                        np.where(moves, e_first, extra[b])))
                new_last[b] = np.where(has & moves, ls_again, np.where(has & active, last[0],
                                       np.where(moves, bool(b), last[b])))
            extra, last = new_extra, new_last
            first_u = np.where((moves & ~has)[:, None], u, first_u)
            has = has | moves
            inner_sum = inner_sum + v
            inner_prod = inner_prod * n
    return base + extra[0]


def _fanout_steps(nest: NestBatch) -> list[np.ndarray]:
    """Per fanout ``[M, D]``: the step of its spatial loops (product of the factors inside it).

    Inside a fanout are all temporal loops of the levels below it, the fanouts of lower levels
    and, among fanouts directly above the same level, those listed after it (lower index outer).
    """
    total_temporal = np.prod(nest.temporal, axis=1)
    steps = []
    for s, at in enumerate(nest.fanout_at):
        inner = total_temporal // np.prod(nest.temporal[:, :at, :], axis=1)
        for s2, at2 in enumerate(nest.fanout_at):
            if at2 > at or (at2 == at and s2 > s):
                inner = inner * nest.spatial[:, s2, :]
        steps.append(inner)
    return steps


def distinct_children(coef: np.ndarray, nest: NestBatch, parent: int, child: int) -> np.ndarray:
    """Distinct tiles of a tensor among the spatial children of one parent instance. ``[M]``.

    Children of the fanouts between ``parent`` and ``child`` that see the same coordinates share
    one parent access (multicast, or reduction for outputs). Per fanout group (the fanouts
    directly above one level) the children are counted jointly: per rank the offsets are
    ``sum coef * step * i`` over the group's spatial loops, counted exactly. Groups multiply
    (Timeloop's bypass promotion). Assumes each dimension indexes at most one rank of the
    tensor (true of every operator of the IR), so per-rank counts multiply too.
    """
    M, L, D = nest.temporal.shape
    fans = [s for s, at in enumerate(nest.fanout_at) if parent < at <= child]
    count = np.ones(M, dtype=np.int64)
    if not fans:
        return count
    steps = _fanout_steps(nest)
    for at in sorted({nest.fanout_at[s] for s in fans}):
        group = [s for s in fans if nest.fanout_at[s] == at]
        for r in range(coef.shape[0]):
            terms = [(coef[r, d] * steps[s][:, d], nest.spatial[:, s, d])
                     for s in group for d in range(D) if coef[r, d] and nest.spatial[:, s, d].max() > 1]
            if terms:
                count = count * _distinct_sums(terms, M)
    return count


def _distinct_sums(terms: list[tuple[np.ndarray, np.ndarray]], M: int) -> np.ndarray:
    """Number of distinct values of ``sum_k u_k * i_k`` with ``0 <= i_k < n_k`` (``u_k > 0``). ``[M]``.

    One term: ``n``. Two terms: with ``g = gcd(u, v)``, the pairs ``(i, j)`` and ``(i + v/g,
    j - u/g)`` collide, so ``a*b - max(0, a - v/g) * max(0, b - u/g)``. More terms: every sum
    is enumerated on the grid of the batch's largest ``n_k`` (index ``i mod n_k`` repeats values
    without adding new ones) and the distinct values are counted after a sort.
    """
    if len(terms) == 1:
        return terms[0][1].astype(np.int64)
    if len(terms) == 2:
        (u, a), (v, b) = terms
        g = np.gcd(u, v)
        return a * b - np.maximum(0, a - v // g) * np.maximum(0, b - u // g)
    sums = np.zeros((M, 1), dtype=np.int64)
    for u, n in terms:
        idx = np.arange(int(n.max()), dtype=np.int64)[None, :] % n[:, None]      # [M, n_max]
        sums = (sums[:, :, None] + (u[:, None] * idx)[:, None, :]).reshape(M, -1)
    sums.sort(axis=1)
    return 1 + (np.diff(sums, axis=1) != 0).sum(axis=1)


def partition_words(coef: np.ndarray, nest: NestBatch, extent: np.ndarray, level: int) -> np.ndarray:
    """Timeloop's partition of a tensor at one instance of ``level`` (words). ``[M]``.

    Level 0 holds the whole tensor; at each fanout group directly above a level ``a <= level``
    the partition is scaled (integer arithmetic, as Timeloop's ``ComputePartitionSizes``) by the
    tile words of ``a`` over the words of the group's union of tiles (the tile of ``a`` extended
    by the group's spatial factors).
    """
    words = np.prod(rank_extents(coef, extent[:, 0, :]), axis=1)
    for at in sorted({at for at in nest.fanout_at if 0 < at <= level}):
        spread = np.ones_like(extent[:, at, :])
        for s, at2 in enumerate(nest.fanout_at):
            if at2 == at:
                spread = spread * nest.spatial[:, s, :]
        tile = np.prod(rank_extents(coef, extent[:, at, :]), axis=1)
        union = np.prod(rank_extents(coef, extent[:, at, :] * spread), axis=1)
        words = words * tile // union
    return words


def count_accesses(tensors: tuple[Tensor, Tensor, Tensor], keeps: tuple[tuple[bool, ...], ...],
                   nest: NestBatch, step: np.ndarray, extent: np.ndarray) -> Accesses:
    """Reads, fills and updates per instance for every level and role. ``keeps[role][level]``.

    The outermost keeper of a tensor is its backing store (no fills); a tensor kept nowhere
    moves no data.
    """
    M, L, D = nest.temporal.shape
    reads = np.zeros((M, L, 3), dtype=np.int64)
    fills = np.zeros((M, L, 3), dtype=np.int64)
    updates = np.zeros((M, L, 3), dtype=np.int64)
    steps = np.prod(nest.temporal.reshape(M, -1), axis=1)
    for role, tensor in enumerate(tensors):
        coef = coefficient_matrix(tensor, D)
        levels = [lv for lv in range(L) if keeps[role][lv]]
        is_output = tensor.role == "outputs"
        for parent, child in zip(levels, levels[1:] + [L]):
            distinct = distinct_children(coef, nest, parent, child)
            if child == L:
                moved = steps
            else:
                moved = child_fills(coef, nest, step, extent, child)
                fills[:, child, role] = moved - (partition_words(coef, nest, extent, child) if is_output else 0)
            if is_output:
                updates[:, parent, role] = moved * distinct
                reads[:, parent, role] = updates[:, parent, role] - partition_words(coef, nest, extent, parent)
            else:
                reads[:, parent, role] = moved * distinct
    return Accesses(reads, fills, updates)


def tile_words(tensor: Tensor, extent: np.ndarray) -> np.ndarray:
    """Words of ``tensor``'s tile for per-dimension ``extent [M, D]``. ``[M]``."""
    return np.prod(rank_extents(coefficient_matrix(tensor, extent.shape[1]), extent), axis=1)


__all__ = ["Accesses", "count_accesses", "instances", "tile_words", "child_fills", "distinct_children",
           "partition_words", "coefficient_matrix", "rank_extents"]
