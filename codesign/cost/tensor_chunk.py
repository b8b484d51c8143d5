"""One tensor on one chunk: the per-level tiles and per-loop translations its counts share.

Computed on first use and kept for the chunk, so that fills, partitions, multicast and the
capacity check of :mod:`codesign.cost.analytical` form each rank extent and tile once.
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
        self._windows: dict[int, Translations] | None = None

    def ext_all(self) -> dict[int, np.ndarray]:
        """Rank extents of the tiles at every level (non-trivial ranks). Each ``[L, m]``."""
        if self._ext is None:
            by_dim = self.ch.extent.swapaxes(0, 1)                 # [D, L, m] view
            self._ext = {r: rank_extent(self.tab.terms[r], by_dim) for r in self.tab.ranks}
        return self._ext

    def ext(self, level: int) -> dict[int, np.ndarray]:
        """Rank extents of the tile at ``level``. Each ``[m]``."""
        return {r: e[level] for r, e in self.ext_all().items()}

    def tile(self, level: int) -> np.ndarray:
        """Words of the tile at ``level``. ``[m]``."""
        if self._tile is None:
            tile = None
            for e in self.ext_all().values():
                tile = e.copy() if tile is None else tile * e
            self._tile = tile if tile is not None else np.ones_like(self.ch.extent[:, 0])
        return self._tile[level]

    def windows(self) -> dict[int, Translations]:
        """Translations along each window rank."""
        if self._windows is None:
            self._windows = {r: Translations.of(self.ch, self.tab.terms[r]) for r in self.tab.window}
        return self._windows


def simple_hits(tabs: list[TensorTable], ch: Chunk) -> list[np.ndarray]:
    """Per tensor ``[L-1, K, m]``: the loops (with a bound > 1) that move one of its simple ranks.

    One gather of a per-dimension bit table for all tensors (bit t: the dimension of a simple
    rank of tensor t), then a bit test per tensor.
    """
    bits = np.zeros(ch.temporal.shape[1], dtype=np.uint8)
    for t, tab in enumerate(tabs):
        bits |= tab.simple_dims.astype(np.uint8) << t
    gathered = bits[ch.dims]
    gathered *= ch.active
    return [(gathered & np.uint8(1 << t)).astype(bool) for t in range(len(tabs))]


__all__ = ["TensorChunk", "simple_hits"]
