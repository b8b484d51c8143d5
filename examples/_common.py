"""What the example studies share: their command line (``--quick``, ``--out DIR``) and saving a figure."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")   # files only, no display

import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent


def arguments(doc: str) -> argparse.Namespace:
    """``--quick`` (the few points the tests run) and ``--out DIR`` (default: next to the script)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a tiny study (two or three points), for tests")
    ap.add_argument("--out", type=Path, default=HERE, help="where the PNG goes (default: examples/)")
    return ap.parse_args()


def grouped_bars(ax: plt.Axes, groups: list[str], series: dict[str, list[float]], title: str, line: float,
                 fontsize: float = 10) -> None:
    """Bars of each series (e.g. a workload) side by side per group (e.g. a design), a title and a
    horizontal reference line at ``line``."""
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        ax.bar([k + (i - (len(series) - 1) / 2) * width for k in range(len(groups))], values, width, label=label)
    ax.set_xticks(range(len(groups)), groups, fontsize=fontsize)
    ax.set_title(title)
    ax.axhline(line, color="black", linewidth=0.5)


def save(fig: plt.Figure, out: Path, name: str) -> Path:
    """Write ``fig`` as ``out/name`` (PNG, 150 dpi) and say where."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    print(f"figure: {path}")
    return path
