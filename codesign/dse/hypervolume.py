"""Exact hypervolume of a point set (all objectives minimized) and the reference point codesign uses.

The hypervolume of points ``P`` with reference point ``r`` is the volume of the union of the
boxes ``[p, r]`` for ``p`` in ``P``: the region of objective space that ``P`` dominates and
that dominates ``r``. Larger is better; a point no better than ``r`` in some objective adds
nothing.

- 1 objective: ``r - min p``.
- 2 objectives: a sweep over the points sorted by the first objective, ``O(n log n)``.
- 3 or more: hypervolume by slicing objectives (HSO): sort by the last objective and add, slab
  by slab, the slab's thickness times the (k-1)-dimensional hypervolume of the points below
  it; with 3 objectives that is ``n`` exact 2-D sweeps, ``O(n^2 log n)``. Pareto fronts of a
  search hold tens to a few hundred points, so this is milliseconds.
"""

from __future__ import annotations

import numpy as np

from codesign.dse.pareto import pareto_mask

REFERENCE_MARGIN = 0.1   # the reference point lies 10% beyond the worst value of each objective


def to_minimization(values: np.ndarray, maximize: tuple[bool, ...]) -> np.ndarray:
    """``values [n, k]`` with maximized objectives negated, so that every objective is minimized."""
    v = np.asarray(values, dtype=float)
    return np.where(np.array(maximize, dtype=bool), -v, v)


def reference_point(values: np.ndarray) -> np.ndarray:
    """The reference point of minimized ``values [n, k]``: each objective's worst value x 1.1.

    In general form ``worst + 0.1 * |worst|`` (10% beyond the worst value also when it is
    negative, as for a maximized objective after :func:`to_minimization`); an objective whose
    worst value is 0 gets 10% of its spread beyond it (or 1.0 when every value is 0).
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError("reference_point needs at least one point (an [n, k] array with n >= 1)")
    worst, best = v.max(axis=0), v.min(axis=0)
    margin = REFERENCE_MARGIN * np.abs(worst)
    margin = np.where(margin > 0, margin, REFERENCE_MARGIN * (worst - best))
    margin = np.where(margin > 0, margin, 1.0)
    return worst + margin


def hypervolume(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume of minimized ``points [n, k]`` with respect to ``ref [k]``.

    Points need not be mutually non-dominated; points not strictly better than ``ref`` in
    every objective contribute nothing. An empty set has hypervolume 0.
    """
    p = np.asarray(points, dtype=float)
    r = np.asarray(ref, dtype=float)
    if p.ndim != 2 or r.ndim != 1 or (p.shape[0] and p.shape[1] != r.shape[0]):
        raise ValueError(f"points must be [n, k] and ref [k]; got {p.shape} and {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("the reference point must be finite")
    p = p[np.all(p < r, axis=1)]
    if p.shape[0] == 0:
        return 0.0
    if p.shape[0] > 1 and p.shape[1] > 2:
        p = np.unique(p[pareto_mask(p, (False,) * p.shape[1])], axis=0)
    return float(_hso(p, r))


def _hso(p: np.ndarray, r: np.ndarray) -> float:
    """Hypervolume of points that all lie strictly inside the box below ``r``."""
    k = p.shape[1]
    if k == 1:
        return float(r[0] - p[:, 0].min())
    if k == 2:
        return _sweep2(p, r)
    order = np.argsort(p[:, -1], kind="stable")
    p = p[order]
    z = np.append(p[:, -1], r[-1])
    total = 0.0
    for i in range(p.shape[0]):
        thickness = z[i + 1] - z[i]
        if thickness > 0:
            total += thickness * _hso(p[: i + 1, :-1], r[:-1])
    return total


def _sweep2(p: np.ndarray, r: np.ndarray) -> float:
    """2-D hypervolume: sweep the points by the first objective, keep the best second one so far."""
    order = np.lexsort((p[:, 1], p[:, 0]))
    xs, ys = p[order, 0], p[order, 1]
    total, best_y = 0.0, r[1]
    for x, y in zip(xs, ys):
        if y < best_y:
            total += (r[0] - x) * (best_y - y)
            best_y = y
    return float(total)


def front_hypervolume(values: np.ndarray, maximize: tuple[bool, ...], ref: np.ndarray | None = None) -> float:
    """Hypervolume of objective ``values [n, k]`` (in their own directions) against ``ref``.

    ``ref`` is in minimized form (see :func:`to_minimization`); by default it is
    :func:`reference_point` of ``values`` themselves.
    """
    v = to_minimization(values, maximize)
    if v.shape[0] == 0:
        return 0.0
    return hypervolume(v, reference_point(v) if ref is None else ref)
