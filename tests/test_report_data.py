"""The study report's data and files: ``codesign report`` / ``codesign.report`` and the report written at a search's end.

One 25-trial search of the fast space ``tests/data/tiny.yaml`` (module fixture) is reported on;
numbers in the page are checked against independent evaluations: ``codesign.evaluate`` of the
same parameters, the naive compiler layer by layer (as ``benchmarks/compiler_gap.py`` does),
optuna's own hypervolume (a peer implementation), and closed-form roofline identities.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

import codesign
from codesign.cli import app
from codesign.report.detail import detail_design, tensor_energy_pj
from codesign.report.gather import convergence, importances, load_run, spread_designs
from codesign.report.rooflines import points, roof_curve, roofs
from codesign.report.tables import TrialRow

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> codesign.api.SearchResult:
    """A 25-trial search of the tiny space whose end wrote the report (3 designs detailed); without
    pruning, so that every trial has values for the importance and convergence checks."""
    root = tmp_path_factory.mktemp("report_run")
    return codesign.search(codesign.load_space(TINY), trials=25, seed=3, runs_dir=root / "runs", report_designs=3,
                           prune=False)


@pytest.fixture(scope="module")
def gap_report(run: codesign.api.SearchResult) -> str:
    """The report rebuilt with the compiler gap and one extra, non-front trial."""
    extra = next(r.number for r in run.trials if r.number not in {p.number for p in run.pareto})
    path = codesign.write_report(run.run_dir, designs=2, design=[extra], compiler_gap=True)
    return path.read_text()


class Tables(HTMLParser):
    """Every ``<table>`` of a page: its attributes and rows of (text, data-value) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[dict[str, str], list[list[tuple[str, str | None]]]]] = []
        self._cell: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.tables.append((a, []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell, self._value = [], a.get("data-value")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append(("".join(self._cell), self._value))
            self._cell = None


def tables(page: str, cls: str) -> list[tuple[dict[str, str], list[list[tuple[str, str | None]]]]]:
    parser = Tables()
    parser.feed(page)
    return [t for t in parser.tables if t[0].get("class") == cls]


def test_search_writes_the_report_and_links_the_pngs(run: codesign.api.SearchResult) -> None:
    assert run.report == run.run_dir / "report.html" and run.report.is_file()
    summary = (run.run_dir / "summary.md").read_text()
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", summary)
    detailed = min(3, len(run.pareto))
    assert detailed >= 2 and linked[0] == "front.png" and len(linked) == 1 + detailed, linked   # + one roofline each
    for name in linked:
        data = (run.run_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
    import matplotlib.image

    assert matplotlib.image.imread(run.run_dir / "front.png").shape[0] > 100
    assert summary.count("## Figures") == 1 and "[report.html](report.html)" in summary


def test_report_is_self_contained(run: codesign.api.SearchResult) -> None:
    page = run.report.read_text()
    scripts = re.findall(r"<script\b[^>]*>", page, flags=re.I)
    assert scripts and not any("src" in s.lower() for s in scripts), [s for s in scripts if "src" in s.lower()]
    assert not re.search(r"<link\b", page, flags=re.I)
    import plotly

    library = plotly.offline.get_plotlyjs()
    assert page.count(library) == 1   # plotly.js itself is inlined, once
    rest = page.replace(library, "")   # (its source mentions URLs it never loads here, e.g. for geo maps)
    assert "http:" not in rest and "https:" not in rest and not re.search(r"""(?:src|href)\s*=\s*["']?//""", rest)
    # front, parallel coordinates, convergence, importance; then 3 per detailed design
    assert page.count('class="plotly-graph-div"') == 4 + 3 * min(3, len(run.pareto))


def test_layer_table_equals_evaluate(run: codesign.api.SearchResult) -> None:
    """Each detailed design's per-layer and per-workload numbers are codesign.evaluate's for its parameters."""
    page = run.report.read_text()
    space = codesign.load_space(TINY)
    by_number = {r.number: r for r in run.trials}
    layer_tables = tables(page, "layers")
    assert len(layer_tables) == min(3, len(run.pareto))
    for attrs, rows in layer_tables:
        result = codesign.evaluate(space, by_number[int(attrs["data-trial"])].params)
        (w,) = [w for w in result.workloads if w.name == attrs["data-workload"]]
        body = rows[1:]
        assert [c[0][0] for c in body] == [lr.layer.name for lr in w.layers]
        clock = result.accelerator.clock_hz
        for cells, lr in zip(body, w.layers):
            cycles, latency, energy = (float(cells[i][1]) for i in (4, 5, 7))
            assert cycles == lr.cycles
            assert latency == pytest.approx(lr.cycles * lr.layer.count / clock, rel=1e-12)
            assert energy == pytest.approx(lr.energy_pj * lr.layer.count * 1e-12, rel=1e-12)
            assert cells[9][0] == lr.bound
        # with no vector operators, the layers add up to the workload's latency (closed form: cycles x count / clock)
        assert not w.vector_ops
        assert sum(float(c[5][1]) for c in body) == pytest.approx(w.latency_s, rel=1e-12)
    workloads = tables(page, "workloads")
    numbers = [int(a["data-trial"]) for a, _ in layer_tables]
    for (_, rows), n in zip(workloads, numbers):
        result = codesign.evaluate(space, by_number[n].params)
        assert float(rows[1][1][1]) == result.workloads[0].latency_s
        assert float(rows[1][2][1]) == result.workloads[0].energy_j


def test_energy_by_tensor_adds_up_to_the_levels(run: codesign.api.SearchResult) -> None:
    """Per-tensor energies sum to the cost model's per-level energy; with MACs and leakage, to the workload's."""
    data = load_run(run.run_dir)
    d = detail_design(data.space, data.front[0])
    acc = d.result.accelerator
    for w, wr in zip(d.workloads, d.result.workloads):
        for lr in wr.layers:
            split = tensor_energy_pj(lr, acc)
            for level, pj in lr.level_energy_pj.items():
                assert sum(split[level].values()) == pytest.approx(pj, rel=1e-12), (lr.layer.name, level)
            assert split["MACs"]["MACs"] == pytest.approx(lr.mac_energy_pj, rel=1e-12)
        from codesign.report.detail import energy_by_level

        total = sum(sum(v.values()) for v in energy_by_level(w).values())
        assert total == pytest.approx(wr.energy_j, rel=1e-12)
        assert w.leakage_j == pytest.approx(acc.leakage_w * wr.latency_s, rel=1e-12)


def test_roofline_points_lie_under_their_roofs(run: codesign.api.SearchResult) -> None:
    """No layer beats a roof; a layer bound by a shared level (one instance) sits on that level's roof:
    achieved MACs/s = MACs x bytes/cycle / bytes x clock = intensity x bandwidth."""
    data = load_run(run.run_dir)
    on_roof = 0
    for row in data.front:
        d = detail_design(data.space, row)
        acc = d.result.accelerator
        peak = acc.peak_macs_per_s
        by_name = {r.name: r for r in roofs(acc)}
        shared = {lv.name for lv in acc.levels if lv.shared}
        for p in points(d):
            xs, ys = roof_curve(by_name[p.level], p.macs_per_byte / 2, p.macs_per_byte * 2, peak)
            y = float(np.interp(np.log(p.macs_per_byte), np.log(xs), np.log(ys)))   # the roof is straight in log-log
            y = float(np.exp(y))
            assert y == pytest.approx(min(peak, p.macs_per_byte * by_name[p.level].bytes_per_s), rel=1e-9)
            assert p.macs_per_s <= y * (1 + 1e-9), p
            assert p.macs_per_s <= peak * (1 + 1e-9)
            if p.bound == p.level and p.level in shared:
                assert p.macs_per_s == pytest.approx(y, rel=1e-9), p
                on_roof += 1
    assert on_roof > 0, "no layer of the front is bound by a shared level: the on-roof identity went untested"


def test_convergence_ends_at_the_front_hypervolume(run: codesign.api.SearchResult) -> None:
    """The last point is the hypervolume of the Pareto front as optuna computes it (a peer implementation)."""
    from optuna._hypervolume import compute_hypervolume

    data = load_run(run.run_dir)
    conv = convergence(data.rows, data.labels, data.maximize)
    assert conv.numbers == [r.number for r in data.rows]
    assert all(b >= a for a, b in zip(conv.hypervolume, conv.hypervolume[1:]))
    front = np.array([[r.objectives[lb] for lb in data.labels] for r in data.front])
    assert conv.hypervolume[-1] == pytest.approx(compute_hypervolume(front, np.array(conv.reference)), rel=1e-12)


def row(number: int, latency: float, energy: float) -> TrialRow:
    return TrialRow(number, "COMPLETE", True, "", {}, {"latency": latency, "energy": energy}, {}, {}, {}, {})


def test_spread_designs_takes_the_extremes_then_the_farthest() -> None:
    # a front on the line latency + energy = 10: the extremes first, then the middle (farthest from both)
    front = [row(n, float(x), 10.0 - x) for n, x in enumerate([0, 1, 2, 5, 9, 10])]
    labels = ["latency", "energy"]
    assert [r.number for r in spread_designs(front, labels, (False, False), 2)] == [0, 5]
    assert [r.number for r in spread_designs(front, labels, (False, False), 3)] == [0, 3, 5]
    assert spread_designs(front, labels, (False, False), 10) == front
    assert spread_designs(front, labels, (False, False), 0) == []
    # maximizing the second objective makes trial 5 (energy 0) the worst there, trial 0 the best in both
    assert [r.number for r in spread_designs(front, labels, (False, True), 1)] == [0]


def test_importance_with_too_few_trials_is_a_note(tmp_path: Path) -> None:
    result = codesign.search(codesign.load_space(TINY), trials=2, runs_dir=tmp_path, report_designs=1)
    imp = importances(load_run(result.run_dir))
    assert imp.values == {} and "at least 4 complete trials" in imp.notes[0]
    page = result.report.read_text()
    assert "at least 4 complete trials" in page and 'id="chart-importance"' not in page


def test_importance_ranks_every_varied_parameter(run: codesign.api.SearchResult) -> None:
    imp = importances(load_run(run.run_dir))
    assert set(imp.values) == {"latency [ms]", "energy [mJ]"}
    for values in imp.values.values():
        assert sum(values.values()) == pytest.approx(1.0)
        assert set(values) == set(run.trials[0].params)


def test_compiler_gap_is_the_naive_compiler_layer_by_layer(run: codesign.api.SearchResult, gap_report: str) -> None:
    """The naive latency is every layer mapped by the naive compiler (mode: fixed), cycles x count / clock."""
    from codesign.compiler.mapper import map_layer
    from codesign.flow import policy_of, space_workloads
    from codesign.hardware.build import build_accelerator
    from codesign.spec.params import resolve_design

    space = codesign.load_space(TINY)
    by_number = {r.number: r for r in run.trials}
    detailed = [int(a["data-trial"]) for a, _ in tables(gap_report, "layers")]
    assert len(detailed) == min(2, len(run.pareto)) + 1
    for (_, rows), n in zip(tables(gap_report, "workloads"), detailed):
        design = resolve_design(space, by_number[n].params)
        acc = build_accelerator(space, design)
        naive = replace(policy_of(design, space), mode="fixed")
        (w,) = space_workloads(space, space.base_dir)
        cycles = sum(map_layer(layer, acc, naive).cycles * layer.count for layer in w.layers)
        header = [c[0] for c in rows[0]]
        cells = dict(zip(header, rows[1]))
        assert float(cells["naive latency [ms]"][1]) == pytest.approx(cycles / acc.clock_hz, rel=1e-12)
        gap = float(cells["latency gap [%]"][1])
        assert gap == pytest.approx(cycles / acc.clock_hz / float(cells["latency [ms]"][1]) - 1, rel=1e-12)
    assert "asked for, not on the front" in gap_report


def test_parallel_coordinates_label_categories(run: codesign.api.SearchResult) -> None:
    from codesign.report.charts import parallel_figure

    fig = parallel_figure(load_run(run.run_dir))
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims["array.dataflow"].ticktext) == ["weight_stationary", "output_stationary"]
    assert list(dims["GLB.size"].ticktext)[0] == "8KiB" and list(dims["GLB.size"].ticktext)[-1] == "256KiB"
    assert set(dims["array.dataflow"].values) <= {0, 1}


def test_failed_trials_are_summarized(tmp_path: Path) -> None:
    """A space no design of which maps: every trial FAILs; the report lists the reason and details nothing."""
    text = TINY.read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    space = tmp_path / "tiny1b.yaml"
    space.write_text(text.replace("size: {choice: [16B, 64B]}", "size: 1B"))
    result = codesign.search(codesign.load_space(space), trials=3, runs_dir=tmp_path / "runs")
    page = result.report.read_text()
    reasons = [rows for _, rows in tables(page, None) if [c[0] for c in rows[0]] == ["reason", "trials"]]
    assert len(reasons) == 1 and len(reasons[0]) == 2, reasons
    (reason, count), = [[c[0] for c in r] for r in reasons[0][1:]]
    assert reason.startswith("infeasible:") and "no candidate mapping fits" in reason and count == "3"
    assert "No design detailed" in page and "No feasible design yet" in page


def test_write_report_works_after_report_submodules_are_imported(run: codesign.api.SearchResult) -> None:
    import codesign.report.tables  # noqa: F401  binds the package codesign.report: the API name must differ

    assert codesign.write_report(run.run_dir, designs=0) == run.run_dir / "report.html"


def test_bad_run_dir_gives_a_clear_error(tmp_path: Path, run: codesign.api.SearchResult) -> None:
    runner = CliRunner()
    cases = [
        ([str(tmp_path / "nope")], f"error: {tmp_path / 'nope'}: no such run directory"),
        ([str(tmp_path)], f"error: {tmp_path}: not a run directory: it has no space.yaml"),
        ([str(run.run_dir), "--design", "999"], "error: --design 999: no finished trial 999"),
        ([str(run.run_dir), "--study", "other"], "error: --study: no study 'other' in the storage; it holds: tiny"),
    ]
    (tmp_path / "nojournal").mkdir()
    (tmp_path / "nojournal" / "space.yaml").write_text(TINY.read_text())
    cases.append(([str(tmp_path / "nojournal")], "no journal.log here; if the search used --storage URL"))
    for args, message in cases:
        out = runner.invoke(app, ["report", *args])
        assert out.exit_code == 1, (args, out.output)
        assert message in out.output, (args, out.output)
        assert "Traceback" not in out.output


def test_cli_report_prints_the_path(run: codesign.api.SearchResult) -> None:
    out = CliRunner().invoke(app, ["report", str(run.run_dir), "--designs", "1"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == f"report: {run.run_dir / 'report.html'}"
    page = (run.run_dir / "report.html").read_text()
    assert page.count('class="plotly-graph-div"') == 4 + 3 * 1


def test_no_report_option_skips_it(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["search", str(TINY), "--trials", "2", "--runs-dir", str(tmp_path), "-q", "--no-report"])
    assert out.exit_code == 0, out.output
    assert not (tmp_path / "tiny" / "report.html").exists() and "report:" not in out.output
    assert optuna.load_study(study_name="tiny", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "tiny" / "journal.log")))).user_attrs[
        "codesign_base_dir"] == str(DATA.resolve())


def test_three_objectives_get_pairs_and_a_3d_view(tmp_path: Path) -> None:
    text = TINY.read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    space = tmp_path / "tiny3.yaml"
    space.write_text(text.replace("  - minimize energy [mJ]\n", "  - minimize energy [mJ]\n  - minimize area [mm2]\n"))
    result = codesign.search(codesign.load_space(space), trials=6, runs_dir=tmp_path / "runs", report_designs=1)
    page = result.report.read_text()
    assert 'id="chart-front-3d"' in page
    from codesign.report.charts import front_figure

    fig = front_figure(load_run(result.run_dir))
    titles = {(fig.layout[f"xaxis{k}"].title.text, fig.layout[f"yaxis{k}"].title.text) for k in ("", "2", "3")}
    assert titles == {("latency [ms]", "energy [mJ]"), ("latency [ms]", "area [mm2]"), ("energy [mJ]", "area [mm2]")}
