"""Space domains to optuna distributions, and the samplers codesign offers.

``auto`` follows the measurements in docs/search.md: multivariate TPE (best constraint steering
for small budgets) up to 300 trials, NSGA-II (cheap per trial, leads on quality with large
budgets) beyond; ``grid`` when asked for and the space is finite.
"""

from __future__ import annotations

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from codesign.errors import CodesignError
from codesign.spec.domains import Choice, Domain, Range
from codesign.spec.params import grid_values, search_domains
from codesign.spec.space import Space

AUTO_TPE_MAX_TRIALS = 300


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
    return {name: distribution(d) for name, d in search_domains(space).items()}


def resolved_sampler_name(space: Space, trials: int) -> str:
    name = space.search.sampler
    if name == "auto":
        return "tpe" if trials <= AUTO_TPE_MAX_TRIALS else "nsga2"
    return name


def make_sampler(space: Space, name: str, seed: int | None) -> optuna.samplers.BaseSampler:
    """A seeded sampler; ``name`` is already resolved (not ``auto``)."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=20)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=50)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False,
                                          warn_asynchronous_seeding=False)
    if name == "grid":
        return optuna.samplers.GridSampler({k: grid_values(d) for k, d in search_domains(space).items()}, seed=seed)
    if name == "gp":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            raise CodesignError("sampler 'gp' needs torch and scipy: pip install torch scipy "
                                "(or choose tpe, nsga2, random, qmc, grid)", "search.sampler") from None
        return optuna.samplers.GPSampler(seed=seed)
    raise CodesignError(f"unknown sampler {name!r}", "search.sampler")
