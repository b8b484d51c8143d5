"""The mapper's structural memo (codesign/compiler/memo.py) is exact: a design mapped after another
that shares its array (and capacities, or not) gets the same mappings and costs as when mapped cold."""

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
            {"schedule.objective": "latency"}, {"schedule.objective": "energy"},
            # other buffer sizes: only what does not depend on the capacities is reused (the spatial
            # choices, the bytes each level needs per tile)
            {"hardware.memory.GLB.size": "32KiB"}, {"hardware.memory.PE_RF.size": "32B"},
            {"hardware.memory.GLB.size": "512KiB", "hardware.memory.PE_RF.size": "256B"}]


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


def test_budget_is_a_quarter_of_memory_per_core_within_256_mib_and_1_gib():
    from codesign.compiler.memo import default_budget_bytes

    GiB, MiB = 2**30, 2**20
    assert default_budget_bytes(24 * GiB, 2) == GiB                 # 3 GiB per core: capped at 1 GiB
    assert default_budget_bytes(16 * GiB, 8) == 512 * MiB            # 16 GiB / (4 x 8 cores)
    assert default_budget_bytes(4 * GiB, 16) == 256 * MiB            # 64 MiB per core: the floor


def test_an_evicted_entry_is_computed_again_the_same(monkeypatch):
    """The memo is bounded: past its budget the least recently used entry goes, and asking for
    it again computes it again (equal arrays), while recent entries stay."""
    import numpy as np

    from codesign.compiler import memo

    memo.clear()
    monkeypatch.setattr(memo, "BUDGET_BYTES", 3 * 8000)
    calls = []

    def make(i):
        def compute():
            calls.append(i)
            return np.full(1000, float(i))       # 8,000 bytes
        return compute

    for i in range(4):                           # the fourth pushes the first out
        memo.remember(("t", i), make(i))
    assert memo.lookup(("t", 0)) is None and memo.lookup(("t", 3)) is not None
    again = memo.remember(("t", 0), make(0))
    assert calls == [0, 1, 2, 3, 0] and (again == 0.0).all() and not again.flags.writeable
    memo.clear()
