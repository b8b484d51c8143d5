"""Roofline view (codesign.cost.roofline) against closed forms, and in ``codesign evaluate --json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from codesign.cli import app
from codesign.compiler.mapping import Mapping
from codesign.cost.analytical import evaluate
from codesign.cost.results import LayerResult
from codesign.cost.roofline import bytes_per_instance, layer_roofline, roofline
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload import ops

ALL = ("weights", "inputs", "outputs")
M, N, K = 16, 32, 64                      # Z[M, N] = A[M, K] x W[K, N], int8
LAYER = ops.linear("fc", {"in": K, "out": N, "tokens": M}, 1, 1)
MACS = M * N * K


def accelerator(dram_bpc: float, glb_db: bool = True, rows: int = 1, cols: int = 1) -> Accelerator:
    """DRAM (``dram_bpc`` bytes per cycle) -> 1 MiB GLB (unbounded bandwidth) -> the MAC array."""
    clock, node = 1e9, 28.0
    levels = (make_level("DRAM", "dram", True, None, None, dram_bpc, ALL, True, "LPDDR4", clock, node),
              make_level("GLB", "sram", True, 1 << 20, None, None, ALL, glb_db, None, clock, node))
    return Accelerator(rows, cols, 1, "flexible", "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


def whole_layer_in_glb(rows: tuple[int, ...] = (1,) * 6) -> Mapping:
    """Every temporal loop in the GLB (nothing iterates at DRAM); ``rows`` unrolled over PE rows."""
    bounds = LAYER.bounds
    glb = tuple(b // r for b, r in zip(bounds, rows))
    return Mapping(dims=LAYER.dims, level_names=("DRAM", "GLB"), temporal=((1,) * 6, glb),
                   order=(tuple(range(6)), tuple(range(6))), rows=rows, cols=(1,) * 6, lanes=(1,) * 6,
                   array_above=1)


def result(mapping: Mapping) -> LayerResult:
    return LayerResult(layer=LAYER, mapping=mapping, cycles=0.0, compute_cycles=0.0, level_cycles={}, energy_pj=0.0,
                       level_energy_pj={}, mac_energy_pj=0.0, utilization=0.0, bound="", candidates=1, legal=1)


def test_closed_form_dram_bound():
    """The GLB holds the whole layer, so DRAM moves each operand once and each output once (written
    at operand width): |W| + |A| + |Z| = 2048 + 1024 + 512 bytes; at 0.05 B/cycle that is 71,680
    cycles against 32,768 MAC steps on one MAC unit: DRAM binds."""
    acc = accelerator(dram_bpc=0.05)
    roof = layer_roofline(result(whole_layer_in_glb()), acc)
    dram = roof.levels[0]
    words = K * N + M * K + M * N
    assert dram.bytes == dram.bytes_per_instance == words
    assert dram.cycles == pytest.approx(words / 0.05)
    assert dram.macs_per_byte == pytest.approx(MACS / words)
    assert dram.ridge_macs_per_byte == pytest.approx(1 / 0.05)           # 1 MAC unit / 0.05 B per cycle
    assert roof.compute_cycles == roof.ideal_compute_cycles == MACS
    assert roof.cycles == pytest.approx(words / 0.05)
    assert roof.bound == "DRAM"
    assert roof.utilization == pytest.approx(MACS / (words / 0.05))
    assert roof.achieved_macs_per_cycle == pytest.approx(MACS / roof.cycles)
    # below the ridge point the level's roof (intensity x bandwidth) is the attainable rate
    assert dram.macs_per_byte < dram.ridge_macs_per_byte
    assert roof.achieved_macs_per_cycle == pytest.approx(dram.macs_per_byte * 0.05)
    glb = roof.levels[1]
    assert glb.bytes_per_cycle is None and glb.cycles == 0 and glb.ridge_macs_per_byte is None


def test_closed_form_compute_bound_on_an_array():
    """Same traffic at 64 B/cycle (56 cycles); M unrolled over 4 PE rows: 8,192 MAC steps on 4 units."""
    acc = accelerator(dram_bpc=64.0, rows=4)
    roof = layer_roofline(result(whole_layer_in_glb(rows=(1, 1, 1, 4, 1, 1))), acc)
    assert roof.bound == "compute"
    assert roof.compute_cycles == roof.cycles == MACS / 4
    assert roof.ideal_compute_cycles == MACS / 4
    assert roof.peak_macs_per_cycle == 4 and roof.utilization == pytest.approx(1.0)
    assert roof.levels[0].cycles == pytest.approx((K * N + M * K + M * N) / 64)
    assert roof.levels[0].ridge_macs_per_byte == pytest.approx(4 / 64)


def test_serial_level_adds_to_compute():
    """A level that is not double buffered adds its transfer time to compute (no overlap)."""
    acc = accelerator(dram_bpc=64.0)
    levels = (acc.levels[0], make_level("GLB", "sram", True, 1 << 20, None, 8.0, ALL, False, None, 1e9, 28.0))
    acc = Accelerator(1, 1, 1, "flexible", "int8", 1e9, 28.0, levels, acc.mac_pj)
    roof = layer_roofline(result(whole_layer_in_glb()), acc)
    glb = roof.levels[1]
    assert not glb.double_buffered and glb.cycles > 0
    assert roof.serial_cycles == pytest.approx(MACS + glb.cycles)
    assert roof.cycles == pytest.approx(roof.serial_cycles)
    assert roof.bound == "compute"


def test_rows_of_a_batch_agree_with_the_cost_batch():
    """For any mapping: bytes / bandwidth is the batch's level cycles exactly, utilization and
    latency are the batch's, and the bound is the level with the largest cycles when it exceeds
    the serial path."""
    rng = np.random.default_rng(0)
    acc = accelerator(dram_bpc=2.0)
    from codesign.cost.random_nest import random_nests

    nest = random_nests(LAYER.bounds, 2, (1, 2), (1, 1), 200, rng)
    cost = evaluate(LAYER, acc, nest)
    for i in range(nest.size):
        roof = roofline(LAYER, acc, cost, i)
        per_instance = bytes_per_instance(LAYER, acc, cost, i)
        assert per_instance[0] / 2.0 == cost.level_cycles[i, 0]
        assert roof.cycles == cost.cycles[i] and roof.compute_cycles == cost.compute_cycles[i]
        assert roof.utilization == pytest.approx(cost.utilization[i])
        assert roof.cycles == max(roof.serial_cycles, *(lv.cycles for lv in roof.levels if lv.double_buffered))
        want = "DRAM" if cost.level_cycles[i, 0] > roof.serial_cycles else "compute"
        assert roof.bound == want


EDGE = Path(__file__).resolve().parents[1] / "spaces" / "edge.yaml"
SET_ARGS = ["--set", "hardware.technology=28nm", "--set", "hardware.clock=500MHz", "--set", "hardware.array.rows=16",
            "--set", "hardware.array.cols=16", "--set", "hardware.array.dataflow=weight_stationary",
            "--set", "hardware.memory.DRAM.bandwidth=25.6GB/s", "--set", "hardware.memory.DRAM.dram_type=LPDDR4",
            "--set", "hardware.memory.GLB.size=256KiB", "--set", "hardware.memory.GLB.bytes_per_cycle=64",
            "--set", "hardware.memory.PE_RF.size=64B", "--set", "schedule.objective=edp"]


def _not_json(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")


def test_evaluate_json_has_a_roofline_per_layer():
    out = CliRunner().invoke(app, ["evaluate", str(EDGE), *SET_ARGS, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output, parse_constant=_not_json)
    for w in data["workloads"]:
        for layer in w["layers"]:
            roof = layer["roofline"]
            assert {"compute_cycles", "cycles", "bound", "utilization", "levels"} <= set(roof)
            assert roof["cycles"] == pytest.approx(layer["cycles"])
            assert roof["compute_cycles"] == pytest.approx(layer["compute_cycles"])
            assert roof["utilization"] == pytest.approx(layer["utilization"])
            assert set(roof["levels"]) == set(layer["level_cycles"])
            for name, lv in roof["levels"].items():
                assert lv["cycles"] == pytest.approx(layer["level_cycles"][name])
                if lv["bytes"]:
                    assert lv["macs_per_byte"] == pytest.approx(layer["macs"] / lv["bytes"])
            assert roof["bound"] == "compute" or roof["levels"][roof["bound"]]["cycles"] == pytest.approx(roof["cycles"])
