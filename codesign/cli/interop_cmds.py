"""Bridges to peer tools: ``timeloop-model``, ``scalesim``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from codesign.cli.common import app, fail
from codesign.errors import CodesignError


@app.command("timeloop-model")
def timeloop_model(
    spec: Annotated[Path, typer.Argument(help="Timeloop input as the binary reads it, e.g. parsed-processed-input.yaml.",
                                         show_default=False)],
    ert: Annotated[Path, typer.Option("--ert", help="Energy reference table, e.g. timeloop-model.ERT.yaml.", show_default=False)],
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="Mapping file (mapping: [...]); default: the spec's mapping.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (cycles, utilization, computes, energy_pJ, levels[...]).")] = False,
) -> None:
    """Evaluate a Timeloop spec, ERT and mapping with codesign's cost core, as timeloop-model reports it."""
    from codesign.interop.timeloop_model import run, summary_lines, to_json

    try:
        result = run(spec, ert, mapping)
    except CodesignError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2))
    else:
        for line in summary_lines(result):
            typer.echo(line)


@app.command("scalesim")
def scalesim(
    config: Annotated[Path, typer.Argument(help="SCALE-Sim config, e.g. scale.cfg.", show_default=False)],
    topology: Annotated[Path, typer.Argument(help="SCALE-Sim topology CSV (convolution rows; M, N, K rows with --gemm).",
                                             show_default=False)],
    gemm_rows: Annotated[bool, typer.Option("--gemm", help="Topology rows are name, M, N, K (SCALE-Sim's -i gemm).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (layers[...]: cycles, utilizations, SRAM/DRAM words).")] = False,
) -> None:
    """Time a SCALE-Sim config and topology with codesign's systolic simulator, as SCALE-Sim reports them."""
    from codesign.interop.scalesim import run, summary_lines, to_json

    try:
        spec, timings = run(config, topology, gemm_rows)
    except CodesignError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(to_json(spec, timings), indent=2))
    else:
        for line in summary_lines(spec, timings):
            typer.echo(line)
