"""Terminal rendering for the CLI (rich): search progress, the Pareto table, one design's breakdown."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from codesign.flow import DesignResult, display
from codesign.report.tables import objective_labels
from codesign.dse.runner import SearchProgress
from codesign.spec.space import Space
from codesign.compiler.explain import loop_nest_lines

console = Console()


class ProgressView:
    """A rich progress bar: trials done, feasible share, best so far, Pareto-front size and
    hypervolume, elapsed and remaining."""

    def __init__(self, space: Space, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]search"), BarColumn(bar_width=16), MofNCompleteColumn(),
            TextColumn("{task.fields[feasible]}"), TextColumn("{task.fields[best]}"), TextColumn("{task.fields[front]}"),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=console, transient=False, disable=not enabled,
        )
        self.task = None

    def __enter__(self) -> "ProgressView":
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.enabled:
            self.progress.stop()

    def update(self, p: SearchProgress) -> None:
        if not self.enabled:
            return
        share = f"{p.feasible / p.done:.0%} feasible" if p.done else "feasible -"
        share += f", {p.pruned} pruned" if p.pruned else ""
        best = "best " + (" ".join(f"{v:.3g}{k.split(' ')[-1].strip('[]')}" for k, v in p.best.items()) or "-")
        front = f"front {p.front} HV {p.hypervolume:.3g}" if p.hypervolume is not None else "front -"
        if self.task is None:
            self.task = self.progress.add_task("search", total=p.target, completed=p.done, feasible=share, best=best,
                                               front=front)
        self.progress.update(self.task, total=p.target, completed=min(p.done, p.target), feasible=share, best=best,
                             front=front)


def print_front(space: Space, result: Any) -> None:
    """The Pareto front as a table, plus where the files are."""
    labels = objective_labels(space)
    table = Table(title=f"Pareto front: {len(result.pareto)} feasible designs of {len(result.trials)} trials")
    table.add_column("#", justify="right")
    for lb in labels:
        table.add_column(lb.replace(" [", "\n["), justify="right")
    for w in space.workloads:
        table.add_column(f"util\n{w.label}", justify="right")
    table.add_column("design", ratio=1, overflow="fold")
    for r in result.pareto:
        table.add_row(str(r.number), *(f"{r.objectives[lb]:.4g}" for lb in labels),
                      *(f"{r.per_workload.get(w.label, {}).get('utilization', 0):.0%}" for w in space.workloads),
                      design_text(r.params))
    console.print(table)
    console.print(f"results: {result.run_dir}/ (trials.csv, pareto.csv, pareto.json, summary.md)")


_ABBREV = {"weight_stationary": "WS", "output_stationary": "OS", "input_stationary": "IS",
           "row_stationary": "RS", "flexible": "flex"}


def design_text(params: dict[str, Any]) -> str:
    """Compact description of a design's searched parameters, grouped by component."""
    groups: dict[str, list[str]] = {}
    rows, cols = params.get("hardware.array.rows"), params.get("hardware.array.cols")
    if rows is not None or cols is not None:
        groups.setdefault("array", []).append(f"{rows or '-'}x{cols or '-'}")
    for name, v in params.items():
        if name in ("hardware.array.rows", "hardware.array.cols"):
            continue
        parts = name.split(".")
        if parts[:2] == ["hardware", "memory"]:
            group, text = parts[2], _fmt(name, v)
        elif parts[0] == "schedule":
            group, text = "map", str(v)
        else:
            group, text = "array", _ABBREV.get(str(v), _fmt(name, v))
        groups.setdefault(group, []).append(text)
    return " | ".join(f"{g} {' '.join(t)}" if g != "array" else " ".join(t) for g, t in groups.items())


