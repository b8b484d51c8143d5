"""What every command shares: the typer app, the space argument, ``--set`` parsing, the error boundary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from codesign.errors import CodesignError

if TYPE_CHECKING:
    from codesign.spec.space import Space

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Hardware-software co-design of ML accelerators: search hardware and compiler schedules together.")

SpaceArg = Annotated[Path, typer.Argument(help="Space file (YAML), e.g. spaces/edge.yaml.", show_default=False)]


def set_values(space: "Space", items: list[str] | None) -> dict[str, Any]:
    """``--set NAME=VALUE`` options as parameter values of ``space`` (units allowed)."""
    from codesign.spec.params import parse_value

    values: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CodesignError("expected NAME=VALUE, e.g. --set hardware.array.rows=16", f"--set {item}")
        key, _, text = item.partition("=")
        values[key.strip()] = parse_value(key.strip(), text.strip(), space)
    return values


def fail(exc: CodesignError) -> NoReturn:
    """Print ``error: where: what`` on stderr and exit 1 (no traceback)."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1)
