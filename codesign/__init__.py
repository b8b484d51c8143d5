"""codesign: hardware-software co-design of ML accelerators.

Public API (see :mod:`codesign.api`): :func:`load_space`, :func:`evaluate`, :func:`search`, :func:`write_report`;
design studies as records (see :mod:`codesign.studies`): :func:`compare_designs`, :func:`sweep`,
:func:`compiler_gap`, :func:`front_records`, :func:`markdown_table`, :func:`rich_table`;
and :class:`CodesignError` for every user-facing error. Heavy modules load lazily so that
``codesign --help`` is instant.
"""

from __future__ import annotations

from typing import Any

from codesign.errors import CodesignError

__all__ = ["CodesignError", "compare_designs", "compiler_gap", "evaluate", "front_records", "load_space", "markdown_table",
           "rich_table", "search", "sweep", "write_report"]
_STUDIES = ("compare_designs", "compiler_gap", "front_records", "markdown_table", "rich_table", "sweep")
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("evaluate", "load_space", "search", "SearchResult", "write_report"):
        from codesign import api

        return getattr(api, name)
    if name in _STUDIES:
        from codesign import studies

        return getattr(studies, name)
    raise AttributeError(f"module 'codesign' has no attribute {name!r}")
