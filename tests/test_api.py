"""The public Python API and the evaluate/schema commands, on the shipped edge space."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

import codesign
from codesign.cli import app
from codesign.spec.params import search_domains

ROOT = Path(__file__).resolve().parents[1]
EDGE = ROOT / "spaces" / "edge.yaml"
DESIGN = {
    "hardware.technology": 28.0, "hardware.clock": 500e6, "hardware.array.rows": 16, "hardware.array.cols": 16,
    "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.bandwidth": 25.6e9,
    "hardware.memory.DRAM.dram_type": "LPDDR4", "hardware.memory.GLB.size": 262144,
    "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": 64, "schedule.objective": "edp",
}
SET_ARGS = ["--set", "hardware.technology=28nm", "--set", "hardware.clock=500MHz", "--set", "hardware.array.rows=16",
            "--set", "hardware.array.cols=16", "--set", "hardware.array.dataflow=weight_stationary",
            "--set", "hardware.memory.DRAM.bandwidth=25.6GB/s", "--set", "hardware.memory.DRAM.dram_type=LPDDR4",
            "--set", "hardware.memory.GLB.size=256KiB", "--set", "hardware.memory.GLB.bytes_per_cycle=64",
            "--set", "hardware.memory.PE_RF.size=64B", "--set", "schedule.objective=edp"]


@pytest.fixture(scope="module")
def space():
    return codesign.load_space(EDGE)


def test_edge_space_matches_its_brief(space):
    hw = space.hardware
    doms = search_domains(space)
    assert hw.precision.value == "int8"
    assert doms["hardware.array.rows"].values() == (8, 16, 32, 64)
    assert len(doms["hardware.array.dataflow"].options) >= 3
    glb = doms["hardware.memory.GLB.size"]
    assert (glb.low, glb.high) == (32 * 1024, 4 * 1024 * 1024)
    assert (doms["hardware.clock"].low, doms["hardware.clock"].high) == (200e6, 1e9)
    assert set(doms["hardware.technology"].options) <= {22.0, 28.0}
    assert {w.model for w in space.workloads} == {"resnet18", "mobilenetv2"}
    assert {c.metric for c in space.constraints} >= {"area", "power"}


def test_evaluate_returns_per_workload_and_per_layer(space):
    r = codesign.evaluate(space, DESIGN)
    assert [w.name for w in r.workloads] == ["resnet18", "mobilenetv2"]
    for w in r.workloads:
        assert sum(lr.layer.macs * lr.layer.count for lr in w.layers) == w.macs
        # latency can never beat the compute roofline (MACs at peak rate)
        assert w.latency_s >= w.roofline_s * (1 - 1e-12)
        assert 0 < w.utilization <= 1
        assert w.utilization == pytest.approx(w.roofline_s / w.latency_s)
    assert r.metrics["area"] == pytest.approx(sum(r.accelerator.area_breakdown_mm2.values()))
    assert r.metrics["edp"] == pytest.approx(
        sum(w.energy_j * w.latency_s for w in r.workloads) / len(r.workloads))


def test_evaluate_cli_json_matches_api(space):
    out = CliRunner().invoke(app, ["evaluate", str(EDGE), *SET_ARGS, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    api = codesign.evaluate(space, DESIGN)
    assert data["metrics"]["latency"] == pytest.approx(api.metrics["latency"])
    assert len(data["workloads"][1]["layers"]) == len(api.workloads[1].layers)


def test_evaluate_cli_table():
    out = CliRunner().invoke(app, ["evaluate", str(EDGE), *SET_ARGS])
    assert out.exit_code == 0, out.output
    assert "resnet18" in out.output and "utilization" in out.output


def test_schema_validates_the_shipped_spaces():
    out = CliRunner().invoke(app, ["schema"])
    assert out.exit_code == 0
    schema = json.loads(out.output)
    for path in [EDGE, ROOT / "tests" / "data" / "tiny.yaml"]:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**yaml.safe_load(EDGE.read_text()), "extra": 1}, schema)


def test_validate_lists_parameters():
    out = CliRunner().invoke(app, ["validate", str(EDGE)])
    assert out.exit_code == 0
    assert "hardware.memory.GLB.size" in out.output
