"""The compiler gap: on the same hardware, the naive compiler (``schedule.mode: fixed``) is never
better than the mapper (``auto``) on any ResNet-18 layer, under each per-layer objective.
``benchmarks/compiler_gap.py`` prints the gap itself."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from codesign.compiler.mapper import map_layer
from codesign.compiler.policy import metric, objective_keys
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent
POINT = {
    "hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.rows": "16", "hardware.array.cols": "16",
    "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.dram_type": "LPDDR4",
    "hardware.memory.DRAM.bandwidth": "25.6GB/s", "hardware.memory.GLB.size": "256KiB",
    "hardware.memory.GLB.bytes_per_cycle": "64", "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp",
}


@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_fixed_mode_is_never_better_than_auto(objective: str) -> None:
    space = load_space(ROOT / "spaces" / "edge.yaml")
    design = resolve_design(space, {k: parse_value(k, v, space) for k, v in POINT.items()})
    acc = build_accelerator(space, design)
    auto = replace(policy_of(design, space), objective=objective)
    fixed = replace(auto, mode="fixed")
    first = objective_keys(objective)[0]
    gaps = []
    for layer in load_model("resnet18").layers:
        a, f = map_layer(layer, acc, auto), map_layer(layer, acc, fixed)
        value_a, value_f = metric(a.energy_pj, a.cycles, first), metric(f.energy_pj, f.cycles, first)
        assert value_f >= value_a * (1 - 1e-9), layer.name
        gaps.append(value_f / value_a - 1)
    assert max(gaps) > 0          # the naive compiler does leave something on the table
