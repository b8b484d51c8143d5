"""The public Python API for scripted design studies.

>>> import codesign
>>> space = codesign.load_space("spaces/edge.yaml")
>>> result = codesign.evaluate(space, {"hardware.array.rows": 16, ...})   # doctest: +SKIP
>>> study = codesign.search(space, trials=50, seed=1)                     # doctest: +SKIP
>>> [r.objectives for r in study.pareto]                                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.flow import DesignResult, evaluate_design
from codesign.report.tables import TrialRow
from codesign.dse.runner import SearchProgress
from codesign.spec.loader import load_space as _load_space
from codesign.spec.params import resolve_design, seed_designs
from codesign.spec.space import Space

DEFAULT_RUNS = Path("runs")


@dataclass(frozen=True)
class SearchResult:
    """A finished (or interrupted) search: every trial, the feasible Pareto front, where it is stored."""

    study: str
    run_dir: Path
    trials: list[TrialRow]
    pareto: list[TrialRow]


def load_space(path: str | Path) -> Space:
    """Read and validate a space file (its seed designs too). Raises :class:`codesign.CodesignError`
    (file, line, key path)."""
    space = _load_space(path)
    seed_designs(space)
    return space


def _base(space: Space) -> Path:
    return space.base_dir


def evaluate(space: Space, params: dict[str, Any]) -> DesignResult:
    """Evaluate one design: ``params`` gives a value for every searched parameter (names as in
    ``trials.csv``, e.g. ``hardware.array.rows``); fixed values come from the space.

    Returns per-workload and per-layer results (:class:`codesign.flow.DesignResult`).
    Raises :class:`codesign.flow.InfeasibleDesign` if a layer cannot be mapped.
    """
    return evaluate_design(space, resolve_design(space, params), _base(space))


def search(space: Space, *, trials: int | None = None, timeout_s: float | None = None, seed: int | None = ...,  # type: ignore[assignment]
           jobs: int | None = None, storage: str | None = None, study: str | None = None,
           runs_dir: str | Path = DEFAULT_RUNS, space_text: str | None = None,
           on_progress: Callable[[SearchProgress], None] | None = None) -> SearchResult:
    """Run (or resume) the space's study and write its outputs to ``runs_dir/<study>/``.

    Arguments override the space's ``search`` section. The outputs (trials.csv, pareto.csv,
    pareto.json, summary.md) are rewritten every few finished trials while the search runs
    (see :data:`codesign.dse.runner.CHECKPOINT_EVERY`) and once at the end, interrupted or
    not. Returns every trial and the feasible Pareto front.
    """
    from codesign.report.files import write_outputs
    from codesign.report.tables import trial_rows
    import optuna

    from codesign.dse.runner import config_from, open_search, run_search

    cfg = config_from(space, _base(space), Path(runs_dir), trials=trials, timeout_s=timeout_s, seed=seed,
                      jobs=jobs, storage=storage, study=study)
    text = space_text if space_text is not None else _dump(space)
    opened = open_search(space, cfg)   # a refused study or storage writes nothing

    def checkpoint(st: optuna.Study) -> None:
        write_outputs(st, space, cfg.run_dir, text, cfg.sampler, cfg.seed)

    try:
        run_search(space, cfg, on_progress, opened, on_checkpoint=checkpoint)
    finally:  # interrupted or not, the finished trials are written out
        front = write_outputs(opened, space, cfg.run_dir, text, cfg.sampler, cfg.seed)
    return SearchResult(cfg.study, cfg.run_dir, trial_rows(opened, space), front)


def _dump(space: Space) -> str:
    import yaml

    return yaml.safe_dump(space.model_dump(mode="json"), sort_keys=False)
