"""Costing from remembered usage (codesign/compiler/costed.py, codesign.cost.analytical.measure/price)
is bit-identical to counting afresh with ``evaluate``, whatever other accelerators were costed first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.compiler import costed
from codesign.compiler.mapper import clear_cache, map_layer
from codesign.compiler.mapspace import Chunk
from codesign.compiler.search import search
from codesign.compiler.tiles import squeeze
from codesign.cost.analytical import evaluate, measure, price
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent
BASE = {"hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.rows": "16",
        "hardware.array.cols": "16", "hardware.array.dataflow": "weight_stationary",
        "hardware.memory.DRAM.dram_type": "LPDDR4", "hardware.memory.DRAM.bandwidth": "25.6GB/s",
        "hardware.memory.GLB.size": "128KiB", "hardware.memory.GLB.bytes_per_cycle": "64",
        "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp"}
# same traffic structure as BASE (precision, levels and what they hold); everything else differs
OTHER = {"hardware.technology": "22nm", "hardware.clock": "300MHz", "hardware.array.rows": "8",
         "hardware.array.dataflow": "output_stationary", "hardware.memory.DRAM.dram_type": "LPDDR5",
         "hardware.memory.DRAM.bandwidth": "12.8GB/s", "hardware.memory.GLB.size": "32KiB",
         "hardware.memory.GLB.bytes_per_cycle": "256", "hardware.memory.PE_RF.size": "256B",
         "schedule.objective": "latency"}
FIELDS = ("cycles", "compute_cycles", "level_cycles", "energy_pj", "level_energy_pj", "utilization", "fits",
          "level_instances")


def _setup(over: dict):
    space = load_space(ROOT / "spaces" / "edge.yaml")
    design = resolve_design(space, {k: parse_value(k, v, space) for k, v in {**BASE, **over}.items()})
    return build_accelerator(space, design), policy_of(design, space)


def _layers():
    names = ("conv1", "layer2.0.conv1", "layer3.0.downsample.0", "fc")
    return [layer for layer in load_model("resnet18").layers if layer.name in names] + list(load_model("mobilenetv2").layers[1:3])


def _chunks(layer, acc, policy) -> Chunk:
    """The mappings the mapper costs for ``layer`` (squeezed) on ``acc``: real candidates, many of them."""
    return Chunk.concat(search(layer, acc, policy).chunks)


def _same(a, b) -> None:
    assert a.mac_energy_pj == b.mac_energy_pj
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.shape == y.shape and np.array_equal(x, y), f


@pytest.mark.parametrize("layer", _layers(), ids=lambda layer: layer.name)
def test_price_of_measure_is_evaluate(layer):
    small = squeeze(layer).layer
    acc, policy = _setup({})
    other, _ = _setup(OTHER)
    chunk = _chunks(small, acc, policy)
    assert chunk.size > 10
    for target in (acc, other):
        nest = chunk.nest(target.first_per_pe_level)
        _same(price(small, target, measure(small, target, nest)), evaluate(small, target, nest))


@pytest.mark.parametrize("layer", _layers(), ids=lambda layer: layer.name)
def test_remembered_usage_prices_like_a_fresh_count(layer):
    small = squeeze(layer).layer
    acc, policy = _setup({})
    other, other_policy = _setup(OTHER)
    assert acc.traffic_key == other.traffic_key and acc.capacity_key != other.capacity_key
    seen = _chunks(small, acc, policy)
    fresh = _chunks(small, other, other_policy)
    half = seen.take(slice(0, seen.size // 2))
    mixed = Chunk.concat([fresh.take(slice(0, 40)), seen, half, fresh])      # hits, misses and repeats
    costed.clear()
    costed.cost(small, acc, seen)
    assert costed._tables, "nothing remembered"
    _same(costed.cost(small, other, mixed), evaluate(small, other, mixed.nest(other.first_per_pe_level)))
    _same(costed.cost(small, acc, mixed), evaluate(small, acc, mixed.nest(acc.first_per_pe_level)))


def test_mapping_after_other_designs_equals_mapping_cold():
    layers = _layers()
    acc, policy = _setup({"hardware.memory.GLB.size": "64KiB"})
    clear_cache()
    cold = [(r.mapping, r.cycles, r.energy_pj, r.level_energy_pj, r.candidates, r.legal)
            for r in (map_layer(layer, acc, policy) for layer in layers)]
    clear_cache()
    for over in ({}, OTHER):
        a, p = _setup(over)
        for layer in layers:
            map_layer(layer, a, p)
    warm = [(r.mapping, r.cycles, r.energy_pj, r.level_energy_pj, r.candidates, r.legal)
            for r in (map_layer(layer, acc, policy) for layer in layers)]
    assert warm == cold


def test_hashes_tell_mappings_apart():
    """Mappings differing in one factor, one axis or one loop order get different keys."""
    acc, policy = _setup({})
    layer = squeeze(_layers()[1]).layer
    chunk = Chunk.concat(search(layer, acc, policy).chunks).unique()
    h1, h2 = costed._hashes(chunk)
    assert len(np.unique(h1)) == chunk.size and len(np.unique(h2)) == chunk.size
