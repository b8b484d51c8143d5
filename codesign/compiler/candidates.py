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

from codesign.compiler.tiles import Lattice, any_over, capacity_at, divisors, lattice, level_limits, prod_over
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

MAX_INNER = 256          # innermost tiles kept (the largest) when more fit
MAX_CHAINS = 4096        # partial tilings kept per level between (the largest tiles)


def level_needs(layer: Layer, acc: Accelerator, points: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """``[G, L]``: bytes level ``l`` needs for cumulative tile ``points[g]`` under spatial ``axes[g]``
    (``[G, 3, D]``); 0 for unbounded levels. Independent of the capacities."""
    inner = points * axes[:, 2]
    outer = inner * axes[:, 0] * axes[:, 1]
    out = np.zeros((len(points), len(acc.levels)))
    for lv, level in enumerate(acc.levels):
        if level.size_bytes is not None:
            out[:, lv] = capacity_at(layer, acc, outer if lv < acc.first_per_pe_level else inner, lv)
    return out


def choice_needs(layer: Layer, acc: Accelerator, spatial: np.ndarray, bounds: np.ndarray | None = None
                 ) -> list[np.ndarray]:
    """:func:`level_needs` of every point of each spatial choice's tile lattice (``[G_s, L]`` each,
    in :class:`Lattices` order), in one call. ``bounds[S, D]``: each choice's loop bounds when the
    choices belong to several layers of ``layer``'s :attr:`~codesign.workload.ir.Layer.structure`."""
    q = -(-_bounds(layer, spatial, bounds) // np.prod(spatial, axis=1))                 # [S, D]
    lats = [lattice(tuple(int(x) for x in row)) for row in q]
    if not lats:
        return []
    points = np.concatenate([lat.points for lat in lats])
    axes = np.concatenate([np.broadcast_to(ax, (lat.size,) + ax.shape) for lat, ax in zip(lats, spatial)])
    needs = level_needs(layer, acc, points, axes)
    return [part.copy() for part in np.split(needs, np.cumsum([lat.size for lat in lats])[:-1])]


def _bounds(layer: Layer, spatial: np.ndarray, bounds: np.ndarray | None) -> np.ndarray:
    """Each choice's loop bounds ``[S, D]`` (``layer``'s unless given)."""
    if bounds is None:
        return np.broadcast_to(np.array(layer.bounds, dtype=np.int64), (len(spatial), len(layer.dims)))
    return np.asarray(bounds, dtype=np.int64)


def tiling_candidates(layer: Layer, acc: Accelerator, spatial: np.ndarray,
                      needs: list[np.ndarray] | None = None, bounds: np.ndarray | None = None) -> list[np.ndarray]:
    """Temporal factors ``[T, L, D]`` of the candidate tilings of each spatial choice ``spatial[s]``
    (``[S, 3, D]``). The choices are tiled together, on their tile lattices joined into one
    (:class:`Lattices`): the work is a few dozen array operations whatever the number of choices.
    ``needs``: the choices' :func:`choice_needs` when known (they do not depend on the capacities).
    ``bounds[S, D]``: each choice's loop bounds, when the choices belong to several layers of
    ``layer``'s :attr:`~codesign.workload.ir.Layer.structure` (each choice is tiled on its own lattice)."""
    L, D, S = len(acc.levels), len(layer.dims), len(spatial)
    q = -(-_bounds(layer, spatial, bounds) // np.prod(spatial, axis=1))                 # [S, D]
    if L == 1:
        return [row.reshape(1, 1, D) for row in q]
    lat = Lattices([lattice(tuple(int(x) for x in row)) for row in q])
    need = np.concatenate(needs if needs is not None else choice_needs(layer, acc, spatial))
    ok = need <= level_limits(acc)
    P = lat.points
    if L == 2:
        inner = np.flatnonzero(lat.maximal(ok[:, 1]))
    else:
        inner = np.flatnonzero(ok[:, L - 1])
        seg = lat.seg[inner]
        crowded = np.bincount(seg, minlength=S)[seg] > MAX_INNER      # keep the largest tiles, largest first
        key = np.where(crowded, -prod_over(P[inner]), 0)
        order = np.lexsort((np.arange(len(inner)), key, seg))
        inner = inner[order][_rank_in_run(seg[order]) < MAX_INNER]
    chains = inner[:, None]
    rel = [t.relevant(D) for t in layer.tensors]
    for lv in range(L - 2, 0, -1):
        child = chains[:, 0]
        fits_here = ok[child, lv]
        chains, child = chains[fits_here], child[fits_here]
        N = len(child)
        biggest = np.flatnonzero(lat.maximal(ok[:, lv]))                 # by segment, then index
        rows, cols = _same_segment_pairs(lat.seg[child], lat.seg[biggest], S)
        above = ~any_over(P[biggest[cols]] % P[child[rows]] != 0)
        rows, cols = rows[above], cols[above]
        options = [np.stack([biggest[cols], rows], axis=1), np.stack([child, np.arange(N)], axis=1)]
        for r in rel:
            grown = lat.grow(ok[:, lv], child, np.flatnonzero(~np.array(r)))
            options.append(np.stack([grown, np.arange(N)], axis=1))
        pairs = np.concatenate(options)
        _, first = np.unique(pairs[:, 0] * N + pairs[:, 1], return_index=True)
        picked = pairs[np.sort(first)]
        pseg = lat.seg[picked[:, 0]]
        crowded = np.bincount(pseg, minlength=S)[pseg] > MAX_CHAINS     # deep hierarchies: the largest tiles
        if crowded.any():
            order = np.lexsort((np.arange(len(picked)), -prod_over(P[picked[:, 0]]), pseg))
            keep = ~crowded
            keep[order[_rank_in_run(pseg[order]) < MAX_CHAINS]] = True
            picked = picked[keep]
        chains = np.concatenate([picked[:, :1], chains[picked[:, 1]]], axis=1)
    cseg = lat.seg[chains[:, -1]] if len(chains) else np.zeros(0, dtype=np.int64)
    parent = P[chains[:, 0]] if L > 2 else q[cseg]
    keep = lat.maximal_within(ok[:, L - 1], chains[:, -1], parent)
    chains, cseg = chains[keep], cseg[keep]
    order = np.argsort(cseg, kind="stable")
    chains, cseg = chains[order], cseg[order]
    cumulative = np.concatenate([q[cseg][:, None, :], P[chains]], axis=1)
    outer = np.concatenate([cumulative[:, 1:], np.ones((len(chains), 1, D), dtype=np.int64)], axis=1)
    return np.split(cumulative // outer, np.cumsum(np.bincount(cseg, minlength=S))[:-1])


class Lattices:
    """Several tile lattices (:class:`~codesign.compiler.tiles.Lattice`) joined: point ``g`` of the
    join is a point of lattice ``seg[g]``; every lattice operation acts on each lattice alone."""

    def __init__(self, parts: list[Lattice]) -> None:
        sizes = np.array([p.size for p in parts], dtype=np.int64)
        offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.seg = np.repeat(np.arange(len(parts)), sizes)
        self.points = np.concatenate([p.points for p in parts])
        self.digits = np.concatenate([p.digits for p in parts])
        self.radix = np.stack([p.radix for p in parts])                                    # [S, D]
        self.stride = np.stack([p.stride for p in parts])                                  # [S, D]
        K = int(self.radix.max())
        self.divs = np.zeros(self.radix.shape + (K,), dtype=np.int64)                     # [S, D, K]
        for s, p in enumerate(parts):
            for d, v in enumerate(p.divs):
                self.divs[s, d, :len(v)] = v
        n = max(p.prime_steps.shape[1] for p in parts)
        self.steps = np.full((len(self.points), n), -1, dtype=np.int64)
        self.step_dims = np.full((len(parts), n), -1, dtype=np.int64)                     # [S, n]
        for s, (p, at) in enumerate(zip(parts, offset)):
            st = p.prime_steps
            self.steps[at:at + p.size, :st.shape[1]] = np.where(st >= 0, st + at, -1)
            self.step_dims[s, :st.shape[1]] = p.step_dims

    def maximal(self, member: np.ndarray) -> np.ndarray:
        """:meth:`Lattice.maximal` of each lattice."""
        up = self.steps
        return member & ~any_over((up >= 0) & member[np.maximum(up, 0)])

    def grow(self, member: np.ndarray, start: np.ndarray, dims: np.ndarray) -> np.ndarray:
        """:meth:`Lattice.grow` of each start point in its own lattice."""
        cur = start.copy()
        seg = self.seg[start]
        for d in dims:
            digit = self.digits[cur, d]
            K = self.divs.shape[2]
            stride = self.stride[seg, d]
            target = cur[:, None] + (np.arange(K)[None, :] - digit[:, None]) * stride[:, None]
            divs = self.divs[seg, d]                                                       # [N, K]
            here = np.take_along_axis(divs, digit[:, None], axis=1)
            ok = (np.arange(K)[None, :] < self.radix[seg, d][:, None]) & (divs % here == 0)
            ok &= member[np.clip(target, 0, len(member) - 1)]
            best = np.where(ok.any(axis=1), K - 1 - np.argmax(ok[:, ::-1], axis=1), digit)
            cur = cur + (best - digit) * stride
        return cur

    def maximal_within(self, member: np.ndarray, idx: np.ndarray, parent: np.ndarray) -> np.ndarray:
        """Whether tile ``idx[N]`` takes no prime factor more and still fits and divides ``parent[N, D]``."""
        up = self.steps[idx]                                                               # [N, n]
        safe = np.maximum(up, 0)
        dim = np.maximum(self.step_dims[self.seg[idx]], 0)                                 # [N, n]
        # a step grows one dimension: it divides parent where tile idx does in every other
        # dimension and parent's extent in the grown one is a multiple of the grown extent
        apart = parent % self.points[idx] != 0                                            # [N, D]
        elsewhere = apart.sum(axis=1)[:, None] == np.take_along_axis(apart, dim, axis=1)  # [N, n]
        grown = np.take_along_axis(parent, dim, axis=1) % self.points[safe, dim] == 0
        return ~any_over((up >= 0) & member[safe] & elsewhere & grown)


def _rank_in_run(group: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal values (``group`` sorted). ``[N]``."""
    starts = np.searchsorted(group, group, side="left")
    return np.arange(len(group)) - starts


def _same_segment_pairs(a: np.ndarray, b: np.ndarray, S: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(i, j)`` with ``a[i] == b[j]`` (``b`` sorted), ``i`` ascending then ``j`` ascending."""
    count = np.bincount(b, minlength=S)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    reps = count[a]
    rows = np.repeat(np.arange(len(a)), reps)
    within = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    return rows, start[a][rows] + within


def greedy_tiles(layer: Layer, acc: Accelerator, axes: np.ndarray, order: np.ndarray,
                 bounds: np.ndarray | None = None) -> np.ndarray:
    """Largest tiles that fit, innermost level first, for spatial choices ``axes[S, 3, D]``: ``[S, L, D]``.

    At each level (innermost first) each dimension in ``order`` takes the largest divisor of
    what is left of it that keeps the level's tiles within capacity; the outermost level takes
    the rest. A level where even factor 1 overflows keeps 1 (the mapping then does not fit).
    ``bounds[S, D]``: each choice's loop bounds, when they belong to several layers of ``layer``'s
    :attr:`~codesign.workload.ir.Layer.structure` (each row is tiled on its own).
    """
    S, L, D = len(axes), len(acc.levels), len(layer.dims)
    q = -(-_bounds(layer, axes, bounds) // np.prod(axes, axis=1))                 # [S, D]
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
