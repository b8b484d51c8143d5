"""Commands about finished studies: ``compare``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from codesign.cli.common import app, fail
from codesign.errors import CodesignError

RunArg = Annotated[Path, typer.Argument(help="Run directory, e.g. runs/edge (written by codesign search).", show_default=False)]


@app.command()
def compare(
    run_a: RunArg,
    run_b: RunArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Compare two runs' Pareto fronts: sizes, hypervolumes on a shared reference point, dominance, coverage."""
    from codesign.report.compare import compare_runs

    try:
        record = compare_runs(run_a, run_b)
    except CodesignError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(record, indent=2))
    else:
        print_comparison(record)


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.4g}"


def print_comparison(rec: dict[str, Any]) -> None:
    """The comparison as a rich table plus the reference point and coverage."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    a, b = rec["runs"]["A"], rec["runs"]["B"]
    table = Table(title=escape("Pareto fronts: " + ", ".join(rec["objectives"])))
    table.add_column("")
    table.add_column(escape(f"A: {a['path']}"), justify="right")
    table.add_column(escape(f"B: {b['path']}"), justify="right")
    table.add_row("trials", *(str(r["trials"]) if r["trials"] is not None else "- (pareto.json)" for r in (a, b)))
    table.add_row("front size", str(a["front"]), str(b["front"]))
    table.add_row("hypervolume", _num(a["hypervolume"]), _num(b["hypervolume"]))
    table.add_row("dominated by the other front", str(a["dominated_by_other"]), str(b["dominated_by_other"]))
    console = Console()
    console.print(table)
    cov = rec["coverage"]
    console.print(f"union hypervolume {_num(rec['hypervolume_union'])}; coverage C(A,B) {_num(cov['C(A,B)'])}, "
                  f"C(B,A) {_num(cov['C(B,A)'])} (share of the second front weakly dominated by the first)")
    ref = ", ".join(f"{k} {v:.4g}" for k, v in rec["reference"].items())
    console.print(escape(f"reference point: {ref} (the worst value over both fronts, 10% beyond)"))
