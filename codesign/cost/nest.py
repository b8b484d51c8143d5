"""The loop-nest arrays the cost core works on: a batch of mappings of one layer.

Shapes (M mappings, L memory levels outer to inner, D loop dimensions, S spatial fanouts):

- ``temporal[M, L, D]``: temporal tile factor of each dimension at each level;
- ``perm[M, L, D]``: loop order at each level, *innermost first*, as dimension indices;
- ``spatial[M, S, D]``: spatial factor of each dimension at each fanout;
- ``fanout_at[S]``: the level index each fanout sits directly above (``L`` = above the MACs).

The product over levels and fanouts of each dimension's factors is its (padded) loop bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NestBatch:
    """A batch of mappings of one layer, as integer arrays (see module docstring)."""

    temporal: np.ndarray
    perm: np.ndarray
    spatial: np.ndarray
    fanout_at: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(self.temporal.shape[0])

    def take(self, index: np.ndarray | int) -> "NestBatch":
        """The sub-batch at ``index`` (an int keeps a batch of one)."""
        idx = np.atleast_1d(np.asarray(index))
        return NestBatch(self.temporal[idx], self.perm[idx], self.spatial[idx], self.fanout_at)


def step_and_extent(nest: NestBatch) -> tuple[np.ndarray, np.ndarray]:
    """Per level and dimension: the step of one temporal iteration and the tile extent.

    ``step[m, l, d]`` = product of dimension d's factors strictly inside level l's temporal
    loops (inner levels' temporal factors and the fanouts below level l);
    ``extent[m, l, d]`` = ``temporal[m, l, d] * step[m, l, d]``: the tile of level l
    (per instance: fanouts above l are not included). Shapes ``[M, L, D]``.
    """
    M, L, D = nest.temporal.shape
    step = np.ones((M, L, D), dtype=np.int64)
    for level in range(L):
        inside = np.prod(nest.temporal[:, level + 1:, :], axis=1)
        for s, at in enumerate(nest.fanout_at):
            if at > level:
                inside = inside * nest.spatial[:, s, :]
        step[:, level, :] = inside
    return step, nest.temporal * step
