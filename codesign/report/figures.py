"""Static PNG figures (matplotlib, Agg backend) for summary.md and papers: ``front.png``, ``roofline_<trial>.png``.

Each file is drawn to a temporary file beside it and renamed over the old one, so a reader never
sees half a PNG.
"""

from __future__ import annotations

import itertools
import math
import os
import uuid
from pathlib import Path

from codesign.report.charts import STATE_STYLE, trial_class
from codesign.report.detail import DesignDetail
from codesign.report.gather import RunData
from codesign.report.rooflines import bound_colors, points, roof_curve, roofs, x_range

MPL_MARKERS = {"star": "*", "circle": "o", "circle-open": "o", "x": "x"}
LEVEL_MARKERS = ["o", "s", "D", "^", "P", "X"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.png")
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        _pyplot().close(fig)
    return path


def front_png(data: RunData, path: Path) -> Path:
    """Every complete trial in each pair of objectives, Pareto-optimal designs starred."""
    plt = _pyplot()
    labels, front = data.labels, {r.number for r in data.front}
    pairs = list(itertools.combinations(range(len(labels)), 2)) or [(0, 0)]
    cols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.2 * nrows), squeeze=False)
    fig.subplots_adjust(left=0.16 / cols, right=0.98, bottom=0.12 / nrows, top=1 - 0.1 / nrows, wspace=0.3, hspace=0.3)
    complete = [r for r in data.rows if r.state == "COMPLETE"]
    for p, (i, j) in enumerate(pairs):
        ax = axes[p // cols][p % cols]
        for cls in ("infeasible", "feasible", "pareto"):
            pts = [r for r in complete if trial_class(r, front) == cls]
            name, color, symbol = STATE_STYLE[cls]
            if pts:
                ax.scatter([r.objectives[labels[i]] for r in pts], [r.objectives[labels[j]] for r in pts],
                           marker=MPL_MARKERS[symbol], s=90 if cls == "pareto" else 22, label=name, zorder=3,
                           facecolors="none" if symbol.endswith("open") else color, edgecolors=color)
        for axis, lb in ((ax.set_xscale, labels[i]), (ax.set_yscale, labels[j])):
            v = [r.objectives[lb] for r in complete]
            if v and min(v) > 0 and max(v) > 10 * min(v):
                axis("log")
        ax.set_xlabel(labels[i])
        ax.set_ylabel(labels[j])
        ax.grid(True, alpha=0.3)
    for p in range(len(pairs), nrows * cols):
        axes[p // cols][p % cols].axis("off")
    if complete:
        axes[0][0].legend(fontsize=8)
    else:
        axes[0][0].text(0.5, 0.5, "no complete trial", ha="center", va="center", transform=axes[0][0].transAxes)
    fig.suptitle(f"{data.study.study_name}: {len(front)} Pareto-optimal of {len(complete)} complete trials")
    return _save(fig, path)


def roofline_png(d: DesignDetail, path: Path) -> Path:
    """The design's hierarchical roofline (see :mod:`codesign.report.rooflines`)."""
    plt = _pyplot()
    acc = d.result.accelerator
    pts, rfs = points(d), roofs(acc)
    peak = acc.peak_macs_per_s
    lo, hi = x_range(pts, rfs, peak)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.11, top=0.93)
    for k, roof in enumerate(rfs):
        xs, ys = roof_curve(roof, lo, hi, peak)
        label = (f"compute {peak / 1e9:.4g} GMAC/s" if roof.bytes_per_s is None
                 else f"{roof.name} {roof.bytes_per_s / 1e9:.4g} GB/s")
        ax.plot(xs, [y / 1e9 for y in ys], color="black" if k == 0 else "0.4", lw=2 if k == 0 else 1.2,
                ls=["-", "--", ":", "-."][k % 4], label=label)
    colors = bound_colors(acc)
    for li, level in enumerate(lv.name for lv in acc.levels):
        at = [p for p in pts if p.level == level]
        if at:
            marker = LEVEL_MARKERS[li % len(LEVEL_MARKERS)]
            ax.scatter([p.macs_per_byte for p in at], [p.macs_per_s / 1e9 for p in at], s=40, zorder=3,
                       marker=marker, c=[colors[p.bound] for p in at], edgecolors="white", linewidths=0.5)
            ax.scatter([], [], marker=marker, c="0.5", s=40, label=f"layers at {level} intensity")
    for bound, color in colors.items():
        if any(p.bound == bound for p in pts):
            ax.scatter([], [], c=color, s=40, label=f"bound: {bound}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity [MACs/byte]")
    ax.set_ylabel("throughput [GMAC/s]")
    ax.set_title(f"trial {d.number}: {acc.rows}x{acc.cols} PEs, {acc.dataflow}, {acc.clock_hz / 1e6:.0f} MHz")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


__all__ = ["front_png", "roofline_png"]
