"""Design studies from Python: compare named designs, sweep one or two parameters, the compiler
gap, a search's front, all as records (flat dicts) with table renderers.

A record holds a design's aggregated metrics in base units under the column names of
``trials.csv`` (``latency_s``, ``energy_J``, ``edp_Js``, ``power_W``, ``area_mm2``,
``throughput_per_s``, ``utilization``), the same per workload (``resnet18.latency_s``, ...),
``feasible`` and ``reason``. An infeasible design is a record, not an exception: ``reason`` is
``infeasible: <why no mapping fits>`` (its metrics are ``None``, its area is known) or
``violates: <constraints>``. Bad input (an unknown parameter, a value outside its domain, a
missing value) raises :class:`codesign.CodesignError`.

Parameter values are base-unit numbers or strings with units, as for ``--set``
(``"64KiB"``, ``"500MHz"``, ``"weight_stationary"``).

>>> import codesign
>>> space = codesign.load_space("spaces/edge.yaml")
>>> rows = codesign.sweep(space, {"hardware.memory.GLB.size": ["64KiB", "256KiB"]}, fixed=base)  # doctest: +SKIP
>>> print(codesign.markdown_table(rows, ["hardware.memory.GLB.size", "energy_J", "feasible"]))   # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.flow import InfeasibleDesign, evaluate_design
from codesign.hardware.build import build_accelerator
from codesign.report.tables import METRIC_COLUMNS
from codesign.spec.params import format_value, param_kind, parse_value, resolve_design
from codesign.spec.space import Space

if TYPE_CHECKING:
    from rich.table import Table

    from codesign.api import SearchResult

WORKLOAD_METRICS = ("latency", "energy", "edp", "power", "utilization")   # per-workload columns (area is shared)


def design_values(space: Space, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with string values parsed as ``--set`` values (``"64KiB"`` -> 65536), names and domains checked."""
    return {k: parse_value(k, v, space) if isinstance(v, str) else v for k, v in params.items()}


def evaluate_record(space: Space, params: dict[str, Any]) -> dict[str, Any]:
    """One design as a record (see the module docstring); infeasible designs included."""
    design = resolve_design(space, design_values(space, params))
    return _record(space, design)


def _record(space: Space, design: dict[str, Any]) -> dict[str, Any]:
    labels = [w.label for w in space.workloads]
    try:
        result = evaluate_design(space, design, space.base_dir)
    except InfeasibleDesign as exc:
        out: dict[str, Any] = {"feasible": False, "reason": f"infeasible: {exc}"}
        out.update({col: None for col in METRIC_COLUMNS.values()})
        out["area_mm2"] = build_accelerator(space, design).area_mm2
        out.update({f"{w}.{METRIC_COLUMNS[m]}": None for w in labels for m in WORKLOAD_METRICS})
        return out
    violated = [text for text, v in result.violations.items() if v > 0]
    out = {"feasible": not violated, "reason": ("violates: " + "; ".join(violated)) if violated else ""}
    out.update({col: result.metrics[m] for m, col in METRIC_COLUMNS.items()})
    out.update({f"{w}.{METRIC_COLUMNS[m]}": result.per_workload[w][m] for w in labels for m in WORKLOAD_METRICS})
    return out


def compare_designs(space: Space, designs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Named designs side by side: one record per design, ``{"design": name, ...metrics...}``.

    Each design gives every searched parameter of ``space`` (fixed ones come from the space).
    """
    return [{"design": name, **evaluate_record(space, params)} for name, params in designs.items()]


def sweep(space: Space, axes: dict[str, Sequence[Any]], fixed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Evaluate the grid of one or two parameters with every other searched parameter from ``fixed``.

    ``axes`` maps a parameter name to its values (``{"hardware.memory.GLB.size": ["64KiB", "1MiB"]}``);
    an axis overrides the same parameter in ``fixed``. The compiler maps every layer anew at every
    point. Returns one record per point, in ``itertools.product`` order of the axes, the axis
    values first (base units: 65536, not "64KiB").
    """
    if not 1 <= len(axes) <= 2:
        raise CodesignError(f"a sweep takes one or two parameters, got {len(axes)}", "sweep")
    for name, values in axes.items():
        if len(values) == 0:
            raise CodesignError(f"no values for {name}", "sweep")
    base = design_values(space, fixed or {})
    parsed = {name: [design_values(space, {name: v})[name] for v in values] for name, values in axes.items()}
    records = []
    for point in itertools.product(*parsed.values()):
        at = dict(zip(parsed, point))
        records.append({**at, **_record(space, resolve_design(space, {**base, **at}))})
    return records


def compiler_gap(space: Space, designs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The naive compiler (``schedule.mode: fixed``) against the mapper (``auto``) on the same hardware.

    One record per design and workload: ``design``, ``workload``, ``auto latency_s``,
    ``fixed latency_s``, ``latency_gap`` (fixed / auto - 1), the same for ``energy_J`` and
    ``edp_Js``, and ``reason`` (non-empty when a mode cannot map the workload; the gaps are then
    ``None``). The other schedule knobs are the design's own.
    """
    out = []
    for name, params in designs.items():
        design = resolve_design(space, design_values(space, params))
        per = {mode: _per_workload(space, {**design, "schedule.mode": mode}) for mode in ("auto", "fixed")}
        for w in (w.label for w in space.workloads):
            rec: dict[str, Any] = {"design": name, "workload": w, "reason": ""}
            for metric in ("latency", "energy", "edp"):
                col = METRIC_COLUMNS[metric]
                auto, fixed = per["auto"][0].get(w, {}).get(metric), per["fixed"][0].get(w, {}).get(metric)
                rec.update({f"auto {col}": auto, f"fixed {col}": fixed,
                            f"{metric}_gap": fixed / auto - 1 if auto and fixed is not None else None})
            rec["reason"] = "; ".join(f"{mode}: {per[mode][1]}" for mode in per if per[mode][1])
            out.append(rec)
    return out


def _per_workload(space: Space, design: dict[str, Any]) -> tuple[dict[str, dict[str, float]], str]:
    """Per-workload metrics of ``design``, or ``({}, reason)`` when it cannot be mapped."""
    try:
        return evaluate_design(space, design, space.base_dir).per_workload, ""
    except InfeasibleDesign as exc:
        return {}, f"infeasible: {exc}"


def front_records(result: SearchResult) -> list[dict[str, Any]]:
    """A search's feasible Pareto front: ``number``, the searched parameters (base units) and the
    objective values in their display units, keyed by label (``latency [ms]``)."""
    return [{"number": r.number, **r.params, **r.objectives} for r in result.pareto]


def columns_of(records: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of ``records``, in order of first appearance."""
    cols: dict[str, None] = {}
    for r in records:
        cols.update(dict.fromkeys(r))
    return list(cols)


def cell(column: str, value: Any) -> str:
    """A value as a table cell: parameters with units (``64KiB``), floats to 4 significant digits, ``None`` as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column.startswith(("hardware.", "schedule.")):
        return format_value(value, param_kind(column))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(records: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``records`` as a Markdown table (``columns`` default: every key)."""
    cols = list(columns or columns_of(records))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(c, r.get(c)) for c in cols) + " |" for r in records]
    return "\n".join(lines)


def rich_table(records: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None) -> Table:
    """``records`` as a rich ``Table`` (print it with ``rich.print``)."""
    from rich.table import Table

    cols = list(columns or columns_of(records))
    table = Table(title=title)
    for c in cols:
        table.add_column(c, justify="left" if c in ("design", "workload", "reason") else "right")
    for r in records:
        table.add_row(*(cell(c, r.get(c)) for c in cols))
    return table
