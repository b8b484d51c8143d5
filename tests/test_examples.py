"""The example studies in examples/: each runs (``--quick``, a temporary ``--out``), writes its
PNG, and prints numbers that an independent ``codesign.evaluate`` call on one of its points
reproduces (the tables print 4 significant digits, hence ``rel=1e-3``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import codesign

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
pytestmark = pytest.mark.slow


def run_example(name: str, out: Path) -> list[dict[str, str]]:
    """Run ``examples/<name>.py --quick --out OUT``; check its figure; return its printed table's rows."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=300, cwd=out)
    assert proc.returncode == 0, proc.stderr
    png = out / f"{name}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"figure: {png}" in proc.stdout
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1]) <= set("|-")
    return [dict(zip(head, (c.strip() for c in ln.strip("|").split("|")))) for ln in lines[2:]]


def test_sram_vs_energy(tmp_path):
    rows = run_example("sram_vs_energy", tmp_path)
    assert [r["hardware.memory.GLB.size"] for r in rows] == ["64KiB", "1MiB"]
    space = codesign.load_space(EXAMPLES / "sram_vs_energy.yaml")
    one = codesign.evaluate(space, {"hardware.memory.GLB.size": 1024 * 1024, "hardware.memory.PE_RF.size": 64})
    assert float(rows[1]["energy [mJ]"]) == pytest.approx(one.per_workload["mobilenetv2"]["energy"] * 1e3, rel=1e-3)
    assert float(rows[1]["latency [ms]"]) == pytest.approx(one.per_workload["mobilenetv2"]["latency"] * 1e3, rel=1e-3)
    assert float(rows[1]["area [mm2]"]) == pytest.approx(one.accelerator.area_mm2, rel=1e-3)


def test_dataflow_cnn_vs_transformer(tmp_path):
    rows = run_example("dataflow_cnn_vs_transformer", tmp_path)
    assert {(r["dataflow"], r["workload"]) for r in rows} == {
        (d, w) for d in ("weight_stationary", "flexible") for w in ("resnet18", "bert_base")}
    space = codesign.load_space(EXAMPLES / "dataflow_cnn_vs_transformer.yaml")
    one = codesign.evaluate(space, {"hardware.array.dataflow": "flexible"})
    for r in rows:
        if r["dataflow"] == "flexible":
            m = one.per_workload[r["workload"]]
            assert float(r["latency [ms]"]) == pytest.approx(m["latency"] * 1e3, rel=1e-3)
            assert float(r["energy [mJ]"]) == pytest.approx(m["energy"] * 1e3, rel=1e-3)


def test_compiler_gap(tmp_path):
    rows = run_example("compiler_gap", tmp_path)
    assert [(r["design"], r["workload"]) for r in rows] == [("16x16 256KiB", "resnet18"), ("16x16 256KiB", "mobilenetv2")]
    space = codesign.load_space(ROOT / "spaces" / "edge.yaml")
    # the quick design, written out by hand in base units
    one = codesign.evaluate(space, {
        "hardware.technology": 28.0, "hardware.clock": 800e6, "hardware.array.rows": 16, "hardware.array.cols": 16,
        "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.dram_type": "LPDDR4",
        "hardware.memory.DRAM.bandwidth": 25.6e9, "hardware.memory.GLB.size": 256 * 1024,
        "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": 64, "schedule.objective": "edp"})
    for r in rows:
        m = one.per_workload[r["workload"]]
        assert float(r["searched latency [ms]"]) == pytest.approx(m["latency"] * 1e3, rel=1e-3)
        assert float(r["searched energy [mJ]"]) == pytest.approx(m["energy"] * 1e3, rel=1e-3)
        for metric in ("latency", "energy"):
            ratio = float(r[f"naive {metric} [{'ms' if metric == 'latency' else 'mJ'}]"]) / float(
                r[f"searched {metric} [{'ms' if metric == 'latency' else 'mJ'}]"])
            assert float(r[f"{metric} gap [%]"]) == pytest.approx(100 * (ratio - 1), abs=0.25)
