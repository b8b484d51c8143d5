"""Words moved into one instance of a child level over a whole layer (Timeloop's deltas), per chunk.

The semantics are those of :func:`codesign.cost.accesses.child_fills`: the temporal loops above
the child, innermost first, are sampled at iterations {0, 1}; loop ``k`` translates the tile by
``u_k = v_k - sum_{j inside k} v_j`` with total weight ``W_k = (N_k - 1) prod_{j outside k} N_j``
and fetches ``tile - overlap(u_k)``, unless it resets (the whole tile) or ``u_k = 0`` (nothing).
Everything but the resets is computed for all loops at once:

- along a *simple* rank (:mod:`codesign.cost.tables`) a loop moves the tile by at least its
  extent, so ``u_r != 0`` and the rank's overlap factor is 0 from the first loop of its
  dimension outwards, ``u_r = 0`` and the factor is the rank's extent before it. The first
  such loop is where ``outer`` (the product of the bounds from a loop outwards) is largest
  among the loops that move a simple rank; the loops inside it have a larger ``outer``;
- along a *window* rank, ``u_r`` is ``v_r`` minus an exclusive running sum, computed once per
  level and shared by all child levels (a child further in adds the totals of the levels in
  between), and the factor is ``max(0, extent - |u_r|)``;
- the deltas ``sum_k W_k (tile - overlap_k)`` over the moving loops.

Only the refetches caused by resets on stride change need a pass over the loops in order (a
two-state fold, see :func:`_refetched`), and only for mappings where some moving loop keeps
an overlap. A tensor whose ranks are all simple never keeps an overlap: its fills are the
tile times the product of the loop bounds from the innermost loop that moves it outwards.
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
    # outer of the innermost loop that moves a simple rank (1 if none)
    first = (outer * tc.hit[:child]).max(axis=(0, 1), initial=1)
    if not tab.window:
        return tile * first
    ext = tc.ext(child)
    active, weight = ch.active[:child], ch.weight[:child]
    untouched = outer > first
    simple_ext = np.ones_like(tile)
    for r in tab.simple:
        simple_ext = simple_ext * ext[r]
    overlap = untouched * simple_ext
    windows = tc.windows()
    for r in tab.window:
        u = windows[r].above(child)
        factor = ext[r].astype(u.dtype) - np.abs(u)
        overlap *= np.maximum(factor, 0, out=factor)
    # a loop that does not move keeps the whole tile (overlap = tile); loops of bound 1 weigh 0
    delta = weight * (tile - overlap)
    fills = tile + delta.sum(axis=(0, 1))
    need = np.flatnonzero(((delta > 0) & (overlap > 0)).any(axis=(0, 1)))
    if len(need):
        pick = lambda a: np.take(a, need, axis=-1)  # noqa: E731
        sub_active, sub_overlap = pick(active), pick(overlap)
        sub_moves = sub_active & (sub_overlap < pick(tile))
        us = [pick(windows[r].above(child)) for r in tab.window]
        fills[need] += _refetched(sub_moves, sub_active, pick(untouched), us, sub_overlap, pick(ch.n[:child]))
    return fills


def _loop_order(a: np.ndarray) -> np.ndarray:
    """``[c, K, k]`` loops of levels ``0 .. c-1`` as ``[c * K, k]`` rows, innermost loop first."""
    return a[::-1].reshape(-1, a.shape[2])


def _refetched(moves: np.ndarray, active: np.ndarray, untouched: np.ndarray, us: list[np.ndarray],
               overlap: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Overlap refetched by resets on stride change (words), folded innermost loop first. ``[k]``.

    Inputs are ``[c, K, k]`` for the loops above the child. State per mapping, for both reset
    states ``b`` of the first non-zero translation of the loops folded so far: the weighted
    overlap restored by resets (``e_b``) and whether the last non-zero translation reset
    (``l_b``). The sequence of loops ``1..k`` is ``S(k-1), u_k, S(k-1)``; loop ``k`` updates
    the state as

    - ``u_k`` moves and differs from the first non-zero translation (or is the first): it resets
      iff the sequence before it ended without a reset; the repeated sequence then starts in
      the state ``u_k`` leaves behind: ``e_b += (N_k - 1) (reset_b overlap_k + e_{l_b})``,
      ``l_b = l_{l_b}``;
    - otherwise, after a first non-zero translation: the sequence continues its stride:
      ``e_b += (N_k - 1) e_0``, ``l_b = l_0``.

    Starting from ``l = (True, False)``, the first rule also covers the first translation
    (state ``b`` resets it iff ``b``). The answer is ``e_0``. With ``d = e_1 - e_0`` and
    ``x = d - overlap_k``, both updates are ``e_b += (N_k - 1) (e_0 + fresh overlap_k + [fresh
    and l_b] x)``.

    A mapping needs the fold only if a moving loop keeps an overlap, so its first non-zero
    translation moves window ranks only (a loop that moves a simple rank leaves no overlap from
    there outwards) and is that loop's own step. A later translation equals it iff no simple
    rank has moved yet (``untouched``) and every window rank's translation equals the first's.
    """
    moves, active, untouched, overlap, n = (_loop_order(a) for a in (moves, active, untouched, overlap, n))
    us = [_loop_order(u) for u in us]
    P, k = moves.shape
    seen = np.zeros_like(moves)                                 # a non-zero translation inside
    for p in range(1, P):
        np.logical_or(seen[p - 1], moves[p - 1], out=seen[p])
    lead = moves & ~seen                                        # the first one
    same = seen & untouched
    for u in us:
        same &= u == (u * lead).sum(axis=0)
    fresh = moves & ~same
    acts = fresh | (seen & active)
    keep = acts & ~fresh
    scale = (n - 1) * acts
    fresh_overlap = overlap * fresh
    e0 = np.zeros_like(overlap[0])
    d = np.zeros_like(overlap[0])
    l0 = np.ones(k, dtype=bool)
    l1 = np.zeros(k, dtype=bool)
    for p in range(P):
        act = acts[p]
        if not act.any():
            continue
        f = fresh[p]
        x = d - overlap[p]
        g0, g1 = f & l0, f & l1
        gx0 = x * g0
        e0 = e0 + scale[p] * (e0 + fresh_overlap[p] + gx0)
        d = d + scale[p] * (x * g1 - gx0)
        flip = (keep[p] | (act & ~l1)) & (l0 ^ l1)
        l0 = l0 & (~f | l1)
        l1 = l1 ^ flip
    return e0


__all__ = ["child_fills"]
