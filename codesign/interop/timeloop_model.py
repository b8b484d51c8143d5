"""``timeloop-model`` with codesign's cost core: cycles, utilization and energy as Timeloop reports them.

Counts come from :func:`codesign.cost.accesses.count_accesses` (Timeloop's default semantics);
the rest follows Timeloop's model (NVlabs/timeloop ``src/model/buffer.cpp``,
``arithmetic.cpp``, ``topology.cpp``):

- compute cycles = ceil(MACs / utilized MAC instances); a storage level's bandwidth demand per
  instance is its reads (read ports) and fills + updates (write ports) per compute cycle; its
  throttling ``slowdown = min(1, read_bw / read_demand, write_bw / write_demand, shared_bw /
  (read_demand + write_demand))`` for the bandwidths specified, and its cycles
  ``ceil(compute cycles / slowdown)``; total cycles = the largest;
- energy of a tensor at a level (pJ) = (ceil(reads / B) E_read + ceil(fills / B) E_fill +
  ceil(updates / B) E_update) per instance x utilized instances (B = block size, words per
  vector access); leakage of a level = E_leak x total cycles x utilized instances; MACs =
  computes x E_compute (no MAC leakage); total = the sum;
- utilization = computes / (MAC instances x total cycles);
- a mapping is refused (as Timeloop refuses it) when a level's kept tiles exceed its effective
  capacity or fall below its minimum utilization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.cost.accesses import count_accesses, instances, tile_words
from codesign.cost.nest import step_and_extent
from codesign.errors import CodesignError
from codesign.interop.timeloop import (Architecture, Energies, LevelEnergy, StorageLevel, load_doc, read_architecture,
                                      read_ert)
from codesign.interop.timeloop_links import check_link_transfers
from codesign.interop.timeloop_problem import Mapping, Problem, read_mapping, read_problem


@dataclass(frozen=True)
class TensorStats:
    """One tensor at one level: word counts (totals over utilized instances), tile and energy."""

    reads: int
    fills: int
    updates: int
    per_instance: tuple[int, int, int]     # reads, fills, updates of one instance
    utilized_capacity: int                 # words of the tile one instance holds
    energy_pj: float                       # all utilized instances


@dataclass(frozen=True)
class LevelStats:
    """One storage level (``tensors``: the kept ones)."""

    name: str
    instances: int
    utilized_instances: int
    cycles: int
    bandwidth_throttling: float            # 1 = not bandwidth bound
    energy_pj: float                       # tensors + leakage
    leakage_pj: float
    tensors: dict[str, TensorStats]


@dataclass(frozen=True)
class ModelResult:
    """The whole evaluation; levels outer to inner."""

    cycles: int
    utilization: float
    computes: int
    energy_pj: float
    compute_name: str
    compute_instances: int
    compute_utilized_instances: int
    compute_cycles: int
    compute_energy_pj: float
    levels: tuple[LevelStats, ...]


def run(spec: Path, ert: Path, mapping: Path | None = None) -> ModelResult:
    """Evaluate a Timeloop spec (``parsed-processed-input.yaml`` form) with its ERT and mapping.

    The mapping is the ``--mapping`` file's ``mapping`` list when given, else the spec's.
    """
    doc = load_doc(spec, "architecture, problem and (unless --mapping is given) mapping")
    arch = read_architecture(doc)
    problem = read_problem(doc)
    energies = read_ert(load_doc(ert, "an ERT (ERT: tables)"), arch)
    if mapping is not None:
        mdoc = load_doc(mapping, "a mapping (mapping: a list of directives)")
    elif doc.data.get("mapping"):
        mdoc = doc
    else:
        raise doc.error("the spec has no mapping (mapper cases keep it in their *.map.yaml); pass --mapping", ("mapping",))
    parsed = read_mapping(mdoc, ("mapping",), arch, problem)
    step, _ = step_and_extent(parsed.nest)
    check_link_transfers(mdoc, arch, problem.layer.tensors, parsed, step)
    return evaluate(arch, energies, problem, parsed, str(ert))


def _vector_energy(counts: tuple[int, int, int], block: int, energy: LevelEnergy, level: str, tensor: str,
                   ert: str) -> float:
    total = 0.0
    for count, action, value in zip(counts, ("read", "fill (write)", "update"), (energy.read, energy.fill, energy.update)):
        if count == 0:
            continue
        if value is None:
            raise CodesignError(f"no {action} energy for {level} ({tensor} needs {count} per instance); add the action "
                                "to its ERT table", ert)
        total += math.ceil(count / block) * value
    return total


def evaluate(arch: Architecture, energies: Energies, problem: Problem, mapping: Mapping, ert: str = "ERT") -> ModelResult:
    """Timeloop's statistics of one mapping (see the module docstring)."""
    layer, nest = problem.layer, mapping.nest
    L = len(arch.levels)
    step, extent = step_and_extent(nest)
    acc = count_accesses(layer.tensors, mapping.keeps, nest, step, extent)
    mac_used = int(instances(nest, L)[0])
    computes = layer.macs
    compute_cycles = math.ceil(computes / mac_used)
    levels: list[tuple[Any, ...]] = []
    for lv, level in enumerate(arch.levels):
        used = int(instances(nest, lv)[0])
        kept = [t for t in range(3) if mapping.keeps[t][lv]]
        caps = {t: int(tile_words(layer.tensors[t], extent[:, lv, :])[0]) for t in kept}
        _check_capacity(level, sum(caps.values()))
        counts = {t: (int(acc.reads[0, lv, t]), int(acc.fills[0, lv, t]), int(acc.updates[0, lv, t])) for t in kept}
        read = sum(c[0] for c in counts.values()) / compute_cycles
        write = sum(c[1] + c[2] for c in counts.values()) / compute_cycles
        slowdown = 1.0
        for bw, demand in ((level.read_bandwidth, read), (level.write_bandwidth, write), (level.shared_bandwidth, read + write)):
            if bw is not None and bw < demand:
                slowdown = min(slowdown, bw / demand)
        levels.append((level, used, caps, counts, slowdown, math.ceil(compute_cycles / slowdown)))
    cycles = max([compute_cycles] + [row[-1] for row in levels])
    stats = []
    for level, used, caps, counts, slowdown, lv_cycles in levels:
        energy = energies.levels[level.name]
        tensors = {}
        for t, c in counts.items():
            name = problem.names[t]
            e = _vector_energy(c, level.block_size, energy, level.name, name, ert) * used
            tensors[name] = TensorStats(c[0] * used, c[1] * used, c[2] * used, c, caps[t], e)
        leakage = energy.leak * cycles * used
        stats.append(LevelStats(level.name, level.instances, used, lv_cycles, slowdown,
                                sum(t.energy_pj for t in tensors.values()) + leakage, leakage, tensors))
    compute_energy = computes * energies.compute
    return ModelResult(cycles, computes / (arch.compute.instances * cycles), computes,
                       compute_energy + sum(s.energy_pj for s in stats), arch.compute.name, arch.compute.instances,
                       mac_used, compute_cycles, compute_energy, tuple(stats))


