"""A run directory as plain records: the study, its space, every trial row and the Pareto front.

:func:`load_run` opens ``runs/<study>/`` (its ``space.yaml`` and the optuna journal, or any
optuna storage URL); the other functions derive what the report draws from the rows:
the best-spread front designs to detail, the hypervolume after every trial, the parameter
importances per objective and the reasons trials were rejected.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from codesign.dse.hypervolume import hypervolume, reference_point, to_minimization
from codesign.dse.pareto import pareto_mask
from codesign.errors import CodesignError
from codesign.report.tables import TrialRow, objective_labels, pareto_rows, trial_rows
from codesign.spec.space import Space

BASE_ATTR = "codesign_base_dir"   # study user attribute: the folder the space's model paths are relative to
MIN_IMPORTANCE_TRIALS = 4          # fewer complete trials than this give no importance


@dataclass(frozen=True)
class RunData:
    """Everything the report reads from a run directory."""

    run_dir: Path
    study: optuna.Study
    space: Space
    rows: list[TrialRow]            # every finished trial, by number
    front: list[TrialRow]           # feasible Pareto-optimal trials, by the first objective

    @property
    def labels(self) -> list[str]:
        return objective_labels(self.space)

    @property
    def maximize(self) -> tuple[bool, ...]:
        return tuple(o.direction == "maximize" for o in self.space.objectives)


def load_run(run_dir: str | Path, *, storage: str | None = None, study: str | optuna.Study | None = None,
             base: Path | None = None, space: Space | None = None) -> RunData:
    """Open the run directory ``run_dir`` (the study in its ``journal.log``, or in ``storage``).

    ``study`` (a name) defaults to the directory's name (what ``codesign search`` uses) or the
    journal's only study; an open :class:`optuna.Study` is used as it is. ``base`` is the folder
    model paths are relative to (default: the one the search recorded, else ``run_dir`` and the
    working directory). ``space`` (with its base folder) skips reading space.yaml.
    Raises :class:`CodesignError` naming the run directory when it is not a run.
    """
    from codesign.dse.storage import JOURNAL, journal_storage, open_storage

    run_dir = Path(run_dir)
    where = str(run_dir)
    if not run_dir.is_dir():
        raise CodesignError("no such run directory (codesign search writes runs/<study>/)", where)
    if space is None:
        if not (run_dir / "space.yaml").is_file():
            raise CodesignError("not a run directory: it has no space.yaml (codesign search writes runs/<study>/)", where)
        space = read_space(run_dir / "space.yaml")
    if isinstance(study, optuna.Study):
        st = study
    else:
        if storage is None:
            if not (run_dir / JOURNAL).is_file():
                raise CodesignError(f"no {JOURNAL} here; if the search used --storage URL, pass the same --storage",
                                    where)
            opened = journal_storage(run_dir / JOURNAL)
        else:
            opened = open_storage(run_dir, storage)
        st = optuna.load_study(study_name=_study_name(opened, study, run_dir), storage=opened)
    if base is not None or space._base is None:
        _set_base(space, base, st, run_dir)
    rows = trial_rows(st, space)
    return RunData(run_dir, st, space, rows, pareto_rows(rows, space))


def read_space(path: Path) -> Space:
    """The space a run was made from, validated; its model files are not opened here (the search
    checked them, relative to the original space file's folder: see :func:`_set_base`)."""
    from codesign.spec import loader

    return loader.read_space(path, what="a run's space.yaml")


def _study_name(storage: optuna.storages.BaseStorage, name: str | None, run_dir: Path) -> str:
    names = optuna.get_all_study_names(storage)
    if name is not None:
        if name not in names:
            raise CodesignError(f"no study {name!r} in the storage; it holds: {', '.join(names) or 'none'}", "--study")
        return name
    if run_dir.name in names:
        return run_dir.name
    if len(names) == 1:
        return names[0]
    raise CodesignError(f"the storage holds {len(names)} studies ({', '.join(names) or 'none'}); choose one with --study",
                        str(run_dir))


def _set_base(space: Space, base: Path | None, study: optuna.Study, run_dir: Path) -> None:
    """Point ``space`` at the folder its model paths resolve from (the first candidate where all do)."""
    from codesign.workload.zoo import resolve_model

    if base is not None:
        candidates = [Path(base)]
    else:
        recorded = study.user_attrs.get(BASE_ATTR)
        candidates = [Path(p) for p in (recorded, run_dir, Path.cwd()) if p]
    for cand in candidates:
        try:
            for w in space.workloads:
                resolve_model(w.model, cand)
        except CodesignError:
            continue
        space._base = cand.resolve()
        return
    missing = next(w.model for w in space.workloads)
    raise CodesignError(f"cannot find the space's model files (e.g. {missing!r}) relative to "
                        f"{', '.join(map(str, candidates))}; pass --base FOLDER (the folder of the original space file)",
                        str(run_dir))


def spread_designs(front: list[TrialRow], labels: list[str], maximize: tuple[bool, ...], n: int) -> list[TrialRow]:
    """``n`` front designs spread over the front: the best design of each objective first, then
    repeatedly the design farthest (Euclidean, objectives scaled to [0, 1]) from those chosen.
    Ties go to the lower trial number; the result is in front order."""
    if n <= 0 or not front:
        return []
    if len(front) <= n:
        return list(front)
    v = to_minimization(np.array([[r.objectives[lb] for lb in labels] for r in front]), maximize)
    span = v.max(axis=0) - v.min(axis=0)
    z = (v - v.min(axis=0)) / np.where(span > 0, span, 1.0)
    numbers = np.array([r.number for r in front])
    chosen: list[int] = []
    for k in range(z.shape[1]):
        if len(chosen) < n:
            best = min((i for i in range(len(front)) if i not in chosen), key=lambda i: (z[i, k], numbers[i]))
            chosen.append(best)
    while len(chosen) < n:
        dist = np.min(np.linalg.norm(z[:, None, :] - z[None, chosen, :], axis=2), axis=1)
        dist[chosen] = -1.0
        chosen.append(min(range(len(front)), key=lambda i: (-dist[i], numbers[i])))
    return [front[i] for i in sorted(chosen)]


@dataclass(frozen=True)
class Convergence:
    """Hypervolume of the feasible front after each finished trial (all objectives minimized,
    reference point from every feasible trial of the run: see :func:`reference_point`)."""

    numbers: list[int]
    hypervolume: list[float]
    reference: list[float] | None    # minimized form; None without feasible trials


def convergence(rows: list[TrialRow], labels: list[str], maximize: tuple[bool, ...]) -> Convergence:
    feasible = [r for r in rows if r.feasible]
    if not feasible:
        return Convergence([r.number for r in rows], [0.0] * len(rows), None)
    ref = reference_point(to_minimization(np.array([[r.objectives[lb] for lb in labels] for r in feasible]), maximize))
    front = np.empty((0, len(labels)))
    hv: list[float] = []
    for r in rows:
        if r.feasible:
            point = to_minimization(np.array([[r.objectives[lb] for lb in labels]]), maximize)
            front = np.vstack([front, point])
            front = front[pareto_mask(front, (False,) * len(labels))]   # dominated points add no volume
            hv.append(hypervolume(front, ref))
        else:
            hv.append(hv[-1] if hv else 0.0)
    return Convergence([r.number for r in rows], hv, [float(x) for x in ref])


@dataclass(frozen=True)
class Importance:
    """Parameter importances (normalized to sum 1) per objective label, or why there are none."""

    values: dict[str, dict[str, float]]
    notes: list[str]


def importances(data: RunData) -> Importance:
    """optuna's :func:`optuna.importance.get_param_importances` for each objective, with the PED-ANOVA
    evaluator (Watanabe et al., IJCAI 2023; built into optuna, needs no scikit-learn), over the
    complete trials. Too few trials, or parameters that never varied, give a note instead."""
    complete = [t for t in data.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(complete) < MIN_IMPORTANCE_TRIALS:
        return Importance({}, [f"parameter importance needs at least {MIN_IMPORTANCE_TRIALS} complete trials; "
                               f"this run has {len(complete)}"])
    names = {k for t in complete for k in t.params}
    always = {k for k in names if all(k in t.params for t in complete)}
    varied = sorted(k for k in always if len({repr(t.params[k]) for t in complete}) > 1)
    constant = sorted(always - set(varied))
    notes = [f"not ranked (one value in every complete trial): {', '.join(constant)}"] if constant else []
    if names - always:
        notes.append(f"not ranked (conditional, absent from some trials): {', '.join(sorted(names - always))}")
    if not varied:
        return Importance({}, notes + ["no parameter varied across the complete trials"])
    values: dict[str, dict[str, float]] = {}
    for i, label in enumerate(data.labels):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values[label] = optuna.importance.get_param_importances(
                    data.study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), params=varied,
                    target=lambda t, i=i: t.values[i])
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            notes.append(f"{label}: importance not computed ({exc})")
    return Importance(values, notes)


def rejection_reasons(rows: list[TrialRow]) -> tuple[Counter, Counter]:
    """Why trials were rejected: (failed trials by reason class, infeasible trials by violated constraint)."""
    from codesign.report.files import _reason_class

    failed = Counter(_reason_class(r.reason or "no reason recorded") for r in rows if r.state != "COMPLETE")
    infeasible = Counter(", ".join(sorted(k for k, v in r.constraints.items() if v > 0)) or "violated a constraint"
                         for r in rows if r.state == "COMPLETE" and not r.feasible)
    return failed, infeasible


__all__ = ["Convergence", "Importance", "RunData", "convergence", "importances", "load_run", "read_space", "rejection_reasons",
           "spread_designs"]
