"""The search loop: ask, evaluate, tell; failures and infeasible designs are recorded, never fatal.

One trial = one design: its parameters are sampled in one ``ask``, the design is evaluated
on every workload (:func:`codesign.flow.evaluate_design`), constraint values are set with
``trial.set_constraint`` (feasible iff all <= 0), and the objectives (in their display units)
are told. A design that cannot run (no mapping fits) or that raises becomes a FAIL trial with
its ``reason``. ``trials`` is the size the study should reach, so rerunning resumes.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from codesign.flow import InfeasibleDesign, display, evaluate_design
from codesign.search.sampling import distributions, make_sampler, resolved_sampler_name
from codesign.search.storage import fail_stale_trials, open_storage, open_study, worker_id
from codesign.spec.params import resolve_design
from codesign.spec.space import Space

FINISHED = (TrialState.COMPLETE, TrialState.FAIL)


@dataclass(frozen=True)
class SearchConfig:
    """How to run a search (the CLI and API fill it from flags and the space's ``search`` section)."""

    study: str
    run_dir: Path
    base: Path                      # directory model paths are relative to
    trials: int
    storage: str | None = None
    timeout_s: float | None = None
    seed: int | None = 0
    jobs: int = 1
    sampler: str = "tpe"


@dataclass
class SearchProgress:
    """A snapshot for progress displays."""

    done: int
    target: int
    feasible: int
    failed: int
    elapsed_s: float
    best: dict[str, float] = field(default_factory=dict)   # objective label -> best feasible value


def objective_labels(space: Space) -> list[str]:
    return [f"{o.metric} [{o.unit}]" if o.unit else o.metric for o in space.objectives]


def run_trial(study: optuna.Study, space: Space, base: Path, dists: dict) -> FrozenTrial:
    """Run one trial to a recorded end state (COMPLETE or FAIL with a reason)."""
    trial = study.ask(dists)
    trial.set_user_attr("worker", worker_id())
    try:
        design = resolve_design(space, trial.params)
        result = evaluate_design(space, design, base)
    except InfeasibleDesign as exc:
        trial.set_user_attr("reason", f"infeasible: {exc}")
        study.tell(trial, state=TrialState.FAIL)
    except KeyboardInterrupt:
        trial.set_user_attr("reason", "interrupted by the user")
        study.tell(trial, state=TrialState.FAIL)
        raise
    except Exception as exc:  # a bug or an unforeseen input: record it, keep searching
        trial.set_user_attr("reason", f"error: {type(exc).__name__}: {exc}")
        study.tell(trial, state=TrialState.FAIL)
    else:
        for text, value in result.violations.items():
            trial.set_constraint(text, float(value))
        violated = [t for t, v in result.violations.items() if v > 0]
        trial.set_user_attr("result", {
            "metrics": result.metrics, "per_workload": result.per_workload,
            "area_mm2": result.accelerator.area_breakdown_mm2,
            "reason": ("violates: " + "; ".join(violated)) if violated else "",
        })
        study.tell(trial, [display(o.metric, result.metrics[o.metric], o.unit) for o in space.objectives])
    return study._storage.get_trial(trial._trial_id)


def _snapshot(study: optuna.Study, space: Space, target: int, start: float) -> SearchProgress:
    trials = study.get_trials(deepcopy=False, states=FINISHED)
    feasible = [t for t in trials if t.state == TrialState.COMPLETE and all(c <= 0 for c in (t.constraints or {}).values())]
    best = {}
    for i, (label, o) in enumerate(zip(objective_labels(space), space.objectives)):
        vals = [t.values[i] for t in feasible]
        if vals:
            best[label] = max(vals) if o.direction == "maximize" else min(vals)
    failed = sum(t.state == TrialState.FAIL for t in trials)
    return SearchProgress(len(trials), target, len(feasible), failed, time.monotonic() - start, best)


def _worker(space: Space, cfg: SearchConfig, index: int,
            on_progress: Callable[[SearchProgress], None] | None = None) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.monotonic()
    storage = open_storage(cfg.run_dir, cfg.storage)
    dists = distributions(space)
    seed = None if cfg.seed is None else cfg.seed + 7919 * index
    study = open_study(space, cfg.study, storage, make_sampler(space, cfg.sampler, seed), dists)
    while True:
        active = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
        if len(active) >= cfg.trials:
            break
        if cfg.timeout_s is not None and time.monotonic() - start >= cfg.timeout_s:
            break
        run_trial(study, space, cfg.base, dists)
        if on_progress is not None:
            on_progress(_snapshot(study, space, cfg.trials, start))


def run_search(space: Space, cfg: SearchConfig,
               on_progress: Callable[[SearchProgress], None] | None = None) -> optuna.Study:
    """Run (or resume) the study until it holds ``cfg.trials`` trials or ``cfg.timeout_s`` passes.

    With ``cfg.jobs > 1``, ``jobs - 1`` extra worker processes share the study's storage.
    Returns the study (all trials, from every worker).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(cfg.run_dir, cfg.storage)
    study = open_study(space, cfg.study, storage, make_sampler(space, cfg.sampler, cfg.seed), distributions(space))
    fail_stale_trials(study)
    start = time.monotonic()
    if on_progress is not None:
        on_progress(_snapshot(study, space, cfg.trials, start))
    procs = []
    ctx = multiprocessing.get_context("spawn")
    for index in range(1, cfg.jobs):
        p = ctx.Process(target=_worker, args=(space, cfg, index), daemon=True)
        p.start()
        procs.append(p)
    try:
        _worker(space, cfg, 0, on_progress)
    finally:
        for p in procs:
            p.join()
    return optuna.load_study(study_name=cfg.study, storage=storage)


def config_from(space: Space, base: Path, runs_dir: Path, *, trials: int | None = None, timeout_s: float | None = None,
                seed: int | None = ..., jobs: int | None = None, storage: str | None = None,
                study: str | None = None) -> SearchConfig:  # type: ignore[assignment]
    """Merge command-line overrides with the space's ``search`` section."""
    s = space.search
    name = study or s.study or space.name
    n = trials if trials is not None else s.trials
    return SearchConfig(
        study=name, run_dir=runs_dir / name, base=base, trials=n, storage=storage or s.storage,
        timeout_s=timeout_s if timeout_s is not None else s.timeout, seed=s.seed if seed is ... else seed,
        jobs=jobs or s.jobs, sampler=resolved_sampler_name(space, n),
    )