def _fmt(name: str, v: Any) -> str:
    from codesign.units import format_quantity

    if name.endswith(".size"):
        return format_quantity(v, "size")
    if name.endswith("clock"):
        return format_quantity(v, "frequency")
    if name.endswith(".bytes_per_cycle"):
        return f"{v}B/cyc"
    if name.endswith(".bandwidth"):
        return format_quantity(v, "bandwidth")
    if name.endswith("technology"):
        return f"{v:g}nm"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def print_models(rows: list[dict[str, Any]]) -> None:
    """The zoo as a table."""
    t = Table(title="models/")
    for col in ("model", "family", "GMACs", "M params", "layers (unique)", "vector ops"):
        t.add_column(col, justify="right" if col not in ("model", "family") else "left", no_wrap=col == "model")
    for r in rows:
        t.add_row(r["name"], r["family"], f"{r['total_macs'] / 1e9:.4g}", f"{r['total_params'] / 1e6:.4g}",
                  f"{r['layers']} ({r['unique_layers']})", str(r["vector_ops"]))
    console.print(t)


def print_model(rec: dict[str, Any]) -> None:
    """One model's layers and totals."""
    t = Table(title=f"{rec['name']} ({rec['family'] or 'model'}), batch {rec['batch']}, {rec['precision']}")
    for col in ("layer", "op", "dims", "MACs", "W/I/O KiB", "MACs/B", "x"):
        t.add_column(col, justify="left" if col in ("layer", "op", "dims") else "right")
    for lr in rec["layers"]:
        dims = " ".join(f"{d}{v}" for d, v in lr["dims"].items() if v > 1)
        b = lr["bytes"]
        sizes = "/".join(f"{b[r] / 1024:.4g}" for r in ("weights", "inputs", "outputs"))
        t.add_row(lr["name"], lr["op"], dims, f"{lr['macs']:.4g}", sizes, f"{lr['intensity_macs_per_byte']:.3g}",
                  str(lr["count"]))
    for v in rec["vector_ops"]:
        t.add_row(v["name"], v["op"], f"{v['elements']} elements", f"({v['ops']:.4g} ops)", "", "", str(v["count"]))
    console.print(t)
    console.print(f"total: {rec['total_macs'] / 1e9:.4g} GMACs, {rec['total_params'] / 1e6:.4g} M params, "
                  f"{rec['total_vector_ops'] / 1e6:.4g} M vector ops; params {rec['params'] or '-'}")


def print_design(space: Space, r: DesignResult) -> None:
    """Per-workload metrics and the per-layer breakdown of one design."""
    acc = r.accelerator
    console.print(f"[bold]design[/]: {acc.rows}x{acc.cols} PEs x{acc.macs_per_pe} MACs, {acc.dataflow}, "
                  f"{acc.precision}, {acc.clock_hz / 1e6:.0f} MHz, {acc.node_nm:g} nm, area {acc.area_mm2:.3f} mm2")
    t = Table(title="workloads")
    for col in ("workload", "latency [ms]", "energy [mJ]", "power [W]", "utilization", "compute roofline [ms]"):
        t.add_column(col, justify="right")
    for w in r.workloads:
        t.add_row(w.name, f"{w.latency_s * 1e3:.4g}", f"{w.energy_j * 1e3:.4g}", f"{w.power_w:.3g}",
                  f"{w.utilization:.1%}", f"{w.roofline_s * 1e3:.4g}")
    console.print(t)
    ana = {w.name: w for w in r.analytical.workloads} if r.analytical is not None else {}
    for w in r.workloads:
        a = ana.get(w.name)
        title = f"{w.name}: layers" + (f" (simulated; analytical {a.latency_s * 1e3:.4g} ms, gap "
                                       f"{w.latency_s / a.latency_s - 1:+.1%})" if a else "")
        lt = Table(title=title)
        extra = ("analytical cycles", "gap") if a else ()
        for col in ("layer", "x", "shape", "cycles", *extra, "util", "bound", "energy [uJ]"):
            lt.add_column(col)
        for k, lr in enumerate(w.layers):
            gap = (f"{a.layers[k].cycles:.4g}", f"{lr.cycles / a.layers[k].cycles - 1:+.1%}") if a else ()
            lt.add_row(lr.layer.name, str(lr.layer.count), lr.layer.describe(), f"{lr.cycles:.4g}", *gap,
                       f"{lr.utilization:.0%}", lr.bound, f"{lr.energy_pj * 1e-6:.4g}")
        console.print(lt)
    console.print("metrics: " + ", ".join(f"{m} {display(m, v):.4g}" for m, v in r.metrics.items()))
    for text, v in r.violations.items():
        console.print(f"constraint {text}: {'met' if v <= 0 else 'VIOLATED'} ({v:+.3f})")


