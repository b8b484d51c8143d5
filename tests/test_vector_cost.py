"""Vector-unit cost of non-MAC operators against closed forms."""

import pytest

from codesign.cost.vector import evaluate_vector
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload.ir import VectorOp
from codesign.workload.ops import OPS

ALL = ("weights", "inputs", "outputs")


def accelerator(lanes=16, dram_bw=12.8e9, glb_bpc=64):
    clock, node = 1e9, 28
    levels = (make_level("DRAM", "dram", True, None, dram_bw, None, ALL, True, "LPDDR4", clock, node),
              make_level("GLB", "sram", True, 256 * 1024, None, glb_bpc, ALL, True, None, clock, node))
    return Accelerator(16, 16, 1, "weight_stationary", "int8", clock, node, levels,
                       tech.mac_energy_pj("int8", node), vector_lanes=lanes)


def test_streaming_op_is_bandwidth_bound_with_closed_form_energy():
    acc = accelerator()
    op = VectorOp("add", "add", elements=1000, ops_per_element=1, input_elements=2000)
    r = evaluate_vector(op, acc)
    moved = 3000                                        # int8: 2000 in + 1000 out bytes
    assert r.level_bytes == {"DRAM": moved, "GLB": moved}
    assert r.cycles == pytest.approx(moved / 12.8)      # 12.8 GB/s at 1 GHz = 12.8 B/cycle
    assert r.bound == "DRAM"
    dram, glb = acc.levels[0].access_pj_per_byte, acc.levels[1].access_pj_per_byte
    assert r.energy_pj == pytest.approx(moved * (dram + glb) + 1000 * acc.vector_op_pj)


def test_fused_op_skips_dram_and_is_compute_bound():
    acc = accelerator(lanes=4)
    op = VectorOp("relu", "relu", elements=4096, ops_per_element=1, input_elements=4096, fused=True)
    r = evaluate_vector(op, acc)
    assert "DRAM" not in r.level_bytes
    assert r.cycles == pytest.approx(max(4096 / 4, 8192 / 64))
    assert r.bound == "vector"


def test_pool_counts():
    pool = OPS["maxpool"]("pool", {"C": 64, "H": 112, "R": 3, "stride": 2, "pad": 1}, 2, 1)
    assert pool.elements == 2 * 64 * 56 * 56            # floor((112 + 2 - 3) / 2) + 1 = 56
    assert pool.ops_per_element == 9
    gap = OPS["globalavgpool"]("gap", {"C": 512, "H": 7}, 1, 1)
    assert (gap.elements, gap.ops) == (512, 512 * 49)
