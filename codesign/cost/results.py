"""Results of evaluating one layer, one workload, one design (scalar summaries, base units)."""

from __future__ import annotations

from dataclasses import dataclass

from typing import TYPE_CHECKING

from codesign.compiler.mapping import Mapping
from codesign.workload.ir import Layer

if TYPE_CHECKING:
    from codesign.cost.vector import VectorResult


@dataclass(frozen=True)
class LayerResult:
    """One layer occurrence under its chosen mapping (multiply by ``layer.count`` for the model)."""

    layer: Layer
    mapping: Mapping
    cycles: float                          # latency of one occurrence
    compute_cycles: float                  # compute bound (padded MAC steps)
    level_cycles: dict[str, float]         # transfer cycles per level
    energy_pj: float                       # dynamic energy of one occurrence
    level_energy_pj: dict[str, float]      # memory energy per level
    mac_energy_pj: float
    utilization: float                     # real MACs / (cycles x MAC units)
    bound: str                             # "compute" or the level whose bandwidth bounds latency
    candidates: int                        # mappings the mapper evaluated
    legal: int                             # of which fit every level's capacity


@dataclass(frozen=True)
class WorkloadResult:
    """A workload (one inference at its batch size) on one design."""

    name: str
    layers: tuple[LayerResult, ...]
    vector_ops: tuple["VectorResult", ...]
    latency_s: float
    energy_j: float                        # dynamic + leakage
    macs: int
    utilization: float                     # MAC-weighted: real MACs / (total cycles x MAC units)
    peak_macs_per_s: float

    @property
    def power_w(self) -> float:
        return self.energy_j / self.latency_s

    @property
    def throughput(self) -> float:
        """Inferences (runs at the workload's batch size) per second."""
        return 1.0 / self.latency_s

    @property
    def roofline_s(self) -> float:
        """Compute roofline: MACs at peak rate."""
        return self.macs / self.peak_macs_per_s
