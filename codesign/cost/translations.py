"""Per-loop translations of a tile along a rank, shared by every child level of a chunk.

Loop ``k`` above a child level (innermost first) translates the child's tile along rank ``r``
by ``u_k = v_k - sum_{j inside k} v_j`` (``v`` = one iteration's step along the rank, 0 for
loops of bound 1; Timeloop's sampled iterations). :class:`Translations` holds, per level,
``v`` minus the exclusive running sum within the level, and the level's total, so every child
level derives its ``u`` by subtracting the totals of the levels between it and the loop.
A tensor's window ranks are stacked (``[R, ...]``) so that one numpy call serves all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codesign.cost.chunk import Chunk
from codesign.cost.tables import Terms

SMALL_SPAN = 1 << 30          # translations of a rank spanning less than this are computed in int32
TINY_SPAN = 1 << 14           # ... and in int16 below this


@dataclass
class Translations:
    """Per-loop translations along the window ranks of a tensor for a chunk, the ranks stacked
    first (see the module docstring): one numpy call serves every rank.

    ``inner[r, l, j] = v[r, l, j] - sum_{j' < j} v[r, l, j']`` (the translation if level ``l``
    were the outermost level above the child); ``total[r, l]`` = ``sum_j v[r, l, j]``.
    """

    inner: np.ndarray           # [R, L-1, K, m]
    total: np.ndarray           # [R, L-1, m]
    _cache: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, ch: Chunk, ranks: list[Terms]) -> "Translations":
        """Translations of ``v = coef x step`` along ranks with ``terms`` (0 for loops of bound 1).

        ``v`` is the chunk's per-loop step (:meth:`~codesign.cost.chunk.Chunk.loop_step`, shared
        by all ranks) times the rank's coefficient of the loop's dimension
        (:meth:`~codesign.cost.chunk.Chunk.dims_in`: bit tests, ~5x cheaper than a table lookup
        with ``np.take``). A rank's span in the chunk, ``sum coef (T - 1)``, bounds every
        ``|u|``, partial sum and window extent (a dimension's steps at least double from one of
        its loops to the next outer one, so they sum to at most ``T - 1``): the translations are
        int16 when every span is below 2^14 and int32 below 2^30 (less memory traffic, wider SIMD).
        """
        Lm1, K, m = ch.n.shape
        dtype = ch.step.dtype
        if dtype != object and m:
            span = max(sum(c * (int(ch.totals[d].max()) - 1) for d, c in terms) for terms in ranks)
            narrow = next((t for t, limit in ((np.int16, TINY_SPAN), (np.int32, SMALL_SPAN)) if span < limit), None)
            if narrow is not None and np.iinfo(narrow).bits < np.iinfo(dtype).bits:
                dtype = narrow
        v = np.empty((len(ranks), Lm1, K, m), dtype=dtype)
        if dtype == np.int16:
            # few dimensions per rank: each one's step at the loop's level where the loop is of it
            # (no gather). A dimension of bound > 1 has c <= span and step <= T: c step <= 2 span.
            v[...] = 0
            unit = ch.unit_dims()
            for r, terms in enumerate(ranks):
                for d, c in terms:
                    if d in unit:
                        continue
                    by_level = ch.step[:Lm1, d].astype(np.int16)[:, None, :]
                    if c != 1:
                        by_level = by_level * np.int16(c)
                    v[r] += by_level * ch.dims_in((d,))
            return cls.from_steps(v)
        step = ch.loop_step()
        for r, terms in enumerate(ranks):
            if all(c == 1 for _, c in terms):
                coef = ch.dims_in(tuple(d for d, _ in terms))
            else:
                coef = None
                for d, c in terms:
                    term = ch.dims_in((d,)) * np.asarray(c, dtype=step.dtype)
                    coef = term if coef is None else coef + term
            np.multiply(step, coef, out=v[r], casting="unsafe")        # |v| <= span: exact
        return cls.from_steps(v)

    @classmethod
    def from_steps(cls, v: np.ndarray) -> "Translations":
        """From ``v [R, L-1, K, m]``: exclusive running sums within each level."""
        R, Lm1, K, m = v.shape
        inner = np.empty_like(v)
        running = np.zeros((R, Lm1, m), dtype=v.dtype)
        for j in range(K):
            np.subtract(v[:, :, j], running, out=inner[:, :, j])
            running += v[:, :, j]
        return cls(inner, running)

    def above(self, child: int) -> np.ndarray:
        """``u`` of the loops above level ``child`` (levels ``0 .. child-1``). ``[R, child, K, m]``."""
        if child not in self._cache:
            u = self.inner[:, :child]
            if child > 1:
                u = u.copy()
                offset = np.zeros_like(self.total[:, 0])
                for level in range(child - 2, -1, -1):
                    offset = offset + self.total[:, level + 1]
                    u[:, level] -= offset[:, None, :]
            self._cache[child] = u
        return self._cache[child]


__all__ = ["SMALL_SPAN", "TINY_SPAN", "Translations"]
