"""Roofline chart geometry of a detailed design, shared by the HTML (plotly) and PNG (matplotlib) charts.

A hierarchical roofline (one roof per memory level, as in Yang et al., "Hierarchical Roofline
Analysis for GPUs", 2020): the x axis is operational intensity (MACs per byte moved at a
level), the y axis throughput (MACs/s). The compute roof is the array's peak (MAC units x
clock); a level's roof is intensity x its bandwidth over all its instances (bytes per cycle x
instances x clock). Each layer sits at the same achieved throughput (MACs / latency) once per
level, at that level's intensity; it cannot lie above any roof, and its latency is set by the
bound the cost model names (:mod:`codesign.cost.roofline`).
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.hardware.accelerator import Accelerator
from codesign.report.detail import DesignDetail


@dataclass(frozen=True)
class Roof:
    name: str                         # "compute" or a level name
    macs_per_s: float | None          # compute roof (None for a bandwidth roof)
    bytes_per_s: float | None         # bandwidth roof (None for the compute roof)


@dataclass(frozen=True)
class RooflinePoint:
    workload: str
    layer: str
    level: str
    macs_per_byte: float              # operational intensity at ``level``
    macs_per_s: float                 # achieved
    utilization: float
    bound: str


def roofs(acc: Accelerator) -> list[Roof]:
    """The compute roof and the roof of every level of finite bandwidth."""
    out = [Roof("compute", acc.peak_macs_per_s, None)]
    for level in acc.levels:
        if level.bytes_per_cycle:
            instances = 1 if level.shared else acc.num_pes
            out.append(Roof(level.name, None, level.bytes_per_cycle * instances * acc.clock_hz))
    return out


def points(detail: DesignDetail) -> list[RooflinePoint]:
    """Every MAC layer of every workload, once per level that has a roof (finite bandwidth) and moves
    bytes for it."""
    acc = detail.result.accelerator
    clock = acc.clock_hz
    roofed = {lv.name for lv in acc.levels if lv.bytes_per_cycle}
    out = []
    for w in detail.workloads:
        for lr in w.layers:
            if lr.roofline is None:
                continue
            achieved = lr.roofline.achieved_macs_per_cycle * clock
            for lv in lr.roofline.levels:
                if lv.macs_per_byte is not None and lv.name in roofed:
                    out.append(RooflinePoint(w.name, lr.name, lv.name, lv.macs_per_byte, achieved,
                                             lr.roofline.utilization, lr.bound))
    return out


def roof_curve(roof: Roof, x_min: float, x_max: float, peak: float) -> tuple[list[float], list[float]]:
    """The roof's line over ``[x_min, x_max]`` (MACs/byte), capped by the compute ``peak``; a bandwidth
    roof bends at its ridge point (peak / bandwidth)."""
    if roof.bytes_per_s is None:
        return [x_min, x_max], [peak, peak]
    ridge = peak / roof.bytes_per_s
    xs = [x_min] + ([ridge] if x_min < ridge < x_max else []) + [x_max]
    return xs, [min(peak, x * roof.bytes_per_s) for x in xs]


def x_range(pts: list[RooflinePoint], rfs: list[Roof], peak: float) -> tuple[float, float]:
    """An intensity range holding every point and every ridge, with a margin of x4 each side."""
    xs = [p.macs_per_byte for p in pts] + [peak / r.bytes_per_s for r in rfs if r.bytes_per_s]
    if not xs:
        return 0.1, 100.0
    return min(xs) / 4, max(xs) * 4


BOUND_COLORS = ["#2ca02c", "#8c564b", "#d62728", "#ff7f0e", "#1f77b4", "#9467bd", "#e377c2", "#17becf"]


def bound_colors(acc: Accelerator) -> dict[str, str]:
    """One colour per possible binding bound: compute (green), the vector unit, then each level."""
    names = ["compute", "vector"] + [lv.name for lv in acc.levels]
    return {b: BOUND_COLORS[i % len(BOUND_COLORS)] for i, b in enumerate(names)}


__all__ = ["Roof", "RooflinePoint", "bound_colors", "points", "roof_curve", "roofs", "x_range"]
