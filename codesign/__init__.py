"""codesign: hardware-software co-design of ML accelerators.

Public API (see :mod:`codesign.api`): :func:`load_space`, :func:`evaluate`, :func:`search`,
and :class:`CodesignError` for every user-facing error. Heavy modules load lazily so that
``codesign --help`` is instant.
"""

from __future__ import annotations

from typing import Any

from codesign.errors import CodesignError

__all__ = ["CodesignError", "evaluate", "load_space", "search"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("evaluate", "load_space", "search", "SearchResult"):
        from codesign import api

        return getattr(api, name)
    raise AttributeError(f"module 'codesign' has no attribute {name!r}")
