"""Two studies' Pareto fronts compared (``codesign compare RUN_A RUN_B``).

A run directory (``runs/<study>/``) holds ``space.yaml`` (the space as run: its objectives and
their display units) and the study: ``journal.log`` (optuna's journal storage; the front is
recomputed from every finished trial) or, for a run whose study lives in a database, only
``pareto.json`` (the front as last written).

Both runs must have the same objectives (metric, unit and direction; order may differ). The
comparison, all in the objectives' display units:

- **hypervolume** of each front and of their union against one shared reference point: the
  worst value of each objective over the union of both fronts, widened by 10% of its magnitude
  (:func:`codesign.dse.hypervolume.reference_point`; maximized objectives are negated first).
  Every point of either front then lies strictly inside the reference box and adds volume, and
  both fronts are measured on the same box, so the numbers can be compared (a front's own
  progress-bar hypervolume, measured against its own worst values, cannot).
- **dominated**: how many of A's points some point of B Pareto-dominates (no worse in every
  objective, better in one), and the reverse.
- **coverage** C(A, B) (Zitzler and Thiele, "Multiobjective evolutionary algorithms: a
  comparative case study and the strength Pareto approach", IEEE TEC 1999): the fraction of B's
  points weakly dominated by (no better in any objective than) some point of A. C(A, B) = 1 and
  C(B, A) < 1 means A's front is at least as good everywhere. Undefined (``None``) for an
  empty B.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from codesign.dse.hypervolume import hypervolume, reference_point, to_minimization
from codesign.errors import CodesignError
from codesign.spec.space import Objective, Space


@dataclass(frozen=True)
class RunFront:
    """The feasible Pareto front of one run directory."""

    run_dir: Path
    study: str
    objectives: tuple[Objective, ...]
    points: np.ndarray            # [n, k] objective values in display units, in the objectives' order
    trials: int | None            # finished trials (None when only pareto.json was read)
    source: str                   # "journal.log" or "pareto.json"

    @property
    def labels(self) -> list[str]:
        return [label(o) for o in self.objectives]


def label(o: Objective) -> str:
    """``latency [ms]``: the objective's column label in trials.csv and pareto.json."""
    return f"{o.metric} [{o.unit}]" if o.unit else o.metric


def run_space(run_dir: Path) -> Space:
    """The space of a run directory (``space.yaml``), validated without resolving its model files."""
    from codesign.spec.loader import parse_yaml, validation_error

    path = run_dir / "space.yaml"
    if not run_dir.is_dir():
        raise CodesignError("no such run directory", str(run_dir))
    if not path.is_file():
        raise CodesignError("not a run directory: no space.yaml (runs/<study>/ after codesign search)", str(run_dir))
    data, lines = parse_yaml(path.read_text(), str(path))
    try:
        return Space.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(path), lines) from None


def load_run(run_dir: str | Path) -> RunFront:
    """The front of ``run_dir``: from ``journal.log`` if present, else from ``pareto.json``."""
    run_dir = Path(run_dir)
    space = run_space(run_dir)
    labels = [label(o) for o in space.objectives]
    if (run_dir / "journal.log").is_file():
        return _from_journal(run_dir, space)
    path = run_dir / "pareto.json"
    if not path.is_file():
        raise CodesignError("no journal.log or pareto.json: the run has not finished a trial", str(run_dir))
    try:
        front = json.loads(path.read_text())
        points = np.array([[float(r["objectives"][lb]) for lb in labels] for r in front], dtype=float)
    except (ValueError, KeyError, TypeError) as exc:
        raise CodesignError(f"unreadable front ({type(exc).__name__}: {exc}); expected the objectives "
                            f"{', '.join(labels)} of space.yaml", str(path)) from None
    return RunFront(run_dir, space.search.study or space.name, space.objectives, points.reshape(-1, len(labels)),
                    None, "pareto.json")


def _from_journal(run_dir: Path, space: Space) -> RunFront:
    import optuna

    from codesign.dse.storage import JOURNAL, journal_storage
    from codesign.report.tables import objective_labels, pareto_rows, trial_rows

    storage = journal_storage(run_dir / JOURNAL)
    names = optuna.get_all_study_names(storage)
    name = run_dir.name if run_dir.name in names else (names[0] if len(names) == 1 else None)
    if name is None:
        raise CodesignError(f"the journal holds studies {', '.join(names) or '(none)'}, none named like the "
                            "directory", str(run_dir / JOURNAL))
    study = optuna.load_study(study_name=name, storage=storage)
    rows = trial_rows(study, space)
    labels = objective_labels(space)
    front = pareto_rows(rows, space)
    points = np.array([[r.objectives[lb] for lb in labels] for r in front], dtype=float).reshape(-1, len(labels))
    return RunFront(run_dir, name, space.objectives, points, len(rows), JOURNAL)


