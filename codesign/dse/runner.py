"""The search loop: ask, evaluate, tell; failures and infeasible designs are recorded, never fatal.

One trial = one design: its parameters are suggested (conditional ones where they apply), the
design is evaluated on every workload (:func:`codesign.flow.evaluate_design`), constraint values are set with
``trial.set_constraint`` (feasible iff all <= 0), and the objectives (in their display units)
are told. A design that cannot run (no mapping fits) or that raises becomes a FAIL trial with
its ``reason``. ``trials`` is the size the study should reach, so rerunning resumes.

With ``prune`` (the default), a design is given up as soon as the best objective values it can
still reach (its mapped layers' costs plus lower bounds on the rest,
:func:`codesign.flow.best_possible`) are dominated by a feasible trial already finished: it
cannot be Pareto-optimal, so it becomes a PRUNED trial whose ``reason`` names that trial and
the bounds. The feasible Pareto front is the one the search would find without pruning.

Queued trials (the space's ``search.seed_designs``, see :mod:`codesign.dse.seeds`) run before
sampled ones. Every ``checkpoint_every`` finished trials the caller's ``on_checkpoint`` runs
(``codesign.search`` rewrites the run's result files there), so a search stopped at any time
leaves a usable answer.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event as EventType
from multiprocessing.synchronize import Lock as LockType
from pathlib import Path

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from codesign.flow import GaveUp, InfeasibleDesign, Verdict, display, evaluate_design
from codesign.dse import visible
from codesign.dse.progress import ProgressTracker, SearchProgress, objective_labels
from codesign.dse.sampling import distributions, make_sampler, resolved_sampler_name
from codesign.dse.seeds import enqueue_seed_designs
from codesign.dse.storage import claim_waiting_trial, fail_stale_trials, open_storage, open_study, worker_id
from codesign.spec.params import Condition, applies, conditions, resolve_design
from codesign.spec.space import Space

FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
CHECKPOINT_EVERY = 10   # finished trials between two rewrites of the result files
CHECKPOINT_SHARE = 0.05  # ... and at most this share of the time goes to rewriting them
BUDGET_LOCK_WAIT_S = 10.0  # a worker waits at most this long for its turn to start a trial (then starts it anyway)


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
    checkpoint_every: int = CHECKPOINT_EVERY
    fidelity: str = "analytical"    # analytical | simulated | auto (see codesign.sim.fidelity)
    prune: bool = True              # give up designs dominated before they are fully mapped (analytical)


def new_trial(study: optuna.Study) -> int:
    """The id of a trial this process starts: a queued one if any is left
    (:func:`~codesign.dse.storage.claim_waiting_trial`), otherwise a new RUNNING trial created with
    its ``worker`` attribute in the same write."""
    trial_id = claim_waiting_trial(study)
    if trial_id is None:
        template = optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs={"worker": worker_id()})
        trial_id = study._storage.create_new_trial(study._study_id, template_trial=template)
    return trial_id


def start_trial(study: optuna.Study, dists: dict, conds: dict[str, tuple[Condition, ...]] | None = None,
                lag: int = 0, trial_id: int | None = None) -> optuna.Trial:
    """Start a trial whose first storage write already names this process as its ``worker``.

    ``study.ask()`` writes the new trial first and the ``worker`` attribute after it: a process
    killed in between would leave a RUNNING trial no later run could attribute and fail. Here
    a queued trial is taken first (:func:`~codesign.dse.storage.claim_waiting_trial`, which
    leaves such a trial attributable); otherwise the trial is created RUNNING with the
    attribute in one write (as ``ask`` does otherwise: a ``Trial`` over the new id runs the
    sampler's ``before_trial``). Then its parameters are suggested in the order of ``dists``
    (a queued trial's fixed ones are taken as they are), define-by-run: a conditional parameter
    (``conds``, :func:`~codesign.spec.params.conditions`) only when its condition holds for the
    values suggested before it, so a trial holds it exactly where it applies. If suggesting
    raises, the trial is recorded as FAIL before the error goes on.

    With ``lag`` (``--jobs``, :func:`codesign.dse.visible.lag`), trial ``k`` first waits for the
    trials numbered below ``k - lag`` and is sampled from a study holding just those: the trial's
    ``study`` is then a :class:`~codesign.dse.visible.VisibleStudy`. ``trial_id``: a trial
    :func:`new_trial` already started (by default it is started here).
    """
    if trial_id is None:
        trial_id = new_trial(study)
    conds = conds or {}
    values: dict[str, object] = {}
    try:
        view = study
        if lag:
            number = study._storage.get_trial_number_from_id(trial_id)
            view = visible.VisibleStudy(study, visible.wait_for_earlier(study, number - lag))
        trial = optuna.Trial(view, trial_id)
        for name, dist in dists.items():
            if name not in conds or applies(conds[name], values):
                values[name] = suggest(trial, name, dist)
    except BaseException as exc:
        abort_trial(study, trial_id, exc)
        raise
    return trial


def abort_trial(study: optuna.Study, trial_id: int, exc: BaseException) -> None:
    """Record trial ``trial_id`` as FAIL because of ``exc`` (the caller re-raises it)."""
    reason = "interrupted by the user" if isinstance(exc, KeyboardInterrupt) else f"error: {type(exc).__name__}: {exc}"
    study._storage.set_trial_user_attr(trial_id, "reason", reason)
    study.tell(study._storage.get_trial_number_from_id(trial_id), state=TrialState.FAIL)


def suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> object:
    """Suggest parameter ``name`` of ``trial`` from its distribution."""
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


@dataclass(frozen=True)
class Outcome:
    """What evaluating one trial's design gave: objective values and constraints, or why it failed."""

    values: list[float] = field(default_factory=list)
    violations: dict[str, float] = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    failure: str = ""
    pruned: str = ""                # why the design was given up (dominated), if it was


def evaluate_trial(space: Space, base: Path, params: dict, fidelity: str = "analytical",
                   give_up: Verdict | None = None) -> Outcome:
    """Evaluate a trial's parameters; every failure becomes ``Outcome.failure`` (a reason).

    With ``fidelity="simulated"`` the values are the simulator's and ``result["simulated"]``
    holds both sets of numbers (:func:`codesign.sim.fidelity.simulation_record`). ``give_up``:
    see :func:`codesign.flow.evaluate_design` (a stop becomes ``Outcome.pruned``)."""
    try:
        design = resolve_design(space, params)
        result = evaluate_design(space, design, base, "simulated" if fidelity == "simulated" else "analytical",
                                 give_up)
        values = [display(o.metric, result.metrics[o.metric], o.unit) for o in space.objectives]
        violations = {text: float(v) for text, v in result.violations.items()}
    except GaveUp as exc:
        return Outcome(pruned=str(exc))
    except InfeasibleDesign as exc:
        return Outcome(failure=f"infeasible: {exc}")
    except Exception as exc:  # a bug or an unforeseen input: record it, keep searching
        return Outcome(failure=f"error: {type(exc).__name__}: {exc}")
    bad = [label for label, v in [*zip(objective_labels(space), values), *violations.items()] if not math.isfinite(v)]
    if bad:
        return Outcome(failure="error: not a finite number: " + ", ".join(bad))
    violated = [t for t, v in violations.items() if v > 0]
    record = {
        "metrics": result.metrics, "per_workload": result.per_workload,
        "area_mm2": result.accelerator.area_breakdown_mm2,
        "reason": ("violates: " + "; ".join(violated)) if violated else "",
    }
    if result.analytical is not None:
        from codesign.sim.fidelity import simulation_record

        record["simulated"] = simulation_record(result)
    return Outcome(values, violations, record)


class Reuse:
    """What a trial takes from finished ones: the outcome of a trial of the same design
    (``known``, by :func:`design_key`) and, when pruning, the feasible front that gives a design
    up (``give_up``). Fed finished trials in number order, each counted once."""

    def __init__(self, space: Space, prune: bool) -> None:
        self.tracker = ProgressTracker(space)
        self.known: dict[tuple, FrozenTrial] = {}
        self.prune = prune
        self._looked: set[int] = set()

    def add(self, finished: Sequence[FrozenTrial]) -> None:
        self.tracker.update(finished)
        for t in finished:
            if t.number not in self._looked:
                self._looked.add(t.number)
                if reusable(t) and (self.prune or t.state != TrialState.PRUNED):
                    self.known.setdefault(design_key(t.params), t)    # not pruned outcomes when not pruning

    @property
    def give_up(self) -> Verdict | None:
        return self.tracker.dominated if self.prune else None


def run_trial(study: optuna.Study, space: Space, base: Path, dists: dict, fidelity: str = "analytical",
              reuse: Reuse | None = None, lag: int = 0, trial_id: int | None = None) -> FrozenTrial:
    """Run one trial to a recorded end state (COMPLETE, or FAIL or PRUNED with a reason).

    A design the study has already evaluated (``reuse.known``; samplers such as NSGA-II propose
    the same design again) is not evaluated again: evaluation is deterministic, so the trial
    takes that trial's values, constraints and result, with the user attribute ``same_as``
    naming it. With ``lag`` (:func:`start_trial`) ``reuse`` is first fed the trials this one may
    see; otherwise the caller keeps it up to date. ``trial_id``: see :func:`start_trial`.
    """
    trial = start_trial(study, dists, conditions(space), lag, trial_id)
    if lag and reuse is not None:
        assert isinstance(trial.study, visible.VisibleStudy)
        reuse.add(trial.study.visible)
    earlier = reuse.known.get(design_key(trial.params)) if reuse is not None else None
    give_up = reuse.give_up if reuse is not None else None
    try:
        outcome = (evaluate_trial(space, base, trial.params, fidelity, give_up) if earlier is None
                   else outcome_of(earlier))
    except BaseException as exc:   # KeyboardInterrupt, SystemExit: evaluate_trial catches the rest
        abort_trial(study, trial._trial_id, exc)
        raise
    if earlier is not None:
        trial.set_user_attr("same_as", earlier.number)
    if outcome.pruned:
        trial.set_user_attr("reason", outcome.pruned)
        study.tell(trial, state=TrialState.PRUNED)
    elif outcome.failure:
        trial.set_user_attr("reason", outcome.failure)
        study.tell(trial, state=TrialState.FAIL)
    else:
        for text, value in outcome.violations.items():
            trial.set_constraint(text, value)
        trial.set_user_attr("result", outcome.result)
        study.tell(trial, outcome.values)
    return study._storage.get_trial(trial._trial_id)


def design_key(params: dict) -> tuple:
    """A trial's parameters as a hashable key (equal designs, equal keys)."""
    return tuple(sorted(params.items()))


def reusable(trial: FrozenTrial) -> bool:
    """Whether a finished trial's outcome holds for every trial of the same design: complete,
    failed because the design is infeasible (not interrupted, not an unforeseen error), or pruned
    (the front that dominated it only improves; :func:`_loop` reuses that only while it prunes)."""
    return (trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            or str(trial.user_attrs.get("reason", "")).startswith("infeasible:"))


def outcome_of(trial: FrozenTrial) -> Outcome:
    """The :class:`Outcome` a finished trial recorded (see :func:`reusable`)."""
    if trial.state == TrialState.PRUNED:
        return Outcome(pruned=str(trial.user_attrs["reason"]))
    if trial.state != TrialState.COMPLETE:
        return Outcome(failure=str(trial.user_attrs["reason"]))
    return Outcome(list(trial.values), dict(trial.constraints or {}), dict(trial.user_attrs.get("result", {})))


def open_search(space: Space, cfg: SearchConfig) -> optuna.Study:
    """Open (or create) the study of ``cfg`` and fail the trials its dead local workers left RUNNING.

    Raises :class:`~codesign.errors.CodesignError` when the storage cannot be opened or the study
    was made from a different space; nothing is written to the run directory then.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(cfg.run_dir, cfg.storage)
    runs = cfg.run_dir.parent   # beside the default journal, other run directories are other studies
    taken = [d.name for d in runs.iterdir() if d.is_dir()] if cfg.storage is None and runs.is_dir() else []
    study = open_study(space, cfg.study, storage, make_sampler(space, cfg.sampler, cfg.seed), distributions(space),
                       taken, cfg.fidelity)
    fail_stale_trials(study)
    enqueue_seed_designs(study, space)
    return study


def _loop(study: optuna.Study, space: Space, cfg: SearchConfig,
          on_progress: Callable[[SearchProgress], None] | None = None,
          on_checkpoint: Callable[[optuna.Study], None] | None = None, stop: EventType | None = None,
          budget: LockType | None = None) -> None:
    """Run trials until the study holds ``cfg.trials`` (finished or running), the timeout passes
    or ``stop`` is set. ``budget``: the lock this command's processes share (``--jobs``) to count
    the study's trials and start one in turn (:func:`_start_within`).

    After every trial: ``on_progress`` gets a snapshot, and ``on_checkpoint`` runs whenever the
    study's finished trials (from every worker) have passed another multiple of
    ``cfg.checkpoint_every`` since the last checkpoint, unless the last checkpoint took more than
    :data:`CHECKPOINT_SHARE` of the time since (large studies of fast trials: then it waits).
    """
    start = time.monotonic()
    dists = distributions(space)
    lag = visible.lag(cfg.jobs)
    reuse = Reuse(space, cfg.prune and cfg.fidelity != "simulated")
    tracker = ProgressTracker(space) if lag else reuse.tracker   # what is shown; with a lag, a trial sees less
    every = max(1, cfg.checkpoint_every)
    written: int | None = None
    cost, ended = 0.0, start    # duration and end of the last checkpoint
    while True:
        active = study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))
        finished = [t for t in active if t.state in FINISHED]
        if lag:
            tracker.update(finished)
        else:
            reuse.add(finished)
        if on_progress is not None:
            on_progress(tracker.snapshot(cfg.trials, time.monotonic() - start))
        if written is None:
            written = tracker.done
        elif (on_checkpoint is not None and tracker.done // every > written // every
              and cost <= CHECKPOINT_SHARE * (time.monotonic() - ended + cost)):
            began = time.monotonic()
            on_checkpoint(study)
            written, ended = tracker.done, time.monotonic()
            cost = ended - began
        if len(active) >= cfg.trials:
            break
        if cfg.timeout_s is not None and time.monotonic() - start >= cfg.timeout_s:
            break
        if stop is not None and stop.is_set():
            break
        trial_id = None
        if budget is not None:
            trial_id, taken = _start_within(study, cfg.trials, budget)
            if not taken:
                budget = None       # its holder died holding it: start trials without it from now on
            if trial_id is None:
                break
        run_trial(study, space, cfg.base, dists, cfg.fidelity, reuse, lag, trial_id)


def _start_within(study: optuna.Study, trials: int, budget: LockType) -> tuple[int | None, bool]:
    """With ``budget`` held: start a trial (:func:`new_trial`) if the study holds fewer than
    ``trials`` (finished or running). Returns its id (``None`` if the study is full) and whether
    the lock was taken.

    Counting and starting in turn keeps the worker processes of one command from starting the
    last trials together and overshooting ``--trials``. A worker that has waited
    :data:`BUDGET_LOCK_WAIT_S` for the lock (another one was killed while holding it) goes on
    without it. Processes of other commands or machines do not share the lock: with them the
    study may still overshoot by one trial per process.
    """
    held = budget.acquire(timeout=BUDGET_LOCK_WAIT_S)
    try:
        if len(study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING))) >= trials:
            return None, held
        return new_trial(study), held
    finally:
        if held:
            budget.release()


def _worker(space: Space, cfg: SearchConfig, stop: EventType, budget: LockType) -> None:
    """An extra worker process (``--jobs``): its own storage connection, the same study.

    The seed is shared: samplers are seeded per trial number (see
    :class:`~codesign.dse.sampling.TrialSeededSampler`), so workers still sample apart.
    It starts with Ctrl-C ignored (:func:`run_search`) and takes it from here on: the running
    trial is failed as "interrupted by the user" and the process ends quietly. ``stop`` (set by
    the first process when it is interrupted) ends it before its next trial; ``budget`` is the
    lock the command's processes start trials under.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(cfg.run_dir, cfg.storage)
        study = open_study(space, cfg.study, storage, make_sampler(space, cfg.sampler, cfg.seed), distributions(space),
                           fidelity=cfg.fidelity)
        _loop(study, space, cfg, stop=stop, budget=budget)
    except KeyboardInterrupt:
        return


def run_search(space: Space, cfg: SearchConfig, on_progress: Callable[[SearchProgress], None] | None = None,
               study: optuna.Study | None = None,
               on_checkpoint: Callable[[optuna.Study], None] | None = None) -> optuna.Study:
    """Run (or resume) the study until it holds ``cfg.trials`` trials or ``cfg.timeout_s`` passes.

    ``study`` is the result of :func:`open_search` (opened here when not given). With
    ``cfg.jobs > 1``, ``jobs - 1`` extra worker processes share the study's storage; only
    this process reports progress and runs ``on_checkpoint`` (every ``cfg.checkpoint_every``
    finished trials of the study). Returns the study (all trials, from every worker).
    """
    if study is None:
        study = open_search(space, cfg)
    ctx = multiprocessing.get_context("spawn")
    stop, budget = ctx.Event(), (ctx.Lock() if cfg.jobs > 1 else None)
    procs = [ctx.Process(target=_worker, args=(space, cfg, stop, budget), daemon=True) for _ in range(1, cfg.jobs)]
    # a worker ignores Ctrl-C until it can fail its trial cleanly (a new interpreter keeps an ignored
    # SIGINT ignored; _worker takes it back): one interrupted while still importing printed a traceback
    quiet = bool(procs) and threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN) if quiet else None
    try:
        for p in procs:
            p.start()
    finally:
        if quiet:
            signal.signal(signal.SIGINT, before)
    try:
        _loop(study, space, cfg, on_progress, on_checkpoint, budget=budget)
    except BaseException:
        stop.set()          # workers that did not get the Ctrl-C themselves end before their next trial
        raise
    finally:
        for p in procs:
            p.join()
    if cfg.fidelity == "auto":
        simulate_front(study, space, cfg.base)
    return study


SIMULATED_ATTR = "simulated:"   # study user attribute prefix + trial number (finished trials are frozen)


def simulate_front(study: optuna.Study, space: Space, base: Path) -> dict[int, dict]:
    """``auto`` fidelity: re-evaluate the feasible Pareto-optimal trials with the simulator.

    Each record (:func:`codesign.sim.fidelity.simulation_record`: simulated and analytical
    metrics, per-layer cycles and gaps) is stored as the study user attribute
    ``simulated:<trial number>`` (optuna does not let a finished trial change); trials already
    simulated are skipped. Returns every stored record by trial number.
    """
    import numpy as np

    from codesign.dse.pareto import pareto_mask
    from codesign.sim.fidelity import simulation_record

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if all(v <= 0 for v in (t.constraints or {}).values()) and "same_as" not in t.user_attrs]
    if done:
        mask = pareto_mask(np.array([t.values for t in done]), tuple(o.direction == "maximize" for o in space.objectives))
        stored = study.user_attrs
        for t in (t for t, keep in zip(done, mask) if keep):
            if SIMULATED_ATTR + str(t.number) in stored:
                continue
            try:
                result = evaluate_design(space, resolve_design(space, t.params), base, "simulated")
            except InfeasibleDesign:
                continue
            study.set_user_attr(SIMULATED_ATTR + str(t.number), simulation_record(result))
    return {int(k[len(SIMULATED_ATTR):]): v for k, v in study.user_attrs.items() if k.startswith(SIMULATED_ATTR)}


def config_from(space: Space, base: Path, runs_dir: Path, *, trials: int | None = None, timeout_s: float | None = None,
                seed: int | None = ..., jobs: int | None = None, storage: str | None = None,
                study: str | None = None, fidelity: str | None = None,
                prune: bool | None = None) -> SearchConfig:  # type: ignore[assignment]
    """Merge command-line overrides with the space's ``search`` section."""
    s = space.search
    name = study or s.study or space.name
    n = trials if trials is not None else s.trials
    return SearchConfig(
        study=name, run_dir=runs_dir / name, base=base, trials=n, storage=storage or s.storage,
        timeout_s=timeout_s if timeout_s is not None else s.timeout, seed=s.seed if seed is ... else seed,
        jobs=jobs or s.jobs, sampler=resolved_sampler_name(space, n), fidelity=fidelity or s.fidelity,
        prune=s.prune if prune is None else prune,
    )
