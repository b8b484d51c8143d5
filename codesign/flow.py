"""The one flow, used by the API, the CLI and the search: design -> accelerator -> mappings -> metrics.

:func:`evaluate_design` builds the accelerator of a design, compiles every unique layer of
every workload with the mapper, and aggregates latency (s), energy (J), power (W), area (mm²),
EDP (J·s), throughput (inferences/s) and utilization per workload and over workloads, plus
the constraint values optuna needs (feasible iff every value <= 0). :func:`map_named_layer`
maps one named layer of one design (``codesign map``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.compiler.mapper import SchedulePolicy, lower_bounds, map_layer, map_layers
from codesign.compiler.mapping import MappingError
from codesign.cost.results import LayerResult, WorkloadResult
from codesign.cost.vector import evaluate_vector
from codesign.errors import CodesignError, did_you_mean
from codesign.hardware.accelerator import Accelerator
from codesign.hardware.build import build_accelerator
from codesign.spec.space import Constraint, Space
from codesign.spec.vocabulary import METRICS
from codesign.workload.ir import Layer, Workload
from codesign.workload.zoo import load_model

RESULTS_VERSION = 3
"""Which results codesign gives a design (its mappings, cycles, energies; the mapper and the cost
core together). Raised by every change that alters any design's results, never otherwise: a
study records it (:func:`codesign.dse.storage.signature`) and is not resumed under another, so
one study never mixes trials of two models. ``tests/test_results_version.py`` holds a fingerprint
of each version's results on fixed designs and fails when they change without it."""


class InfeasibleDesign(Exception):
    """A design that cannot run a workload at all (e.g. a layer no mapping fits); ``str`` is the reason."""


@dataclass(frozen=True)
class DesignResult:
    """Everything about one evaluated design."""

    design: dict[str, Any]
    accelerator: Accelerator
    workloads: tuple[WorkloadResult, ...]
    metrics: dict[str, float]                 # aggregated, base units
    per_workload: dict[str, dict[str, float]]  # workload -> metric -> value
    violations: dict[str, float]              # constraint text -> value (> 0 means violated)
    analytical: "DesignResult | None" = None  # simulated fidelity: the analytical result it re-evaluated

    @property
    def fidelity(self) -> str:
        return "analytical" if self.analytical is None else "simulated"

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.violations.values())


@functools.lru_cache(maxsize=64)
def _workload(model: str, batch: int, seq_len: int | None, name: str, weight: float, base: str,
              overrides: tuple[tuple[str, int], ...]) -> Workload:
    return load_model(model, batch=batch, seq_len=seq_len, name=name, weight=weight, base=Path(base),
                      overrides=dict(overrides))


def space_workloads(space: Space, base: Path) -> tuple[Workload, ...]:
    """The workloads of ``space`` (model paths resolved relative to ``base``)."""
    return tuple(_workload(w.model, w.batch, w.seq_len, w.label, w.weight, str(base), tuple(sorted(w.params.items())))
                 for w in space.workloads)


def run_workloads(workloads: tuple[Workload, ...], acc: Accelerator, policy: SchedulePolicy
                  ) -> tuple[WorkloadResult, ...]:
    """Map and cost every layer of each workload, all in one :func:`map_layers` call
    (same-structure layers share the mapper's kernel calls); raise :class:`InfeasibleDesign` if a
    layer cannot be mapped."""
    mapped = iter(map_layers([lr for w in workloads for lr in w.layers], acc, policy))
    results = []
    for w in workloads:
        layers = tuple(_mapped(w, next(mapped)) for _ in w.layers)
        vector = tuple(evaluate_vector(op, acc) for op in w.vector_ops)
        results.append(summarize_workload(w.name, layers, vector, acc, w.total_macs))
    return tuple(results)


def _mapped(workload: Workload, result: LayerResult | MappingError) -> LayerResult:
    """A layer's :func:`map_layers` result; a layer no mapping fits raises :class:`InfeasibleDesign`
    that names the workload."""
    if isinstance(result, MappingError):
        raise InfeasibleDesign(f"{workload.name}: {result}")
    return result


