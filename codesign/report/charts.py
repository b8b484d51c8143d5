"""Plotly figures of a whole study: the Pareto front, parallel coordinates, convergence, importance.

Every function takes plain records (:mod:`codesign.report.gather`) and returns a
``plotly.graph_objects.Figure``; :mod:`codesign.report.html` embeds them in the page.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from codesign.report.gather import Convergence, Importance, RunData
from codesign.report.tables import TrialRow
from codesign.spec.domains import Choice, Range
from codesign.spec.params import search_domains

STATE_STYLE = {   # trial class -> (legend name, colour, marker symbol)
    "pareto": ("Pareto-optimal", "#d62728", "star"),
    "feasible": ("feasible", "#1f77b4", "circle"),
    "infeasible": ("infeasible (violates a constraint)", "#aaaaaa", "circle-open"),
    "failed": ("failed (no result)", "#000000", "x"),
}


def trial_class(r: TrialRow, front: set[int]) -> str:
    if r.number in front:
        return "pareto"
    if r.feasible:
        return "feasible"
    return "infeasible" if r.state == "COMPLETE" else "failed"


def param_text(name: str, value: Any) -> str:
    """A parameter value with its unit (``64KiB``, ``500MHz``, ``12.8GB/s``)."""
    from codesign.units import format_quantity

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    for suffix, kind in ((".size", "size"), ("clock", "frequency"), (".bandwidth", "bandwidth")):
        if name.endswith(suffix):
            return format_quantity(value, kind)
    if name.endswith("technology"):
        return f"{value:g}nm"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def short_name(name: str) -> str:
    """A parameter's name without the ``hardware.`` and ``memory.`` prefixes (``GLB.size``, ``array.rows``)."""
    return name.removeprefix("hardware.").removeprefix("memory.")


def hover(r: TrialRow, labels: list[str]) -> str:
    """A trial's number, state, objectives, metrics and parameters, as hover HTML."""
    head = f"<b>trial {r.number}</b> ({'feasible' if r.feasible else r.state.lower() if r.state != 'COMPLETE' else 'infeasible'})"
    lines = [head] + [f"{lb}: {r.objectives[lb]:.4g}" for lb in labels if lb in r.objectives]
    lines += [f"{m}: {v:.4g}" for m, v in r.metrics.items() if m not in ("throughput",)]
    lines += [f"{k}: {param_text(k, v)}" for k, v in r.params.items()]
    if r.reason:
        lines.append(f"reason: {r.reason[:120]}")
    return "<br>".join(lines)


def front_figure(data: RunData) -> go.Figure:
    """Every complete trial in each pair of objectives (one subplot per pair), Pareto points highlighted;
    failed trials have no objective values and are counted in the title."""
    labels, front = data.labels, {r.number for r in data.front}
    pairs = list(itertools.combinations(range(len(labels)), 2)) or [(0, 0)]
    cols = min(3, len(pairs))
    fig = make_subplots(rows=math.ceil(len(pairs) / cols), cols=cols, horizontal_spacing=0.08,
                        vertical_spacing=0.12)
    complete = [r for r in data.rows if r.state == "COMPLETE"]
    for p, (i, j) in enumerate(pairs):
        row, col = p // cols + 1, p % cols + 1
        for cls in ("infeasible", "feasible", "pareto"):
            pts = [r for r in complete if trial_class(r, front) == cls]
            if cls == "pareto":
                pts = sorted(pts, key=lambda r: (r.objectives[labels[i]], r.number))
            name, color, symbol = STATE_STYLE[cls]
            fig.add_trace(go.Scatter(
                x=[r.objectives[labels[i]] for r in pts], y=[r.objectives[labels[j]] for r in pts],
                mode="markers+lines" if cls == "pareto" and len(labels) == 2 else "markers",
                line={"shape": "vh" if data.maximize[i] else "hv", "width": 1, "dash": "dot"},   # the attainment staircase
                marker={"color": color, "symbol": symbol, "size": 11 if cls == "pareto" else 7},
                name=name, legendgroup=cls, showlegend=p == 0, text=[hover(r, labels) for r in pts],
                hovertemplate="%{text}<extra></extra>"), row=row, col=col)
        fig.update_xaxes(title_text=labels[i], type=_axis_type(complete, labels[i]), row=row, col=col)
        fig.update_yaxes(title_text=labels[j], type=_axis_type(complete, labels[j]), row=row, col=col)
    failed = sum(r.state != "COMPLETE" for r in data.rows)
    fig.update_layout(title=f"Pareto front: {len(front)} of {len(complete)} complete trials"
                            + (f" ({failed} failed or pruned trials have no objective values)" if failed else ""),
                      height=420 * math.ceil(len(pairs) / cols), legend={"orientation": "h", "y": -0.15})
    return fig


