"""Design studies from Python (``codesign.studies``): compare, sweep, compiler gap, front records, tables.

Each study function is checked against independent calls: the records of a sweep against
``codesign.evaluate`` on the same point given in base units, the compiler gap against the
mapper run layer by layer with the fixed policy (the way ``benchmarks/compiler_gap.py`` does),
the front records against a fresh evaluation of each front design. Unit conversions are
closed form (1 KiB = 1024 B, 1 ms = 1e-3 s).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import codesign
from codesign.compiler.mapper import map_layer
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.params import resolve_design
from codesign.workload.zoo import load_model

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
BASE = {"hardware.technology": "28nm", "hardware.clock": "500MHz", "hardware.array.rows": 8,
        "hardware.array.cols": 8, "hardware.array.dataflow": "weight_stationary",
        "hardware.memory.DRAM.bandwidth": "25.6GB/s", "hardware.memory.GLB.size": "64KiB",
        "hardware.memory.RF.size": "64B"}
BASE_SI = {"hardware.technology": 28.0, "hardware.clock": 500e6, "hardware.array.rows": 8,
           "hardware.array.cols": 8, "hardware.array.dataflow": "weight_stationary",
           "hardware.memory.DRAM.bandwidth": 25.6e9, "hardware.memory.GLB.size": 64 * 1024,
           "hardware.memory.RF.size": 64}
METRICS = {"latency_s": "latency", "energy_J": "energy", "edp_Js": "edp", "power_W": "power", "area_mm2": "area",
           "throughput_per_s": "throughput", "utilization": "utilization"}
METRIC_COL = {"latency": "latency_s", "energy": "energy_J", "utilization": "utilization"}


@pytest.fixture(scope="module")
def space():
    return codesign.load_space(TINY)


def test_sweep_grid_in_product_order_and_base_units(space):
    rows = codesign.sweep(space, {"hardware.memory.GLB.size": ["8KiB", "256KiB"], "hardware.array.rows": [4, 16]},
                          fixed=BASE)
    assert [(r["hardware.memory.GLB.size"], r["hardware.array.rows"]) for r in rows] == [
        (8192, 4), (8192, 16), (262144, 4), (262144, 16)]
    # independent: codesign.evaluate on the last point, every value given in base units by hand
    one = codesign.evaluate(space, {**BASE_SI, "hardware.memory.GLB.size": 262144, "hardware.array.rows": 16})
    for col, metric in METRICS.items():
        assert rows[-1][col] == one.metrics[metric], col
    for metric in ("latency", "energy", "utilization"):
        assert rows[-1][f"tiny_model.{METRIC_COL[metric]}"] == one.per_workload["tiny_model"][metric]



def test_sweep_axis_overrides_the_fixed_value(space):
    (rec,) = codesign.sweep(space, {"hardware.array.dataflow": ["output_stationary"]}, fixed=BASE)
    one = codesign.evaluate(space, {**BASE_SI, "hardware.array.dataflow": "output_stationary"})
    base = codesign.evaluate(space, BASE_SI)
    assert rec["latency_s"] == one.metrics["latency"]
    assert one.metrics["latency"] != base.metrics["latency"]   # the override matters on this design


def test_compare_records_side_by_side(space):
    recs = codesign.compare_designs(space, {"ws": BASE, "os": {**BASE, "hardware.array.dataflow": "output_stationary"}})
    assert [r["design"] for r in recs] == ["ws", "os"]
    assert recs[0]["energy_J"] == codesign.evaluate(space, BASE_SI).metrics["energy"]
    assert all(r["feasible"] and r["reason"] == "" for r in recs)


def test_a_violated_constraint_is_a_record_not_an_error(space):
    # a 16x16 array with a 256 KiB buffer exceeds tiny.yaml's 'area <= 0.5mm2'
    big = {**BASE, "hardware.array.rows": 16, "hardware.array.cols": 16, "hardware.memory.GLB.size": "256KiB"}
    (rec,) = codesign.compare_designs(space, {"big": big})
    assert rec["area_mm2"] > 0.5
    assert not rec["feasible"]
    assert rec["reason"] == "violates: area <= 0.5mm2"
    assert rec["latency_s"] > 0


def test_an_unmappable_design_is_a_record_with_its_reason(tmp_path):
    # an 8-byte register file holding all three tensors, double-buffered: no tile of the first
    # conv layer fits, so no mapping exists
    text = TINY.read_text().replace("size: {choice: [16B, 64B]}", "size: {choice: [8B, 64B]}")
    (tmp_path / "tiny.yaml").write_text(text)
    (tmp_path / "tiny_model.yaml").write_text((DATA / "tiny_model.yaml").read_text())
    sp = codesign.load_space(tmp_path / "tiny.yaml")
    rows = codesign.sweep(sp, {"hardware.memory.RF.size": ["8B", "64B"]}, fixed=BASE)
    small, ok = rows
    assert not small["feasible"] and small["reason"].startswith("infeasible: tiny_model: ")
    assert "RF has 8 bytes" in small["reason"]
    assert small["latency_s"] is None and small["tiny_model.energy_J"] is None
    design = resolve_design(sp, {**BASE_SI, "hardware.memory.RF.size": 8})
    assert small["area_mm2"] == build_accelerator(sp, design).area_mm2
    assert ok["feasible"]


@pytest.mark.parametrize("axes, fixed, message", [
    ({"hardware.memory.GLB.sise": ["8KiB"]}, BASE, "did you mean 'hardware.memory.GLB.size'"),
    ({"hardware.memory.GLB.size": ["3KiB"]}, BASE, "outside the domain"),
    ({"hardware.array.rows": [4]}, {k: v for k, v in BASE.items() if k != "hardware.clock"}, "hardware.clock is searched"),
    ({"hardware.array.rows": [4], "hardware.array.cols": [4], "hardware.memory.GLB.size": ["8KiB"]}, BASE, "one or two"),
    ({"hardware.array.rows": []}, BASE, "no values"),
])
def test_bad_input_raises_a_clear_error(space, axes, fixed, message):
    with pytest.raises(codesign.CodesignError, match=message):
        codesign.sweep(space, axes, fixed=fixed)


def test_compiler_gap_matches_the_mapper_run_layer_by_layer(space):
    (rec,) = codesign.compiler_gap(space, {"base": BASE})
    design = resolve_design(space, BASE_SI)
    acc = build_accelerator(space, design)
    model = load_model(str(DATA / "tiny_model.yaml"))
    assert not model.vector_ops   # so a workload's latency is its MAC layers' cycles / clock
    for mode in ("auto", "fixed"):
        policy = replace(policy_of(design, space), mode=mode)
        cycles = sum(map_layer(layer, acc, policy).cycles * layer.count for layer in model.layers)
        assert rec[f"{mode} latency_s"] == pytest.approx(cycles / 500e6, rel=1e-12)
    assert rec["latency_gap"] == pytest.approx(rec["fixed latency_s"] / rec["auto latency_s"] - 1, rel=1e-12)
    assert rec["workload"] == "tiny_model" and rec["reason"] == ""


def test_front_records_match_a_fresh_evaluation(space, tmp_path):
    result = codesign.search(space, trials=6, seed=3, runs_dir=tmp_path)
    recs = result.front_records()
    assert len(recs) == len(result.pareto) >= 1
    for rec in recs:
        params = {k: v for k, v in rec.items() if k.startswith(("hardware.", "schedule."))}
        one = codesign.evaluate(space, params)
        assert rec["latency [ms]"] == pytest.approx(one.metrics["latency"] * 1e3, rel=1e-12)
        assert rec["energy [mJ]"] == pytest.approx(one.metrics["energy"] * 1e3, rel=1e-12)
    assert codesign.front_records(result) == recs


def test_markdown_table_formats_units_and_missing_values():
    recs = [{"hardware.memory.GLB.size": 65536, "hardware.clock": 5e8, "energy_J": 0.0012345678, "feasible": True},
            {"hardware.memory.GLB.size": 4 * 1024 * 1024, "hardware.clock": 1e9, "energy_J": None, "feasible": False}]
    assert codesign.markdown_table(recs).splitlines() == [
        "| hardware.memory.GLB.size | hardware.clock | energy_J | feasible |",
        "|---|---|---|---|",
        "| 64KiB | 500MHz | 0.001235 | yes |",
        "| 4MiB | 1GHz | - | no |",
    ]
    table = codesign.rich_table(recs, ["energy_J"], title="t")
    assert [c.header for c in table.columns] == ["energy_J"] and table.row_count == 2
