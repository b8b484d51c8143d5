"""The mapper: one mapping per layer, cached per (accelerator, canonical layer, policy).

``mode: auto`` searches (:mod:`codesign.compiler.search`: dominance-pruned tilings, visited
best lower bound first, costed in batches with stationarity orders, refined with every loop
order of the best few); ``mode: fixed`` is the naive compiler (:mod:`codesign.compiler.naive`).
Both run on the layer without its bound-1 dimensions (:func:`codesign.compiler.tiles.squeeze`)
and return a :class:`~codesign.compiler.mapping.Mapping` over the full layer's dimensions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from codesign.compiler import costed, memo, spatial
from codesign.compiler.bounds import Traffic, rows_bounds, traffic_bounds
from codesign.compiler.mapping import Mapping, MappingError
from codesign.compiler.mapspace import Chunk, to_mapping
from codesign.compiler.naive import default_unroll, naive_mapping
from codesign.compiler.orders import role_combinations
from codesign.compiler.policy import SchedulePolicy, objective_values
from codesign.compiler.search import Found, search
from codesign.compiler.shortlist import choice_traffic, options_key
from codesign.compiler.spatial import AXIS_CLASSES, dim_classes
from codesign.compiler.tiles import lattice, squeeze
from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

__all__ = ["AXIS_CLASSES", "SchedulePolicy", "clear_cache", "dim_classes", "lower_bound", "lower_bounds", "map_layer",
           "objective_values", "result_from_cost"]


def map_layer(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    """Choose a mapping for ``layer`` on ``acc``; raise :class:`MappingError` if none fits.

    Identical layers (in one model or across the models of a study) are mapped once: results
    are cached on the layer's computation, not its name or count.
    """
    try:
        return replace(_map_canonical(layer.canonical(), acc, policy), layer=layer)
    except MappingError as exc:       # the canonical layer has no name: say which layer it is
        raise MappingError(f"layer {layer.name} {exc}") from None


def lower_bound(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple[float, float]:
    """``(energy_pj, cycles)`` that no mapping :func:`map_layer` can return for ``layer`` undercuts
    (each minimized on its own): the tiling-free bounds
    (:func:`codesign.compiler.bounds.traffic_bounds`) of every spatial choice the search ranks and
    of the naive compiler's. A few array operations on remembered work."""
    return lower_bounds((layer,), acc, policy)[0]


def lower_bounds(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy) -> list[tuple[float, float]]:
    """:func:`lower_bound` of each layer, priced in one pass: a search prunes designs with them
    before mapping all their layers (:func:`codesign.flow.best_possible`)."""
    smalls = [squeeze(layer.canonical()).layer for layer in layers]
    parts = [_bound_traffic(small, acc, policy) for small in smalls]
    sizes = np.array([len(t.steps) for t in parts])
    macs = np.repeat(np.array([small.macs for small in smalls], dtype=np.float64), sizes)
    energy, cycles = rows_bounds(macs, acc, memo.concat_traffic(parts), role_combinations(len(acc.levels), "any")[:1])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return list(zip(np.minimum.reduceat(energy[:, 0], starts).tolist(), np.minimum.reduceat(cycles[:, 0], starts).tolist()))


def _bound_traffic(small: Layer, acc: Accelerator, policy: SchedulePolicy) -> Traffic:
    """Tiling-free traffic of the naive compiler's spatial choice and (searching) of every choice
    the shortlist ranks: remembered work, priced by :func:`lower_bounds`."""

    def naive_traffic() -> Traffic:       # the naive compiler's spatial choice, any tiling
        axes = default_unroll(small, acc, policy)
        temporal = np.ones((1, len(acc.levels), len(small.dims)), dtype=np.int64)
        temporal[0, 0] = -(-np.array(small.bounds, dtype=np.int64) // np.prod(axes, axis=0))
        return traffic_bounds(small, acc, temporal, (axes[0] * axes[1])[None], axes[2][None], tiling_free=True)

    naive = memo.remember(("naive spatial",) + options_key(small, acc, policy), naive_traffic)
    return naive if policy.mode == "fixed" else memo.concat_traffic([naive, choice_traffic(small, acc, policy)[3]])


def clear_cache() -> None:
    """Forget every cached mapping, tile lattice and remembered piece of mapper work (benchmarks time
    each layer cold)."""
    _map_canonical.cache_clear()
    lattice.cache_clear()
    memo.clear()
    costed.clear()
    spatial.clear_cache()


@functools.lru_cache(maxsize=65536)
def _map_canonical(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    small = squeeze(layer)
    if policy.mode == "fixed":
        temporal, perm, axes = naive_mapping(small.layer, acc, policy)
        chunk = Chunk(temporal[None], perm[None], axes[None])
        found = Found(policy.objective, [chunk], [evaluate(small.layer, acc, chunk.nest(acc.first_per_pe_level))])
    else:
        found = search(small.layer, acc, policy)
    try:
        b, i = found.best()
    except LookupError:
        raise MappingError(_no_fit_reason(layer, acc, policy)) from None
    chunk = found.chunks[b]
    mapping = to_mapping(layer, acc, small.expand(chunk.temporal[i]), small.expand_order(chunk.perm[i]),
                         small.expand(chunk.axes[i]))
    legal = sum(int(c.fits.sum()) for c in found.costs)
    return result_from_cost(layer, mapping, acc, found.costs[b], i, found.evaluated, legal)


def result_from_cost(layer: Layer, mapping: Mapping, acc: Accelerator, cost: CostBatch, i: int,
                     candidates: int, legal: int) -> LayerResult:
    """Scalar :class:`LayerResult` for mapping ``i`` of a :class:`CostBatch`."""
    names = [lv.name for lv in acc.levels]
    level_cycles = {n: float(cost.level_cycles[i, k]) for k, n in enumerate(names)}
    slowest = max(level_cycles, key=level_cycles.get)  # type: ignore[arg-type]
    bound = slowest if level_cycles[slowest] > cost.compute_cycles[i] else "compute"
    return LayerResult(
        layer=layer, mapping=mapping, cycles=float(cost.cycles[i]), compute_cycles=float(cost.compute_cycles[i]),
        level_cycles=level_cycles, energy_pj=float(cost.energy_pj[i]),
        level_energy_pj={n: float(cost.level_energy_pj[i, k]) for k, n in enumerate(names)},
        mac_energy_pj=float(cost.mac_energy_pj), utilization=float(cost.utilization[i]), bound=bound,
        candidates=candidates, legal=legal,
    )


def _no_fit_reason(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> str:
    sized = [lv for lv in acc.levels if lv.size_bytes is not None]
    tight = min(sized, key=lambda lv: lv.size_bytes or 0) if sized else None
    where = f"; smallest level {tight.name} has {tight.size_bytes} bytes" if tight else ""
    what = "the naive compiler's mapping does not fit" if policy.mode == "fixed" else "no candidate mapping fits"
    return f"({layer.describe()}): {what} the memory capacities{where}"
