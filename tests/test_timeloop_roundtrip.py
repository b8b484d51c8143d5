"""``codesign map --timeloop-dir`` -> ``codesign timeloop-model``: the round trip reproduces codesign.

The reference is codesign's own evaluation of the chosen mapping (``codesign map --json``);
the reader is the Timeloop bridge, which reproduces Timeloop's outputs on its reference cases
(``tests/test_timeloop_cases.py``, NVlabs timeloop-accelergy-exercises). For conv, strided
conv, depthwise and GEMM layers on designs with and without per-PE levels and MAC lanes, the
cycles, energy and every level's per-tensor reads, fills and updates must be equal (a
differential test: two independently written paths from the same mapping).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from codesign.cli import app

runner = CliRunner()

BASE = """
name: roundtrip
workloads:
  - model: resnet18
  - model: mobilenetv2
hardware:
  precision: {precision}
  technology: 28nm
  clock: 800MHz
  array: {{rows: {rows}, cols: {cols}, macs_per_pe: {lanes}, dataflow: {dataflow}}}
  memory:
{memory}
objectives: [minimize latency]
"""
DRAM = "    - {name: DRAM, kind: dram, dram_type: LPDDR4, bandwidth: 25.6GB/s}"
GLB = "    - {name: GLB, kind: sram, size: 256KiB, bytes_per_cycle: 64}"
RF = "    - {name: PE_RF, kind: regfile, size: 64B, holds: [weights, outputs]}"
DESIGNS = {
    "ws8x8_rf": dict(precision="fp32", rows=8, cols=8, lanes=1, dataflow="weight_stationary", memory=[DRAM, GLB, RF]),
    "flex4x4_lanes4_rf": dict(precision="fp32", rows=4, cols=4, lanes=4, dataflow="flexible", memory=[DRAM, GLB, RF]),
    "os8x4_shared_only": dict(precision="fp32", rows=8, cols=4, lanes=2, dataflow="output_stationary",
                              memory=[DRAM, GLB]),
}
LAYERS = ["layer1.0.conv1", "layer2.0.conv1", "block2.depthwise", "fc"]


def _space(tmp_path: Path, design: str, **changes: object) -> Path:
    values = {**DESIGNS[design], **changes}
    path = tmp_path / f"{design}.yaml"
    path.write_text(BASE.format(**{**values, "memory": "\n".join(values["memory"])}))  # type: ignore[arg-type]
    return path


def _roundtrip(space: Path, layer: str, out: Path) -> tuple[dict, dict]:
    mapped = runner.invoke(app, ["map", str(space), "--layer", layer, "--json", "--timeloop-dir", str(out)])
    assert mapped.exit_code == 0, mapped.output
    model = runner.invoke(app, ["timeloop-model", str(out / "spec.yaml"), "--ert", str(out / "ERT.yaml"),
                                "--mapping", str(out / "mapping.yaml"), "--json"])
    assert model.exit_code == 0, model.output
    return json.loads(mapped.stdout), json.loads(model.stdout)


@pytest.mark.parametrize("design", sorted(DESIGNS))
@pytest.mark.parametrize("layer", LAYERS)
def test_timeloop_model_reads_back_codesigns_evaluation(tmp_path: Path, design: str, layer: str) -> None:
    ours, theirs = _roundtrip(_space(tmp_path, design), layer, tmp_path / "tl")
    padded = math.prod(ours["padded_dims"].values())
    assert theirs["computes"] == padded
    assert theirs["compute"]["cycles"] == ours["compute_cycles"]
    # Timeloop's level cycles are ceil(compute cycles / (bandwidth / demand)) in floating point
    # (buffer.cpp): the ceiling of our exact quotient, or one more when the quotient rounds up past it
    assert math.ceil(ours["cycles"]) <= theirs["cycles"] <= math.ceil(ours["cycles"]) + 1
    # Timeloop counts the padded MACs; codesign charges the layer's real MACs
    mac_pj = ours["mac_energy_pJ"] / ours["macs"]
    assert theirs["energy_pJ"] == pytest.approx(ours["energy_pJ"] + (padded - ours["macs"]) * mac_pj, rel=1e-12)
    assert [lv["name"] for lv in theirs["levels"]] == [lv["name"] for lv in ours["levels"]]
    for mine, tl in zip(ours["levels"], theirs["levels"]):
        assert tl["utilized_instances"] == mine["instances"]
        assert tl["energy_pJ"] == pytest.approx(mine["energy_pJ"], rel=1e-12)
        assert set(tl["tensors"]) == set(mine["traffic_per_instance"])
        for name, traffic in mine["traffic_per_instance"].items():
            t = tl["tensors"][name]
            assert (t["reads_per_instance"], t["fills_per_instance"], t["updates_per_instance"]) == (
                traffic["reads_words"], traffic["fills_words"], traffic["updates_words"]), (mine["name"], name)
            assert t["utilized_capacity"] == mine["tiles"][name]["words"]


def test_a_padded_mapping_pads_the_problem(tmp_path: Path) -> None:
    """10 output channels on 4 columns: the spatial factor pads K to 12 (closed form: 12 / 10 MACs)."""
    model = tmp_path / "tiny.yaml"
    model.write_text("name: tiny\nfamily: cnn\nlayers:\n"
                     "  - {name: conv, op: conv2d, C: 8, K: 10, H: 6, R: 3, pad: 1}\n")
    space = _space(tmp_path, "ws8x8_rf", rows=4, cols=4)
    space.write_text(space.read_text().replace("  - model: resnet18\n  - model: mobilenetv2\n", f"  - model: {model}\n"))
    ours, theirs = _roundtrip(space, "conv", tmp_path / "tl")
    spec = yaml.safe_load((tmp_path / "tl" / "spec.yaml").read_text())
    assert ours["padded_dims"]["K"] == 12 and spec["problem"]["instance"]["M"] == 12
    assert theirs["computes"] == ours["macs"] * 12 // 10
    mac_pj = ours["mac_energy_pJ"] / ours["macs"]
    assert theirs["energy_pJ"] == pytest.approx(ours["energy_pJ"] + ours["macs"] // 10 * 2 * mac_pj, rel=1e-12)


def test_spec_uses_timeloops_names_and_instances(tmp_path: Path) -> None:
    ours, _ = _roundtrip(_space(tmp_path, "flex4x4_lanes4_rf"), "layer2.0.conv1", tmp_path / "tl")
    spec = yaml.safe_load((tmp_path / "tl" / "spec.yaml").read_text())
    shape, instance = spec["problem"]["shape"], spec["problem"]["instance"]
    assert set(shape["dimensions"]) == set("CMRSNPQG")                  # Timeloop's CNN names, plus groups
    assert instance["M"] == 128 and instance["C"] == 64 and instance["Wstride"] == 2 and instance["Hstride"] == 2
    inputs = next(ds for ds in shape["data_spaces"] if ds["name"] == "Inputs")
    assert [["P", "Wstride"], ["R", "Wdilation"]] in inputs["projection"]
    local = spec["architecture"]["subtree"][0]["local"]
    assert [c["name"] for c in local] == ["DRAM[1..1]", "GLB[1..1]", "PE_RF[1..16]", "MAC[1..64]"]
    assert (local[3]["attributes"]["meshX"], local[3]["attributes"]["meshY"]) == (16, 4)   # cols x lanes, rows
    assert local[2]["attributes"]["entries"] == 16 and local[2]["attributes"]["multiple_buffering"] == 2  # 64 B / 4 B
    assert local[1]["attributes"]["shared_bandwidth"] == 16                                # 64 B/cycle / 4 B


@pytest.mark.parametrize("changes, message", [
    ({"precision": "int8"}, "words differ (Weights 1 B, Inputs 1 B, Outputs 4 B"),
    ({"memory": [DRAM, GLB.replace("}", ", double_buffered: false}")]}, "GLB is not double-buffered"),
])
def test_unrepresentable_designs_are_refused(tmp_path: Path, changes: dict, message: str) -> None:
    space = _space(tmp_path, "ws8x8_rf", **changes)
    out = runner.invoke(app, ["map", str(space), "--layer", "conv1", "--timeloop-dir", str(tmp_path / "tl")])
    assert out.exit_code == 1
    assert message in out.stderr and "--timeloop-dir" in out.stderr
    assert "Traceback" not in out.output
