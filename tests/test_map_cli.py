"""`codesign map`: one layer's mapping as a loop nest with tiles and costs, as JSON, as a Timeloop
mapping file; and its error messages."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from codesign.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
REFERENCE_MAP = ROOT.parent / "shared" / "reference" / "timeloop" / "ex_simple_ws_conv" / "ref_output" / "timeloop-mapper.map.yaml"

SPACE = """
name: maptest
workloads:
  - model: resnet18
  - model: mobilenetv2
hardware:
  precision: int8
  technology: 28nm
  clock: 800MHz
  array: {rows: 16, cols: 16, dataflow: {choice: [weight_stationary, row_stationary]}}
  memory:
    - {name: DRAM, kind: dram, dram_type: LPDDR4, bandwidth: 25.6GB/s}
    - {name: GLB, kind: sram, size: 256KiB, bytes_per_cycle: 64}
    - {name: PE_RF, kind: regfile, size: {choice: [4B, 64B]}, holds: [weights, outputs]}
schedule:
  objective: edp
  mode: {choice: [auto, fixed]}
objectives: [minimize latency]
"""
DESIGN = ["--set", "hardware.array.dataflow=weight_stationary", "--set", "hardware.memory.PE_RF.size=64B",
          "--set", "schedule.mode=auto"]


@pytest.fixture()
def space(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def run(*args: str):
    return runner.invoke(app, ["map", *map(str, args)])


def test_text_shows_the_loop_nest_tiles_and_costs(space: Path) -> None:
    out = run(space, "--layer", "layer1.0.conv1", *DESIGN)
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "layer1.0.conv1 (resnet18)" in text
    for name in ("DRAM x1 [", "GLB x1 [", "PE_RF x256 [", "<< Compute >>", "(spatial rows)", "(spatial cols)"):
        assert name in text
    assert "Inputs:" not in text.split("PE_RF x256 [")[1].split("]")[0]     # the RF bypasses the inputs
    assert "bound:" in text and "utilization" in text


def test_json_tiles_multiply_out_and_costs_add_up(space: Path) -> None:
    out = run(space, "--layer", "block1.depthwise", "--workload", "mobilenetv2", "--json", *DESIGN)
    assert out.exit_code == 0, out.output
    rec = json.loads(out.stdout)
    assert rec["workload"] == "mobilenetv2" and rec["policy"]["mode"] == "auto"
    for dim, bound in rec["dims"].items():
        loops = [f for lv in rec["levels"] for d, f in lv["loops"] if d == dim]
        spatial = [rec["spatial"][axis].get(dim, 1) for axis in ("rows", "cols", "lanes")]
        assert math.prod(loops) * math.prod(spatial) == rec["padded_dims"][dim] >= bound
    for lv in rec["levels"]:
        if lv["capacity_bytes"]:
            assert lv["used_bytes"] <= lv["capacity_bytes"]
            held = sum(t["bytes"] for t in lv["tiles"].values())
            assert lv["used_bytes"] == pytest.approx(held * (2 if lv["double_buffered"] else 1))
    memory = sum(lv["energy_pJ"] for lv in rec["levels"])
    assert memory + rec["mac_energy_pJ"] == pytest.approx(rec["energy_pJ"])
    assert rec["cycles"] >= rec["compute_cycles"] > 0


def test_fixed_mode_is_the_naive_compiler(space: Path) -> None:
    auto = json.loads(run(space, "--layer", "conv1", "--json", *DESIGN).stdout)
    fixed = json.loads(run(space, "--layer", "conv1", "--json", *DESIGN, "--set", "schedule.mode=fixed").stdout)
    assert fixed["policy"]["mode"] == "fixed" and fixed["mappings_costed"] == 1
    assert fixed["energy_pJ"] * fixed["cycles"] >= auto["energy_pJ"] * auto["cycles"]


def test_timeloop_mapping_has_the_mappers_format(space: Path, tmp_path: Path) -> None:
    target = tmp_path / "conv1.map.yaml"
    out = run(space, "--layer", "conv1", *DESIGN, "--timeloop", target)
    assert out.exit_code == 0, out.output
    directives = yaml.safe_load(target.read_text())["mapping"]
    reference = yaml.safe_load(REFERENCE_MAP.read_text())["mapping"]
    for kind in ("temporal", "spatial", "datatype"):                      # the keys timeloop-mapper writes
        assert {frozenset(d) for d in directives if d["type"] == kind} == {frozenset(d) for d in reference
                                                                           if d["type"] == kind}
    assert [d["target"] for d in directives if d["type"] == "temporal"] == ["PE_RF", "GLB", "DRAM"]
    assert {d["target"] for d in directives if d["type"] == "datatype"} == {"PE_RF"}
    dims = "NGKCPQRS"
    total = dict.fromkeys(dims, 1)
    for d in directives:
        if d["type"] in ("temporal", "spatial"):
            assert sorted(d["permutation"]) == sorted(dims)
            for item in d["factors"].split():
                total[item[0]] *= int(item[1:])
    rec = json.loads(run(space, "--layer", "conv1", "--json", *DESIGN).stdout)
    assert total == rec["padded_dims"]


@pytest.mark.parametrize("args, message", [
    (["--layer", "layer1.0.conv"], "did you mean 'layer1.0.conv1'"),
    (["--layer", "conv1", "--workload", "resnet"], "did you mean 'resnet18'"),
    (["--layer", "layer1.0.relu1"], "vector operator (relu)"),
    (["--layer", "conv1", "--set", "hardware.memory.PE_RF.size=4B"], "unmappable design"),
    (["--layer", "conv1", "--set", "schedule.mode=fixd"], "did you mean 'fixed'"),
])
def test_errors_say_what_to_do(space: Path, args: list[str], message: str) -> None:
    out = run(space, *DESIGN, *args)
    assert out.exit_code == 1
    assert message in out.stderr
    assert "Traceback" not in out.output
