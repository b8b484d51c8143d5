"""``codesign report RUN_DIR``: a run directory -> report.html, front.png, roofline_<trial>.png, linked from summary.md.

The steps: read the run (:mod:`~codesign.report.gather`), re-evaluate the chosen designs
(:mod:`~codesign.report.detail`), draw the PNGs (:mod:`~codesign.report.figures`) and the
plotly charts, assemble the page (:mod:`~codesign.report.html`).
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna

from codesign.errors import CodesignError
from codesign.report.gather import RunData, load_run, spread_designs
from codesign.report.tables import TrialRow
from codesign.spec.space import Space

REPORT = "report.html"
FRONT_PNG = "front.png"
DEFAULT_DESIGNS = 6


def roofline_png_name(number: int) -> str:
    return f"roofline_{number}.png"


def chosen_rows(data: RunData, designs: int, numbers: tuple[int, ...] = ()) -> list[TrialRow]:
    """The ``designs`` best-spread front designs plus every trial asked for by number (in that order, no repeats)."""
    picked = spread_designs(data.front, data.labels, data.maximize, designs)
    by_number = {r.number: r for r in data.rows}
    for n in numbers:
        r = by_number.get(n)
        if r is None:
            raise CodesignError(f"no finished trial {n} in this run (trials 0..{len(data.rows) - 1})", f"--design {n}")
        if r.state != "COMPLETE":
            raise CodesignError(f"trial {n} {'was pruned' if r.state == 'PRUNED' else 'failed'} "
                                f"({r.reason or 'no reason recorded'}); it has no result to detail",
                                f"--design {n}")
        if r not in picked:
            picked.append(r)
    return picked


def build_report(run_dir: str | Path, *, designs: int = DEFAULT_DESIGNS, numbers: tuple[int, ...] = (),
                 compiler_gap: bool = False, storage: str | None = None, study: str | optuna.Study | None = None,
                 base: Path | None = None, space: Space | None = None) -> Path:
    """Write ``run_dir/report.html`` and its PNGs; return the report's path (see :func:`codesign.report`)."""
    from plotly.offline import get_plotlyjs

    from codesign.report import charts, design_charts, figures, html
    from codesign.report.detail import detail_design
    from codesign.report.files import write_atomic
    from codesign.report.gather import convergence, importances, rejection_reasons

    if designs < 0:
        raise CodesignError(f"expected 0 or more designs to detail, got {designs}", "--designs")
    data = load_run(run_dir, storage=storage, study=study, base=base, space=space)
    run_dir = data.run_dir
    details = [detail_design(data.space, r, compiler_gap) for r in chosen_rows(data, designs, tuple(numbers))]
    figures.front_png(data, run_dir / FRONT_PNG)
    pngs = [FRONT_PNG]
    for d in details:
        pngs.append(figures.roofline_png(d, run_dir / roofline_png_name(d.number)).name)

    conv, imp = convergence(data.rows, data.labels, data.maximize), importances(data)
    front_charts = [html.chart(charts.front_figure(data), "chart-front")]
    if len(data.labels) == 3:
        front_charts.append(html.chart(charts.front_figure_3d(data), "chart-front-3d"))
    parallel = charts.parallel_figure(data)
    importance = charts.importance_figure(imp)
    detailed = {d.number for d in details}
    sections = [
        ("overview", "Overview", html.overview(data, details, list(numbers))),
        ("front", "Pareto front", "".join(front_charts) + html.front_table(data, detailed)),
        ("parallel", "Parameters vs objectives",
         html.chart(parallel, "chart-parallel") if parallel else "<p>No complete trial yet.</p>"),
        ("convergence", "Convergence", html.chart(charts.convergence_figure(data, conv), "chart-convergence")),
        ("importance", "Parameter importance",
         (html.chart(importance, "chart-importance") if importance else "") + html.importance_notes(imp)),
        ("rejected", "Rejected trials", html.rejected(*rejection_reasons(data.rows))),
    ]
    for d in details:
        plots = [html.chart(design_charts.layers_figure(d), f"chart-layers-{d.number}"),
                 html.chart(design_charts.energy_figure(d), f"chart-energy-{d.number}"),
                 html.chart(design_charts.roofline_figure(d), f"chart-roofline-{d.number}")]
        sections.append((f"trial-{d.number}", f"Trial {d.number}" + (" (Pareto-optimal)" if d.row in data.front else ""),
                         html.design_section(d, data.labels, plots, roofline_png_name(d.number))))
    if not details:
        sections.append(("designs", "Detailed designs", "<p>No design detailed (no feasible design on the front"
                         " and none asked for with --design).</p>"))
    out = run_dir / REPORT
    write_atomic(out, html.page(data, sections, get_plotlyjs()))
    link_figures(run_dir / "summary.md", pngs)
    return out


FIGURES_HEADING = "## Figures"


def link_figures(summary: Path, pngs: list[str]) -> None:
    """Add (or replace) a "Figures" section in ``summary`` linking the PNGs and the HTML report."""
    from codesign.report.files import write_atomic

    if not summary.is_file():
        return
    text = summary.read_text()
    text = re.sub(rf"\n{FIGURES_HEADING}\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip("\n")
    lines = ["", "", FIGURES_HEADING, "", f"Interactive report: [{REPORT}]({REPORT})", ""]
    lines += [f"![{Path(p).stem.replace('_', ' ')}]({p})" for p in pngs]
    write_atomic(summary, text + "\n".join(lines) + "\n")


__all__ = ["DEFAULT_DESIGNS", "build_report", "chosen_rows", "link_figures"]
