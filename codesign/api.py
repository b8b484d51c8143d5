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
    report: Path | None = None   # report.html, when the search wrote one

    def front_records(self) -> list[dict[str, Any]]:
        """The front as records: ``number``, parameters, objective values in display units
        (see :func:`codesign.studies.front_records`)."""
        from codesign.studies import front_records

        return front_records(self)


def load_space(path: str | Path) -> Space:
    """Read and validate a space file (its seed designs too). Raises :class:`codesign.CodesignError`
    (file, line, key path)."""
    space = _load_space(path)
    seed_designs(space)
    return space


def _base(space: Space) -> Path:
    return space.base_dir


def evaluate(space: Space, params: dict[str, Any], fidelity: str = "analytical") -> DesignResult:
    """Evaluate one design: ``params`` gives a value for every searched parameter (names as in
    ``trials.csv``, e.g. ``hardware.array.rows``); fixed values come from the space.

    Returns per-workload and per-layer results (:class:`codesign.flow.DesignResult`); with
    ``fidelity="simulated"`` (or ``"auto"``) the layers' cycles come from the tile-program
    simulator and ``result.analytical`` holds the analytical result.
    Raises :class:`codesign.flow.InfeasibleDesign` if a layer cannot be mapped.
    """
    simulated = fidelity in ("simulated", "auto")
    return evaluate_design(space, resolve_design(space, params), _base(space), "simulated" if simulated else "analytical")


def search(space: Space, *, trials: int | None = None, timeout_s: float | None = None, seed: int | None = ...,  # type: ignore[assignment]
           jobs: int | None = None, storage: str | None = None, study: str | None = None,
           runs_dir: str | Path = DEFAULT_RUNS, space_text: str | None = None,
           on_progress: Callable[[SearchProgress], None] | None = None, with_report: bool = True,
           report_designs: int = 3, fidelity: str | None = None, prune: bool | None = None) -> SearchResult:
    """Run (or resume) the space's study and write its outputs to ``runs_dir/<study>/``.

    Arguments override the space's ``search`` section (``fidelity``: analytical, simulated or
    auto, see :mod:`codesign.sim.fidelity`; ``prune``: give up designs already dominated, see
    :mod:`codesign.dse.runner`). The outputs (trials.csv, pareto.csv,
    pareto.json, summary.md) are rewritten every few finished trials while the search runs
    (see :data:`codesign.dse.runner.CHECKPOINT_EVERY`) and once at the end, interrupted or
    not. Then, unless ``with_report`` is false, it writes the HTML report with ``report_designs``
    front designs detailed (see :func:`report`). Returns every trial and the feasible Pareto front.
    """
    from codesign.report.files import write_outputs
    from codesign.report.tables import trial_rows
    import optuna

    from codesign.dse.runner import config_from, open_search, run_search

    cfg = config_from(space, _base(space), Path(runs_dir), trials=trials, timeout_s=timeout_s, seed=seed,
                      jobs=jobs, storage=storage, study=study, fidelity=fidelity, prune=prune)
    text = space_text if space_text is not None else _dump(space)
    opened = open_search(space, cfg)   # a refused study or storage writes nothing
    from codesign.report.gather import BASE_ATTR

    if opened.user_attrs.get(BASE_ATTR) != str(_base(space)):   # lets `codesign report` find the model files
        opened.set_user_attr(BASE_ATTR, str(_base(space)))

    def checkpoint(st: optuna.Study) -> None:
        write_outputs(st, space, cfg.run_dir, text, cfg.sampler, cfg.seed, cfg.fidelity)

    try:
        run_search(space, cfg, on_progress, opened, on_checkpoint=checkpoint)
    finally:  # interrupted or not, the finished trials are written out
        front = write_outputs(opened, space, cfg.run_dir, text, cfg.sampler, cfg.seed, cfg.fidelity)
    path = write_report(cfg.run_dir, designs=report_designs, study=opened, space=space) if with_report else None
    return SearchResult(cfg.study, cfg.run_dir, trial_rows(opened, space), front, path)


def write_report(run_dir: str | Path, *, designs: int = 6, design: tuple[int, ...] | list[int] = (),
                 compiler_gap: bool = False, storage: str | None = None, study: Any = None,
                       base: str | Path | None = None, space: Space | None = None) -> Path:
    """Write ``run_dir/report.html`` (one self-contained page), ``front.png`` and ``roofline_<trial>.png``,
    and link the PNGs from summary.md; return the report's path.

    ``designs`` best-spread Pareto designs, plus the trials numbered in ``design``, are evaluated
    again and detailed per layer (latency, energy by level and tensor, roofline, mapping);
    ``compiler_gap`` also compiles them with the naive compiler. ``storage`` and ``study`` find the
    study when it is not the run directory's journal; ``base`` is the folder the space's model
    paths are relative to (default: the one the search recorded). Raises
    :class:`codesign.CodesignError` for a directory that is not a run or an unknown trial.
    """
    from codesign.report.build import build_report

    return build_report(run_dir, designs=designs, numbers=tuple(design), compiler_gap=compiler_gap, storage=storage,
                        study=study, base=Path(base) if base is not None else None, space=space)


def _dump(space: Space) -> str:
    """The space's text: its file as loaded (so space.yaml reads back, e.g. for ``codesign report``),
    else a YAML dump of the model."""
    import yaml

    if space._source is not None and Path(space._source).is_file():
        return Path(space._source).read_text()
    return yaml.safe_dump(space.model_dump(mode="json"), sort_keys=False)
