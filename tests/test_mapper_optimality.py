"""The mapper against the exhaustive reference (differential test): on small layers, where every
legal mapping can be costed (:func:`codesign.compiler.mapspace.exhaustive`), the mapper's
objective value is the optimum or within 1% of it, and never below it (the enumeration is
complete for everything the mapper can produce).

Layers: small convolutions (1-D and 2-D, padded, strided, dilated, 5-wide), depthwise and
grouped convolutions, a batch-2 convolution, GEMMs (square, odd sizes, a GEMV) and attention
matmuls with heads, grouped-query and multi-query KV heads. Hierarchies: DRAM + GLB + per-PE
RF (weight-stationary 4x4), DRAM + GLB only (output-stationary 2x8), DRAM + GLB + an RF that
bypasses the inputs (row-stationary 4x4), DRAM + GLB with a flexible 2x4 array of 2-lane PEs.
Capacities and bandwidths are small so that tiling and order decisions matter.

On the same cases, the loop-order refinement the search skips when it has proven its best
(no tiling's bounds can win) is checked to change no result.
"""

from __future__ import annotations

import functools

import pytest

from codesign.compiler.mapper import _map_canonical
from codesign.compiler.mapspace import Mapspace, exhaustive
from codesign.compiler.policy import SchedulePolicy, metric, objective_keys
from codesign.compiler.spatial import dim_classes
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload.ir import ROLES, Layer
from codesign.workload.ops import conv2d, linear, matmul

ALL = ("weights", "inputs", "outputs")
CLOCK, NODE = 500e6, 28


def hierarchy(dataflow: str, rows: int, cols: int, lanes: int, glb: int, rf: int | None,
              rf_holds: tuple[str, ...] = ALL) -> Accelerator:
    levels = [make_level("DRAM", "dram", True, None, 2e9, None, ALL, True, "LPDDR4", CLOCK, NODE),
              make_level("GLB", "sram", True, glb, None, 16, ALL, True, None, CLOCK, NODE)]
    if rf is not None:
        levels.append(make_level("RF", "regfile", False, rf, None, None, rf_holds, True, None, CLOCK, NODE))
    return Accelerator(rows, cols, lanes, dataflow, "int8", CLOCK, NODE, tuple(levels), tech.mac_energy_pj("int8", NODE))


HIERARCHIES = {
    "ws_dram_glb_rf": hierarchy("weight_stationary", 4, 4, 1, glb=1024, rf=32),
    "os_dram_glb": hierarchy("output_stationary", 2, 8, 1, glb=512, rf=None),
    "rs_rf_bypasses_inputs": hierarchy("row_stationary", 4, 4, 1, glb=1024, rf=24, rf_holds=("weights", "outputs")),
    "flex_lanes_dram_glb": hierarchy("flexible", 2, 4, 2, glb=1024, rf=None),
}


def _conv(name: str, batch: int = 1, **shape: object) -> Layer:
    return conv2d(name, {"W": 1, "S": 1, **shape}, batch, 1)


LAYERS = [
    _conv("conv1d_k3", C=2, K=8, H=6, R=3),
    _conv("conv1d_pad", C=4, K=4, H=6, R=3, pad=[1, 0]),
    _conv("conv1x1", C=4, K=8, H=4),
    _conv("conv_stride2", C=2, K=8, H=9, R=3, stride=2),
    _conv("conv_k5", C=2, K=4, H=8, R=5),
    conv2d("conv2d_2x2", {"C": 2, "K": 2, "H": 3, "W": 3, "R": 2, "S": 2}, 1, 1),
    _conv("depthwise_k3", C=8, K=8, H=6, R=3, groups=8),
    _conv("depthwise_stride2", C=4, K=4, H=9, R=3, groups=4, stride=2),
    _conv("grouped_conv", C=4, K=8, H=4, R=3, pad=[1, 0], groups=2),
    _conv("conv_batch2", batch=2, C=2, K=4, H=4, R=3),
    _conv("conv_dilation2", C=2, K=4, H=8, R=3, dilation=2),
    linear("gemm_16", {"in": 16, "out": 16, "tokens": 16}, 1, 1),
    linear("gemm_32x8x12", {"in": 12, "out": 8, "tokens": 32}, 1, 1),
    linear("gemv_64x32", {"in": 64, "out": 32}, 1, 1),
    linear("gemm_odd", {"in": 18, "out": 10, "tokens": 6}, 1, 1),
    matmul("attention_qk", {"M": 4, "N": 8, "K": 4, "heads": 2}, 1, 1),
    matmul("attention_gqa", {"M": 4, "N": 4, "K": 2, "heads": 4, "kv_heads": 2}, 1, 1),
    matmul("attention_mqa", {"M": 2, "N": 8, "K": 4, "heads": 4, "kv_heads": 1}, 1, 1),
    matmul("attention_decode", {"M": 1, "N": 16, "K": 8, "heads": 4, "kv_heads": 2}, 1, 1),
    matmul("attention_batch2", {"M": 2, "N": 4, "K": 4, "heads": 2}, 2, 1),
]
OBJECTIVES = ("energy", "latency", "edp", "latency,energy")
TOLERANCE = 0.01


