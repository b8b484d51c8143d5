"""The search: samplers, storage, the ask-evaluate-tell loop, Pareto fronts.

This package shares its name with the public function :func:`codesign.search`. Importing
it (``codesign.search.runner``, which :mod:`codesign.api` itself does) binds the attribute
``codesign.search`` to this package, so the package is callable and forwards to
:func:`codesign.api.search`: ``codesign.search(space, trials=50)`` works either way.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableSearchPackage(types.ModuleType):
    """This package, callable as :func:`codesign.api.search`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from codesign.api import search

        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSearchPackage
