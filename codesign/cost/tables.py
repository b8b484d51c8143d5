"""Static per-tensor tables the counting kernels index with loop dimensions.

A tensor's ranks are affine sums of loop dimensions (``coefficient_matrix``). The kernels
classify them once per layer:

- *trivial* ranks have no non-zero coefficient: their extent is 1 and no loop moves them;
- *simple* ranks are one dimension with a coefficient >= 1 (``K``, ``C``, a stride-only
  ``P``): a loop above a level moves the level's tile along such a rank by at least the tile's
  extent, so the tile either stays or leaves the rank completely;
- *window* ranks are everything else (``stride*P + dilation*R``): sliding windows, whose
  overlap between consecutive tiles is computed exactly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from codesign.workload.ir import Tensor


def coefficient_matrix(tensor: Tensor, n_dims: int) -> np.ndarray:
    """``C[r, d]``: coefficient of dimension d in rank r of ``tensor``."""
    c = np.zeros((len(tensor.ranks), n_dims), dtype=np.int64)
    for r, rank in enumerate(tensor.ranks):
        for d, coef in rank:
            c[r, d] += coef
    return c


Terms = tuple[tuple[int, int], ...]       # (dimension, coefficient) pairs of one rank


@dataclass(frozen=True)
class TensorTable:
    """One tensor's ranks, classified (see the module docstring). Dimension-indexed arrays are ``[D]``."""

    coef: np.ndarray                      # [R, D] coefficients
    simple: tuple[int, ...]               # simple ranks
    window: tuple[int, ...]               # window ranks
    terms: tuple[Terms, ...]              # [R] the non-zero (dimension, coefficient) pairs of each rank
    simple_dims: np.ndarray               # [D] bool: the dimension of some simple rank
    is_output: bool
    blow: int                             # prod over ranks of the sum of coefficients (>= 1 each)
    shared_dims: tuple[tuple[int, int], ...]   # (dimension, ranks it appears in) for dimensions in > 1 rank

    @property
    def ranks(self) -> tuple[int, ...]:
        """The non-trivial ranks, simple first."""
        return self.simple + self.window


@functools.lru_cache(maxsize=4096)
def tensor_table(tensor: Tensor, n_dims: int) -> TensorTable:
    """Classify ``tensor``'s ranks (see :func:`table_from_coef`)."""
    return table_from_coef(coefficient_matrix(tensor, n_dims), tensor.role == "outputs", tensor.name)


def table_from_coef(coef: np.ndarray, is_output: bool = False, name: str = "tensor") -> TensorTable:
    """Classify the ranks of coefficient matrix ``coef [R, D]``. Coefficients must be
    non-negative (as in every IR operator and Timeloop problem): the multicast counts assume
    translations that grow with the index."""
    coef = np.asarray(coef, dtype=np.int64)
    n_dims = coef.shape[1]
    if (coef < 0).any():
        raise ValueError(f"{name}: rank coefficients must be non-negative, got {coef.tolist()}")
    terms = tuple(tuple((int(d), int(coef[r, d])) for d in np.flatnonzero(coef[r])) for r in range(coef.shape[0]))
    simple = tuple(r for r, t in enumerate(terms) if len(t) == 1)
    window = tuple(r for r, t in enumerate(terms) if len(t) > 1)
    simple_dims = np.zeros(n_dims, dtype=bool)
    for r in simple:
        simple_dims[terms[r][0][0]] = True
    blow = math.prod(max(1, sum(c for _, c in terms[r])) for r in simple + window)
    occurrences = (coef != 0).sum(axis=0)
    shared = tuple((int(d), int(occurrences[d])) for d in np.flatnonzero(occurrences > 1))
    return TensorTable(coef, simple, window, terms, simple_dims, is_output, blow, shared)


def rank_extent(terms: Terms, extent: np.ndarray) -> np.ndarray:
    """Bounding-box extent of one rank, ``1 + sum_d coef_d (extent[d] - 1)``, for ``extent [D, ...]``. ``[...]``.

    A rank of one dimension with coefficient 1 is that dimension's extent (a view, not a copy).
    """
    if len(terms) == 1 and terms[0][1] == 1:
        return extent[terms[0][0]]
    out = np.ones_like(extent[0])
    for d, c in terms:
        out += (extent[d] - 1) * c if c != 1 else extent[d] - 1
    return out


def tile_words(tab: TensorTable, extent: np.ndarray) -> np.ndarray:
    """Words of the tile with per-dimension ``extent [D, m]``: the product of its rank extents. ``[m]``."""
    out = None
    for r in tab.ranks:
        e = rank_extent(tab.terms[r], extent)
        out = e.copy() if out is None else out * e
    return out if out is not None else np.ones_like(extent[0])


__all__ = ["Terms", "TensorTable", "coefficient_matrix", "rank_extent", "table_from_coef", "tensor_table", "tile_words"]
