"""The one domain error of codesign.

Every mistake a user can make (a typo in a space file, an unknown model, an impossible
constraint) is raised as :class:`CodesignError`, whose message says *where* (file, line,
key path) and *what* (what was found and what is allowed). The CLI prints ``where: what``
and exits with status 1, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CodesignError(Exception):
    """A user-facing error: ``where`` locates it, ``what`` says what is wrong and what is allowed."""

    def __init__(self, what: str, where: str = "") -> None:
        self.what = what
        self.where = where
        super().__init__(f"{where}: {what}" if where else what)


def did_you_mean(word: str, allowed: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` when ``word`` is close to one of ``allowed``, else ``""``."""
    options = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6) or _prefix_matches(str(word), options)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _prefix_matches(word: str, options: list[str]) -> list[str]:
    """Options that ``word`` abbreviates or extends (``log`` for ``logarithmic``), at least 3 letters shared."""
    low = word.lower()
    return [o for o in options if min(len(o), len(low)) >= 3 and (low.startswith(o.lower()) or o.lower().startswith(low))]


def one_of(allowed: Iterable[str]) -> str:
    """Format an allowed-values list for a message: ``one of: a, b, c``."""
    return "one of: " + ", ".join(str(a) for a in allowed)
