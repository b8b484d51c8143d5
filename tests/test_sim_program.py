"""Tile programs (codesign/sim/program.py) by hand and against the analytical model's counts.

Hand cases: a 1-D convolution (10 input rows, 3-tap filter, 8 outputs) tiled 4 x 2 and, padded,
3 x 3 outputs per tile: the input rows each tile adds, the outputs it stores, the MAC steps,
and the resulting pipeline traced by hand.

Against the analytical model (Timeloop's access counting, checked on Timeloop's reference
cases in tests/test_timeloop_cases.py): for mappings without padding the program moves exactly
the bytes the model charges DRAM; with unbounded bandwidth, no latency and no fill/drain the
simulator equals the model's latency on compute-bound layers; with finite bandwidth it is never
faster.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from codesign.compiler.mapper import SchedulePolicy, map_layer, result_from_cost
from codesign.compiler.mapping import Mapping
from codesign.cost.analytical import evaluate
from codesign.cost.roofline import bytes_per_instance
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.sim.events import simulate
from codesign.sim.program import build_program
from codesign.sim.timing import Timing, dram_timing
from codesign.workload.ops import conv2d
from codesign.workload.zoo import load_model

ALL = ("weights", "inputs", "outputs")


def accelerator(rows: int = 8, cols: int = 8, glb: int = 64 * 1024, rf: int = 64, dram_bw: float = 12.8e9,
                dataflow: str = "weight_stationary", double: bool = True) -> Accelerator:
    clock, node = 500e6, 28
    levels = (make_level("DRAM", "dram", True, None, dram_bw, None, ALL, True, "LPDDR4", clock, node),
              make_level("GLB", "sram", True, glb, None, 64, ALL, double, None, clock, node),
              make_level("RF", "regfile", False, rf, None, None, ALL, True, None, clock, node))
    return Accelerator(rows, cols, 1, dataflow, "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


def conv1d_result(dram_p: int, glb_p: int):
    """conv2d C=K=1, H=10, W=1, R=3, S=1 (P=8): DRAM loop P<dram_p>, GLB loops R3 P<glb_p>."""
    layer = conv2d("c", {"C": 1, "K": 1, "H": 10, "W": 1, "R": 3, "S": 1}, 1, 1)
    acc = accelerator(rows=1, cols=1)
    D = len(layer.dims)
    p, r = layer.dims.index("P"), layer.dims.index("R")
    dram, glb = [1] * D, [1] * D
    dram[p], glb[p], glb[r] = dram_p, glb_p, 3
    order = tuple(range(D))
    m = Mapping(layer.dims, ("DRAM", "GLB", "RF"), (tuple(dram), tuple(glb), (1,) * D), (order,) * 3,
                (1,) * D, (1,) * D, (1,) * D, 2)
    return result_from_cost(layer, m, acc, evaluate(layer, acc, m.to_nest()), 0, 1, 1), acc


def test_conv1d_tiles_by_hand() -> None:
    """Tiles of 2 outputs need rows [2t, 2t + 4): the first loads 4 rows and the 3 weights,
    every later one the 2 rows new to it; each stores its 2 final outputs; 2 x 3 MAC steps."""
    result, acc = conv1d_result(4, 2)
    prog = build_program(result, acc)
    assert prog.factors == (4,)
    assert prog.loads[:, 0].tolist() == [3, 0, 0, 0]
    assert prog.loads[:, 1].tolist() == [4, 2, 2, 2]
    assert prog.stores.tolist() == [2, 2, 2, 2] and prog.final.all()
    assert prog.mac_steps.tolist() == [6, 6, 6, 6]
    assert prog.slots == 2


def test_padded_edge_tile_is_smaller() -> None:
    """3 x 3 = 9 > 8 outputs: the last tile holds outputs 6-7 only (rows 6-9, 2 new), 2 x 3 MAC
    steps; every input row is loaded once (10 in all)."""
    result, acc = conv1d_result(3, 3)
    prog = build_program(result, acc)
    assert prog.loads[:, 1].tolist() == [5, 3, 2]
    assert prog.stores.tolist() == [3, 3, 2]
    assert prog.mac_steps.tolist() == [9, 9, 6]


def test_conv1d_pipeline_by_hand() -> None:
    """The padded program at 1 B/cycle, one engine, no latency (loads 3+5, 3, 2; compute 9, 9, 6;
    stores 3, 3, 2): load0 [0,8) load1 [8,11) c0 [8,17) s0 [17,20) load2 (slot of tile 0, free
    at 20) [20,22) c1 [17,26) s1 [26,29) c2 [26,32) s2 [32,34): 34 cycles."""
    result, acc = conv1d_result(3, 3)
    assert simulate(build_program(result, acc), Timing(1.0, 0, 1, 1, 0)).cycles == 34


def test_partial_sums_are_stored_and_reloaded() -> None:
    """A reduction split at DRAM (C outer, K inner): K tiles are left with partial sums (4-byte
    accumulators) and read back on the next C iteration; the last C pass stores 1-byte outputs."""
    layer = conv2d("c", {"C": 4, "K": 4, "H": 1, "W": 1, "R": 1}, 1, 1)
    acc = accelerator(rows=1, cols=1)
    D = len(layer.dims)
    c, k = layer.dims.index("C"), layer.dims.index("K")
    dram, glb = [1] * D, [1] * D
    dram[c], dram[k], glb[c], glb[k] = 2, 2, 2, 2
    order = tuple([k, c] + [d for d in range(D) if d not in (k, c)])   # innermost first: K, then C
    m = Mapping(layer.dims, ("DRAM", "GLB", "RF"), (tuple(dram), tuple(glb), (1,) * D), (order,) * 3,
                (1,) * D, (1,) * D, (1,) * D, 2)
    prog = build_program(result_from_cost(layer, m, acc, evaluate(layer, acc, m.to_nest()), 0, 1, 1), acc)
    # steps (c, k): (0,0) (0,1) (1,0) (1,1); output tiles of 2 words
    assert prog.stores.tolist() == [8, 8, 2, 2]
    assert prog.final.tolist() == [False, False, True, True]
    assert prog.loads[:, 2].tolist() == [0, 0, 8, 8]
    assert prog.prev_store.tolist() == [-1, -1, 0, 1]


CASES = [(layer, acc) for layer in load_model("resnet18").layers[:5] + load_model("mobilenetv2").layers[:5]
         for acc in (accelerator(), accelerator(glb=16 * 1024, dram_bw=3.2e9), accelerator(16, 4, 256 * 1024))]
POLICY = SchedulePolicy(objective="edp", candidates=200)


def mapped(layer, acc):
    result = map_layer(layer, acc, POLICY)
    return result, build_program(result, acc)


@pytest.mark.parametrize("layer,acc", CASES, ids=lambda x: getattr(x, "name", None) or "acc")
def test_program_bytes_equal_analytical_dram_bytes(layer, acc) -> None:
    """Unpadded mappings: the program loads and stores exactly the DRAM bytes the model counts.
    Padded ones: never more (the program moves real data only, the model charges the padding)."""
    result, prog = mapped(layer, acc)
    cost = evaluate(layer, acc, result.mapping.to_nest())
    moved, counted = prog.loads.sum() + prog.stores.sum(), bytes_per_instance(layer, acc, cost, 0)[0]
    if result.mapping.bounds() != layer.bounds:
        assert moved <= counted * (1 + 1e-12)
        return
    assert moved == pytest.approx(counted, rel=1e-12)
    assert int(prog.mac_steps.sum()) == result.compute_cycles


@pytest.mark.parametrize("layer,acc", CASES, ids=lambda x: getattr(x, "name", None) or "acc")
def test_against_analytical_latency(layer, acc) -> None:
    """Unbounded DRAM, no latency, no fill/drain: equal to the model when compute binds (and
    never faster otherwise); real DRAM timing: never faster than the model."""
    result, prog = mapped(layer, acc)
    padded = result.mapping.bounds() != layer.bounds
    ideal = simulate(prog, Timing(None)).cycles
    inner = max([c for n, c in result.level_cycles.items() if n != "DRAM"] + [0.0])
    if not padded and inner <= result.compute_cycles:
        assert ideal == result.compute_cycles
    real = simulate(prog, dram_timing(acc))
    if not padded:
        assert real.cycles >= math.floor(result.cycles)
    assert real.cycles >= real.bound_cycles


def test_some_cases_are_compute_bound_and_unpadded() -> None:
    """The equality above is exercised (it is not vacuous)."""
    hits = 0
    for layer, acc in CASES:
        result, _ = mapped(layer, acc)
        inner = max(c for n, c in result.level_cycles.items() if n != "DRAM")
        hits += result.mapping.bounds() == layer.bounds and inner <= result.compute_cycles
    assert hits >= 5


def test_double_buffering_hides_loads() -> None:
    """The same mapping with a single-slot GLB is never faster, and slower when there is more than one tile."""
    for layer, acc in CASES[:6]:
        result, prog = mapped(layer, acc)
        t = dram_timing(acc)
        one, two = simulate(prog, t, slots=1).cycles, simulate(prog, t, slots=2).cycles
        assert one >= two
        if prog.n > 2 and np.any(prog.loads.sum(axis=1)[1:] > 0):
            assert one > two