def summarize_workload(name: str, layers: tuple[LayerResult, ...], vector: tuple, acc: Accelerator,
                       macs: int) -> WorkloadResult:
    """Latency (layers' cycles x count), energy (dynamic + leakage over that time), utilization."""
    cycles = sum(r.cycles * r.layer.count for r in layers) + sum(v.cycles * v.op.count for v in vector)
    dynamic_pj = sum(r.energy_pj * r.layer.count for r in layers) + sum(v.energy_pj * v.op.count for v in vector)
    return _totals(name, layers, vector, cycles, dynamic_pj, acc, macs)


def _totals(name: str, layers: tuple[LayerResult, ...], vector: tuple, cycles: float, dynamic_pj: float,
            acc: Accelerator, macs: int) -> WorkloadResult:
    latency = cycles / acc.clock_hz
    energy = dynamic_pj * 1e-12 + acc.leakage_w * latency
    return WorkloadResult(name, layers, vector, latency, energy, macs, macs / (cycles * acc.num_macs),
                          acc.peak_macs_per_s)


def workload_metrics(r: WorkloadResult, area_mm2: float) -> dict[str, float]:
    return {"latency": r.latency_s, "energy": r.energy_j, "edp": r.energy_j * r.latency_s,
            "power": r.power_w, "area": area_mm2, "throughput": r.throughput, "utilization": r.utilization}


def aggregate(results: tuple[WorkloadResult, ...], weights: tuple[float, ...], area_mm2: float) -> dict[str, float]:
    """Over workloads: weighted sums of latency, energy and EDP; worst power; weighted-mix
    throughput (sum w / sum w·latency); MAC-weighted utilization."""
    total_w = sum(weights)
    latency = sum(w * r.latency_s for w, r in zip(weights, results)) / total_w
    energy = sum(w * r.energy_j for w, r in zip(weights, results)) / total_w
    edp = sum(w * r.energy_j * r.latency_s for w, r in zip(weights, results)) / total_w
    busy = sum(r.macs / r.utilization for r in results)
    return {"latency": latency, "energy": energy, "edp": edp,
            "power": max(r.power_w for r in results), "area": area_mm2,
            "throughput": 1.0 / latency, "utilization": sum(r.macs for r in results) / busy}


def violation(c: Constraint, metrics: dict[str, float], per_workload: dict[str, dict[str, float]]) -> float:
    """Constraint value for optuna: <= 0 when met; relative excess (value/limit - 1) otherwise."""
    value = per_workload[c.workload][c.metric] if c.workload else metrics[c.metric]
    if c.op == "<=":
        return value / c.limit - 1.0
    return 1.0 - value / c.limit if c.limit > 0 else -value


def policy_of(design: dict[str, Any], space: Space) -> SchedulePolicy:
    """The compiler knobs of ``design`` (every ``schedule.*`` parameter, see :mod:`codesign.spec.params`)."""
    return SchedulePolicy(objective=str(design["schedule.objective"]), candidates=int(design["schedule.candidates"]),
                          seed=space.schedule.seed, mode=str(design["schedule.mode"]),
                          stationary=str(design["schedule.stationary"]),
                          spatial_rows=str(design["schedule.spatial_rows"]),
                          spatial_cols=str(design["schedule.spatial_cols"]))


def evaluate_design(space: Space, design: dict[str, Any], base: Path, fidelity: str = "analytical",
                    give_up: Verdict | None = None) -> DesignResult:
    """Evaluate one full design of ``space``; raise :class:`InfeasibleDesign` with the reason.

    ``fidelity="simulated"``: the mapped layers are re-timed by the tile-program simulator
    (:func:`simulate_design`); ``analytical`` (and ``auto``, which simulates only at the end of
    a search) use the analytical model.

    ``give_up`` (the search's pruning): the layers are mapped largest cycle bound first, and
    before each one ``give_up`` gets the design's best possible objective values
    (:func:`best_possible`); a reason it returns stops the evaluation with :class:`GaveUp`.
    """
    acc = build_accelerator(space, design)
    policy = policy_of(design, space)
    workloads = space_workloads(space, base)
    if give_up is None:
        results = run_workloads(workloads, acc, policy)
    else:
        results = _run_unless_given_up(space, workloads, acc, policy, give_up)
    result = _design_result(space, design, acc, results)
    return simulate_design(space, result) if fidelity == "simulated" else result


