"""Words moved into one instance of a child level over a whole layer (Timeloop's deltas), per chunk.

The semantics are those of :func:`codesign.cost.accesses.child_fills`: the temporal loops above
the child, innermost first, are sampled at iterations {0, 1}; loop ``k`` translates the tile by
``u_k = v_k - sum_{j inside k} v_j`` with total weight ``W_k = (N_k - 1) prod_{j outside k} N_j``
and fetches ``tile - overlap(u_k)``, unless it resets (the whole tile) or ``u_k = 0`` (nothing).
Everything is computed for all loops at once:

- along a *simple* rank (:mod:`codesign.cost.tables`) a loop moves the tile by at least its
  extent, so ``u_r != 0`` and the rank's overlap factor is 0 from the first loop of its
  dimension outwards, ``u_r = 0`` and the factor is the rank's extent before it. The first
  such loop is where ``outer`` (the product of the bounds from a loop outwards) is largest
  among the loops that move a simple rank; the loops inside it have a larger ``outer``;
- along a *window* rank, ``u_r`` is ``v_r`` minus an exclusive running sum, computed once per
  level and shared by all child levels (a child further in adds the totals of the levels in
  between), and the factor is ``max(0, extent - |u_r|)``;
- resets on stride change, in closed form: a moving loop resets (refetches the overlap it
  would keep) iff it is not the first moving loop (the innermost: the largest ``outer``) and
  its translation differs from the first one's on some window rank. Timeloop's rule is a
  fold over the loops in order with two reset states (the stride memory); its refetch,
  ``e_0``, follows ``e_0 += (N_k - 1) (e_0 + [fresh] overlap_k + [first] x_k)``, where the
  state enters only through the term of the first moving loop, which cancels there
  (``x = -overlap``). Unrolled, ``e_0 = sum_k [fresh, not first] (N_k - 1) overlap_k
  prod_{j outside k} N_j = sum_k W_k overlap_k [resets]``: no sequential pass;
- the deltas ``sum_k W_k (tile - overlap_k [keeps])`` over the loops, summed as
  ``tile (prod of the bounds above the child - 1) - sum_k W_k overlap_k [keeps]`` (the weights
  telescope).

A tensor whose ranks are all simple never keeps an overlap: its fills are the tile times the
product of the loop bounds from the innermost loop that moves it outwards.
"""

from __future__ import annotations

import numpy as np

from codesign.cost.tensor_chunk import TensorChunk


def child_fills(tc: TensorChunk, child: int) -> np.ndarray:
    """Words moved into one instance of level ``child`` for every mapping of the chunk. ``[m]``."""
    tab, ch = tc.tab, tc.ch
    tile = tc.tile(child)
    if child == 0:
        return tile
    outer = ch.outer[:child]
    first = tc.first_hit(child)
    if not tab.window:
        return tile * first
    ext = tc.ext(child)
    untouched = outer > first
    simple_ext = None
    for r in tc.simple:
        simple_ext = ext[r] if simple_ext is None else simple_ext * ext[r]
    overlap = untouched * simple_ext if simple_ext is not None else untouched.astype(tile.dtype)
    u = tc.windows().above(child)                                              # [R, c, K, m]
    factor = np.stack([ext[r] for r in tab.window]).astype(u.dtype)[:, None, None, :] - np.abs(u)
    np.maximum(factor, np.zeros(factor.shape[-1], dtype=factor.dtype), out=factor)   # (scalar 0: 8x slower)
    for f in factor:
        overlap *= f
    # the first moving loop (the innermost: the largest outer; every loop if none moves) and the
    # moving loops with its translation keep their overlap, the other moving loops reset
    moves = ch.active[:child] & (overlap < tile)
    key = outer * moves
    lead = key == key.max(axis=(0, 1), initial=0)
    same = (u == (u * lead).sum(axis=(1, 2), dtype=u.dtype)[:, None, None, :]).all(axis=0)
    keep = same | ~moves
    # a loop that does not move keeps the whole tile (overlap = tile); loops of bound 1 weigh 0.
    # The weights sum to (product of the loop bounds above the child) - 1, so
    # tile + sum_k W_k (tile - kept_k) = tile x that product - sum_k W_k kept_k
    overlap *= keep
    overlap *= ch.weight[:child]
    iterations = outer[-1, 0] if outer.shape[1] else 1
    return tile * iterations - overlap.sum(axis=(0, 1), dtype=overlap.dtype)   # (< 2^29 in an int32 chunk)


__all__ = ["child_fills"]
