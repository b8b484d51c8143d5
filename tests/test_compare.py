"""``codesign compare RUN_A RUN_B``: hypervolume on a shared reference point, dominance, coverage.

The small fronts have hypervolumes worked out by hand (the sum of the rectangles of a staircase,
checked by inclusion-exclusion: HV(A u B) = HV(A) + HV(B) - HV({max(a, b)})); the searches at
the end are checked against optuna's own hypervolume (``optuna._hypervolume``, a peer
implementation) and a brute-force dominance count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume
from typer.testing import CliRunner

from codesign.cli import app
from codesign.report.compare import compare_fronts, compare_runs

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
SEARCH = [sys.executable, "-c", "from codesign.cli import main; main()", "search"]

# minimize both. B repeats A's (4, 1): weakly dominated both ways, dominated neither way.
A = np.array([[1, 4], [2, 2], [4, 1]], dtype=float)
B = np.array([[2, 3], [3, 1.5], [4, 1], [5, 0.5]], dtype=float)


def test_two_objective_fronts_by_hand():
    s = compare_fronts(A, B, (False, False))
    # worst over the union: (5, 4); reference 10% beyond: (5.5, 4.4)
    assert s["reference"] == pytest.approx([5.5, 4.4])
    # A: 4.5*0.4 + 3.5*2 + 1.5*1 = 1.8 + 7 + 1.5
    assert s["hypervolume_a"] == pytest.approx(10.3)
    # B: 3.5*1.4 + 2.5*1.5 + 1.5*0.5 + 0.5*0.5 = 4.9 + 3.75 + 0.75 + 0.25
    assert s["hypervolume_b"] == pytest.approx(9.65)
    # pairwise maxima front (2,3) (3,2) (4,1.5) (5,1): 4.9 + 2.5 + 0.75 + 0.25 = 8.4; 10.3 + 9.65 - 8.4
    assert s["hypervolume_union"] == pytest.approx(11.05)
    # B's (2,3) is dominated by A's (2,2); nothing of A is dominated (its (4,1) is only equalled)
    assert (s["a_dominated_by_b"], s["b_dominated_by_a"]) == (0, 1)
    # C(A,B): B's (2,3) and (4,1) are covered by A -> 2/4; C(B,A): A's (4,1) covered by B -> 1/3
    assert s["coverage_a_b"] == pytest.approx(0.5)
    assert s["coverage_b_a"] == pytest.approx(1 / 3)


def test_a_maximized_objective_is_negated_and_the_reference_reported_in_its_direction():
    # minimize latency, maximize throughput: minimized A (1, -10), B (2, -20); worst (2, -10);
    # reference (2 + 0.2, -10 + 1) = (2.2, -9), i.e. throughput 9
    s = compare_fronts(np.array([[1.0, 10.0]]), np.array([[2.0, 20.0]]), (False, True))
    assert s["reference"] == pytest.approx([2.2, 9.0])
    assert s["hypervolume_a"] == pytest.approx(1.2 * 1.0)
    assert s["hypervolume_b"] == pytest.approx(0.2 * 11.0)
    assert s["hypervolume_union"] == pytest.approx(1.2 + 2.2 - 0.2 * 1.0)
    assert (s["a_dominated_by_b"], s["b_dominated_by_a"], s["coverage_a_b"], s["coverage_b_a"]) == (0, 0, 0.0, 0.0)


def test_three_objectives_nested_boxes():
    s = compare_fronts(np.array([[1.0, 1.0, 1.0]]), np.array([[2.0, 2.0, 2.0]]), (False,) * 3)
    assert s["hypervolume_a"] == pytest.approx(1.2 ** 3)
    assert s["hypervolume_b"] == pytest.approx(0.2 ** 3)
    assert s["hypervolume_union"] == pytest.approx(1.2 ** 3)
    assert (s["b_dominated_by_a"], s["coverage_a_b"], s["coverage_b_a"]) == (1, 1.0, 0.0)


def test_an_empty_front():
    s = compare_fronts(np.empty((0, 2)), np.array([[1.0, 2.0]]), (False, False))
    assert s["hypervolume_a"] == 0.0
    assert s["hypervolume_b"] == pytest.approx(0.1 * 0.2)   # reference (1.1, 2.2)
    assert s["coverage_a_b"] == 0.0 and s["coverage_b_a"] is None


def fake_run(root: Path, name: str, points: np.ndarray, energy_unit: str = "mJ") -> Path:
    """A run directory as a database-backed run leaves it: space.yaml and pareto.json, no journal."""
    run = root / name
    run.mkdir()
    (run / "space.yaml").write_text(TINY.read_text().replace("energy [mJ]", f"energy [{energy_unit}]"))
    front = [{"number": i, "params": {}, "objectives": {"latency [ms]": x, f"energy [{energy_unit}]": y}}
             for i, (x, y) in enumerate(points.tolist())]
    (run / "pareto.json").write_text(json.dumps(front))
    return run


def test_cli_json_on_run_directories(tmp_path):
    a, b = fake_run(tmp_path, "a", A), fake_run(tmp_path, "b", B)
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    assert rec["objectives"] == ["minimize latency [ms]", "minimize energy [mJ]"]
    assert rec["reference"] == pytest.approx({"latency [ms]": 5.5, "energy [mJ]": 4.4})
    assert (rec["runs"]["A"]["front"], rec["runs"]["B"]["front"]) == (3, 4)
    assert rec["runs"]["A"]["hypervolume"] == pytest.approx(10.3)
    assert rec["runs"]["B"]["dominated_by_other"] == 1 and rec["runs"]["A"]["source"] == "pareto.json"
    assert rec["coverage"] == pytest.approx({"C(A,B)": 0.5, "C(B,A)": 1 / 3})
    text = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert text.exit_code == 0 and "front size" in text.output and "11.05" in text.output


def test_objectives_in_another_order_are_aligned(tmp_path):
    a = fake_run(tmp_path, "a", A)
    b = fake_run(tmp_path, "b", B)
    text = (b / "space.yaml").read_text().replace("  - minimize latency [ms]\n  - minimize energy [mJ]",
                                                  "  - minimize energy [mJ]\n  - minimize latency [ms]")
    assert text != (b / "space.yaml").read_text()
    (b / "space.yaml").write_text(text)
    assert compare_runs(a, b)["runs"]["B"]["hypervolume"] == pytest.approx(9.65)


@pytest.mark.parametrize("case, message", [
    ("units", "different objectives: "),
    ("missing", "no such run directory"),
    ("not_a_run", "not a run directory: no space.yaml"),
    ("both_empty", "neither run has a feasible design yet"),
])
def test_bad_runs_fail_with_one_line(tmp_path, case, message):
    a = fake_run(tmp_path, "a", np.empty((0, 2)) if case == "both_empty" else A)
    b = {"both_empty": lambda: fake_run(tmp_path, "b", np.empty((0, 2))),
         "units": lambda: fake_run(tmp_path, "b", B, energy_unit="uJ"), "missing": lambda: tmp_path / "nope",
         "not_a_run": lambda: (tmp_path / "empty").mkdir() or tmp_path / "empty"}[case]()
    out = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert out.exit_code == 1
    assert out.output.startswith("error: ") and message in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_two_tiny_searches_end_to_end(tmp_path):
    for study, seed in (("a", 0), ("b", 1)):
        proc = subprocess.run([*SEARCH, str(TINY), "--trials", "10", "--seed", str(seed), "--study", study,
                               "--runs-dir", str(tmp_path), "-q"], check=False, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    out = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    fronts = []
    for key, study in (("A", "a"), ("B", "b")):
        front = json.loads((tmp_path / study / "pareto.json").read_text())
        pts = np.array([[r["objectives"]["latency [ms]"], r["objectives"]["energy [mJ]"]] for r in front])
        fronts.append(pts)
        run = rec["runs"][key]
        assert run["source"] == "journal.log" and run["trials"] == 10 and run["front"] == len(front) >= 1
    pa, pb = fronts
    union = np.vstack(fronts)
    ref = union.max(axis=0) * 1.1   # positive objectives: 10% beyond the worst
    assert list(rec["reference"].values()) == pytest.approx(ref.tolist())
    assert rec["runs"]["A"]["hypervolume"] == pytest.approx(compute_hypervolume(pa, ref))
    assert rec["runs"]["B"]["hypervolume"] == pytest.approx(compute_hypervolume(pb, ref))
    assert rec["hypervolume_union"] == pytest.approx(compute_hypervolume(union, ref))

    def dominated(p, q):   # brute force: q no worse everywhere, better somewhere
        return all(x <= y for x, y in zip(q, p)) and any(x < y for x, y in zip(q, p))

    assert rec["runs"]["A"]["dominated_by_other"] == sum(any(dominated(p, q) for q in pb) for p in pa)
    assert rec["runs"]["B"]["dominated_by_other"] == sum(any(dominated(p, q) for q in pa) for p in pb)
    covered = sum(any(all(x <= y for x, y in zip(q, p)) for q in pa) for p in pb)
    assert rec["coverage"]["C(A,B)"] == pytest.approx(covered / len(pb))
