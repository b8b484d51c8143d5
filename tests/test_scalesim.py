"""``codesign scalesim`` against SCALE-Sim's own reports, plus closed forms of systolic timing.

Source of every expected number in the reference tests: ``tests/data/scalesim/<case>/`` holds
SCALE-Sim 3.0.0's ``COMPUTE_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv``, produced by the real
tool from the config and topology next to them (see that folder's README for version, command
and date). SCALE-Sim is not needed to run these tests.

The closed forms are derived from the skewed systolic schedule, independently of SCALE-Sim's
code: in an output-stationary fold PE (r, c) performs its k-th MAC in cycle k + r + c.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from codesign.cli import app
from codesign.sim import ConvLayer, SystolicArray, from_ir, gemm, simulate, stall_free_cycles
from codesign.sim.folds import fold, sram_accesses
from codesign.sim.operands import demand_streams
from codesign.workload.ops import conv2d, linear

REFERENCE = Path(__file__).parent / "data" / "scalesim"
CASES = sorted(p.name for p in REFERENCE.iterdir() if p.is_dir()) if REFERENCE.exists() else []
TOTAL_TOLERANCE = 0.05   # the contract: stall-inclusive totals within 5 % (the replay is in fact exact)


def _cli(*args: str) -> dict:
    result = CliRunner().invoke(app, ["scalesim", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _reports(case: Path) -> list[dict]:
    """SCALE-Sim's two per-layer reports, one dict per layer (its column names)."""
    rows = []
    compute = (case / "COMPUTE_REPORT.csv").read_text().strip().splitlines()
    detail = (case / "DETAILED_ACCESS_REPORT.csv").read_text().strip().splitlines()
    heads = [h.strip() for h in compute[0].split(",")[:-1]], [h.strip() for h in detail[0].split(",")[:-1]]
    for c, d in zip(compute[1:], detail[1:]):
        row = dict(zip(heads[0], (float(x) for x in c.split(",")[:-1])))
        row.update(zip(heads[1], (float(x) for x in d.split(",")[:-1])))
        rows.append(row)
    return rows


def test_reference_cases_are_here():
    assert len(CASES) >= 4, f"{REFERENCE}: SCALE-Sim reference cases missing"


@pytest.mark.parametrize("case_id", CASES)
def test_cli_reproduces_scalesim(case_id):
    """Compute cycles exact; total, stall and total-with-prefetch cycles within 5 %; utilization,
    mapping efficiency and the SRAM and DRAM words per operand as SCALE-Sim reports them."""
    case = REFERENCE / case_id
    topology = next(p for p in case.glob("*.csv") if "REPORT" not in p.name)
    gemm_rows = ["--gemm"] if " M, N, K" in topology.read_text().splitlines()[0] else []
    got = _cli(str(next(case.glob("*.cfg"))), str(topology), *gemm_rows)["layers"]
    expected = _reports(case)
    assert len(got) == len(expected)
    for mine, ref in zip(got, expected):
        name = mine["name"]
        assert mine["compute_cycles"] == ref["Total Cycles"] - ref["Stall Cycles"], name
        for key, column in (("total_cycles", "Total Cycles"), ("stall_cycles", "Stall Cycles"),
                            ("total_cycles_incl_prefetch", "Total Cycles (incl. prefetch)")):
            assert mine[key] == pytest.approx(ref[column], rel=TOTAL_TOLERANCE, abs=1), f"{name} {key}"
        assert mine["compute_util"] == pytest.approx(ref["Compute Util %"], rel=1e-9), name
        assert mine["mapping_efficiency"] == pytest.approx(ref["Mapping Efficiency %"], rel=1e-9), name
        assert mine["overall_util"] == pytest.approx(ref["Overall Util %"], rel=TOTAL_TOLERANCE), name
        assert (mine["sram_reads"]["ifmap"], mine["sram_reads"]["filter"], mine["sram_writes"]["ofmap"]) == \
            (ref["SRAM IFMAP Reads"], ref["SRAM Filter Reads"], ref["SRAM OFMAP Writes"]), name
        assert (mine["dram_reads"]["ifmap"], mine["dram_reads"]["filter"], mine["dram_writes"]["ofmap"]) == \
            (ref["DRAM IFMAP Reads"], ref["DRAM Filter Reads"], ref["DRAM OFMAP Writes"]), name


def test_reference_includes_stalls_and_both_interfaces():
    """The reference set exercises what it should: USER-bandwidth stalls and CALC runs."""
    stalls = [row["Stall Cycles"] for case in CASES for row in _reports(REFERENCE / case)]
    assert any(s > 0 for s in stalls) and any(s == 0 for s in stalls)


# --------------------------------------------------------------------------------------------
# Closed forms (one fold = skew fill + stream + drain; SCALE-Sim reports the last cycle's index)
# --------------------------------------------------------------------------------------------

ONE_FOLD = [(rows, cols, t) for rows, cols, t in itertools.product((1, 4, 8, 16), (1, 3, 8, 32), (1, 5, 64))]


