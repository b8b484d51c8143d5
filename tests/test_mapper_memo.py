"""The mapper's structural memo (codesign/compiler/memo.py) is exact: a design mapped after others
that share its array and capacities gets the same mappings and costs as when mapped cold."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesign.compiler.mapper import clear_cache, map_layer
from codesign.compiler import memo
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent
BASE = {"hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.rows": "16",
        "hardware.array.cols": "8", "hardware.array.dataflow": "row_stationary",
        "hardware.memory.DRAM.dram_type": "LPDDR4", "hardware.memory.DRAM.bandwidth": "25.6GB/s",
        "hardware.memory.GLB.size": "128KiB", "hardware.memory.GLB.bytes_per_cycle": "64",
        "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp"}
# each differs from BASE only in what a byte or a cycle costs, or in the mapper's objective
VARIANTS = [{"hardware.clock": "300MHz"}, {"hardware.technology": "22nm", "hardware.memory.DRAM.dram_type": "LPDDR5"},
            {"hardware.memory.DRAM.bandwidth": "12.8GB/s", "hardware.memory.GLB.bytes_per_cycle": "256"},
            {"schedule.objective": "latency"}, {"schedule.objective": "energy"}]


def _setup(over: dict):
    space = load_space(ROOT / "spaces" / "edge.yaml")
    texts = {**BASE, **over}
    design = resolve_design(space, {k: parse_value(k, v, space) for k, v in texts.items()})
    return build_accelerator(space, design), policy_of(design, space)


def _layers():
    w = load_model("resnet18")
    return [layer for layer in w.layers if layer.name in ("conv1", "layer1.0.conv1", "layer2.0.conv1", "layer3.0.downsample.0", "fc")] + \
        [load_model("mobilenetv2").layers[1]]


def _summary(r):
    return (r.mapping, r.cycles, r.energy_pj, r.level_energy_pj, r.candidates, r.legal)


@pytest.mark.parametrize("over", VARIANTS, ids=lambda o: ",".join(f"{k.split('.')[-1]}={v}" for k, v in o.items()))
def test_warm_equals_cold(over):
    layers = _layers()
    acc, policy = _setup(over)
    clear_cache()
    cold = [_summary(map_layer(layer, acc, policy)) for layer in layers]
    clear_cache()
    base_acc, base_policy = _setup({})
    for layer in layers:
        map_layer(layer, base_acc, base_policy)
    assert memo._entries, "the base design left nothing to reuse"
    warm = [_summary(map_layer(layer, acc, policy)) for layer in layers]
    assert warm == cold


def test_capacity_key_separates_what_tiling_depends_on():
    a, _ = _setup({})
    assert _setup({"hardware.clock": "300MHz"})[0].capacity_key == a.capacity_key
    assert _setup({"hardware.memory.GLB.size": "256KiB"})[0].capacity_key != a.capacity_key
    assert _setup({"hardware.memory.PE_RF.size": "32B"})[0].capacity_key != a.capacity_key