def result_json(r: DesignResult) -> dict[str, Any]:
    """The whole result as JSON-ready data (base units in key names); per layer a ``roofline``
    (:mod:`codesign.cost.roofline`: compute and bandwidth bounds in cycles, what binds, MACs
    per byte per level)."""
    from codesign.cost.roofline import layer_roofline

    acc = r.accelerator
    ana = {w.name: w for w in r.analytical.workloads} if r.analytical is not None else {}

    def analytical(w: Any, k: int | None = None) -> dict[str, Any]:
        a = ana.get(w.name)
        if a is None:
            return {}
        if k is None:
            return {"analytical_latency_s": a.latency_s, "gap": w.latency_s / a.latency_s - 1}
        return {"analytical_cycles": a.layers[k].cycles, "gap": w.layers[k].cycles / a.layers[k].cycles - 1}

    return {
        "fidelity": r.fidelity,
        **({"analytical_metrics": r.analytical.metrics} if r.analytical is not None else {}),
        "design": r.design,
        "feasible": r.feasible,
        "area_mm2": acc.area_mm2,
        "area_breakdown_mm2": acc.area_breakdown_mm2,
        "metrics": r.metrics,
        "constraints": r.violations,
        "workloads": [{
            "name": w.name, "latency_s": w.latency_s, "energy_J": w.energy_j, "power_W": w.power_w,
            "macs": w.macs, "utilization": w.utilization, "compute_roofline_s": w.roofline_s, **analytical(w),
            "layers": [{
                "name": lr.layer.name, "op": lr.layer.op, "count": lr.layer.count,
                "dims": dict(zip(lr.layer.dims, lr.layer.bounds)), "macs": lr.layer.macs,
                "cycles": lr.cycles, "compute_cycles": lr.compute_cycles, "utilization": lr.utilization,
                "bound": lr.bound, "energy_pJ": lr.energy_pj, "mac_energy_pJ": lr.mac_energy_pj,
                "level_energy_pJ": lr.level_energy_pj, "level_cycles": lr.level_cycles,
                "mapping": lr.mapping.describe(),
                "roofline": layer_roofline(lr, acc).to_json(), **analytical(w, k),
            } for k, lr in enumerate(w.layers)],
        } for w in r.workloads],
    }


def print_mapping(workload: str, acc: Any, policy: Any, rec: dict[str, Any]) -> None:
    """One layer's mapping: header, loop nest with tiles, per-level traffic and cost, totals."""
    dims = " ".join(f"{d}={b}" for d, b in rec["dims"].items() if b > 1)
    console.print(f"[bold]{rec['layer']}[/] ({workload}): {rec['op']} {dims}, {rec['macs'] / 1e6:.4g} M MACs", soft_wrap=True)
    console.print(f"design: {acc.rows}x{acc.cols} PEs x{acc.macs_per_pe} MACs, {acc.dataflow}, {acc.precision}; "
                  f"mapper: {policy.mode}, objective {policy.objective}, {rec['mappings_costed']} mappings costed",
                  soft_wrap=True)
    for line in loop_nest_lines(rec):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    t = Table(title="per level (traffic per instance, words: reads/fills/updates)")
    for col in ("level", "instances", "traffic", "transfer cycles", "energy (uJ)"):
        t.add_column(col, justify="left" if col in ("level", "traffic") else "right")
    for lv in rec["levels"]:
        traffic = "  ".join(f"{n} {c['reads_words']}/{c['fills_words']}/{c['updates_words']}"
                            for n, c in lv["traffic_per_instance"].items())
        t.add_row(lv["name"], str(lv["instances"]), traffic, f"{lv['transfer_cycles']:.4g}", f"{lv['energy_pJ'] * 1e-6:.4g}")
    t.add_row("MACs", "", "", "", f"{rec['mac_energy_pJ'] * 1e-6:.4g}")
    console.print(t)
    console.print(f"cycles {rec['cycles']:.6g} (compute {rec['compute_cycles']:.6g}, bound: {rec['bound']}), "
                  f"utilization {rec['utilization']:.1%}, energy {rec['energy_pJ'] * 1e-6:.4g} uJ", soft_wrap=True)
