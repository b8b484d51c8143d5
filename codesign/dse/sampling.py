"""Space domains to optuna distributions, and the samplers codesign offers.

A space names a codesign sampler (``tpe``, ``nsga2``, ...) or any optuna sampler class, with
options; :mod:`codesign.dse.sampler_options` resolves and checks them.

``auto`` follows the measurements in docs/search.md: multivariate TPE up to 1,000 trials,
NSGA-II (cheap per trial) beyond; ``grid`` when asked for and the space is finite. On the
enumerable benchmark space (benchmarks/search_quality.py) TPE found the most true
Pareto-optimal designs at every budget measured, up to 576 trials (73% of them vs NSGA-II's
39%), with an equal hypervolume there, for ~25 ms more sampling per trial, which a codesign
trial (0.1-3 s of evaluation) absorbs. At 1,000 edge trials with pruning (the default), TPE's
front had a higher hypervolume than NSGA-II's with or without pruning, in less time: TPE
learns from pruned trials, while NSGA-II does not count them in a generation.

Seeding is per trial: the random choices for trial ``n`` come from ``(seed, n)`` (see
:class:`TrialSeededSampler`), so a run is reproducible, a resumed run does not repeat the
designs of the first one, and processes sharing a study with the same seed do not sample the
same designs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from codesign.errors import CodesignError
from codesign.dse.sampler_options import build_sampler, optuna_samplers, sampler_call
from codesign.dse.visible import VisibleStudy
from codesign.spec.domains import Choice, Domain, Range
from codesign.spec.params import grid_values, search_domains
from codesign.spec.space import Space

AUTO_TPE_MAX_TRIALS = 1000  # see the module docstring and docs/search.md


def distribution(domain: Domain) -> BaseDistribution:
    """The optuna distribution of a searched domain (pow2 ranges become categorical choices)."""
    if isinstance(domain, Choice):
        return CategoricalDistribution(list(domain.options))
    assert isinstance(domain, Range)
    if domain.scale == "pow2":
        return CategoricalDistribution(list(domain.values()))
    if domain.integer:
        return IntDistribution(low=int(domain.low), high=int(domain.high), log=domain.scale == "log",
                               step=int(domain.step or 1))
    return FloatDistribution(low=float(domain.low), high=float(domain.high), log=domain.scale == "log",
                             step=domain.step)


def distributions(space: Space) -> dict[str, BaseDistribution]:
    """Every searched parameter's distribution; conditional parameters last (see
    :func:`~codesign.spec.params.search_domains`), to be suggested only where their condition holds."""
    return {name: distribution(d) for name, d in search_domains(space).items()}


def resolved_sampler_name(space: Space, trials: int) -> str:
    """The sampler the space names (a codesign name or an optuna class), ``auto`` resolved by budget."""
    name = space.search.sampler.name
    if name == "auto":
        return "tpe" if trials <= AUTO_TPE_MAX_TRIALS else "nsga2"
    return name


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` in a study searched with ``seed`` (stable across platforms)."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A sampler rebuilt for every trial with the seed :func:`trial_seed` ``(seed, trial.number)``.

    optuna samplers keep one random stream per object, so re-creating a sampler with the same
    seed (a resumed run, a second process on a shared study) replays the same designs. The
    wrapped samplers keep their search state in the study, not in the object, so a rebuild per
    trial loses nothing but the stream, and a cache: the relative search space (the
    intersection of the finished trials' distributions) that optuna computes incrementally.
    Rebuilt samplers get the first one's search-space objects (:data:`SEARCH_SPACE_CACHES`)
    so that it stays incremental; recomputed from every trial it was 80% of a TPE ask at
    1,000 trials. The intersection depends on the study's trials alone, not on the stream.
    """

    def __init__(self, build: Callable[[int | None], optuna.samplers.BaseSampler], seed: int) -> None:
        self._build = build
        self._seed = seed
        self._inner = build(seed)
        self._caches = {name: getattr(self._inner, name) for name in SEARCH_SPACE_CACHES
                        if callable(getattr(getattr(self._inner, name, None), "calculate", None))}

    def __str__(self) -> str:
        return f"{self._inner} (seeded per trial from {self._seed})"

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._inner = self._build(trial_seed(self._seed, trial.number))
        for name, cache in self._caches.items():
            if type(getattr(self._inner, name, None)) is type(cache):
                setattr(self._inner, name, cache)
        if isinstance(study, VisibleStudy) and isinstance(self._inner, optuna.samplers.BaseGASampler):
            self._inner.get_parent_population = _by_number(self._inner.get_parent_population)  # type: ignore[method-assign]
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()


def _by_number(parents: Callable[[Study, int], list[FrozenTrial]]) -> Callable[[Study, int], list[FrozenTrial]]:
    """A GA sampler's ``get_parent_population`` that lists the parents by trial number, as optuna
    does when it reads them from its cache, also when they have just been selected (listed best
    first): under ``--jobs`` each trial selects the parents of what it sees
    (:class:`~codesign.dse.visible.VisibleStudy`), and whether one of its process's earlier trials
    already did must not change their order, which the next selection's ties depend on."""

    def get_parent_population(study: Study, generation: int) -> list[FrozenTrial]:
        return sorted(parents(study, generation), key=lambda t: t.number)

    return get_parent_population


SEARCH_SPACE_CACHES = ("_search_space", "_group_decomposed_search_space", "_intersection_search_space")
"""Where optuna's samplers keep their incremental search-space calculators (TPE, NSGA-II/III,
CMA-ES, GP); a sampler without them just computes the search space afresh."""

PER_TRIAL_SEEDED = ("TPESampler", "NSGAIISampler", "NSGAIIISampler", "RandomSampler", "GPSampler", "BruteForceSampler")


def make_sampler(space: Space, name: str, seed: int | None) -> optuna.samplers.BaseSampler:
    """A seeded sampler; ``name`` is already resolved (not ``auto``): a codesign name or an optuna
    class, with the space's options when it is the space's sampler
    (:func:`~codesign.dse.sampler_options.sampler_call`).

    Stream-based samplers (:data:`PER_TRIAL_SEEDED`) are seeded per trial when ``seed`` is given;
    the others (QMC, grid, CMA-ES) pick their points from the study's state and keep one seed.
    """
    cls_name, kwargs = sampler_call(space, name)
    if cls_name not in optuna_samplers():
        raise CodesignError(f"unknown sampler {name!r}", "search.sampler")

    def build(s: int | None) -> optuna.samplers.BaseSampler:
        return build_sampler(space, cls_name, kwargs, s, lambda: {k: grid_values(d) for k, d in search_domains(space).items()})

    if seed is not None and cls_name in PER_TRIAL_SEEDED:
        return TrialSeededSampler(build, seed)
    return build(seed)
