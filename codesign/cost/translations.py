"""Per-loop translations of a tile along a rank, shared by every child level of a chunk.

Loop ``k`` above a child level (innermost first) translates the child's tile along rank ``r``
by ``u_k = v_k - sum_{j inside k} v_j`` (``v`` = one iteration's step along the rank, 0 for
loops of bound 1; Timeloop's sampled iterations). :class:`Translations` holds, per level,
``v`` minus the exclusive running sum within the level, and the level's total, so every child
level derives its ``u`` by subtracting the totals of the levels between it and the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codesign.cost.chunk import Chunk
from codesign.cost.tables import Terms

SMALL_SPAN = 1 << 30          # translations of a rank spanning less than this are computed in int32


@dataclass
class Translations:
    """Per-loop translations along one rank for a chunk (see the module docstring).

    ``inner[l, j] = v[l, j] - sum_{j' < j} v[l, j']`` (the translation if level ``l`` were the
    outermost level above the child); ``total[l]`` = ``sum_j v[l, j]``.
    """

    inner: np.ndarray           # [L-1, K, m]
    total: np.ndarray           # [L-1, m]
    _cache: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, ch: Chunk, terms: Terms) -> "Translations":
        """Translations of ``v = coef x step`` along a rank with ``terms`` (0 for loops of bound 1).

        int32 (half the memory traffic) when the rank's span in the chunk, ``sum coef (T - 1)``,
        is below 2^30, which bounds every ``|u|`` and partial sum; else the chunk's dtype.
        """
        Lm1, K, m = ch.n.shape
        dtype = ch.step.dtype
        if dtype != object and m and sum(c * (int(ch.totals[d].max()) - 1) for d, c in terms) < SMALL_SPAN:
            dtype = np.int32
        v_dims = np.zeros((Lm1, ch.temporal.shape[1], m), dtype=dtype)
        for d, c in terms:
            live = ch.temporal[:Lm1, d] != 1
            np.multiply(ch.step[:Lm1, d], live, out=v_dims[:, d])
            if c != 1:
                v_dims[:, d] *= c
        v = ch.in_loop_order(v_dims)
        inner = np.empty_like(v)
        running = np.zeros((Lm1, m), dtype=v.dtype)
        for j in range(K):
            np.subtract(v[:, j], running, out=inner[:, j])
            running += v[:, j]
        return cls(inner, running)

    def above(self, child: int) -> np.ndarray:
        """``u`` of the loops above level ``child`` (levels ``0 .. child-1``). ``[child, K, m]``."""
        if child not in self._cache:
            u = self.inner[:child]
            if child > 1:
                u = u.copy()
                offset = np.zeros_like(self.total[0])
                for level in range(child - 2, -1, -1):
                    offset = offset + self.total[level + 1]
                    u[level] -= offset
            self._cache[child] = u
        return self._cache[child]


__all__ = ["SMALL_SPAN", "Translations"]
