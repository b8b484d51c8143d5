"""Which spatial choices the mapper tiles: a shortlist ranked by a bound that holds for all tilings.

Tiling a spatial choice costs milliseconds (its tile lattice, capacities, dominance pruning),
so the mapper cannot tile every unrolling of a large layer. Every choice gets a lower bound
that holds for all its tilings (compute cycles, the operands fed to the MACs, and every
word entering each level that holds it once, padded by the unrolling:
:func:`codesign.compiler.bounds.lower_bounds` with ``tiling_free``). Choices that unroll the
same dimensions on the same axes form a *family* (``C4 x K16`` and ``C5 x K13``); the
ranking takes the best of every family first, then the second best, and so on, so that
near-identical factors do not crowd out different unrollings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codesign.compiler.bounds import Traffic, combination_bounds, traffic_parts, untiled
from codesign.compiler.memo import remember_many, structure_key
from codesign.compiler.orders import role_combinations
from codesign.compiler.policy import SchedulePolicy, metric, objective_keys
from codesign.compiler.spatial import spatial_options
from codesign.compiler.tiles import divisors
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

PER_AXIS = 12             # unrollings kept per array axis before combining (best axis utilization)
BEST_BY_BOUND = 8         # choices tiled first in any case, at most PER_FAMILY per family ...
PER_FAMILY = 2
LATTICE_BUDGET = 1500     # ... and more while their tile lattices hold at most this many points
BEST_BY_UTILIZATION = 4   # ... the best utilized choices


def spatial_shortlist(layer: Layer, acc: Accelerator, policy: SchedulePolicy
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(choices [S, 3, D], primary [S], secondary [S])``: the spatial choices the mapper may tile,
    best bound first, with their tiling-free bounds (objective values) that the search compares
    with the best mapping found before it tiles a choice."""
    options, family, points, energy, cycles = choice_bounds(layer, acc, policy)
    S = len(options)
    first, second = objective_keys(policy.objective)
    p, s = metric(energy, cycles, first)[:, 0], metric(energy, cycles, second)[:, 0]
    by_bound = np.lexsort((np.arange(S), s, p))
    rank = _rank_in_group(family[by_bound])
    order = np.lexsort((np.arange(S), rank))              # best of every family, then second best, ...
    ranked = by_bound[order]
    affordable = np.cumsum(points[ranked]) <= LATTICE_BUDGET
    lead = (np.arange(S) < BEST_BY_BOUND) & (rank[order] < PER_FAMILY)
    chosen = np.union1d(ranked[lead | affordable], np.arange(min(S, BEST_BY_UTILIZATION)))
    chosen = chosen[np.lexsort((chosen, s[chosen], p[chosen]))]
    return options[chosen], p[chosen], s[chosen]


def choice_bounds(layer: Layer, acc: Accelerator, policy: SchedulePolicy
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(choices [S, 3, D], families [S], lattice points [S], energy_pj [S, 1], cycles [S, 1])``:
    every spatial choice the shortlist ranks, with its tiling-free lower bounds on this accelerator."""
    options, family, points, traffic = choice_traffic(layer, acc, policy)
    energy, cycles = combination_bounds(layer, acc, traffic, role_combinations(len(acc.levels), "any")[:1])
    return options, family, points, energy, cycles


def choice_traffic(layer: Layer, acc: Accelerator, policy: SchedulePolicy
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Traffic]:
    """``(choices [S, 3, D], families [S], lattice points [S], tiling-free traffic)`` of every spatial
    choice the shortlist ranks, remembered across accelerators (no prices, no capacities)."""
    return choice_traffic_many((layer,), acc, policy)[0]


def choice_traffic_many(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy
                        ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, Traffic]]:
    """:func:`choice_traffic` of each layer; the traffic not remembered yet is bounded in one call
    per loop structure (:func:`~codesign.compiler.memo.remember_many`)."""

    def compute(js: list[int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, Traffic]]:
        rows = [_choices(layers[j], acc, policy) for j in js]
        traffic = traffic_parts(layers[js[0]], acc, [r[3] for r in rows], [r[0] for r in rows], tiling_free=True)
        return [(options, family, points, t) for (options, family, points, _), t in zip(rows, traffic)]

    return remember_many([("shortlist",) + options_key(layer, acc, policy) for layer in layers], layers, compute)


def options_key(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple:
    """What the spatial choices and their tiling-free traffic depend on: not the capacities."""
    key = structure_key(layer, acc, policy)
    return key[:5] + (acc.traffic_key,) + key[6:]


def _choices(layer: Layer, acc: Accelerator, policy: SchedulePolicy
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spatial choices ``[S, 3, D]``, their families (which dimensions each axis unrolls) ``[S]``,
    the points of their tile lattices ``[S]`` and the one-level tilings ``[S, L, D]`` that carry
    their remaining bounds to :func:`~codesign.compiler.bounds.traffic_bounds` (``tiling_free``)."""
    options = spatial_options(layer, acc, policy, max_dims=2, per_axis=PER_AXIS)
    S = len(options)
    temporal = untiled(layer, acc, options)
    q = temporal[:, 0, :]
    unrolled = (options > 1).reshape(S, -1)
    family = unrolled @ (np.int64(1) << np.arange(unrolled.shape[1], dtype=np.int64))   # which dims each axis unrolls, as bits
    values, at = np.unique(q, return_inverse=True)
    points = np.prod(np.array([len(divisors(int(v))) for v in values], dtype=np.int64)[at.reshape(q.shape)], axis=1)
    return options, family, points, temporal


def _rank_in_group(group: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its group. ``[N]``."""
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], group[order])
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts
    return rank
