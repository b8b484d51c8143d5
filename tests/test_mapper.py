"""The heuristic mapper: legal, capacity-respecting, dataflow-respecting, deterministic, and
never worse than the trivial schedule it always includes."""

import numpy as np
import pytest

from codesign.compiler.mapper import AXIS_CLASSES, SchedulePolicy, _map_canonical, dim_classes, map_layer, objective_values
from codesign.compiler.mapping import MappingError, check_mapping
from codesign.cost.analytical import evaluate
from codesign.cost.nest import NestBatch
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload.zoo import load_model

ALL = ("weights", "inputs", "outputs")


def accelerator(dataflow="weight_stationary", glb=64 * 1024, rf=64, rows=8, cols=8, macs_per_pe=1):
    clock, node = 500e6, 28
    levels = (make_level("DRAM", "dram", True, None, 12.8e9, None, ALL, True, "LPDDR4", clock, node),
              make_level("GLB", "sram", True, glb, None, 64, ALL, True, None, clock, node),
              make_level("RF", "regfile", False, rf, None, None, ALL, True, None, clock, node))
    return Accelerator(rows, cols, macs_per_pe, dataflow, "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


LAYERS = load_model("mobilenetv2").layers[:6] + load_model("resnet18").layers[:3]


@pytest.mark.parametrize("dataflow", sorted(AXIS_CLASSES))
@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
def test_mapping_is_legal_and_replays(layer, dataflow):
    acc = accelerator(dataflow, macs_per_pe=2)
    result = map_layer(layer, acc, SchedulePolicy(candidates=300))
    m = result.mapping
    check_mapping(m, layer.bounds, acc.rows, acc.cols, acc.macs_per_pe)
    row_cls, col_cls = AXIS_CLASSES[dataflow]
    classes = dim_classes(layer)
    assert all(classes[d] in row_cls for d in range(len(m.dims)) if m.rows[d] > 1)
    assert all(classes[d] in col_cls for d in range(len(m.dims)) if m.cols[d] > 1)
    replay = evaluate(layer, acc, m.to_nest())
    assert replay.fits[0]
    assert replay.cycles[0] == pytest.approx(result.cycles)
    assert replay.energy_pj[0] == pytest.approx(result.energy_pj)
    assert 0 < result.utilization <= 1


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
def test_no_worse_than_everything_at_dram(layer):
    """The trivial schedule (all temporal loops at DRAM, same spatial choice) is a lower bar."""
    acc = accelerator()
    policy = SchedulePolicy(objective="energy", candidates=300)
    best = map_layer(layer, acc, policy)
    m = best.mapping
    L, D = len(acc.levels), len(layer.dims)
    temporal = np.ones((1, L, D), dtype=np.int64)
    spatial = np.array(m.rows) * np.array(m.cols) * np.array(m.lanes)
    temporal[0, 0] = [-(-b // s) for b, s in zip(layer.bounds, spatial)]
    trivial = NestBatch(temporal, np.tile(np.arange(D), (1, L, 1)),
                        np.array([[np.array(m.rows) * np.array(m.cols), m.lanes]]), (2, L))
    cost = evaluate(layer, acc, trivial)
    assert objective_values(cost, "energy")[0] >= best.energy_pj * (1 - 1e-12)


def test_deterministic_for_a_seed():
    layer = LAYERS[2]
    acc = accelerator()
    a = _map_canonical(layer, acc, SchedulePolicy(seed=3))
    b = _map_canonical(layer, acc, SchedulePolicy(seed=3))
    assert a.mapping == b.mapping


def test_more_candidates_never_hurt_much():
    """Candidate sets are nested in spirit, not exactly; a larger budget should not be far worse."""
    layer = LAYERS[0]
    acc = accelerator()
    small = map_layer(layer, acc, SchedulePolicy(candidates=100)).energy_pj
    large = map_layer(layer, acc, SchedulePolicy(candidates=2000)).energy_pj
    assert large <= small * 1.05


def test_unmappable_layer_says_why():
    acc = accelerator(rf=1)   # one byte cannot hold a weight, an input and a 4-byte partial sum
    with pytest.raises(MappingError, match=f"^layer {LAYERS[0].name} .*no candidate mapping fits"):
        map_layer(LAYERS[0], acc, SchedulePolicy(candidates=50))


def hierarchy(names_scopes_sizes, dataflow="weight_stationary", rows=8, cols=8, macs_per_pe=1):
    """Levels from (name, kind, shared, size) tuples, outermost first."""
    clock, node = 500e6, 28
    levels = tuple(make_level(n, k, sh, size, 12.8e9 if k == "dram" else None, None if k == "dram" else 64, ALL, True,
                              "LPDDR4", clock, node) for n, k, sh, size in names_scopes_sizes)
    return Accelerator(rows, cols, macs_per_pe, dataflow, "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


@pytest.mark.parametrize("levels", [
    [("DRAM", "dram", True, None), ("GLB", "sram", True, 32 * 1024)],
    [("DRAM", "dram", True, None), ("L2", "sram", True, 256 * 1024), ("GLB", "sram", True, 16 * 1024),
     ("RF", "regfile", False, 64)],
], ids=["dram_glb", "four_levels"])
def test_other_hierarchy_depths_map_and_replay(levels):
    acc = hierarchy(levels)
    for layer in LAYERS[:4]:
        result = map_layer(layer, acc, SchedulePolicy())
        replay = evaluate(layer, acc, result.mapping.to_nest())
        assert replay.fits[0] and replay.energy_pj[0] == pytest.approx(result.energy_pj)


def test_lexicographic_objective_breaks_ties_on_the_second_metric():
    from codesign.compiler.policy import ranking

    energy = np.array([5.0, 3.0, 4.0, 1.0])
    cycles = np.array([10.0, 10.0, 10.0, 11.0])
    assert list(ranking(energy, cycles, "latency,energy")) == [1, 2, 0, 3]
    assert list(ranking(energy, cycles, "energy,latency")) == [3, 1, 2, 0]
    assert list(ranking(energy, cycles, "latency,energy", legal=np.array([True, False, True, True])))[:2] == [2, 0]


def test_lexicographic_mapping_is_fastest_then_cheapest():
    layer, acc = LAYERS[2], accelerator()
    fast = map_layer(layer, acc, SchedulePolicy(objective="latency"))
    lex = map_layer(layer, acc, SchedulePolicy(objective="latency,energy"))
    assert lex.cycles == pytest.approx(fast.cycles)
    assert lex.energy_pj <= fast.energy_pj * (1 + 1e-9)


def test_policy_rejects_unknown_knobs():
    with pytest.raises(ValueError, match="objective"):
        SchedulePolicy(objective="speed")
    with pytest.raises(ValueError, match="spatial_rows"):
        SchedulePolicy(spatial_rows="channels")


@pytest.mark.parametrize("layer", LAYERS, ids=lambda l: l.name)
def test_fixed_mode_is_the_naive_compiler_and_auto_beats_it(layer):
    acc = accelerator(macs_per_pe=2)
    naive = map_layer(layer, acc, SchedulePolicy(mode="fixed", objective="edp"))
    auto = map_layer(layer, acc, SchedulePolicy(mode="auto", objective="edp"))
    m = naive.mapping
    assert naive.candidates == 1
    assert len(set(m.order)) == 1                                     # one loop order at every level
    assert sum(f > 1 for f in m.rows) <= 1 and sum(f > 1 for f in m.cols) <= 1
    assert auto.energy_pj * auto.cycles <= naive.energy_pj * naive.cycles * (1 + 1e-9)


def test_a_budget_of_one_still_returns_a_legal_mapping():
    layer, acc = LAYERS[1], accelerator()
    result = map_layer(layer, acc, SchedulePolicy(candidates=1))
    assert evaluate(layer, acc, result.mapping.to_nest()).fits[0]


def test_cache_is_per_policy_and_clearable():
    from codesign.compiler.mapper import _mapped, clear_cache

    layer, acc = LAYERS[0], accelerator()
    clear_cache()
    a = map_layer(layer, acc, SchedulePolicy(objective="energy"))
    b = map_layer(layer, acc, SchedulePolicy(objective="latency"))
    assert len(_mapped) == 2 and a.layer is layer and b.layer is layer
    clear_cache()
    assert len(_mapped) == 0
