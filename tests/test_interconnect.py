"""The flexible dataflow's reconfigurable interconnect: what it costs over a fixed dataflow.

Expected values come from the cited figures and closed forms, not from the model's output:

- [Q20] SIGMA (Qin et al., HPCA 2020) vs a TPU-like systolic array with the same 128 x 128
  multipliers at the same frequency: 38% more area, 2.0x the power (6x effective TFLOPS at 3x
  effective TFLOPS/W), i.e. one more MAC's worth of energy per MAC;
- Benes network of N = 2^r ports: 2r - 1 stages of 2x2 switches (Chang & Melhem, "Arbitrary
  Size Benes Networks"), built recursively: one input stage and one output stage around two
  N/2-port Benes networks;
- int8 MAC at 22 nm: Horowitz's 0.2 + 0.1 pJ at 45 nm x 0.45 (the 22 nm energy factor of the
  Stillmaker & Baas table in technology.py).
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import codesign
from codesign.cli import app
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.hardware.build import build_accelerator
from codesign.spec.params import resolve_design

ROOT = Path(__file__).resolve().parents[1]
EDGE = ROOT / "spaces" / "edge.yaml"
FIXED = ("weight_stationary", "output_stationary", "input_stationary", "row_stationary")
AREA_OVERHEAD, ENERGY_OVERHEAD, REFERENCE_STAGES = 0.38, 1.0, 27     # [Q20]; 2*log2(16384) - 1


def benes_stages_recursive(ports: int) -> int:
    """Stages of a Benes network built the textbook way (ports rounded up to a power of two)."""
    if ports <= 1:
        return 0
    if ports == 2:
        return 1                                   # a single 2x2 switch
    return benes_stages_recursive((ports + 1) // 2) + 2


def array(rows: int, cols: int, dataflow: str, node: float = 22.0) -> Accelerator:
    levels = (make_level("DRAM", "dram", True, None, 25.6e9, None, ("weights", "inputs", "outputs"), False,
                         "LPDDR4", 500e6, node),
              make_level("GLB", "sram", True, 256 * 1024, None, 64, ("weights", "inputs", "outputs"), True,
                         None, 500e6, node),
              make_level("RF", "regfile", False, 64, None, None, ("weights", "inputs", "outputs"), False,
                         None, 500e6, node))
    return Accelerator(rows, cols, 1, dataflow, "int8", 500e6, node, levels, tech.mac_energy_pj("int8", node))


def pe_array_mm2(acc: Accelerator) -> float:
    """MACs + PE-local buffers + network: the part of the chip the interconnect scales."""
    a = acc.area_breakdown_mm2
    return a["macs"] + a["pe_buffers"] + a["network"]


@pytest.mark.parametrize("ports", [1, 2, 3, 4, 5, 8, 12, 16, 64, 100, 256, 1000, 1024, 4096, 16384, 65536])
def test_benes_stages_match_the_recursive_construction(ports):
    assert tech.benes_stages(ports) == benes_stages_recursive(ports)


@pytest.mark.parametrize("fixed", FIXED)
@pytest.mark.parametrize("rows,cols", [(8, 8), (16, 16), (8, 64), (64, 64)])
def test_flexible_array_area_is_the_fixed_one_times_the_cited_factor(fixed, rows, cols):
    flex, fix = array(rows, cols, "flexible"), array(rows, cols, fixed)
    r = {(8, 8): 6, (16, 16): 8, (8, 64): 9, (64, 64): 12}[(rows, cols)]         # log2(PEs)
    factor = 1 + AREA_OVERHEAD * (2 * r - 1) / REFERENCE_STAGES
    assert pe_array_mm2(flex) == pytest.approx(factor * pe_array_mm2(fix), rel=1e-12)
    assert flex.area_mm2 - fix.area_mm2 == pytest.approx((factor - 1) * pe_array_mm2(fix), rel=1e-12)
    # everything outside the network is the same hardware
    for part in ("macs", "pe_buffers", "shared_buffers"):
        assert flex.area_breakdown_mm2[part] == fix.area_breakdown_mm2[part]


def test_fixed_dataflows_keep_the_ten_percent_network():
    for fixed in FIXED:
        a = array(16, 16, fixed).area_breakdown_mm2
        assert a["network"] == tech.NETWORK_AREA_FRACTION * (a["macs"] + a["pe_buffers"])
        assert array(16, 16, fixed).interconnect_pj_per_mac == 0.0


def test_at_sigmas_array_size_the_overheads_are_sigmas():
    # [Q20]: 128 x 128 multipliers, +38% area, 2.0x power at the same frequency
    flex, ws = array(128, 128, "flexible", 28.0), array(128, 128, "weight_stationary", 28.0)
    assert pe_array_mm2(flex) / pe_array_mm2(ws) == pytest.approx(1.38, rel=1e-12)
    assert (ws.mac_pj + flex.interconnect_pj_per_mac) / ws.mac_pj == pytest.approx(2.0, rel=1e-12)


def test_overhead_grows_by_two_stages_per_doubling_of_pes():
    # closed form: overhead(2N) - overhead(N) = 0.38 * 2 / 27 (area), 1.0 * MAC * 2 / 27 (energy)
    mac = 0.3 * 0.45
    prev = None
    for log2n in range(1, 17):
        n = 2 ** log2n
        area = tech.interconnect_area_overhead("flexible", n)
        energy = tech.interconnect_pj_per_mac("flexible", n, "int8", 22)
        assert area == pytest.approx(AREA_OVERHEAD * (2 * log2n - 1) / REFERENCE_STAGES, rel=1e-12)
        assert energy == pytest.approx(ENERGY_OVERHEAD * mac * (2 * log2n - 1) / REFERENCE_STAGES, rel=1e-12)
        if prev is not None:
            assert area - prev[0] == pytest.approx(AREA_OVERHEAD * 2 / REFERENCE_STAGES, rel=1e-9)
            assert energy - prev[1] == pytest.approx(ENERGY_OVERHEAD * mac * 2 / REFERENCE_STAGES, rel=1e-9)
        prev = (area, energy)
    assert tech.interconnect_area_overhead("flexible", 1) == 0.0          # one PE: nothing to route
    # a non-power-of-two array routes like the next power of two: 12 PEs -> 16 ports -> 7 stages
    assert tech.interconnect_area_overhead("flexible", 12) == pytest.approx(AREA_OVERHEAD * 7 / REFERENCE_STAGES)


def test_unknown_dataflow_is_refused():
    with pytest.raises(ValueError, match="unknown dataflow 'diagonal'"):
        tech.interconnect_area_overhead("diagonal", 64)


DESIGN = {
    "hardware.technology": 22.0, "hardware.clock": 500e6, "hardware.array.rows": 16, "hardware.array.cols": 16,
    "hardware.memory.DRAM.bandwidth": 25.6e9, "hardware.memory.DRAM.dram_type": "LPDDR4",
    "hardware.memory.GLB.size": 262144, "hardware.memory.GLB.bytes_per_cycle": 64,
    "hardware.memory.PE_RF.size": 64, "schedule.objective": "energy",
}


@pytest.fixture(scope="module")
def edge():
    return codesign.load_space(EDGE)


def test_built_flexible_accelerator_pays_energy_per_mac(edge):
    mac = 0.3 * 0.45                                                     # int8 at 22 nm
    flex = build_accelerator(edge, resolve_design(edge, {**DESIGN, "hardware.array.dataflow": "flexible"}))
    assert flex.mac_pj == pytest.approx(mac * (1 + ENERGY_OVERHEAD * 15 / REFERENCE_STAGES), rel=1e-12)
    for fixed in ("weight_stationary", "output_stationary", "row_stationary"):      # edge.yaml's choices
        acc = build_accelerator(edge, resolve_design(edge, {**DESIGN, "hardware.array.dataflow": fixed}))
        assert acc.mac_pj == pytest.approx(mac, rel=1e-12)
        assert flex.mac_pj > acc.mac_pj and flex.area_mm2 > acc.area_mm2


def test_a_space_mac_energy_replaces_the_mac_not_the_network(edge):
    space = edge.model_copy(update={"hardware": edge.hardware.model_copy(
        update={"array": edge.hardware.array.model_copy(update={"mac_energy": 0.5})})})
    flex = build_accelerator(space, resolve_design(space, {**DESIGN, "hardware.array.dataflow": "flexible"}))
    ws = build_accelerator(space, resolve_design(space, {**DESIGN, "hardware.array.dataflow": "weight_stationary"}))
    assert ws.mac_pj == 0.5
    assert flex.mac_pj == pytest.approx(0.5 + 0.3 * 0.45 * 15 / REFERENCE_STAGES, rel=1e-12)


def test_evaluate_cli_shows_the_difference():
    sets = ["--set", "hardware.technology=22nm", "--set", "hardware.clock=500MHz", "--set", "hardware.array.rows=16",
            "--set", "hardware.array.cols=16", "--set", "hardware.memory.DRAM.bandwidth=25.6GB/s",
            "--set", "hardware.memory.DRAM.dram_type=LPDDR4", "--set", "hardware.memory.GLB.size=256KiB",
            "--set", "hardware.memory.GLB.bytes_per_cycle=64", "--set", "hardware.memory.PE_RF.size=64B",
            "--set", "schedule.objective=energy"]
    out = {}
    for dataflow in ("weight_stationary", "flexible"):
        res = CliRunner().invoke(app, ["evaluate", str(EDGE), *sets, "--set", f"hardware.array.dataflow={dataflow}",
                                       "--json"])
        assert res.exit_code == 0, res.output
        out[dataflow] = json.loads(res.output)
    ws, flex = out["weight_stationary"], out["flexible"]
    fixed_array = sum(ws["area_breakdown_mm2"][k] for k in ("macs", "pe_buffers", "network"))
    assert flex["area_mm2"] - ws["area_mm2"] == pytest.approx(AREA_OVERHEAD * 15 / REFERENCE_STAGES * fixed_array,
                                                              rel=1e-9)
    # every layer's MAC energy (one occurrence) is its MACs x (MAC + interconnect) energy
    for dataflow, per_mac in (("weight_stationary", 0.3 * 0.45),
                              ("flexible", 0.3 * 0.45 * (1 + ENERGY_OVERHEAD * 15 / REFERENCE_STAGES))):
        for w in out[dataflow]["workloads"]:
            for layer in w["layers"]:
                assert layer["mac_energy_pJ"] == pytest.approx(layer["macs"] * per_mac, rel=1e-9)
