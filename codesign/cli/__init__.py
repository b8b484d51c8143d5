"""The ``codesign`` command: a thin typer layer over :mod:`codesign.api`, one module per command group.

One error boundary: a :class:`CodesignError` prints ``where: what`` and exits 1, no traceback.
"""

from __future__ import annotations

import sys

import typer

# Importing a command module registers its commands; this order is the order of `codesign --help`.
from codesign.cli import run_cmds, space_cmds, model_cmds, interop_cmds, study_cmds, report_cmds  # noqa: F401,I001
from codesign.cli.common import app
from codesign.errors import CodesignError

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except CodesignError as exc:  # pragma: no cover - commands catch their own
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
