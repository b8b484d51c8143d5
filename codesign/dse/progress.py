"""What a running search has found so far: counts, best values, the feasible Pareto front and its hypervolume.

:class:`ProgressTracker` is fed the study's finished trials after every trial and looks only
at the ones it has not seen, keeping the current feasible front (a new point can only remove
front points, never revive dominated ones), so a snapshot costs little even with thousands of
trials. The hypervolume uses :func:`codesign.dse.hypervolume.reference_point`: 10% beyond the
worst feasible value of each objective seen so far, so it can drop when a worse feasible design
widens the reference box; compare hypervolumes of one study at the end, or against a fixed
reference point (as ``benchmarks/search_quality.py`` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from codesign.dse.hypervolume import hypervolume
from codesign.dse.hypervolume import reference_point as _reference_point
from codesign.dse.pareto import pareto_mask
from codesign.spec.space import Space


@dataclass
class SearchProgress:
    """A snapshot for progress displays."""

    done: int
    target: int
    feasible: int
    failed: int
    elapsed_s: float
    pruned: int = 0                                         # given up as dominated (see codesign.dse.runner)
    best: dict[str, float] = field(default_factory=dict)   # objective label -> best feasible value
    front: int = 0                                          # feasible Pareto-optimal trials so far
    hypervolume: float | None = None                        # of that front; None before a feasible trial


def objective_labels(space: Space) -> list[str]:
    """``latency [ms]``: each objective's metric with its display unit (the column names of reports)."""
    return [f"{o.metric} [{o.unit}]" if o.unit else o.metric for o in space.objectives]


def is_feasible(t: FrozenTrial) -> bool:
    """A COMPLETE trial whose every constraint value is <= 0."""
    return t.state == TrialState.COMPLETE and all(c <= 0 for c in (t.constraints or {}).values())


class ProgressTracker:
    """Counts, best values, the feasible front and its hypervolume, updated incrementally."""

    def __init__(self, space: Space) -> None:
        self.labels = objective_labels(space)
        self.sign = np.array([-1.0 if o.direction == "maximize" else 1.0 for o in space.objectives])
        k = len(self.labels)
        self._seen: set[int] = set()
        self.done = self.feasible = self.failed = self.pruned = 0
        self._front = np.zeros((0, k))             # minimized objective values of the front
        self._numbers = np.zeros(0, dtype=np.int64)  # their trial numbers
        self._worst = np.full(k, -np.inf)          # worst minimized feasible value per objective
        self._hv: float | None = None
        self._stale = False

    def update(self, finished: Iterable[FrozenTrial]) -> None:
        """Take in the finished (COMPLETE, FAIL or PRUNED) trials not seen before."""
        new, numbers = [], []
        for t in finished:
            if t.number in self._seen or t.state not in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED):
                continue
            self._seen.add(t.number)
            self.done += 1
            if t.state == TrialState.FAIL:
                self.failed += 1
            elif t.state == TrialState.PRUNED:
                self.pruned += 1
            elif is_feasible(t) and t.values is not None:
                self.feasible += 1
                new.append(np.asarray(t.values, dtype=float) * self.sign)
                numbers.append(t.number)
        if not new:
            return
        points = np.array(new)
        self._worst = np.maximum(self._worst, points.max(axis=0))
        merged = np.vstack([self._front, points])
        keep = pareto_mask(merged, (False,) * merged.shape[1])
        self._front, self._numbers = merged[keep], np.concatenate([self._numbers, numbers])[keep]
        self._stale = True

    def dominated(self, best: list[float]) -> str | None:
        """Why a design whose objective values are at best ``best`` (each objective's own direction)
        cannot be on the feasible front: the first front trial as good in every objective and better
        in one; None if there is none (:data:`codesign.flow.Verdict`)."""
        b = np.asarray(best, dtype=float) * self.sign
        hit = np.flatnonzero(np.all(self._front <= b, axis=1) & np.any(self._front < b, axis=1))
        if not len(hit):
            return None
        f = self._front[hit[0]] * self.sign
        bound = ", ".join(f"{label} {'≥' if s > 0 else '≤'} {v:.4g}" for label, s, v in zip(self.labels, self.sign, best)
                          if np.isfinite(v))
        return (f"dominated by trial {int(self._numbers[hit[0]])} ("
                + ", ".join(f"{label} {v:.4g}" for label, v in zip(self.labels, f)) + f"): at best {bound}")

    @property
    def front_values(self) -> np.ndarray:
        """The feasible front's objective values ``[n, k]`` in their own directions."""
        return self._front * self.sign

    def reference_point(self) -> np.ndarray | None:
        """The current reference point (minimized form), ``None`` before a feasible trial."""
        if not np.all(np.isfinite(self._worst)):
            return None
        return _reference_point(np.vstack([self._worst, self._front]))

    def hypervolume(self) -> float | None:
        """Hypervolume of the feasible front against :meth:`reference_point`."""
        if self._stale:
            ref = self.reference_point()
            self._hv = None if ref is None else hypervolume(self._front, ref)
            self._stale = False
        return self._hv

    def snapshot(self, target: int, elapsed_s: float) -> SearchProgress:
        """The current state as a :class:`SearchProgress`."""
        best = {}
        if self._front.shape[0]:
            for label, s, v in zip(self.labels, self.sign, self._front.min(axis=0)):
                best[label] = float(s * v)
        return SearchProgress(self.done, target, self.feasible, self.failed, elapsed_s, self.pruned, best,
                              front=int(self._front.shape[0]), hypervolume=self.hypervolume())
