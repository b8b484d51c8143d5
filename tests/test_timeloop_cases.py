"""``codesign timeloop-model`` against Timeloop's own outputs on the eleven reference cases.

Source of every expected number: ``../shared/reference/timeloop/<case>/case.yaml`` (``expected``),
transcribed from Timeloop's ``ref_output/*.stats.txt`` of the public Timeloop/Accelergy tutorial
exercises (Accelergy-Project/timeloop-accelergy-exercises, snapshot 2d55108; outputs regenerated
upstream in commit 2ffec693, 2024-05-29). The bridge reads the exact inputs Timeloop consumed:
``ref_output/parsed-processed-input.yaml``, ``ref_output/*.ERT.yaml`` and, for the mapper cases,
the emitted ``ref_output/*.map.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from codesign.cli import app

REFERENCE = Path(__file__).resolve().parent / "data" / "timeloop_reference"  # verbatim copy, see its README
CASES = sorted(p.name for p in REFERENCE.iterdir() if (p / "case.yaml").exists()) if REFERENCE.exists() else []
ENERGY_TOLERANCE = 1e-3          # 0.1 %: Timeloop prints leakage to 0.01 pJ


def _inputs(case: Path) -> list[str]:
    out = case / "ref_output"
    args = [str(out / "parsed-processed-input.yaml"), "--ert", str(next(out.glob("*.ERT.yaml")))]
    maps = sorted(out.glob("*.map.yaml"))
    return args + (["--mapping", str(maps[0])] if maps else [])


def _run(args: list[str]) -> dict:
    result = CliRunner().invoke(app, ["timeloop-model", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_all_eleven_cases_are_here():
    assert len(CASES) == 11, f"expected the 11 reference cases under {REFERENCE}"


@pytest.mark.parametrize("case_id", CASES)
def test_bridge_reproduces_timeloop(case_id):
    """Exact cycles, utilization, computes and per-level, per-tensor total reads/fills/updates (and
    the set of kept tensors); total and per-level energy within 0.1 % (case.yaml ``expected``)."""
    case = REFERENCE / case_id
    expected = yaml.safe_load((case / "case.yaml").read_text())["expected"]
    got = _run(_inputs(case))
    summary = expected["summary"]
    assert (got["cycles"], got["computes"]) == (summary["cycles"], summary["computes"])
    assert got["utilization"] == pytest.approx(summary["utilization"], rel=1e-12)
    assert got["energy_pJ"] == pytest.approx(summary["energy_total_pJ"], rel=ENERGY_TOLERANCE)
    levels = {lv["name"]: lv for lv in got["levels"]}
    for lv in expected["levels_inner_to_outer"]:
        if lv["kind"] == "compute":
            assert got["compute"]["name"] == lv["name"]
            assert got["compute"]["utilized_instances"] == lv["utilized_instances"]
            assert got["compute"]["energy_pJ"] == pytest.approx(lv["energy_level_total_pJ"], rel=ENERGY_TOLERANCE)
            continue
        mine = levels[lv["name"]]
        assert mine["cycles"] == lv["cycles"], lv["name"]
        assert mine["bandwidth_throttling"] == pytest.approx(lv["bandwidth_throttling"], abs=5e-3)
        assert mine["energy_pJ"] == pytest.approx(lv["energy_level_total_pJ"], rel=ENERGY_TOLERANCE), lv["name"]
        spaces = lv.get("dataspaces") or {}
        assert set(mine["tensors"]) == set(spaces), lv["name"]
        for name, ds in spaces.items():
            t = mine["tensors"][name]
            assert (t["reads"], t["fills"], t["updates"]) == (ds["reads_total"], ds["fills_total"], ds["updates_total"]), \
                f"{lv['name']} {name}"
            assert t["utilized_capacity"] == ds["utilized_capacity"], f"{lv['name']} {name}"
            assert t["energy_pJ"] == pytest.approx(ds["energy_total_pJ"], rel=1e-9), f"{lv['name']} {name}"


# --------------------------------------------------------------------------------------------
# What the bridge refuses: a CodesignError naming the key (exit 1, ``error: file:line key: what``)
# --------------------------------------------------------------------------------------------

def _edited_case(tmp_path: Path, case_id: str, edit) -> list[str]:
    """The case's inputs with the spec rewritten by ``edit(spec_dict)``."""
    case = REFERENCE / case_id
    assert case.exists(), f"{case} is missing"
    args = _inputs(case)
    spec = yaml.safe_load(Path(args[0]).read_text())
    edit(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return [str(path), *args[1:]]


def _error(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["timeloop-model", *args, "--json"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def _set_mapping(spec: dict, target: str, kind: str, **changes) -> None:
    for d in spec["mapping"]:
        if d["target"] == target and d["type"] == kind:
            d.update(changes)
            return
    raise AssertionError(f"no {kind} directive for {target}")


def test_missing_mapping(tmp_path):
    case = REFERENCE / "ex_simple_ws_conv" / "ref_output"
    assert case.exists(), f"{case} is missing"
    out = _error([str(case / "parsed-processed-input.yaml"), "--ert", str(case / "timeloop-mapper.ERT.yaml")])
    assert "mapping" in out and "--mapping" in out


def test_imperfect_factorization_is_refused(tmp_path):
    args = _edited_case(tmp_path, "tl03_conv1d_oc_3level",
                        lambda s: _set_mapping(s, "MainMemory", "temporal", factors="K=4,3 R=1 P=1"))
    assert "imperfect factorization" in _error(args)


def test_factors_must_cover_the_problem(tmp_path):
    args = _edited_case(tmp_path, "tl03_conv1d_oc_3level",
                        lambda s: _set_mapping(s, "MainMemory", "temporal", factors="K=2 R=1 P=1"))
    assert "multiply to" in _error(args)


def test_capacity_overflow_is_refused(tmp_path):
    def shrink(spec):
        spec["architecture"]["subtree"][0]["local"][2]["attributes"]["depth"] = 2       # RegisterFile
    assert "holds" in _error(_edited_case(tmp_path, "tl03_conv1d_oc_3level", shrink))


def test_clusters_are_refused(tmp_path):
    def cluster(spec):
        spec["architecture"]["subtree"][0]["local"][1]["attributes"]["cluster_size"] = 2
    out = _error(_edited_case(tmp_path, "tl03_conv1d_oc_3level", cluster))
    assert "attributes.cluster_size" in out


def test_unknown_data_space_in_a_bypass(tmp_path):
    def bypass(spec):
        spec["mapping"].append({"target": "GlobalBuffer", "type": "bypass", "bypass": ["Psums"]})
    assert "unknown data space 'Psums'" in _error(_edited_case(tmp_path, "tl03_conv1d_oc_3level", bypass))


def test_link_transfers_are_refused(tmp_path):
    """P unrolled over the 16 GlobalBuffers and R iterated in MainMemory: buffer i needs at R=r+1
    the input column buffer i+1 held at R=r; Timeloop would forward it over the mesh."""
    def systolic(spec):
        _set_mapping(spec, "MainMemory", "temporal", factors="R=3,P=1,K=1,C=1", permutation="RPKC")
        _set_mapping(spec, "inter_PE_spatial", "spatial", factors="R=1,P=16,K=1,C=1")
        _set_mapping(spec, "GlobalBuffer", "temporal", factors="R=1,P=1,K=32,C=32")
        _set_mapping(spec, "RegisterFile", "temporal", factors="R=1,P=1,K=1,C=1")
    out = _error(_edited_case(tmp_path, "tl04_conv1d_oc_ic_spatial_cp", systolic))
    assert "link transfers" in out and "Inputs" in out


def test_bandwidth_throttling(tmp_path):
    """Timeloop's rule (NVlabs/timeloop buffer.cpp ComputePerformance): a level's read demand is its
    reads per compute cycle (tl03 GlobalBuffer: (96 + 288) / 1536 = 0.25 words/cycle); with a read
    bandwidth of 0.1 the level runs at 0.4 speed: ceil(1536 / 0.4) = 3840 cycles, and leakage is
    charged over the throttled run."""
    def throttle(spec):
        spec["architecture"]["subtree"][0]["local"][1]["attributes"]["read_bandwidth"] = 0.1   # GlobalBuffer
    base = _run(_inputs(REFERENCE / "tl03_conv1d_oc_3level"))
    got = _run(_edited_case(tmp_path, "tl03_conv1d_oc_3level", throttle))
    glb = {lv["name"]: lv for lv in got["levels"]}["GlobalBuffer"]
    assert glb["bandwidth_throttling"] == pytest.approx(0.4)
    assert got["cycles"] == glb["cycles"] == 3840
    assert got["utilization"] == pytest.approx(1536 / 3840)
    leak = {lv["name"]: lv["leakage_pJ"] for lv in base["levels"]}
    assert got["energy_pJ"] - base["energy_pJ"] == pytest.approx(sum(leak.values()) * (3840 / 1536 - 1))
