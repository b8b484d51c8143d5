"""Pareto-optimal rows of an objective matrix (all objectives minimized after sign flips)."""

from __future__ import annotations

import numpy as np


def pareto_mask(values: np.ndarray, maximize: tuple[bool, ...]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values [n, k]``.

    A row is dominated when another row is no worse in every objective and strictly better in
    one. Duplicate rows are all kept.

    Rows are visited in lexicographic order: a row that dominates another comes before it, and
    domination is transitive, so each row is compared only with the non-dominated rows found so
    far, ``O(n log n + n * front)`` instead of ``O(n^2)``.
    """
    v = np.where(np.array(maximize, dtype=bool), -values, values).astype(float, copy=False)
    n = v.shape[0]
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    front = np.empty_like(v)
    size = 0
    for i in np.lexsort(v.T[::-1]):
        row = v[i]
        f = front[:size]
        if size and np.any(np.all(f <= row, axis=1) & np.any(f < row, axis=1)):
            continue
        front[size] = row
        size += 1
        keep[i] = True
    return keep
