"""One tensor on one chunk: the per-level tiles and per-loop translations its counts share.

Computed on first use and kept for the chunk, so that fills, partitions, multicast and the
capacity check of :mod:`codesign.cost.analytical` form each rank extent and tile once. Simple
ranks along a dimension whose factors are all 1 in the chunk (batch N, groups G of most
layers) have extent 1 and are left out.
"""

from __future__ import annotations

import numpy as np

from codesign.cost.chunk import Chunk
from codesign.cost.tables import TensorTable, rank_extent
from codesign.cost.translations import Translations


class TensorChunk:
    """Caches for tensor ``tab`` on chunk ``ch``; ``hit [L-1, K, m]`` marks loops that move a simple rank."""

    def __init__(self, tab: TensorTable, ch: Chunk, hit: np.ndarray) -> None:
        self.tab, self.ch, self.hit = tab, ch, hit
        self._ext: dict[int, np.ndarray] | None = None
        self._tile: np.ndarray | None = None
        self._windows: Translations | None = None
        self._first: dict[int, np.ndarray] = {}
        # simple ranks along a dimension whose factors are all 1 in the chunk have extent 1
        unit = ch.unit_dims()
        self.simple = tuple(r for r in tab.simple if tab.terms[r][0][0] not in unit)

    def ext_all(self) -> dict[int, np.ndarray]:
        """Rank extents of the tiles at every level: the simple ranks of :attr:`simple` (the
        others are 1), then the window ranks. Each ``[L, m]``."""
        if self._ext is None:
            by_dim = self.ch.extent.swapaxes(0, 1)                 # [D, L, m] view
            self._ext = {r: rank_extent(self.tab.terms[r], by_dim) for r in self.simple + self.tab.window}
        return self._ext

    def ext(self, level: int) -> dict[int, np.ndarray]:
        """Rank extents of the tile at ``level``. Each ``[m]``."""
        return {r: e[level] for r, e in self.ext_all().items()}

    def tile(self, level: int) -> np.ndarray:
        """Words of the tile at ``level``. ``[m]``."""
        return self.tiles()[level]

    def tiles(self) -> np.ndarray:
        """Words of the tile at every level. ``[L, m]``."""
        if self._tile is None:
            tile = None
            for e in self.ext_all().values():
                tile = e if tile is None else tile * e             # read only: a view is enough
            self._tile = tile if tile is not None else np.ones_like(self.ch.extent[:, 0])
        return self._tile

    def first_hit(self, child: int) -> np.ndarray:
        """``outer`` of the innermost loop above level ``child`` that moves a simple rank (1 if none).
        ``[m]``. ``outer`` decreases outwards, so it is the largest over those loops; the maximum
        over the levels above ``child - 1`` is shared with the child above."""
        if child not in self._first:
            level = child - 1
            own = (self.ch.outer[level] * self.hit[level]).max(axis=0, initial=1)
            self._first[child] = own if level == 0 else np.maximum(own, self.first_hit(level))
        return self._first[child]

    def windows(self) -> Translations:
        """Translations along the window ranks (stacked in the order of ``tab.window``)."""
        if self._windows is None:
            self._windows = Translations.of(self.ch, [self.tab.terms[r] for r in self.tab.window])
        return self._windows


def simple_hits(tabs: list[TensorTable], ch: Chunk) -> list[np.ndarray]:
    """Per tensor ``[L-1, K, m]``: the loops (with a bound > 1) that move one of its simple ranks
    (the slots past a mapping's loops hold the sentinel dimension, in no rank)."""
    return [ch.dims_in(tuple(int(d) for d in np.flatnonzero(tab.simple_dims))) for tab in tabs]


__all__ = ["TensorChunk", "simple_hits"]
