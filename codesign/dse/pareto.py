"""Pareto-optimal rows of an objective matrix (all objectives minimized after sign flips)."""

from __future__ import annotations

import numpy as np


def pareto_mask(values: np.ndarray, maximize: tuple[bool, ...]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values [n, k]``.

    A row is dominated when another row is no worse in every objective and strictly better in
    one. Duplicate rows are all kept.
    """
    v = np.where(np.array(maximize), -values, values)
    n = v.shape[0]
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)
        if dominated.any():
            keep[i] = False
    return keep