@pytest.mark.parametrize("rows,cols,t", ONE_FOLD)
def test_one_output_stationary_fold(rows, cols, t):
    """OS, M = H rows and N = W columns, K reduction: PE (r, c) does MAC k in cycle k + r + c, so
    the last MAC is in cycle (K-1) + (H-1) + (W-1) = K + H + W - 3 (SCALE-Sim's reported cycles
    for the fold, whose demand spans K + H + W - 2 cycles)."""
    t_ = simulate(gemm("g", rows, cols, t), SystolicArray(rows, cols, "os"))
    assert t_.compute_cycles == t + rows + cols - 3
    assert t_.mapping_efficiency == 100.0


@pytest.mark.parametrize("dataflow,rows,cols,t", [(d, *x) for d in ("ws", "is") for x in ONE_FOLD])
def test_one_stationary_fold(dataflow, rows, cols, t):
    """WS (K = H, N = W, M streamed) and IS (K = H, M = W, N streamed): H cycles load the
    stationary block, then the stream takes the OS schedule's T + H + W - 3 cycles:
    2H + W + T - 3 (the paper's 2Sr + Sc + T - 2 fold, counted from 0)."""
    m, n = (t, cols) if dataflow == "ws" else (cols, t)
    t_ = simulate(gemm("g", m, n, rows), SystolicArray(rows, cols, dataflow))
    assert t_.compute_cycles == 2 * rows + cols + t - 3


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_folds_run_back_to_back(dataflow):
    """Folds do not overlap: F folds of L cycles take F x L - 1; mapping efficiency is the mean
    fraction of PEs used over folds."""
    m, n, k, rows, cols = 20, 11, 9, 8, 4
    t_ = simulate(gemm("g", m, n, k), SystolicArray(rows, cols, dataflow))
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    folds = -(-sr // rows) * -(-sc // cols)
    span = t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2
    assert t_.compute_cycles == folds * span - 1
    assert t_.mapping_efficiency == pytest.approx(100 * sr * sc / (folds * rows * cols))


def test_vectorized_cycles_match_the_replay():
    """``stall_free_cycles`` over arrays of shapes equals the per-layer replay's compute cycles."""
    rng = np.random.default_rng(0)
    m, n, k = rng.integers(1, 40, 30), rng.integers(1, 40, 30), rng.integers(1, 40, 30)
    rows, cols = rng.choice([2, 4, 8], 30), rng.choice([2, 4, 16], 30)
    for dataflow in ("os", "ws", "is"):
        fast = stall_free_cycles(dataflow, m, n, k, rows, cols)
        slow = [simulate(gemm("g", *x[:3]), SystolicArray(x[3], x[4], dataflow)).compute_cycles
                for x in zip(m, n, k, rows, cols)]
        assert fast.tolist() == slow


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_sram_reads_count_every_request(dataflow):
    """The closed-form SRAM access counts equal the requests in the generated demand (a
    convolution whose windows stay inside the IFMAP, so no request is dropped)."""
    layer, array = ConvLayer("c", 10, 9, 3, 2, 3, 7, 1, 1), SystolicArray(4, 8, dataflow)
    f = fold(dataflow, layer.ofmap_px, layer.num_filters, layer.window, 4, 8)
    streams = demand_streams(layer, array, f)
    counts = sram_accesses(dataflow, f)
    extra = f.folds * (4 + 8) if dataflow == "os" else 0   # SCALE-Sim's H + W per OS fold
    assert [len(s.addrs) for s in streams] == [counts[0], counts[1], counts[2] - extra]


def test_calc_bandwidth_never_stalls_and_reads_each_word_once_when_it_fits():
    t = simulate(ConvLayer("c", 12, 12, 3, 3, 4, 8), SystolicArray(8, 8, "ws"))
    assert t.stall_cycles == 0
    assert (t.dram_reads.ifmap, t.dram_reads.filter) == (12 * 12 * 4, 3 * 3 * 4 * 8)


def test_user_bandwidth_stalls_when_operands_do_not_fit():
    slow = SystolicArray(8, 8, "os", 1, 1, 1, bandwidth="USER", ifmap_dram_bw=1, filter_dram_bw=1, ofmap_dram_bw=1)
    t = simulate(gemm("g", 64, 64, 64), slow)
    assert t.stall_cycles > 0 and t.total_cycles == t.compute_cycles + t.stall_cycles


def test_from_ir_maps_codesign_layers():
    conv = from_ir(conv2d("c", {"C": 16, "K": 32, "H": 14, "R": 3, "stride": 2, "pad": 1}, 1, 1))
    assert (conv.ifmap_h, conv.ofmap_px, conv.window, conv.num_filters) == (15, 49, 144, 32)
    fc = from_ir(linear("fc", {"in": 64, "out": 10, "tokens": 5}, 2, 1))
    assert (fc.ofmap_px, fc.window, fc.num_filters) == (10, 64, 10)


# --------------------------------------------------------------------------------------------
# What the reader refuses: a CodesignError naming file, line and key (exit 1, no traceback)
# --------------------------------------------------------------------------------------------

GOOD_CFG = """[general]
run_name = t
[architecture_presets]
ArrayHeight: 4
ArrayWidth: 4
IfmapSramSzkB: 8
FilterSramSzkB: 8
OfmapSramSzkB: 8
Dataflow: os
Bandwidth: 10
[run_presets]
InterfaceBandwidth: CALC
"""


def _fail(tmp_path: Path, cfg: str, topo: str = "name, M, N, K,\ng, 8, 8, 8,\n", *extra: str) -> str:
    (tmp_path / "c.cfg").write_text(cfg)
    (tmp_path / "t.csv").write_text(topo)
    result = CliRunner().invoke(app, ["scalesim", str(tmp_path / "c.cfg"), str(tmp_path / "t.csv"), *extra])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def test_a_minimal_v2_config_runs(tmp_path):
    (tmp_path / "c.cfg").write_text(GOOD_CFG)
    (tmp_path / "t.csv").write_text("name, M, N, K,\ng, 8, 8, 8,\n")
    assert _cli(str(tmp_path / "c.cfg"), str(tmp_path / "t.csv"), "--gemm")["layers"][0]["compute_cycles"] == 4 * (8 + 6) - 1


@pytest.mark.parametrize("edit,message", [
    (("ArrayWidth: 4", "ArrayWidht: 4"), "c.cfg:5 [architecture_presets] ArrayWidht: unknown key (did you mean 'ArrayWidth'?)"),
    (("Dataflow: os", "Dataflow: rs"), "c.cfg:9 [architecture_presets] Dataflow: unknown dataflow 'rs'"),
    (("CALC", "AUTO"), "[run_presets] InterfaceBandwidth: expected CALC or USER"),
    (("ArrayHeight: 4", "ArrayHeight: 0"), "ArrayHeight: expected an integer >= 1, got '0'"),
    (("[run_presets]", "[sparsity]\nSparsitySupport: true\n[run_presets]"), "[sparsity] SparsitySupport: sparse filters are not supported"),
    (("[run_presets]", "[layout]\nIfmapCustomLayout: True\n[run_presets]"), "custom IFMAP layouts are not supported"),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: CALC\nUseRamulatorTrace: True"), "Ramulator DRAM traces are not supported"),
    (("[general]", "[genral]"), "unknown section [genral] (did you mean 'general'?)"),
    (("Bandwidth: 10", "Bandwidth: 10\nBandwidth: 20"), "not a SCALE-Sim config"),
    (("ArrayHeight: 4\n", ""), "missing key [architecture_presets] ArrayHeight"),
])
def test_config_errors_name_the_key(tmp_path, edit, message):
    out = _fail(tmp_path, GOOD_CFG.replace(*edit), "name, M, N, K,\ng, 8, 8, 8,\n", "--gemm")
    assert message in out


def test_user_bandwidth_needs_numbers(tmp_path):
    cfg = GOOD_CFG.replace("CALC", "USER").replace("Bandwidth: 10", "Bandwidth: fast")
    assert "[architecture_presets] Bandwidth: expected words/cycle" in _fail(tmp_path, cfg, "n, M, N, K,\ng, 8, 8, 8,\n", "--gemm")


@pytest.mark.parametrize("topo,gemm_rows,message", [
    ("name, M, N, K,\ng, 8, 8,\n", True, "t.csv:2: expected 4 fields (name, M, N, K), got 3"),
    ("name, M, N, K,\ng, 8, x, 8,\n", True, "t.csv:2: N: expected an integer >= 1, got 'x'"),
    ("name, M, N, K,\ng, 8, 8, 8, 2:4,\n", True, "t.csv:2: sparsity '2:4' is not supported"),
    ("h,\nc, 3, 3, 5, 5, 1, 1, 1,\n", False, "t.csv:2: the 5x5 filter is larger than the 3x3 IFMAP"),
    ("h,\n\n", False, "t.csv: no layers"),
])
def test_topology_errors_name_the_line(tmp_path, topo, gemm_rows, message):
    assert message in _fail(tmp_path, GOOD_CFG, topo, *(["--gemm"] if gemm_rows else []))


def test_depthwise_rows_split_per_channel(tmp_path):
    """A name containing DP is depthwise: one single-channel layer per channel, as SCALE-Sim runs it."""
    (tmp_path / "c.cfg").write_text(GOOD_CFG)
    (tmp_path / "t.csv").write_text("h,\nDP1, 6, 6, 3, 3, 3, 2, 1\n")
    layers = _cli(str(tmp_path / "c.cfg"), str(tmp_path / "t.csv"))["layers"]
    assert [x["name"] for x in layers] == ["DP1Channel_0", "DP1Channel_1", "DP1Channel_2"]


def test_missing_file(tmp_path):
    result = CliRunner().invoke(app, ["scalesim", str(tmp_path / "none.cfg"), str(tmp_path / "none.csv")])
    assert result.exit_code == 1 and "none.cfg: no such file" in result.output
