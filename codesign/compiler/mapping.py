"""A mapping is a value: frozen, hashable, printable, replayable.

For every memory level (outermost first) the temporal tile factor of each loop dimension and
the loop order (innermost first); at the array, the spatial factors unrolled across rows and
columns; inside a PE, the factors unrolled across its MAC lanes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.cost.nest import NestBatch


class MappingError(ValueError):
    """A mapping that is illegal for its layer and accelerator; the message says why."""


@dataclass(frozen=True)
class Mapping:
    """Temporal factors and loop order per level, spatial factors per array axis."""

    dims: tuple[str, ...]
    level_names: tuple[str, ...]
    temporal: tuple[tuple[int, ...], ...]   # [level][dim]
    order: tuple[tuple[int, ...], ...]      # [level] dim indices, innermost first
    rows: tuple[int, ...]                   # [dim] spatial factor across PE rows
    cols: tuple[int, ...]                   # [dim] spatial factor across PE columns
    lanes: tuple[int, ...]                  # [dim] spatial factor across a PE's MAC lanes
    array_above: int                        # index of the level the PE-array fanout sits above

    def bounds(self) -> tuple[int, ...]:
        """Padded loop bounds the mapping covers (product of all factors per dimension)."""
        return tuple(math.prod(t[d] for t in self.temporal) * self.rows[d] * self.cols[d] * self.lanes[d]
                     for d in range(len(self.dims)))

    def to_nest(self) -> NestBatch:
        """This mapping as a batch of one for the cost core."""
        array = np.array(self.rows, dtype=np.int64) * np.array(self.cols, dtype=np.int64)
        return NestBatch(
            temporal=np.array([self.temporal], dtype=np.int64),
            perm=np.array([self.order], dtype=np.int64),
            spatial=np.array([[array, self.lanes]], dtype=np.int64),
            fanout_at=(self.array_above, len(self.level_names)),
        )

    def describe(self) -> str:
        """Loop nest in Timeloop's style, outermost first."""
        lines = []
        sp = [f"{self.dims[d]}{self.rows[d]}(rows)" for d in range(len(self.dims)) if self.rows[d] > 1]
        sp += [f"{self.dims[d]}{self.cols[d]}(cols)" for d in range(len(self.dims)) if self.cols[d] > 1]
        for lv, name in enumerate(self.level_names):
            if lv == self.array_above and sp:
                lines.append("  spatial " + " ".join(sp))
            loops = [f"{self.dims[d]}{self.temporal[lv][d]}" for d in reversed(self.order[lv]) if self.temporal[lv][d] > 1]
            lines.append(f"{name}: for " + " ".join(loops) if loops else f"{name}: -")
        if self.array_above >= len(self.level_names) and sp:
            lines.append("  spatial " + " ".join(sp))
        lane = [f"{self.dims[d]}{self.lanes[d]}" for d in range(len(self.dims)) if self.lanes[d] > 1]
        if lane:
            lines.append("  lanes " + " ".join(lane))
        return "\n".join(lines)


def check_mapping(mapping: Mapping, bounds: tuple[int, ...], rows: int, cols: int, macs_per_pe: int) -> None:
    """Raise :class:`MappingError` if ``mapping`` does not cover ``bounds`` or exceeds the array."""
    covered = mapping.bounds()
    for d, (have, need) in enumerate(zip(covered, bounds)):
        if have < need:
            raise MappingError(f"dimension {mapping.dims[d]}: factors cover {have} < bound {need}")
    if math.prod(mapping.rows) > rows:
        raise MappingError(f"rows unroll {math.prod(mapping.rows)} > {rows} PE rows")
    if math.prod(mapping.cols) > cols:
        raise MappingError(f"cols unroll {math.prod(mapping.cols)} > {cols} PE columns")
    if math.prod(mapping.lanes) > macs_per_pe:
        raise MappingError(f"lanes unroll {math.prod(mapping.lanes)} > {macs_per_pe} MACs per PE")
    for lv, order in enumerate(mapping.order):
        if sorted(order) != list(range(len(mapping.dims))):
            raise MappingError(f"level {mapping.level_names[lv]}: loop order {order} is not a permutation")
