"""Fidelity levels: analytical, simulated, auto — evaluate, search, outputs, errors.

The simulated numbers are recomputed here from the layers' simulations (sum of cycles x count
plus the vector operators' cycles, over the clock; leakage over that time), independently of
flow.simulate_design's aggregation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codesign import api
from codesign.cli import app
from codesign.sim.fidelity import design_timing, simulate_layer
from tests.test_bad_input import assert_user_error, write_space

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
DESIGN = {"hardware.technology": 22.0, "hardware.clock": 500e6, "hardware.array.rows": 8, "hardware.array.cols": 8,
          "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.bandwidth": 12.8e9,
          "hardware.memory.GLB.size": 32768, "hardware.memory.RF.size": 64}
SETS = [x for k, v in {"hardware.technology": "22nm", "hardware.clock": "500MHz", "hardware.array.rows": "8",
                       "hardware.array.cols": "8", "hardware.array.dataflow": "weight_stationary",
                       "hardware.memory.DRAM.bandwidth": "12.8GB/s", "hardware.memory.GLB.size": "32KiB",
                       "hardware.memory.RF.size": "64B"}.items() for x in ("--set", f"{k}={v}")]
runner = CliRunner()


def test_simulated_design_recomputed_from_layers() -> None:
    space = api.load_space(TINY)
    ana = api.evaluate(space, DESIGN)
    sim = api.evaluate(space, DESIGN, fidelity="simulated")
    assert ana.analytical is None and sim.analytical is not None
    assert sim.analytical.metrics == ana.metrics
    acc = sim.accelerator
    timing = design_timing(acc, sim.design)
    for w, a in zip(sim.workloads, ana.workloads):
        cycles = sum(simulate_layer(lr, acc, timing).cycles * lr.layer.count for lr in a.layers)
        cycles += sum(v.cycles * v.op.count for v in a.vector_ops)
        assert w.latency_s == pytest.approx(cycles / acc.clock_hz, rel=1e-12)
        dynamic = a.energy_j - acc.leakage_w * a.latency_s
        assert w.energy_j == pytest.approx(dynamic + acc.leakage_w * w.latency_s, rel=1e-12)
        assert w.latency_s >= a.latency_s * (1 - 1e-9)
    assert sim.metrics["latency"] == pytest.approx(sum(w.latency_s for w in sim.workloads) / len(sim.workloads))


def test_evaluate_cli_shows_the_gap() -> None:
    out = runner.invoke(app, ["evaluate", str(TINY), *SETS, "--fidelity", "simulated", "--json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.stdout)
    assert rec["fidelity"] == "simulated"
    for w in rec["workloads"]:
        assert w["gap"] == pytest.approx(w["latency_s"] / w["analytical_latency_s"] - 1)
        for lr in w["layers"]:
            assert lr["gap"] == pytest.approx(lr["cycles"] / lr["analytical_cycles"] - 1)
    table = runner.invoke(app, ["evaluate", str(TINY), *SETS, "--fidelity", "simulated"])
    assert table.exit_code == 0 and "simulated; analytical" in table.stdout
    plain = json.loads(runner.invoke(app, ["evaluate", str(TINY), *SETS, "--json"]).stdout)
    assert plain["fidelity"] == "analytical" and "analytical_cycles" not in plain["workloads"][0]["layers"][0]


def test_bad_fidelity_flag() -> None:
    assert_user_error(runner.invoke(app, ["evaluate", str(TINY), *SETS, "--fidelity", "exact"]), "--fidelity",
                      ("unknown fidelity 'exact'", "analytical, simulated, auto"))


def test_bad_fidelity_in_space(tmp_path: Path) -> None:
    path = write_space(tmp_path, "  seed: 0\n", "  seed: 0\n  fidelity: exact\n")
    assert_user_error(runner.invoke(app, ["validate", str(path)]), f"{path}:", ("search.fidelity",))


@pytest.mark.parametrize("fidelity", ["analytical", "simulated", "auto"])
def test_search_with_each_fidelity(tmp_path: Path, fidelity: str) -> None:
    space = api.load_space(TINY)
    result = api.search(space, trials=5, runs_dir=tmp_path, fidelity=fidelity, with_report=False)
    assert result.pareto
    front = json.loads((result.run_dir / "pareto.json").read_text())
    summary = (result.run_dir / "summary.md").read_text()
    assert f"- fidelity: {fidelity} (" in summary
    if fidelity == "analytical":
        assert all("simulated" not in d for d in front) and "Simulated latency" not in summary
        return
    assert all("simulated" in d for d in front) and "Simulated latency" in summary
    for d in front:
        sim = d["simulated"]
        if fidelity == "simulated":   # the trial's own numbers are the simulator's
            assert d["metrics"]["latency"] == sim["metrics"]["latency"]
        else:                         # auto: the search's are analytical
            assert d["metrics"]["latency"] == sim["analytical"]["metrics"]["latency"]
        for w in sim["workloads"].values():
            assert w["simulated_latency_s"] >= w["analytical_latency_s"] * (1 - 1e-9)
            assert {lr["layer"] for lr in w["layers"]} == {"conv1", "conv2", "dw", "fc"}