def _axis_type(rows: list[TrialRow], label: str) -> str:
    """Log axes for positive values spanning more than a factor of 10; linear otherwise."""
    v = [r.objectives[label] for r in rows]
    return "log" if v and min(v) > 0 and max(v) > 10 * min(v) else "linear"


def front_figure_3d(data: RunData) -> go.Figure:
    """The three objectives in one 3-D scatter."""
    labels, front = data.labels, {r.number for r in data.front}
    complete = [r for r in data.rows if r.state == "COMPLETE"]
    fig = go.Figure()
    for cls in ("infeasible", "feasible", "pareto"):
        pts = [r for r in complete if trial_class(r, front) == cls]
        name, color, _ = STATE_STYLE[cls]
        fig.add_trace(go.Scatter3d(
            x=[r.objectives[labels[0]] for r in pts], y=[r.objectives[labels[1]] for r in pts],
            z=[r.objectives[labels[2]] for r in pts], mode="markers", name=name,
            marker={"color": color, "size": 6 if cls == "pareto" else 3,
                    "symbol": "diamond" if cls == "pareto" else "circle"},
            text=[hover(r, labels) for r in pts], hovertemplate="%{text}<extra></extra>"))
    fig.update_layout(title="Pareto front in three objectives", height=600,
                      scene={f"{axis}axis": {"title": {"text": lb}, "type": _axis_type(complete, lb)}
                             for axis, lb in zip("xyz", labels)})
    return fig


def parallel_figure(data: RunData) -> go.Figure | None:
    """Parameters and objectives of every complete trial; lines coloured by class. Categorical
    parameters are encoded by their option index (tick labels give the options), pow2 ranges by log2 and
    log ranges by log10 (tick labels give the values). ``None`` without complete trials."""
    complete = [r for r in data.rows if r.state == "COMPLETE"]
    if not complete:
        return None
    front = {r.number for r in data.front}
    dims = [_param_dimension(name, dom, complete) for name, dom in search_domains(data.space).items()]
    for lb in data.labels:
        dims.append(_log_dimension(lb, [r.objectives[lb] for r in complete], str))
    code = {"infeasible": 0, "feasible": 1, "pareto": 2}
    color = [code[trial_class(r, front)] for r in complete]
    scale = [[0, STATE_STYLE["infeasible"][1]], [0.5, STATE_STYLE["feasible"][1]], [1, STATE_STYLE["pareto"][1]]]
    fig = go.Figure(go.Parcoords(dimensions=dims, line={"color": color, "colorscale": scale, "cmin": 0, "cmax": 2},
                                 labelangle=-20, labelside="top"))
    fig.update_layout(title="Parameters vs objectives (red: Pareto-optimal, blue: feasible, grey: infeasible)",
                      height=520, margin={"l": 90, "r": 110, "t": 110})
    return fig


