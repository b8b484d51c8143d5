"""The study report as one self-contained HTML page: plotly.js is embedded once, nothing is fetched.

:func:`page` assembles the sections from plain records (:mod:`codesign.report.gather`,
:mod:`codesign.report.detail`) and the figures of :mod:`codesign.report.charts` and
:mod:`codesign.report.design_charts`.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from codesign.report.charts import param_text, short_name
from codesign.report.detail import DesignDetail, WorkloadDetail, dominating
from codesign.report.gather import Importance, RunData
from codesign.report.tables import trial_counts

CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1300px; padding: 0 24px 48px; color: #222; }
h1 { margin-top: 24px; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 40px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; } tr.detailed td:first-child { font-weight: bold; }
.note { color: #555; font-size: 13px; } .chart { margin: 8px 0 24px; }
pre { background: #f7f7f7; padding: 8px; font-size: 12px; overflow-x: auto; }
details { margin: 2px 0; } summary { cursor: pointer; font-family: monospace; font-size: 13px; }
nav a { margin-right: 14px; } .scroll { overflow-x: auto; }
"""


def chart(fig: Any, div_id: str) -> str:
    """One figure as a ``<div>`` and the script that draws it (plotly.js itself is in the page head)."""
    return '<div class="chart">' + fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                                               config={"displaylogo": False, "responsive": True}) + "</div>"


class Markup(str):
    """Text that is already HTML."""


def table(head: list[str], rows: list[list[Any]], attrs: str = "", row_attrs: list[str] | None = None) -> str:
    """An HTML table; a cell is text, or ``(text, value)`` for a number shown as text and kept exact in ``data-value``."""
    out = [f"<table{attrs}><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for k, row in enumerate(rows):
        cells = []
        for c in row:
            if isinstance(c, tuple):
                cells.append(f'<td class="n" data-value="{float(c[1])!r}">{escape(c[0])}</td>')
            else:
                cells.append(f"<td>{c if isinstance(c, Markup) else escape(str(c))}</td>")
        extra = f" {row_attrs[k]}" if row_attrs else ""
        out.append(f"<tr{extra}>" + "".join(cells) + "</tr>")
    return "".join(out) + "</tbody></table>"


def num(value: float, scale: float = 1.0, fmt: str = ".4g") -> tuple[str, float]:
    """A number cell: ``value x scale`` shown with ``fmt``, ``value`` (base units) kept exact."""
    return format(value * scale, fmt), value


def page(data: RunData, sections: list[tuple[str, str, str]], plotly_js: str) -> str:
    """The whole page: ``sections`` are (anchor, title, HTML body)."""
    nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t, _ in sections)
    body = "".join(f'<h2 id="{a}">{escape(t)}</h2>{b}' for a, t, b in sections)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>codesign report: "
            f"{escape(data.study.study_name)}</title><style>{CSS}</style>"
            f"<script type='text/javascript'>{plotly_js}</script></head><body>"
            f"<h1>Study <code>{escape(data.study.study_name)}</code></h1><nav>{nav}</nav>{body}</body></html>")


def overview(data: RunData, details: list[DesignDetail], asked: list[int]) -> str:
    rows = data.rows
    objectives = ", ".join(f"{o.direction} {lb}" for o, lb in zip(data.space.objectives, data.labels))
    detailed = ", ".join(f'<a href="#trial-{d.number}">{d.number}</a>' for d in details) or "none"
    on_front = {r.number for r in data.front}
    off = [n for n in asked if n not in on_front]
    parts = [f"<p>{escape(data.space.description.strip())}</p>" if data.space.description.strip() else "",
             "<ul>",
             f"<li>trials: {trial_counts(rows)}</li>",
             f"<li>objectives: {escape(objectives)}</li>",
             f"<li>constraints: {escape(', '.join(c.text for c in data.space.constraints) or 'none')}</li>",
             f"<li>Pareto front: {len(data.front)} feasible designs; detailed below: trials {detailed}"
             + (f" (of which {', '.join(map(str, off))} asked for, not on the front)" if off else "") + "</li>",
             f"<li>run directory: <code>{escape(str(data.run_dir))}</code> (trials.csv, pareto.csv, pareto.json, "
             "summary.md, front.png, roofline_&lt;trial&gt;.png)</li></ul>"]
    fidelity = getattr(data.space.search, "fidelity", "analytical")
    if fidelity != "analytical":
        parts.append(f"<p class='note'>The search ran at fidelity <code>{escape(fidelity)}</code>; the per-layer "
                     "details below are the analytical model's (the roofline view), the objective values the search's.</p>")
    return "".join(parts)


def front_table(data: RunData, detailed: set[int]) -> str:
    if not data.front:
        return "<p>No feasible design yet.</p>"
    params = list(dict.fromkeys(p for r in data.front for p in r.params))   # conditional ones are in some rows
    head = ["trial", *data.labels, *(f"{w.label} utilization" for w in data.space.workloads),
            *(short_name(p) for p in params)]
    rows = []
    for r in data.front:
        link = Markup(f'<a href="#trial-{r.number}">{r.number}</a>') if r.number in detailed else str(r.number)
        rows.append([link, *(num(r.objectives[lb]) for lb in data.labels),
                     *(num(r.per_workload.get(w.label, {}).get("utilization", float("nan")), 100, ".1f")
                       for w in data.space.workloads),
                     *(param_text(p, r.params[p]) if p in r.params else "" for p in params)])
    marks = ['class="detailed"' if r.number in detailed else "" for r in data.front]
    return ('<div class="scroll">' + table(head, rows, ' class="front"', marks) + "</div>" +
            "<p class='note'>Bold, linked trials are detailed below. Utilization (%) is achieved MACs/s over the "
            "array's peak.</p>")


