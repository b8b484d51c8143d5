"""Fidelity levels: re-timing a design's mapped layers with the tile-program simulator.

``analytical`` keeps the cost model's cycles; ``simulated`` replaces each layer's cycles by the
event simulation of its tile program (:mod:`codesign.sim.program`, :mod:`codesign.sim.events`)
on the design's DRAM timing (:func:`codesign.sim.timing.dram_timing`); ``auto`` searches
analytically and simulates the Pareto front at the end (:mod:`codesign.dse.runner`).
Energy stays the analytical count (the same bytes move); leakage follows the simulated time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any

from codesign.cost.results import LayerResult, WorkloadResult
from codesign.hardware.accelerator import Accelerator
from codesign.sim.events import SimResult, simulate
from codesign.sim.program import build_program
from codesign.sim.timing import Timing, dram_timing

FIDELITIES = ("analytical", "simulated", "auto")
_CACHE: OrderedDict[tuple, SimResult] = OrderedDict()
_CACHE_SIZE = 65536


def design_timing(acc: Accelerator, design: dict[str, Any]) -> Timing:
    """The simulator's timing of a design: its DRAM level's ``dram_type`` parameter, else LPDDR4."""
    return dram_timing(acc, design.get(f"hardware.memory.{acc.levels[0].name}.dram_type"))


def simulate_layer(result: LayerResult, acc: Accelerator, timing: Timing) -> SimResult:
    """Simulate one mapped layer occurrence (cached per computation, mapping, accelerator, timing)."""
    key = (result.layer.canonical(), result.mapping, acc, timing)
    hit = _CACHE.get(key)
    if hit is None:
        hit = simulate(build_program(result, acc), timing)
        _CACHE[key] = hit
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return hit


def simulated_layers(layers: tuple[LayerResult, ...], acc: Accelerator, timing: Timing) -> tuple[LayerResult, ...]:
    """``layers`` with their cycles and utilization from the simulator (everything else kept)."""
    out = []
    for r in layers:
        cycles = float(simulate_layer(r, acc, timing).cycles)
        out.append(replace(r, cycles=cycles, utilization=r.layer.macs / (cycles * acc.num_macs)))
    return tuple(out)


def gap(analytical: float, simulated: float) -> float:
    """Simulated over analytical, minus 1 (0.25: the simulator is 25 % slower)."""
    return simulated / analytical - 1.0 if analytical > 0 else 0.0


def layer_gaps(analytical: WorkloadResult, simulated: WorkloadResult) -> list[dict[str, Any]]:
    """Per layer of a workload: analytical and simulated cycles of one occurrence, count, gap."""
    return [{"layer": a.layer.name, "count": a.layer.count, "analytical_cycles": a.cycles,
             "simulated_cycles": s.cycles, "gap": gap(a.cycles, s.cycles)}
            for a, s in zip(analytical.layers, simulated.layers)]


def clear_cache() -> None:
    """Forget every cached simulation (benchmarks time each layer cold)."""
    _CACHE.clear()


def simulation_record(result: Any) -> dict[str, Any]:
    """JSON-ready record of a simulated :class:`codesign.flow.DesignResult` (``result.analytical``
    set): both sets of metrics and per-workload metrics, and per workload its latency gap and
    per-layer cycles (one occurrence) with their gap."""
    ana = result.analytical
    return {
        "metrics": result.metrics, "per_workload": result.per_workload,
        "analytical": {"metrics": ana.metrics, "per_workload": ana.per_workload},
        "workloads": {s.name: {"analytical_latency_s": a.latency_s, "simulated_latency_s": s.latency_s,
                               "gap": gap(a.latency_s, s.latency_s), "layers": layer_gaps(a, s)}
                      for a, s in zip(ana.workloads, result.workloads)},
    }