def _param_dimension(name: str, dom: Any, rows: list[TrialRow]) -> dict[str, Any]:
    label = short_name(name)
    values = [r.params.get(name, getattr(dom, "default", None)) for r in rows]   # conditional: its default
    if isinstance(dom, Choice):
        options = list(dom.options)
        return {"label": label, "values": [options.index(v) if v in options else -1 for v in values],
                "tickvals": list(range(len(options))), "ticktext": [param_text(name, o) for o in options],
                "range": [-0.2, len(options) - 0.8]}
    if isinstance(dom, Range) and dom.scale == "pow2":
        powers = dom.values()
        ticks = powers[:: max(1, math.ceil(len(powers) / 8))]
        return {"label": label, "values": [math.log2(v) for v in values], "tickvals": [math.log2(v) for v in ticks],
                "ticktext": [param_text(name, v) for v in ticks], "range": [math.log2(powers[0]), math.log2(powers[-1])]}
    if isinstance(dom, Range) and dom.scale == "log":
        return _log_dimension(label, values, lambda v: param_text(name, v), (dom.low, dom.high))
    return {"label": label, "values": values}


def _log_dimension(label: str, values: list[Any], fmt: Any, bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """A log10-encoded axis with five ticks labelled by value (linear when a value is not positive)."""
    lo, hi = bounds or (min(values), max(values))
    if lo <= 0:
        return {"label": label, "values": values}
    lo = math.log10(lo)
    hi = math.log10(hi) if hi > 10 ** lo else lo + 1
    ticks = [lo + (hi - lo) * k / 4 for k in range(5)]
    return {"label": label, "values": [math.log10(v) for v in values], "range": [lo, hi],
            "tickvals": ticks, "ticktext": [fmt(float(f"{10 ** t:.3g}")) for t in ticks]}


def convergence_figure(data: RunData, conv: Convergence) -> go.Figure:
    """Hypervolume of the feasible front after each trial, with every trial marked by its class."""
    front = {r.number for r in data.front}
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=conv.numbers, y=conv.hypervolume, mode="lines", line={"shape": "hv"},
                             name="hypervolume", hovertemplate="after trial %{x}: %{y:.4g}<extra></extra>"), row=1, col=1)
    for cls, (name, color, symbol) in STATE_STYLE.items():
        pts = [r for r in data.rows if trial_class(r, front) == cls]
        if pts:
            fig.add_trace(go.Scatter(x=[r.number for r in pts], y=[name.split(" ")[0]] * len(pts), mode="markers",
                                     marker={"color": color, "symbol": symbol, "size": 7}, name=name, showlegend=False,
                                     text=[hover(r, data.labels) for r in pts], hovertemplate="%{text}<extra></extra>"),
                          row=2, col=1)
    ref = ", ".join(f"{v:.4g}" for v in conv.reference) if conv.reference else "none (no feasible trial)"
    fig.update_layout(title=f"Convergence: hypervolume of the feasible front (reference point {ref})",
                      height=460, showlegend=False)
    fig.update_yaxes(title_text="hypervolume", row=1, col=1)
    fig.update_xaxes(title_text="trial number", row=2, col=1)
    return fig


def importance_figure(imp: Importance) -> go.Figure | None:
    """Horizontal bars: each parameter's importance per objective (``None`` when there is none)."""
    if not imp.values:
        return None
    params = sorted({p for v in imp.values.values() for p in v}, key=lambda p: -max(v.get(p, 0) for v in imp.values.values()))
    fig = go.Figure([go.Bar(y=[short_name(p) for p in params], x=[v.get(p, 0.0) for p in params],
                            orientation="h", name=label) for label, v in imp.values.items()])
    fig.update_layout(title="Parameter importance per objective (PED-ANOVA, normalized to 1)", barmode="group",
                      height=160 + 28 * len(params) * max(1, len(imp.values)) // 2,
                      yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "importance"}})
    return fig


__all__ = ["convergence_figure", "front_figure", "front_figure_3d", "hover", "importance_figure", "parallel_figure",
           "param_text", "short_name", "trial_class"]
