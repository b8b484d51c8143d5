"""Plotly figures of one detailed design: per-layer latency and energy, energy by level and tensor, roofline."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from codesign.report.detail import DesignDetail, energy_by_level
from codesign.report.rooflines import bound_colors, points, roof_curve, roofs, x_range

TENSOR_COLORS = {"weights": "#1f77b4", "inputs": "#ff7f0e", "outputs": "#2ca02c", "MACs": "#9467bd",
                 "vector ops": "#8c564b", "leakage": "#7f7f7f"}
LEVEL_DASH = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
LEVEL_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x"]


def layers_figure(d: DesignDetail) -> go.Figure:
    """Latency (ms) and dynamic energy (µJ) of every layer (all its occurrences), one row of bars per workload."""
    n = len(d.workloads)
    fig = make_subplots(rows=n, cols=2, subplot_titles=[t for w in d.workloads for t in
                                                       (f"{w.name}: latency [ms]", f"{w.name}: energy [µJ]")],
                        horizontal_spacing=0.15, vertical_spacing=0.25 / max(n, 1))
    for i, w in enumerate(d.workloads, start=1):
        names = [f"{lr.name} ×{lr.count}" if lr.count > 1 else lr.name for lr in w.layers]
        colors = bound_colors(d.result.accelerator)
        text = [f"{lr.name}: {lr.shape}<br>bound: {lr.bound}, util {lr.utilization:.0%}" for lr in w.layers]
        fig.add_trace(go.Bar(y=names, x=[lr.latency_s * 1e3 for lr in w.layers], orientation="h", showlegend=False,
                             marker={"color": [colors[lr.bound] for lr in w.layers]}, text=text,
                             textposition="none", hovertemplate="%{text}<br>%{x:.4g} ms<extra></extra>"), row=i, col=1)
        fig.add_trace(go.Bar(y=names, x=[lr.energy_j * 1e6 for lr in w.layers], orientation="h", showlegend=False,
                             marker={"color": "#7f7f7f"}, text=text, textposition="none",
                             hovertemplate="%{text}<br>%{x:.4g} µJ<extra></extra>"), row=i, col=2)
        fig.update_yaxes(autorange="reversed", row=i, col=1)
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=i, col=2)
    rows = max(len(w.layers) for w in d.workloads) if d.workloads else 1
    bounds = bound_colors(d.result.accelerator)
    key = ", ".join(f"<span style='color:{c}'>■</span> {b}" for b, c in bounds.items()
                    if any(lr.bound == b for w in d.workloads for lr in w.layers))
    fig.update_layout(title=f"Trial {d.number}: per-layer latency (colour: binding bound {key}) and dynamic energy",
                      height=140 + n * (60 + 22 * rows))
    return fig


def energy_figure(d: DesignDetail) -> go.Figure:
    """Each workload's energy (µJ) by memory level (and MACs, vector unit, leakage), stacked by tensor."""
    x_workload, x_level, stacks = [], [], {}
    for w in d.workloads:
        for level, by_tensor in energy_by_level(w).items():
            x_workload.append(w.name)
            x_level.append(level)
            for t in stacks:
                stacks[t].append(by_tensor.get(t, 0.0) * 1e6)
            for t, e in by_tensor.items():
                if t not in stacks:
                    stacks[t] = [0.0] * (len(x_level) - 1) + [e * 1e6]
    fig = go.Figure([go.Bar(x=[x_workload, x_level], y=v, name=t, marker={"color": TENSOR_COLORS.get(t)},
                            hovertemplate=f"{t}: " + "%{y:.4g} µJ<extra></extra>") for t, v in stacks.items()])
    fig.update_layout(title=f"Trial {d.number}: energy by memory level and tensor [µJ]", barmode="stack", height=420,
                      yaxis={"title": {"text": "energy [µJ]"}})
    return fig


def roofline_figure(d: DesignDetail) -> go.Figure:
    """Hierarchical roofline (log-log, see :mod:`codesign.report.rooflines`): the compute roof, each level's
    bandwidth roof, and every layer at each level's intensity, coloured by the bound that sets its latency."""
    acc = d.result.accelerator
    pts, rfs = points(d), roofs(acc)
    peak = acc.peak_macs_per_s
    lo, hi = x_range(pts, rfs, peak)
    level_names = [lv.name for lv in acc.levels]
    fig = go.Figure()
    for k, roof in enumerate(rfs):
        xs, ys = roof_curve(roof, lo, hi, peak)
        label = (f"compute roof {peak / 1e9:.4g} GMAC/s" if roof.bytes_per_s is None
                 else f"{roof.name} roof {roof.bytes_per_s / 1e9:.4g} GB/s")
        fig.add_trace(go.Scatter(x=xs, y=[y / 1e9 for y in ys], mode="lines", name=label, hoverinfo="name",
                                 line={"color": "black" if k == 0 else "#555555", "width": 2 if k == 0 else 1.5,
                                       "dash": LEVEL_DASH[(level_names.index(roof.name) if k else 0) % len(LEVEL_DASH)]}))
    colors = bound_colors(acc)
    for li, level in enumerate(level_names):
        at = [p for p in pts if p.level == level]
        if not at:
            continue
        symbol = LEVEL_SYMBOLS[li % len(LEVEL_SYMBOLS)]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"layers at {level} intensity",
                                 marker={"symbol": symbol, "size": 9, "color": "#888888"}))
        fig.add_trace(go.Scatter(
            x=[p.macs_per_byte for p in at], y=[p.macs_per_s / 1e9 for p in at], mode="markers", showlegend=False,
            marker={"symbol": symbol, "size": 9, "color": [colors[p.bound] for p in at],
                    "line": {"width": 1, "color": "white"}},
            text=[f"<b>{p.layer}</b> ({p.workload})<br>{p.macs_per_byte:.3g} MACs per {level} byte<br>"
                  f"{p.macs_per_s / 1e9:.4g} GMAC/s, utilization {p.utilization:.0%}<br>bound: {p.bound}" for p in at],
            hovertemplate="%{text}<extra></extra>"))
    for bound, color in colors.items():
        if any(p.bound == bound for p in pts):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", marker={"color": color, "size": 9},
                                     name=f"bound: {bound}"))
    fig.update_layout(title=f"Trial {d.number}: roofline (each layer once per level, at that level's intensity)",
                      height=520, xaxis={"type": "log", "title": {"text": "operational intensity [MACs/byte]"}},
                      yaxis={"type": "log", "title": {"text": "throughput [GMAC/s]"}})
    return fig


__all__ = ["energy_figure", "layers_figure", "roofline_figure"]
