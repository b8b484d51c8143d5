"""The ``report`` command: a run directory -> report.html (self-contained) and PNG figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codesign.cli.common import app, fail
from codesign.errors import CodesignError


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by codesign search, e.g. runs/edge.", show_default=False)],
    designs: Annotated[int, typer.Option("--designs", help="Pareto designs to detail (spread over the front).", min=0)] = 6,
    design: Annotated[Optional[list[int]], typer.Option("--design", help="Also detail this trial number (repeat).")] = None,
    compiler_gap: Annotated[bool, typer.Option("--compiler-gap", help="Also compile the detailed designs with the naive compiler (schedule.mode: fixed) and show the gap per workload.")] = False,
    storage: Annotated[Optional[str], typer.Option(help="optuna storage URL, if the search used --storage.")] = None,
    study: Annotated[Optional[str], typer.Option(help="Study name (default: the run directory's name).")] = None,
    base: Annotated[Optional[Path], typer.Option("--base", help="Folder the space's model paths are relative to (default: the one the search recorded).")] = None,
) -> None:
    """Write RUN_DIR/report.html (Pareto front, parameters, convergence, importance, per-layer detail) and PNGs."""
    from codesign import api

    try:
        path = api.write_report(run_dir, designs=designs, design=tuple(design or ()), compiler_gap=compiler_gap,
                          storage=storage, study=study, base=base)
    except CodesignError as exc:
        fail(exc)
    typer.echo(f"report: {path}")
