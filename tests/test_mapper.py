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
    a = _map_canonical.__wrapped__(layer, acc, SchedulePolicy(seed=3))
    b = _map_canonical.__wrapped__(layer, acc, SchedulePolicy(seed=3))
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
    with pytest.raises(MappingError, match="no candidate mapping fits"):
        map_layer(LAYERS[0], acc, SchedulePolicy(candidates=50))
