"""Commands about space files: ``validate``, ``schema``."""

from __future__ import annotations

import json

import typer

from codesign.cli.common import SpaceArg, app, fail
from codesign.errors import CodesignError


@app.command()
def validate(space: SpaceArg) -> None:
    """Check a space file without running it."""
    from codesign.spec.loader import load_space
    from codesign.spec.params import describe_domain, grid_size, search_domains

    try:
        s = load_space(space)
    except CodesignError as exc:
        fail(exc)
    doms = search_domains(s)
    typer.echo(f"{space}: ok: {len(s.workloads)} workloads, {len(s.hardware.memory)} memory levels, "
               f"{len(doms)} searched parameters, {len(s.objectives)} objectives, {len(s.constraints)} constraints")
    size = grid_size(s)
    for name, d in doms.items():
        typer.echo(f"  {name}: {describe_domain(d)}")
    typer.echo(f"  designs in the grid: {'continuous' if size == float('inf') else f'{size:.3g}'}")


@app.command()
def schema() -> None:
    """Print the JSON Schema of space files (for editor completion and checking)."""
    from codesign.spec.space import Space

    typer.echo(json.dumps(Space.model_json_schema(), indent=2))