class GaveUp(Exception):
    """An evaluation stopped part-way by its ``give_up`` verdict; ``str`` is the verdict's reason."""


Verdict = Callable[[list[float]], "str | None"]
"""Objective values a design can at best reach (display units, the space's order) -> a reason to
stop evaluating it, or None."""

BOUNDED_METRICS = {"latency": "minimize", "energy": "minimize", "edp": "minimize", "area": "minimize",
                   "throughput": "maximize", "utilization": "maximize"}
"""Metrics :func:`best_possible` bounds, and the side it bounds them from (power, a ratio of two
bounded quantities, has no bound)."""


def best_possible(space: Space, workloads: tuple[Workload, ...], acc: Accelerator,
                  layers: list[list[tuple[float, float]]], vector: list[tuple]) -> list[float]:
    """Each objective's best value the design can reach, in display units: latency, energy and EDP
    from below, throughput and utilization from above, area exact, when ``layers[w][i]`` holds
    ``(energy_pj, cycles)`` of each layer (its mapping's, or a lower bound on any mapping's);
    ``-inf`` / ``inf`` for an objective without a bound (power)."""
    results = []
    for w, costs, vec in zip(workloads, layers, vector):
        cycles = sum(c * lr.count for lr, (_, c) in zip(w.layers, costs)) + sum(v.cycles * v.op.count for v in vec)
        dynamic = sum(e * lr.count for lr, (e, _) in zip(w.layers, costs)) + sum(v.energy_pj * v.op.count for v in vec)
        results.append(_totals(w.name, (), vec, cycles, dynamic, acc, w.total_macs))
    metrics = aggregate(tuple(results), tuple(w.weight for w in space.workloads), acc.area_mm2)
    return [display(o.metric, metrics[o.metric], o.unit) if BOUNDED_METRICS.get(o.metric) == o.direction
            else (-np.inf if o.direction == "minimize" else np.inf) for o in space.objectives]


FIRST_WAVE = 4
"""Layers :func:`_run_unless_given_up` maps together first (then twice as many each wave)."""


def _run_unless_given_up(space: Space, workloads: tuple[Workload, ...], acc: Accelerator, policy: SchedulePolicy,
                         give_up: Verdict) -> tuple[WorkloadResult, ...]:
    """:func:`run_workloads`, asking ``give_up`` before each layer (largest cycle bound first).

    Layers are mapped in waves of :data:`FIRST_WAVE`, then twice as many each time (one
    :func:`map_layers` call each: same-structure layers share kernel calls); after a wave the
    verdicts the one-at-a-time order would have asked before each of its layers are asked in
    turn, so the outcome (pruned with the same reason, infeasible, or complete) is the same.
    """
    flat = iter(lower_bounds([lr for w in workloads for lr in w.layers], acc, policy))
    costs = [[next(flat) for _ in w.layers] for w in workloads]
    vector = [tuple(evaluate_vector(op, acc) for op in w.vector_ops) for w in workloads]
    mapped: list[list[LayerResult | None]] = [[None] * len(w.layers) for w in workloads]
    order = sorted(((k, i) for k, w in enumerate(workloads) for i in range(len(w.layers))),
                   key=lambda ki: -costs[ki[0]][ki[1]][1] * workloads[ki[0]].layers[ki[1]].count)
    done, wave = 0, FIRST_WAVE
    while done < len(order):
        batch = order[done:done + wave]
        reason = give_up(best_possible(space, workloads, acc, costs, vector))
        if reason:
            raise GaveUp(reason)
        results = map_layers([workloads[k].layers[i] for k, i in batch], acc, policy)
        for j, ((k, i), result) in enumerate(zip(batch, results)):
            reason = give_up(best_possible(space, workloads, acc, costs, vector)) if j else None
            if reason:
                raise GaveUp(reason)
            r = _mapped(workloads[k], result)
            mapped[k][i], costs[k][i] = r, (r.energy_pj, r.cycles)
        done, wave = done + len(batch), 2 * wave
    return tuple(summarize_workload(w.name, tuple(m), vec, acc, w.total_macs)   # type: ignore[arg-type]
                 for w, m, vec in zip(workloads, mapped, vector))