def aligned(a: RunFront, b: RunFront) -> np.ndarray:
    """``b``'s points with columns in ``a``'s objective order; raise unless the objectives match."""
    mine = {(o.metric, o.unit): o.direction for o in a.objectives}
    theirs = {(o.metric, o.unit): o.direction for o in b.objectives}
    if mine != theirs:
        def show(r: RunFront) -> str:
            return ", ".join(f"{o.direction} {label(o)}" for o in r.objectives)
        raise CodesignError(f"the runs have different objectives: {a.run_dir} has {show(a)}; {b.run_dir} has "
                            f"{show(b)}; compare runs of spaces with the same objectives and units", "compare")
    order = [[(o.metric, o.unit) for o in b.objectives].index((o.metric, o.unit)) for o in a.objectives]
    return b.points[:, order]


def weakly_dominated(p: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Mask over minimized points ``p [n, k]``: some row of ``by`` is no worse in every objective."""
    if len(p) == 0 or len(by) == 0:
        return np.zeros(len(p), dtype=bool)
    return np.any(np.all(by[None, :, :] <= p[:, None, :], axis=2), axis=1)


def dominated(p: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Mask over minimized points ``p [n, k]``: some row of ``by`` Pareto-dominates it (no worse anywhere, better somewhere)."""
    if len(p) == 0 or len(by) == 0:
        return np.zeros(len(p), dtype=bool)
    le = np.all(by[None, :, :] <= p[:, None, :], axis=2)
    lt = np.any(by[None, :, :] < p[:, None, :], axis=2)
    return np.any(le & lt, axis=1)


def compare_fronts(a: np.ndarray, b: np.ndarray, maximize: tuple[bool, ...]) -> dict[str, Any]:
    """Hypervolumes (shared reference), dominance counts and coverage of two fronts ``[n, k]``
    given in their objectives' own directions. Raises ``ValueError`` if both are empty."""
    ma, mb = to_minimization(a, maximize).reshape(-1, len(maximize)), to_minimization(b, maximize).reshape(-1, len(maximize))
    union = np.vstack([ma, mb])
    if len(union) == 0:
        raise ValueError("both fronts are empty")
    ref = reference_point(union)
    return {
        "reference": to_minimization(ref[None, :], maximize)[0].tolist(),   # back in the objectives' own directions
        "hypervolume_a": hypervolume(ma, ref), "hypervolume_b": hypervolume(mb, ref),
        "hypervolume_union": hypervolume(union, ref),
        "a_dominated_by_b": int(dominated(ma, mb).sum()), "b_dominated_by_a": int(dominated(mb, ma).sum()),
        "coverage_a_b": float(weakly_dominated(mb, ma).mean()) if len(mb) else None,
        "coverage_b_a": float(weakly_dominated(ma, mb).mean()) if len(ma) else None,
    }


def compare_runs(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    """Compare the fronts of two run directories; a JSON-ready record (see the module docstring)."""
    a, b = load_run(run_a), load_run(run_b)
    pb = aligned(a, b)
    if len(a.points) == 0 and len(pb) == 0:
        raise CodesignError("neither run has a feasible design yet; nothing to compare", "compare")
    maximize = tuple(o.direction == "maximize" for o in a.objectives)
    stats = compare_fronts(a.points, pb, maximize)
    return {
        "objectives": [f"{o.direction} {label(o)}" for o in a.objectives],
        "reference": dict(zip(a.labels, stats["reference"])),
        "runs": {key: {"path": str(r.run_dir), "study": r.study, "source": r.source, "trials": r.trials,
                       "front": len(r.points), "hypervolume": stats[f"hypervolume_{key.lower()}"],
                       "dominated_by_other": stats["a_dominated_by_b" if key == "A" else "b_dominated_by_a"]}
                 for key, r in (("A", a), ("B", b))},
        "hypervolume_union": stats["hypervolume_union"],
        "coverage": {"C(A,B)": stats["coverage_a_b"], "C(B,A)": stats["coverage_b_a"]},
    }
