"""Order-free lower bounds on a tiling's energy (pJ) and latency (cycles), for pruning.

A *tiling* is a spatial choice and the temporal factors per level, without loop orders. The
bound holds for every loop order, because it counts only what any order must move:

- a tensor whose ranks each hold one dimension (weights and outputs of a convolution, every
  GEMM operand) is refilled into a level once per move of its tile; the best order puts all
  the tensor's irrelevant loops of the innermost level above (and of every level in between
  that has only irrelevant loops) inside its relevant ones, so at least
  ``tile x (loops above) / (those irrelevant loops)`` words arrive (Timeloop's delta
  counting, Parashar et al., ISPASS 2019, gives exactly this for that order);
- a tensor with a sliding window (a convolution's inputs), counted as the cost core counts it
  (delta counting with resets, :mod:`codesign.cost.fills`): only the innermost loop that moves
  its tile keeps the overlap of a window rank; every other moving loop, irrelevant loops outside
  it included, fetches the whole tile again. The bound takes the best such loop at the innermost
  level with one (:func:`_window_fills`). Over every loop order of small convolutions the best
  combination's bound is the cheapest order's cost for 15-100% of the tilings (median ratio
  0.99-1.0; ``python benchmarks/order_bounds.py``);
- parents serve each group of spatial children needing the same data once (multicast);
  output partial sums are read back except for the first update of each word;
- the innermost level feeds the MACs every step, compute cycles are exact.

A *tiling-free* bound (``tiling_free``) holds for every tiling of a spatial choice: the MAC
feed, compute cycles, and every level's compulsory traffic (each word an instance touches
enters it once). The spatial shortlist ranks choices by it and design pruning bounds layers
with it.

Latency and energy are then aggregated as :mod:`codesign.cost.analytical` does (bytes per level
x energy per byte x instances; the slowest double-buffered level or compute). The mapper ranks
tilings by these bounds and skips those whose bound cannot beat the best mapping found;
``tests/test_mapspace.py`` checks bound <= cost core on random mappings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.compiler.tiles import any_over, coefficients, level_extents, prod_over, tile_words
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


def distinct_offsets(coef: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Distinct coordinates per rank touched by loops of ``extent[M, D]`` (ranks of ``coef[R, D]``). ``[M, R]``.

    One dimension ``c*i``: ``e`` (a stride ``c > 1`` leaves gaps: a 1x1 convolution of stride 2,
    squeezed, touches every other input row, and tiles of one row each fetch just those); two
    (a sliding window ``u*i + v*j``): exactly, see :func:`_two_term_values`; more (not produced
    by the operator IR): the largest one-term count, a lower bound.
    """
    M = extent.shape[0]
    out = np.ones((M, coef.shape[0]), dtype=np.int64)
    for r in range(coef.shape[0]):
        dims = np.flatnonzero(coef[r])
        if len(dims) == 1:
            out[:, r] = extent[:, dims[0]]
        elif len(dims) == 2:
            out[:, r] = _two_term_values(int(coef[r, dims[0]]), extent[:, dims[0]], int(coef[r, dims[1]]), extent[:, dims[1]])
        elif len(dims) > 2:
            out[:, r] = np.max(extent[:, dims], axis=1)
    return out