@functools.lru_cache(maxsize=None)
def reference(hier: str, layer: Layer, policy: SchedulePolicy = SchedulePolicy()) -> Mapspace:
    return exhaustive(layer, HIERARCHIES[hier], policy)


def gap(space: Mapspace, layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple[float, float]:
    """(relative gap of the primary value, of the secondary value when the primary ties)."""
    i, _ = space.best(policy.objective)
    got = _map_canonical(layer, acc, policy)
    first, second = objective_keys(policy.objective)
    best_p = float(metric(space.energy_pj[i], space.cycles[i], first))
    best_s = float(metric(space.energy_pj[i], space.cycles[i], second))
    p, s = float(metric(got.energy_pj, got.cycles, first)), float(metric(got.energy_pj, got.cycles, second))
    return p / best_p - 1, (s / best_s - 1 if abs(p / best_p - 1) <= 1e-9 else 0.0)


@pytest.mark.parametrize("hier", sorted(HIERARCHIES))
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_mapper_reaches_the_exhaustive_optimum(hier: str, layer: Layer) -> None:
    acc = HIERARCHIES[hier]
    space = reference(hier, layer)
    assert space.size > 0
    for objective in OBJECTIVES:
        primary, secondary = gap(space, layer, acc, SchedulePolicy(objective=objective))
        assert -1e-9 <= primary <= TOLERANCE, f"{objective}: {primary:.3%} from the optimum"
        assert secondary <= TOLERANCE, f"{objective}: tie on the first value, second {secondary:.3%} from the optimum"


@pytest.mark.parametrize("stationary", ["weights", "outputs"])
@pytest.mark.parametrize("layer", [LAYERS[0], LAYERS[6], LAYERS[11], LAYERS[16]], ids=lambda layer: layer.name)
def test_constrained_orders_reach_the_constrained_optimum(layer: Layer, stationary: str) -> None:
    hier = "ws_dram_glb_rf"
    policy = SchedulePolicy(objective="energy", stationary=stationary)
    space = reference(hier, layer, policy)
    primary, _ = gap(space, layer, HIERARCHIES[hier], policy)
    assert -1e-9 <= primary <= TOLERANCE
    mapping = _map_canonical(layer, HIERARCHIES[hier], policy).mapping
    ignored = [not r for r in layer.tensors[ROLES.index(stationary)].relevant(len(layer.dims))]  # type: ignore[arg-type]
    for lv, order in enumerate(mapping.order):
        flags = [ignored[d] for d in order if mapping.temporal[lv][d] > 1]
        assert flags == sorted(flags, reverse=True), f"level {lv}: {order}"


def test_narrowed_unrolling_reaches_its_optimum() -> None:
    hier, layer = "flex_lanes_dram_glb", LAYERS[11]
    policy = SchedulePolicy(objective="edp", spatial_rows="reduction", spatial_cols="outch")
    space = reference(hier, layer, policy)
    primary, _ = gap(space, layer, HIERARCHIES[hier], policy)
    assert -1e-9 <= primary <= TOLERANCE
    m = _map_canonical(layer, HIERARCHIES[hier], policy).mapping
    classes = dim_classes(layer)
    assert all(classes[d] == "reduction" for d, f in enumerate(m.rows) if f > 1)
    assert all(classes[d] == "outch" for d, f in enumerate(m.cols) if f > 1)


def test_skipping_refinement_of_a_proven_best_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search skips the loop-order refinement when no tiling's bounds can beat the best mapping
    (:meth:`codesign.compiler.search._Pairs.none_can_win`): every layer, hierarchy and objective
    above maps to the same energy and cycles with the refinement forced, and the skip happens."""
    from codesign.compiler import search as search_module

    cases = [(h, layer, SchedulePolicy(objective=o)) for h in sorted(HIERARCHIES) for layer in LAYERS for o in OBJECTIVES]
    cases += [("ws_dram_glb_rf", layer, SchedulePolicy(objective=o, stationary=t))      # loop orders constrained
              for layer in LAYERS for o in ("energy", "latency") for t in ("weights", "outputs")]
    proven = [_map_canonical(layer, HIERARCHIES[h], policy) for h, layer, policy in cases]
    monkeypatch.setattr(search_module._Pairs, "none_can_win", lambda self, found: False)
    refined = [_map_canonical(layer, HIERARCHIES[h], policy) for h, layer, policy in cases]
    for (h, layer, policy), a, b in zip(cases, proven, refined):
        assert (a.energy_pj, a.cycles) == (b.energy_pj, b.cycles), (h, layer.name, policy)
    skipped = sum(a.candidates < b.candidates for a, b in zip(proven, refined))
    assert skipped >= len(cases) // 10, f"refinement skipped in {skipped} of {len(cases)} searches"
