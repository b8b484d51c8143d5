"""Loop orders: stationarity orders per level, and the permutations the mapper refines with.

With Timeloop's delta counting (Parashar et al., ISPASS 2019) a tensor keeps its tile across
the loops just above it that do not index it, up to the first loop that does. In the operator
IR every dimension is irrelevant to at most one tensor, so the innermost loops of a level can
serve one tensor only: a level's reuse is fixed by *which* tensor is stationary there
(:data:`ROLE_CHOICES`: its irrelevant loops innermost). Sliding windows add a second-order
effect, so within each group window dimensions go first (the next tile overlaps the last).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from codesign.workload.ir import ROLES, Layer

ROLE_CHOICES = (0, 1, 2)        # weights-, inputs-, outputs-stationary
MAX_LEVEL_PERMUTATIONS = 120


def window_dims(layer: Layer) -> np.ndarray:
    """``[D]``: dimensions that share a rank with another dimension (sliding windows)."""
    out = np.zeros(len(layer.dims), dtype=bool)
    for t in layer.tensors:
        for rank in t.ranks:
            if len(rank) > 1:
                out[[d for d, _ in rank]] = True
    return out


def irrelevance(layer: Layer) -> np.ndarray:
    """``[3, D]``: which dimensions each tensor (weights, inputs, outputs) does not index."""
    return ~np.array([t.relevant(len(layer.dims)) for t in layer.tensors])


def role_combinations(n_levels: int, stationary: str) -> np.ndarray:
    """``[K, L]`` stationary tensor per level: every combination over the levels but the innermost.

    The innermost level's order changes nothing (see :mod:`codesign.compiler.mapspace`), so it
    takes the ``stationary`` tensor (weights when ``any``). Under a constraint a level that
    has loops the constrained tensor ignores must serve it; the search masks the others.
    """
    last = 0 if stationary == "any" else ROLES.index(stationary)  # type: ignore[arg-type]
    combos = np.array(list(itertools.product(ROLE_CHOICES, repeat=max(0, n_levels - 1))), dtype=np.int64)
    return np.concatenate([combos.reshape(-1, n_levels - 1), np.full((len(combos), 1), last, dtype=np.int64)], axis=1)


def allowed_combinations(layer: Layer, stationary: str, temporal: np.ndarray, roles: np.ndarray) -> np.ndarray:
    """``[M, K]``: which combinations ``roles[K, L]`` a stationarity constraint allows for tilings
    ``temporal[M, L, D]``: a level with active loops the constrained tensor ignores must serve it."""
    if stationary == "any":
        return np.ones((temporal.shape[0], len(roles)), dtype=bool)
    role = ROLES.index(stationary)  # type: ignore[arg-type]
    must = ((temporal > 1) & irrelevance(layer)[role]).any(axis=2)                   # [M, L]
    return np.all(~must[:, None, :] | (roles[None, :, :] == role), axis=2)


def stationary_orders(layer: Layer, temporal: np.ndarray, roles: np.ndarray) -> np.ndarray:
    """Loop orders ``[M, L, D]`` (innermost first) keeping ``roles[M, L]`` stationary at each level.

    Per level: the stationary tensor's irrelevant active loops, then the other active loops,
    then the inactive ones; inside each group window dimensions first, then later dimensions
    first (Q inside P, S inside R).
    """
    M, L, D = temporal.shape
    irr = irrelevance(layer)[roles]                                     # [M, L, D]
    active = temporal > 1
    group = np.where(active & irr, 0, np.where(active, 1, 2))
    sub = np.where(window_dims(layer), 0, D) + (D - 1 - np.arange(D))
    return np.argsort(group * 4 * D + sub, axis=2, kind="stable")


def level_permutations(perm: np.ndarray, temporal: np.ndarray, level: int, irrelevant: np.ndarray | None) -> np.ndarray:
    """Orders ``[P, L, D]`` that differ from ``perm[L, D]`` only at ``level``, over its active loops.

    All orders of the active loops when there are at most :data:`MAX_LEVEL_PERMUTATIONS`;
    otherwise all orders of the innermost active loops that fit that budget, the outer ones
    kept. With ``irrelevant`` (a stationarity constraint), only orders that keep those loops
    innermost.
    """
    active = temporal[level, perm[level]] > 1
    order, rest = perm[level][active], perm[level][~active]
    m = len(order)
    while math.factorial(m) > MAX_LEVEL_PERMUTATIONS:
        m -= 1
    rows = np.concatenate([order[:m][_permutations(m)], np.broadcast_to(order[m:], (math.factorial(m), len(order) - m))],
                          axis=1)
    if irrelevant is not None:                  # irrelevant loops first: flags never rise along a row
        flags = np.asarray(irrelevant, dtype=np.int8)[rows]
        rows = rows[np.all(flags[:, :-1] >= flags[:, 1:], axis=1)]
    out = np.repeat(np.asarray(perm, dtype=np.int64)[None], len(rows), axis=0)
    out[:, level] = np.concatenate([rows, np.broadcast_to(rest, (len(rows), len(rest)))], axis=1)
    return out


@functools.lru_cache(maxsize=16)
def _permutations(m: int) -> np.ndarray:
    """Every permutation of ``range(m)`` in :func:`itertools.permutations` order: ``[m!, m]``."""
    return np.array(list(itertools.permutations(range(m))), dtype=np.int64).reshape(math.factorial(m), m)
