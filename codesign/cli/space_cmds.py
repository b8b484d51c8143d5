"""Commands about space files: ``validate``, ``schema``."""

from __future__ import annotations

import json

import typer

from codesign.cli.common import SpaceArg, app, fail
from codesign.errors import CodesignError


@app.command()
def validate(space: SpaceArg) -> None:
    """Check a space file without running it (seed designs, conditions and sampler options too)."""
    from codesign.spec.loader import load_space
    from codesign.spec.params import (
        conditions, describe_condition, describe_domain, format_value, grid_size, param_kind, search_domains, seed_designs,
    )

    try:
        s = load_space(space)
        seeds = seed_designs(s)
    except CodesignError as exc:
        fail(exc)
    doms, conds = search_domains(s), conditions(s)
    typer.echo(f"{space}: ok: {len(s.workloads)} workloads, {len(s.hardware.memory)} memory levels, "
               f"{len(doms)} searched parameters{f' ({len(conds)} conditional)' if conds else ''}, "
               f"{len(s.objectives)} objectives, {len(s.constraints)} constraints, {len(seeds)} seed designs")
    size = grid_size(s)
    for name, d in doms.items():
        kind = param_kind(name)
        when = (f"; only when {describe_condition(conds[name])}, else {format_value(d.default, kind)}"  # type: ignore[union-attr]
                if name in conds else "")
        typer.echo(f"  {name}: {describe_domain(d, kind)}{when}")
    typer.echo(f"  designs in the grid: {'continuous' if size == float('inf') else f'{size:.3g}'}")
    sampler = s.search.sampler
    if sampler.options:
        typer.echo(f"  sampler: {sampler.name} with " + ", ".join(f"{k}={v!r}" for k, v in sampler.options.items()))
    for i, design in enumerate(seeds):
        typer.echo(f"  seed design {i}: " + ", ".join(f"{k}={format_value(v, param_kind(k))}" for k, v in design.items()))


@app.command()
def schema() -> None:
    """Print the JSON Schema of space files (for editor completion and checking)."""
    from codesign.spec.space import Space

    typer.echo(json.dumps(Space.model_json_schema(), indent=2))