def _check_capacity(level: StorageLevel, words: int) -> None:
    """Timeloop refuses a mapping whose kept tiles (``words``) overflow or underuse a level."""
    if level.effective_size_words is None:
        return
    if words > level.effective_size_words:
        raise CodesignError(f"the mapping's tiles need {words} words of {level.name}, which holds "
                            f"{level.effective_size_words} (Timeloop refuses this mapping)", level.where)
    if words < level.effective_size_words * level.min_utilization:
        raise CodesignError(f"the mapping's tiles use {words} words of {level.name}, below its min_utilization "
                            f"{level.min_utilization} of {level.effective_size_words} (Timeloop refuses this mapping)",
                            level.where)


def to_json(result: ModelResult) -> dict[str, Any]:
    """The result as plain JSON types: totals, the compute level and the storage levels outer to inner."""
    return {
        "cycles": result.cycles,
        "utilization": result.utilization,
        "computes": result.computes,
        "energy_pJ": result.energy_pj,
        "compute": {"name": result.compute_name, "instances": result.compute_instances,
                    "utilized_instances": result.compute_utilized_instances, "cycles": result.compute_cycles,
                    "energy_pJ": result.compute_energy_pj},
        "levels": [{
            "name": lv.name, "instances": lv.instances, "utilized_instances": lv.utilized_instances,
            "cycles": lv.cycles, "bandwidth_throttling": lv.bandwidth_throttling, "energy_pJ": lv.energy_pj,
            "leakage_pJ": lv.leakage_pj,
            "tensors": {name: {"reads": t.reads, "fills": t.fills, "updates": t.updates,
                               "reads_per_instance": t.per_instance[0], "fills_per_instance": t.per_instance[1],
                               "updates_per_instance": t.per_instance[2], "utilized_capacity": t.utilized_capacity,
                               "energy_pJ": t.energy_pj}
                        for name, t in lv.tensors.items()},
        } for lv in result.levels],
    }


def summary_lines(result: ModelResult) -> list[str]:
    """A plain-text report: totals, then per level (outer to inner) each kept tensor's totals."""
    lines = [f"cycles {result.cycles}  utilization {100 * result.utilization:.2f}%  computes {result.computes}  "
             f"energy {result.energy_pj:.2f} pJ",
             f"{result.compute_name}: {result.compute_utilized_instances}/{result.compute_instances} MACs used, "
             f"{result.compute_energy_pj:.2f} pJ"]
    for lv in result.levels:
        lines.append(f"{lv.name}: {lv.utilized_instances}/{lv.instances} instances, {lv.cycles} cycles "
                     f"(throttling {lv.bandwidth_throttling:.2f}), {lv.energy_pj:.2f} pJ (leakage {lv.leakage_pj:.2f})")
        for name, t in lv.tensors.items():
            lines.append(f"  {name}: reads {t.reads}  fills {t.fills}  updates {t.updates}  "
                         f"tile {t.utilized_capacity} words  {t.energy_pj:.2f} pJ")
    return lines


__all__ = ["ModelResult", "LevelStats", "TensorStats", "run", "evaluate", "to_json", "summary_lines"]