def _two_term_values(u: int, a: np.ndarray, v: int, b: np.ndarray) -> np.ndarray:
    """Number of distinct values of ``u*i + v*j`` for ``0 <= i < a``, ``0 <= j < b`` (u, v > 0).

    With ``g = gcd(u, v)`` the pairs ``(i, j)`` and ``(i + v/g, j - u/g)`` collide, hence
    ``a*b - max(0, a - v/g) * max(0, b - u/g)``.
    """
    g = np.gcd(u, v)
    return a * b - np.maximum(0, a - v // g) * np.maximum(0, b - u // g)


def _distinct_children(coef: np.ndarray, groups: list[list[tuple[np.ndarray, np.ndarray]]],
                       any_steps: bool = False) -> np.ndarray:
    """Children of one parent needing distinct data, per fanout group (``[(spatial, step)]``), multiplied.

    Per rank and row, over the terms that unroll (factor > 1) in that row: one term counts its
    factor, two the exact count (:func:`_pair_count`), more their largest factor (a lower
    bound). Each row is counted on its own, so a row's count never depends on the other rows
    of the batch. ``any_steps``: a bound for every tiling (two or more terms: the largest factor).
    """
    count = np.ones(groups[0][0][0].shape[0] if groups else 1, dtype=np.int64)
    for group in groups:
        for r in range(coef.shape[0]):
            terms = [(coef[r, d] * step[:, d], n[:, d]) for n, step in group for d in np.flatnonzero(coef[r])]
            terms = [(u, n) for u, n in terms if n.max() > 1]       # a term of factor 1 in every row counts 1
            if len(terms) == 1:
                count = count * terms[0][1]
            elif len(terms) >= 2 and not any_steps:   # the two terms a row unrolls, when it unrolls just two
                u, n = np.stack([u for u, _ in terms]), np.stack([n for _, n in terms])       # [T, M]
                live = n > 1
                i, j = np.argmax(live, axis=0), len(terms) - 1 - np.argmax(live[::-1], axis=0)
                rows = np.arange(n.shape[1])
                pair = _pair_count(u[i, rows], n[i, rows], u[j, rows], n[j, rows])
                count = count * np.where(live.sum(axis=0) == 2, pair, n.max(axis=0))
            elif terms:
                count = count * np.max([n for _, n in terms], axis=0)
    return count


def _pair_count(u: np.ndarray, a: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct values of ``u*i + v*j`` (``0 <= i < a``, ``0 <= j < b``) for per-row steps ``u, v``
    (:func:`_two_term_values`; a step of 0 counts as 1)."""
    g = np.gcd(np.maximum(u, 1), np.maximum(v, 1))
    return a * b - np.maximum(0, a - v // g) * np.maximum(0, b - u // g)


@dataclass(frozen=True)
class Traffic:
    """Lower bounds on the bytes per instance each level moves, for a batch of tilings.

    ``base[M, L]``: when no level keeps any tensor stationary; ``gain[M, l, t, L]`` (<= 0): the
    change when level ``l`` keeps tensor ``t`` stationary (each transfer depends on one level's
    choice, so gains add up over levels). ``steps[M]``: compute cycles; ``inst[M, L]``: utilized
    instances of each level.
    """

    base: np.ndarray
    gain: np.ndarray
    steps: np.ndarray
    inst: np.ndarray

    def take(self, index: np.ndarray) -> "Traffic":
        return Traffic(self.base[index], self.gain[index], self.steps[index], self.inst[index])


def traffic_bounds(layer: Layer, acc: Accelerator, temporal: np.ndarray, array: np.ndarray, lanes: np.ndarray,
                   tiling_free: bool = False) -> Traffic:
    """:class:`Traffic` bounds of tilings ``temporal[M, L, D]`` with ``array[M, D]`` rows x cols
    factors (the fanout above the first per-PE level) and ``lanes[M, D]`` MAC-lane factors.

    With ``tiling_free`` the bound holds for every tiling of the spatial choice: the operand
    traffic into the MACs, and the compulsory traffic of every level that holds a tensor: each
    word an instance touches over the whole layer enters it once (its parent serving each group
    of instances that need distinct data once; an output is written back once), and each
    tensor's distinct words, padded by the unrolling, cross the outermost level once (final
    outputs at operand width) -- ``temporal`` just carries the remaining bounds.
    """
    M, L, D = temporal.shape
    a = acc.first_per_pe_level
    extent = level_extents(temporal, array, lanes, a)
    steps = prod_over(temporal.reshape(M, -1))
    inside = np.cumprod(temporal[:, ::-1, :], axis=1)[:, ::-1, :]               # prod of levels >= l
    fanouts = [(a, array, (inside[:, a, :] if a < L else 1) * lanes), (L, lanes, np.ones_like(lanes))]
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    base = np.zeros((M, L), dtype=np.float64)
    gain = np.zeros((M, L, 3, L), dtype=np.float64)
    partition0 = 0.0
    for role, tensor in enumerate(layer.tensors):
        coef = coefficients(tensor, D)
        rel = coef.any(axis=0)
        window = bool((np.count_nonzero(coef, axis=1) > 1).any())
        keepers = [lv for lv in range(L) if ROLES[role] in acc.levels[lv].holds]
        output = ROLES[role] == "outputs"

        def touched(c: int, coef: np.ndarray = coef) -> np.ndarray:
            """Distinct words of the tensor one instance of level ``c`` touches over the whole layer. ``[M]``."""
            return prod_over(distinct_offsets(coef, extent[:, 0, :] // (array if a <= c else 1)))

        footprint = [touched(c) for c in range(L)] if output else []
        if output and (not tiling_free or keepers[:1] == [0]):
            partition0 = footprint[0]
        for parent, child in zip(keepers, keepers[1:] + [L]):
            groups = [[(n, st) for at2, n, st in fanouts if at2 == at]
                      for at in sorted({at for at, _, _ in fanouts if parent < at <= child})]
            distinct = _distinct_children(coef, groups, tiling_free)
            if tiling_free and child < L:
                # compulsory: every word an instance of the child touches arrives at least once, and
                # the parent serves each group of children needing distinct data (of the outermost
                # level, the whole padded tensor crosses it once)
                moved = footprint[child] if output else touched(child)
                fills = _bytes(moved, distinct, parent, child, L, output, footprint) * role_bytes[role]
                if parent == 0:
                    base[:, 0] += prod_over(distinct_offsets(coef, extent[:, 0, :])) * role_bytes[role]
                    fills[:, 0] = 0.0
                base += fills
                continue
            if child == L:
                base += _bytes(steps, distinct, parent, child, L, output, footprint) * role_bytes[role]
                continue
            fills = _window_fills if window else _reuse_fills
            alone, served, choice = fills(coef, rel, temporal, extent, child)
            none = _bytes(alone, distinct, parent, child, L, output, footprint) * role_bytes[role]
            best = _bytes(served, distinct, parent, child, L, output, footprint) * role_bytes[role]
            base += none
            gain[np.arange(M), choice, role, :] += best - none
    base[:, 0] -= partition0 * max(0.0, role_bytes[2] - acc.operand_bytes)
    inst = np.where(np.arange(L)[None, :] >= a, np.prod(array, axis=1)[:, None], 1)
    return Traffic(base, gain, steps, inst)


def untiled(layer: Layer, acc: Accelerator, axes: np.ndarray) -> np.ndarray:
    """``[S, L, D]``: spatial choices ``axes[S, 3, D]`` with every loop left at the outermost level,
    the tilings a ``tiling_free`` :func:`traffic_bounds` call takes (they carry the remaining bounds)."""
    temporal = np.ones((len(axes), len(acc.levels), len(layer.dims)), dtype=np.int64)
    temporal[:, 0, :] = -(-np.array(layer.bounds, dtype=np.int64) // np.prod(axes, axis=1))
    return temporal


def traffic_parts(layer: Layer, acc: Accelerator, temporals: list[np.ndarray], axes: list[np.ndarray],
                  tiling_free: bool = False) -> list[Traffic]:
    """:func:`traffic_bounds` of several batches of tilings (``temporals[i]`` ``[M_i, L, D]``, spatial
    ``axes[i]`` ``[M_i, 3, D]``: rows, cols, lanes) of layers with ``layer``'s
    :attr:`~codesign.workload.ir.Layer.structure`, in one call (the bounds depend on a layer only
    through it, and the call's cost is mostly per call); split back per batch (copies)."""
    sizes = [len(t) for t in temporals]
    if not sum(sizes):
        L = len(acc.levels)
        return [Traffic(*(np.zeros((0,) + shape) for shape in ((L,), (L, 3, L), (), (L,)))) for _ in sizes]
    T, AX = np.concatenate(temporals), np.concatenate(axes)
    traffic = traffic_bounds(layer, acc, T, AX[:, 0] * AX[:, 1], AX[:, 2], tiling_free)
    cuts = np.cumsum(sizes)[:-1]
    split = zip(*(np.split(a, cuts) for a in (traffic.base, traffic.gain, traffic.steps, traffic.inst)))
    return [Traffic(*(a.copy() for a in parts)) for parts in split]     # copies: each may be remembered alone


def _costs(macs: float | np.ndarray, acc: Accelerator, moved: np.ndarray, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
    """Energy (pJ) and cycles of per-level bytes ``moved[M, ..., L]``, as the cost core aggregates them
    (``macs``: the layer's MACs, or each row's ``[M]``). One level at a time: the same sums in the
    same order as reducing over the level axis, without numpy's slow reductions along a short axis."""
    extra = (slice(None),) + (None,) * (moved.ndim - 2)
    inst = traffic.inst[extra]
    energy = serial = overlapped = None
    for lv, level in enumerate(acc.levels):
        bytes_lv = moved[..., lv]
        e = bytes_lv * inst[..., lv] * level.access_pj_per_byte
        energy = e if energy is None else energy + e
        cycles = bytes_lv / (level.bytes_per_cycle or np.inf)
        if level.double_buffered:
            overlapped = cycles if overlapped is None else np.maximum(overlapped, cycles)
        else:
            serial = cycles if serial is None else serial + cycles
    energy = energy + (np.asarray(macs)[extra] * acc.mac_pj if np.ndim(macs) else macs * acc.mac_pj)
    serial = traffic.steps[extra] + (0.0 if serial is None else serial)
    return energy, np.maximum(serial, 0.0 if overlapped is None else overlapped)


def combination_bounds(layer: Layer, acc: Accelerator, traffic: Traffic, roles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds ``(energy_pj [M, K], cycles [M, K])`` per stationarity combination ``roles[K, L]``.

    Entry ``[m, k]`` bounds every loop order whose innermost loops at each level serve the
    tensor ``roles[k]`` names (:func:`codesign.compiler.orders.stationary_orders`); in the
    operator IR every order serves at most one tensor per level, so the minimum over all
    combinations bounds every order.
    """
    return rows_bounds(np.float64(layer.macs), acc, traffic, roles)


def rows_bounds(macs: float | np.ndarray, acc: Accelerator, traffic: Traffic, roles: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`combination_bounds` of rows that may belong to different layers: ``macs`` is the
    layer's MACs or each row's ``[M]`` (a design's layers bounded in one pass)."""
    gain = traffic.gain[:, 0, roles[:, 0], :]                  # [M, K, L]: summed over the levels' choices
    for lv in range(1, traffic.base.shape[1]):
        gain = gain + traffic.gain[:, lv, roles[:, lv], :]
    return _costs(macs, acc, traffic.base[:, None, :] + gain, traffic)


def best_bounds(layer: Layer, acc: Accelerator, traffic: Traffic) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds ``(energy_pj [M], cycles [M])`` over every loop order: energy separates over the
    levels' choices (exact minimum); each level's bytes take their own best choices (cycles)."""
    access_pj = np.array([lv.access_pj_per_byte for lv in acc.levels])
    level_gain = (traffic.gain * (traffic.inst[:, None, None, :] * access_pj)).sum(axis=3)   # [M, l, t]
    energy, _ = _costs(layer.macs, acc, traffic.base, traffic)
    _, cycles = _costs(layer.macs, acc, traffic.base + traffic.gain.min(axis=2).sum(axis=1), traffic)
    return energy + level_gain.min(axis=2).sum(axis=1), cycles


def lower_bounds(layer: Layer, acc: Accelerator, temporal: np.ndarray, array: np.ndarray, lanes: np.ndarray,
                 roles: np.ndarray, tiling_free: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`combination_bounds` of :func:`traffic_bounds` (with ``tiling_free``: ``K = 1``)."""
    traffic = traffic_bounds(layer, acc, temporal, array, lanes, tiling_free)
    return combination_bounds(layer, acc, traffic, roles[:1] if tiling_free else roles)


def _bytes(moved: np.ndarray, distinct: np.ndarray, parent: int, child: int, L: int, output: bool,
           footprint: list[np.ndarray]) -> np.ndarray:
    """Words ``[M, L]`` a parent-child transfer of ``moved`` words per child instance costs at each level."""
    out = np.zeros((moved.shape[0], L), dtype=np.float64)
    updates = moved * distinct
    if output:
        out[:, parent] = np.maximum(updates, 2 * updates - footprint[parent])
        if child < L:
            out[:, child] = np.maximum(0, moved - footprint[child])
    else:
        out[:, parent] = updates
        if child < L:
            out[:, child] = moved
    return out


def _reuse_fills(coef: np.ndarray, rel: np.ndarray, temporal: np.ndarray, extent: np.ndarray,
                 child: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words moved into one instance of ``child`` for a window-free tensor, ``[M]`` each: when the
    level choosing its reuse serves another tensor, when it serves this one; and that level.

    The tensor keeps its tile across every level between ``child`` and the innermost level
    above it with a relevant loop (all their loops are irrelevant); at that level its
    irrelevant loops can only all stay inside if that level serves this tensor.
    """
    M = temporal.shape[0]
    tile = tile_words(coef, extent[:, child, :])
    relevant = prod_over(temporal[:, :child, :], np.flatnonzero(rel))                # [M, child]
    total = prod_over(temporal[:, :child, :])
    served = np.ones(M, dtype=np.int64)
    alone = np.ones(M, dtype=np.int64)
    choice = np.zeros(M, dtype=np.int64)
    reached = np.zeros(M, dtype=bool)                                               # found the innermost relevant level
    for lv in range(child - 1, -1, -1):
        here = ~reached & (relevant[:, lv] > 1)
        served = np.where(reached, served * total[:, lv], np.where(here, relevant[:, lv], served))
        alone = np.where(reached | here, alone * total[:, lv], alone)
        choice = np.where(here, lv, choice)
        reached |= here
    return tile * alone, tile * served, choice


def _window_fills(coef: np.ndarray, rel: np.ndarray, temporal: np.ndarray, extent: np.ndarray,
                  child: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_reuse_fills` for a tensor with sliding windows (a convolution's inputs), under the
    cost core's delta counting with resets (:mod:`codesign.cost.fills`).

    Let ``k1`` be the innermost loop above ``child`` that moves the tile (a relevant loop; it is
    at ``lv``, the innermost level with one). Irrelevant loops inside ``k1`` fetch nothing; every
    other loop resets (its translation differs from ``k1``'s) and fetches the whole tile, except
    ``k1``'s own dimension, which may keep the overlap of a window rank: a step of ``c * e``
    keeps ``max(0, extent - c * e) / extent`` of it (``e``: the child's extent; a step over the
    array is longer, keeping less). So at least ``tile * prod(relevant trips) * (1 + (N - 1) (1 -
    keep)) / N`` words arrive (``N``: the dimension's trips above the child) for the best ``k1`` at
    ``lv``, times every irrelevant trip outside ``lv``, and those of ``lv`` unless ``lv`` serves the
    tensor. A window rank with two dimensions moving above the child (their translations may
    cancel) keeps the bound of a refetch at every move of a dimension with a rank of its own only.
    """
    M = temporal.shape[0]
    ranks_of = np.count_nonzero(coef, axis=1)                                       # dims per rank
    alone = rel & ~(np.count_nonzero(coef, axis=0) & (ranks_of[:, None] > 1)).any(axis=0)
    tile = tile_words(coef, extent[:, child, :])
    above = temporal[:, :child, :]                                                  # [M, child, D]
    trips = prod_over(np.moveaxis(above, 1, -1))                                    # [M, D]
    floor = tile * prod_over(trips, np.flatnonzero(alone))
    moving = above > 1
    lv_rel = any_over(moving & rel)                                                 # [M, child]
    found = any_over(lv_rel)
    lv = np.where(found, child - 1 - np.argmax(lv_rel[:, ::-1], axis=1), 0)
    rows = np.arange(M)
    window_ranks = np.flatnonzero(ranks_of > 1)
    tangled = np.zeros(M, dtype=bool)
    for r in window_ranks:
        tangled |= (trips[:, np.flatnonzero(coef[r])] > 1).sum(axis=1) > 1
    extents = 1 + (extent[:, child, :] - 1) @ coef.T                                # [M, R]
    share = np.full((M, coef.shape[1]), np.inf)
    for d in np.flatnonzero(rel):
        keep = np.ones(M)
        for r in np.flatnonzero(coef[:, d]):
            keep = keep * np.maximum(0, extents[:, r] - coef[r, d] * extent[:, child, d]) / extents[:, r]
        n = trips[:, d]
        at_lv = moving[rows, lv, d]
        share[:, d] = np.where(at_lv, (1 + (n - 1) * (1 - keep)) / np.maximum(n, 1), np.inf)
    best_share = np.where(found, share.min(axis=1), 1.0)
    relevant = prod_over(trips, np.flatnonzero(rel))
    irrelevant = np.where(rel, 1, above)                                            # [M, child, D]
    outside = prod_over(np.where(np.arange(child)[None, :, None] < lv[:, None, None], irrelevant, 1).reshape(M, -1))
    at = prod_over(irrelevant[rows, lv])
    served = np.where(found, tile * relevant * best_share * outside, tile)
    unserved = np.where(found, served * at, tile)
    served = np.where(tangled, floor, np.maximum(served, floor))
    unserved = np.where(tangled, floor, np.maximum(unserved, floor))
    return unserved, served, lv
