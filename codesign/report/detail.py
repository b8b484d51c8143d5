"""One design of a run, evaluated again for the report: per-layer latency, energy, roofline and mapping.

The search stores per-workload metrics only; :func:`detail_design` re-runs
:func:`codesign.flow.evaluate_design` (deterministic) on a trial's parameters and keeps, per
MAC layer, the totals over its occurrences, its roofline (:mod:`codesign.cost.roofline`),
its energy per memory level and tensor, and its mapping as a loop nest
(:func:`codesign.compiler.explain.mapping_record`). With ``compiler_gap`` the same hardware
is also evaluated with the naive compiler (``schedule.mode: fixed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.results import LayerResult
from codesign.cost.roofline import Roofline, roofline
from codesign.errors import CodesignError
from codesign.flow import DesignResult, InfeasibleDesign, evaluate_design
from codesign.hardware.accelerator import Accelerator
from codesign.report.tables import TrialRow
from codesign.spec.params import resolve_design
from codesign.spec.space import Space
from codesign.workload.ir import ROLES

MAC = "MACs"          # the energy "level" of the multiply-accumulates
LEAKAGE = "leakage"   # static energy over the workload's latency


@dataclass(frozen=True)
class LayerDetail:
    """One layer of a workload on the design, totals over its ``count`` occurrences (base units)."""

    workload: str
    name: str
    op: str
    shape: str
    count: int
    macs: int                              # per occurrence
    cycles: float                          # per occurrence
    latency_s: float                       # all occurrences
    energy_j: float                        # dynamic, all occurrences
    utilization: float
    bound: str                             # "compute", "vector" or the binding level
    roofline: Roofline | None              # None for vector operators
    tensor_energy_j: dict[str, dict[str, float]]   # level (and MACs) -> tensor role -> J, all occurrences
    mapping: list[str]                     # loop nest lines (empty for vector operators)


@dataclass(frozen=True)
class WorkloadDetail:
    name: str
    latency_s: float
    energy_j: float                        # dynamic + leakage
    leakage_j: float
    utilization: float
    compute_roofline_s: float
    layers: list[LayerDetail]
    naive: dict[str, float] | None         # naive compiler: latency_s, energy_J (None: not asked)
    naive_reason: str = ""                 # why the naive compiler could not run it


@dataclass(frozen=True)
class DesignDetail:
    """A detailed design: its trial, the re-evaluated result and its per-workload records."""

    row: TrialRow
    result: DesignResult
    workloads: list[WorkloadDetail]

    @property
    def number(self) -> int:
        return self.row.number


def detail_design(space: Space, row: TrialRow, compiler_gap: bool = False) -> DesignDetail:
    """Re-evaluate trial ``row`` of ``space`` (see the module docstring)."""
    design = resolve_design(space, row.params)
    try:
        result = evaluate_design(space, design, space.base_dir)
    except InfeasibleDesign as exc:
        raise CodesignError(f"trial {row.number} cannot be evaluated again: {exc}", "--design") from None
    naive: dict[str, dict[str, float]] = {}
    naive_reason = ""
    if compiler_gap:
        try:
            fixed = evaluate_design(space, {**design, "schedule.mode": "fixed"}, space.base_dir)
            naive = {w.name: {"latency_s": w.latency_s, "energy_J": w.energy_j} for w in fixed.workloads}
        except InfeasibleDesign as exc:
            naive_reason = str(exc)
    acc = result.accelerator
    workloads = []
    for w in result.workloads:
        layers = [_layer(w.name, lr, acc) for lr in w.layers]
        layers += [LayerDetail(w.name, v.op.name, v.op.op, v.op.describe(), v.op.count, 0, v.cycles,
                               v.cycles * v.op.count / acc.clock_hz, v.energy_pj * v.op.count * 1e-12, 0.0, v.bound,
                               None, {}, []) for v in w.vector_ops]
        workloads.append(WorkloadDetail(w.name, w.latency_s, w.energy_j, acc.leakage_w * w.latency_s, w.utilization,
                                        w.roofline_s, layers, naive.get(w.name) if compiler_gap else None,
                                        naive_reason))
    return DesignDetail(row, result, workloads)


def _layer(workload: str, lr: LayerResult, acc: Accelerator) -> LayerDetail:
    from codesign.compiler.explain import loop_nest_lines, mapping_record

    layer, n = lr.layer, lr.layer.count
    cost = evaluate(layer, acc, lr.mapping.to_nest())   # the chosen mapping's counts, for the roofline and tensors
    tensors = {lv: {t: e * n * 1e-12 for t, e in by_tensor.items()}
               for lv, by_tensor in tensor_energy_pj(lr, acc, cost).items()}
    return LayerDetail(workload, layer.name, layer.op, layer.describe(), n, layer.macs, lr.cycles,
                       lr.cycles * n / acc.clock_hz, lr.energy_pj * n * 1e-12, lr.utilization, lr.bound,
                       roofline(layer, acc, cost, 0), tensors, loop_nest_lines(mapping_record(layer, acc, lr)))


def tensor_energy_pj(lr: LayerResult, acc: Accelerator, cost: CostBatch | None = None) -> dict[str, dict[str, float]]:
    """Dynamic energy (pJ, one occurrence) of each memory level split by tensor (keyed by role:
    weights, inputs, outputs), plus the MACs.

    As the cost model charges it (:mod:`codesign.cost.analytical`): words read, filled and
    updated per instance x bytes per word x utilized instances x energy per byte; final outputs
    written to the outermost level at operand width. The levels' sums are ``lr.level_energy_pj``.
    ``cost`` is the evaluation of ``lr.mapping`` if the caller has it.
    """
    layer = lr.layer
    if cost is None:
        cost = evaluate(layer, acc, lr.mapping.to_nest())
    a = cost.accesses
    words = (a.reads[0] + a.fills[0] + a.updates[0]).astype(np.float64)          # [L, 3]
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    tensor_bytes = words * role_bytes
    final = a.updates[0, 0, 2] - a.reads[0, 0, 2]
    tensor_bytes[0, 2] -= final * max(0.0, role_bytes[2] - acc.operand_bytes)
    out: dict[str, dict[str, float]] = {}
    for lv, level in enumerate(acc.levels):
        scale = float(cost.level_instances[0, lv]) * level.access_pj_per_byte
        out[level.name] = {role: float(tensor_bytes[lv, r]) * scale for r, role in enumerate(ROLES) if role in level.holds}
    out[MAC] = {"MACs": float(cost.mac_energy_pj)}
    return out


def energy_by_level(w: WorkloadDetail) -> dict[str, dict[str, float]]:
    """A workload's energy (J) per memory level and tensor, the MACs, and leakage (sums to its energy)."""
    out: dict[str, dict[str, float]] = {}
    for lr in w.layers:
        for level, by_tensor in lr.tensor_energy_j.items():
            slot = out.setdefault(level, {})
            for t, e in by_tensor.items():
                slot[t] = slot.get(t, 0.0) + e
    vector = sum(lr.energy_j for lr in w.layers if lr.roofline is None)
    if vector:
        out["vector unit"] = {"vector ops": vector}
    out[LEAKAGE] = {LEAKAGE: w.leakage_j}
    return out


def dominating(w: WorkloadDetail, top: int = 3) -> list[dict[str, Any]]:
    """The layers with the largest latency share (ties: energy), with their shares of the workload's
    latency and dynamic energy."""
    dynamic = sum(lr.energy_j for lr in w.layers) or 1.0
    ranked = sorted(w.layers, key=lambda lr: (-lr.latency_s, -lr.energy_j, lr.name))
    return [{"layer": lr, "latency_share": lr.latency_s / w.latency_s, "energy_share": lr.energy_j / dynamic}
            for lr in ranked[:top]]


def detail_designs(space: Space, rows: list[TrialRow], compiler_gap: bool = False) -> list[DesignDetail]:
    return [detail_design(space, r, compiler_gap) for r in rows]


__all__ = ["DesignDetail", "LayerDetail", "WorkloadDetail", "detail_design", "detail_designs", "dominating",
           "energy_by_level", "tensor_energy_pj"]