def importance_notes(imp: Importance) -> str:
    if not imp.notes:
        return ""
    return "<ul class='note'>" + "".join(f"<li>{escape(n)}</li>" for n in imp.notes) + "</ul>"


def rejected(failed: Counter, infeasible: Counter) -> str:
    if not failed and not infeasible:
        return "<p>No trial failed or violated a constraint.</p>"
    out = ""
    if infeasible:
        out += "<h3>Infeasible (complete, but violating constraints)</h3>" + table(
            ["violated constraints", "trials"], [[k, str(n)] for k, n in infeasible.most_common()])
    if failed:
        out += "<h3>Failed or pruned (no result)</h3>" + table(["reason", "trials"],
                                                               [[k, str(n)] for k, n in failed.most_common(20)])
    return out


def design_section(d: DesignDetail, labels: list[str], charts: list[str], png: str) -> str:
    """A detailed design: what it is, per-workload and per-layer tables, charts, dominating layers, mappings."""
    r = d.row
    acc = d.result.accelerator
    head = (f"<p><b>{acc.rows}x{acc.cols} PEs</b> x{acc.macs_per_pe} MACs, {escape(acc.dataflow)}, "
            f"{escape(acc.precision)}, {acc.clock_hz / 1e6:.0f} MHz, {acc.node_nm:g} nm, area {acc.area_mm2:.4g} mm²; "
            + ", ".join(f"{escape(lb)} {r.objectives[lb]:.4g}" for lb in labels if lb in r.objectives)
            + ("" if r.feasible else " (<b>infeasible</b>)") + "</p>")
    params = "<details><summary>parameters</summary>" + table(
        ["parameter", "value"], [[k, param_text(k, v)] for k, v in r.params.items()]) + "</details>"
    out = [head, params, "<h3>Workloads</h3>", workloads_table(d)]
    for w in d.workloads:
        out.append(f"<h3>{escape(w.name)}: layers</h3>" + dominating_text(w) + layers_table(d.number, w))
    out += charts
    out.append(f"<p class='note'>Static roofline: <a href='{escape(png)}'>{escape(png)}</a>.</p>")
    out.append("<h3>Mappings (loop nests, outermost level first)</h3>")
    for w in d.workloads:
        for lr in w.layers:
            if lr.mapping:
                out.append(f"<details><summary>{escape(w.name)} / {escape(lr.name)}: {escape(lr.shape)} — bound "
                           f"{escape(lr.bound)}, utilization {lr.utilization:.0%}</summary><pre>"
                           + escape("\n".join(lr.mapping).strip("\n")) + "</pre></details>")
    return "".join(out)


def workloads_table(d: DesignDetail) -> str:
    gap = any(w.naive is not None or w.naive_reason for w in d.workloads)
    head = ["workload", "latency [ms]", "energy [mJ]", "power [W]", "utilization [%]", "compute roofline [ms]",
            "leakage [mJ]"]
    if gap:
        head += ["naive latency [ms]", "naive energy [mJ]", "latency gap [%]", "energy gap [%]"]
    rows = []
    for w in d.workloads:
        row = [w.name, num(w.latency_s, 1e3), num(w.energy_j, 1e3), num(w.energy_j / w.latency_s),
               num(w.utilization, 100, ".1f"), num(w.compute_roofline_s, 1e3), num(w.leakage_j, 1e3)]
        if gap and w.naive is not None:
            lat, en = w.naive["latency_s"], w.naive["energy_J"]
            row += [num(lat, 1e3), num(en, 1e3), num(lat / w.latency_s - 1, 100, "+.1f"),
                    num(en / w.energy_j - 1, 100, "+.1f")]
        elif gap:
            row += ["naive compiler cannot map it: " + w.naive_reason, "", "", ""]
        rows.append(row)
    note = ("<p class='note'>Compiler gap: the same hardware compiled by the naive compiler "
            "(<code>schedule.mode: fixed</code>) against the mapper; gap = naive / mapper − 1.</p>") if gap else ""
    return table(head, rows, ' class="workloads"') + note


def dominating_text(w: WorkloadDetail) -> str:
    items = [f"<li><b>{escape(x['layer'].name)}</b> (×{x['layer'].count}): {x['latency_share']:.0%} of latency, "
             f"{x['energy_share']:.0%} of dynamic energy, bound by {escape(x['layer'].bound)}</li>" for x in dominating(w)]
    return "<p>Dominating layers:</p><ul>" + "".join(items) + "</ul>"


def layers_table(number: int, w: WorkloadDetail) -> str:
    head = ["layer", "operator", "×", "MACs", "cycles (one)", "latency [ms] (all)", "latency share [%]",
            "energy [µJ] (all)", "utilization [%]", "bound"]
    rows = [[lr.name, lr.shape, str(lr.count), str(lr.macs) if lr.roofline else "–", num(lr.cycles),
             num(lr.latency_s, 1e3), num(lr.latency_s / w.latency_s, 100, ".1f"), num(lr.energy_j, 1e6),
             num(lr.utilization, 100, ".1f") if lr.roofline else "–", lr.bound] for lr in w.layers]
    return table(head, rows, f' class="layers" data-trial="{number}" data-workload="{escape(w.name)}"')


__all__ = ["chart", "design_section", "front_table", "importance_notes", "overview", "page", "rejected"]
