"""Roofline view of one evaluated mapping: compute bound, bandwidth bounds, intensity, what binds.

For one occurrence of a layer under one mapping (a row of a
:class:`~codesign.cost.analytical.CostBatch`, or a :class:`~codesign.cost.results.LayerResult`
re-evaluated from its mapping), in the cost model's own terms
(:mod:`codesign.cost.analytical`):

- **compute bound** (cycles): padded MAC steps per MAC unit (``compute_cycles``); the
  *ideal* compute bound is MACs / MAC units (no padding, every MAC unit busy);
- **bandwidth bound** of a level (cycles): bytes moved per instance / bytes per cycle per
  instance (``level_cycles``; 0 for a level of unbounded bandwidth);
- **what binds**: latency is ``max(compute + transfers of the levels that are not double
  buffered, transfer of each double-buffered level)``; the bound is the double-buffered level
  whose transfer sets it, else ``compute``;
- **achieved vs peak**: MACs per cycle achieved (MACs / latency) against the MAC units
  (utilization = their ratio); per level, the operational intensity (MACs per byte moved
  over all its utilized instances) against the ridge point (MAC units / bytes per cycle of
  all instances: below it the level's roof is lower than the compute roof).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer


@dataclass(frozen=True)
class LevelRoof:
    """One memory level under one mapping. Bytes and cycles are per layer occurrence."""

    name: str
    instances: int                      # utilized instances
    bytes_per_instance: float           # bytes moved in and out of one instance
    bytes: float                        # all utilized instances
    bytes_per_cycle: float | None       # bandwidth per instance (None: unbounded)
    cycles: float                       # bandwidth bound: bytes per instance / bytes per cycle
    double_buffered: bool
    macs_per_byte: float | None         # operational intensity (None: no bytes moved)
    ridge_macs_per_byte: float | None   # MAC units / bytes per cycle of all instances (None: unbounded)

    def to_json(self) -> dict[str, Any]:
        return {"instances": self.instances, "bytes_per_instance": self.bytes_per_instance, "bytes": self.bytes,
                "bytes_per_cycle": self.bytes_per_cycle, "cycles": self.cycles,
                "double_buffered": self.double_buffered, "macs_per_byte": self.macs_per_byte,
                "ridge_macs_per_byte": self.ridge_macs_per_byte}


@dataclass(frozen=True)
class Roofline:
    """Compute and bandwidth bounds of one mapping and which one sets its latency (cycles)."""

    macs: int
    compute_cycles: float               # padded MAC steps per MAC unit
    ideal_compute_cycles: float         # MACs / MAC units
    serial_cycles: float                # compute + transfers of the levels that are not double buffered
    cycles: float                       # latency
    bound: str                          # "compute" or the name of the binding level
    peak_macs_per_cycle: int            # MAC units
    levels: tuple[LevelRoof, ...]

    @property
    def achieved_macs_per_cycle(self) -> float:
        return self.macs / self.cycles

    @property
    def utilization(self) -> float:
        """Achieved over peak MACs per cycle."""
        return self.achieved_macs_per_cycle / self.peak_macs_per_cycle

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (no infinities: unbounded quantities are ``None``)."""
        return {"compute_cycles": self.compute_cycles, "ideal_compute_cycles": self.ideal_compute_cycles,
                "serial_cycles": self.serial_cycles, "cycles": self.cycles, "bound": self.bound,
                "utilization": self.utilization, "achieved_macs_per_cycle": self.achieved_macs_per_cycle,
                "peak_macs_per_cycle": self.peak_macs_per_cycle,
                "levels": {lv.name: lv.to_json() for lv in self.levels}}


def bytes_per_instance(layer: Layer, acc: Accelerator, cost: CostBatch, i: int) -> np.ndarray:
    """Bytes moved in and out of one instance of each level by mapping ``i`` (as the cost model
    charges them: final outputs written to level 0 at operand width). ``[L]``."""
    acc_counts = cost.accesses
    words = acc_counts.reads[i] + acc_counts.fills[i] + acc_counts.updates[i]          # [L, 3]
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    out = (words * role_bytes).sum(axis=1)
    final = acc_counts.updates[i, 0, 2] - acc_counts.reads[i, 0, 2]
    out[0] -= final * max(0.0, role_bytes[2] - acc.operand_bytes)
    return out


def roofline(layer: Layer, acc: Accelerator, cost: CostBatch, i: int = 0) -> Roofline:
    """The roofline of mapping ``i`` of ``cost`` (an evaluation of ``layer`` on ``acc``)."""
    per_instance = bytes_per_instance(layer, acc, cost, i)
    levels = []
    for lv, level in enumerate(acc.levels):
        n = int(cost.level_instances[i, lv])
        total = float(per_instance[lv]) * n
        bpc = level.bytes_per_cycle or None
        levels.append(LevelRoof(
            name=level.name, instances=n, bytes_per_instance=float(per_instance[lv]), bytes=total,
            bytes_per_cycle=bpc, cycles=float(cost.level_cycles[i, lv]), double_buffered=level.double_buffered,
            macs_per_byte=layer.macs / total if total > 0 else None,
            ridge_macs_per_byte=acc.num_macs / (bpc * n) if bpc else None))
    compute = float(cost.compute_cycles[i])
    serial = compute + sum(lv.cycles for lv in levels if not lv.double_buffered)
    slowest = max((lv for lv in levels if lv.double_buffered), key=lambda lv: lv.cycles, default=None)
    bound = slowest.name if slowest is not None and slowest.cycles > serial else "compute"
    return Roofline(macs=layer.macs, compute_cycles=compute, ideal_compute_cycles=layer.macs / acc.num_macs,
                    serial_cycles=serial, cycles=float(cost.cycles[i]), bound=bound,
                    peak_macs_per_cycle=acc.num_macs, levels=tuple(levels))


def layer_roofline(result: LayerResult, acc: Accelerator) -> Roofline:
    """The roofline of a mapped layer (its mapping evaluated again on ``acc``)."""
    cost = evaluate(result.layer, acc, result.mapping.to_nest())
    return roofline(result.layer, acc, cost, 0)


__all__ = ["LevelRoof", "Roofline", "bytes_per_instance", "layer_roofline", "roofline"]
