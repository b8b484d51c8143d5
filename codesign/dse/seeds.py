"""Seed designs: known designs (the space's ``search.seed_designs``) queued to run before any sampled one.

Each design is queued with optuna's ``enqueue_trial(params, skip_if_exists=True)``: a rerun
or another worker does not queue a design the study already holds (queued, running or
finished), and parameters a seed leaves out are sampled as usual. Queued trials count toward
``trials``. optuna notes that processes queueing the same design at the same instant may both
queue it; then that design is evaluated twice, nothing else changes.
"""

from __future__ import annotations

from typing import Any

import optuna

from codesign.dse.sampling import distributions
from codesign.spec.params import seed_designs
from codesign.spec.space import Space


def normalized_seeds(space: Space) -> list[dict[str, Any]]:
    """The validated seed designs with each value in the exact form its optuna distribution
    holds (a categorical choice as listed, floats as floats), so ``skip_if_exists`` recognizes
    designs the study already ran."""
    dists = distributions(space)
    out = []
    for design in seed_designs(space):
        out.append({name: dists[name].to_external_repr(dists[name].to_internal_repr(value))
                    for name, value in design.items()})
    return out


def enqueue_seed_designs(study: optuna.Study, space: Space) -> int:
    """Queue the space's seed designs the study does not hold yet; return how many designs were given."""
    seeds = normalized_seeds(space)
    for params in seeds:
        study.enqueue_trial(params, skip_if_exists=True)
    return len(seeds)