def _design_result(space: Space, design: dict[str, Any], acc: Accelerator, results: tuple[WorkloadResult, ...],
                   analytical: DesignResult | None = None) -> DesignResult:
    area = acc.area_mm2
    per = {r.name: workload_metrics(r, area) for r in results}
    metrics = aggregate(results, tuple(w.weight for w in space.workloads), area)
    violations = {c.text: violation(c, metrics, per) for c in space.constraints}
    return DesignResult(design, acc, results, metrics, per, violations, analytical)


def simulate_design(space: Space, result: DesignResult) -> DesignResult:
    """``result`` with every layer's cycles from the tile-program simulator (:mod:`codesign.sim.fidelity`);
    metrics and constraints recomputed, the analytical result kept as ``.analytical``. Vector
    operators keep their analytical cycles."""
    from codesign.sim.fidelity import design_timing, simulated_layers

    acc = result.accelerator
    timing = design_timing(acc, result.design)
    workloads = tuple(summarize_workload(w.name, simulated_layers(w.layers, acc, timing), w.vector_ops, acc, w.macs)
                      for w in result.workloads)
    return _design_result(space, result.design, acc, workloads, result)


def display(metric: str, value: float, unit: str | None = None) -> float:
    """``value`` (base units) in the metric's display unit (objective unit if given)."""
    from codesign.units import parse_quantity

    kind, default_unit, factor, _ = METRICS[metric]
    unit = unit or default_unit
    if unit == default_unit:
        return value * factor
    return value / float(parse_quantity("1" + unit, kind))  # type: ignore[arg-type]


@dataclass(frozen=True)
class MappedLayer:
    """One layer of a design mapped on its own (``codesign map``)."""

    workload: str
    layer: Layer
    accelerator: Accelerator
    policy: SchedulePolicy
    result: LayerResult


def map_named_layer(space: Space, design: dict[str, Any], base: Path, layer: str,
                    workload: str | None = None) -> MappedLayer:
    """Map the layer named ``layer`` (of ``workload``, or of whichever workload has it) on ``design``.

    Raises :class:`CodesignError` for an unknown workload or layer (with the closest names), a
    vector operator (the mapper maps MAC layers only) or a design no mapping of it fits.
    """
    workloads = space_workloads(space, base)
    names = [w.name for w in workloads]
    if workload is not None and workload not in names:
        raise CodesignError(f"unknown workload {workload!r}{did_you_mean(workload, names)}; the space's workloads: "
                            f"{', '.join(names)}", "--workload")
    pool = [w for w in workloads if workload in (None, w.name)]
    found = [(w, lr) for w in pool for lr in w.layers if lr.name == layer]
    if not found:
        vector = [(w, v) for w in pool for v in w.vector_ops if v.name == layer]
        if vector:
            w, v = vector[0]
            raise CodesignError(f"{layer!r} in {w.name} is a vector operator ({v.op}); it runs on the vector unit, "
                                "the mapper maps MAC layers (conv2d, linear, matmul)", "--layer")
        known = [lr.name for w in pool for lr in w.layers]
        where = workload or ", ".join(names)
        raise CodesignError(f"no layer {layer!r} in {where}{did_you_mean(layer, known)}; "
                            f"'codesign models show <model>' lists a model's layers", "--layer")
    if len({lr.key for _, lr in found}) > 1:
        raise CodesignError(f"layer {layer!r} differs between workloads {', '.join(w.name for w, _ in found)}; "
                            "choose one with --workload", "--layer")
    w, chosen = found[0]
    acc = build_accelerator(space, design)
    policy = policy_of(design, space)
    try:
        result = map_layer(chosen, acc, policy)
    except MappingError as exc:
        raise CodesignError(f"unmappable design: {exc}", space._source or space.name) from None
    return MappedLayer(w.name, chosen, acc, policy, result)
