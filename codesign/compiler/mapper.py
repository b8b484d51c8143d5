"""The mapper: one mapping per layer, cached per (accelerator, canonical layer, policy).

``mode: auto`` searches (:mod:`codesign.compiler.search`: dominance-pruned tilings, visited
best lower bound first, costed in batches with stationarity orders, refined with every loop
order of the best few); ``mode: fixed`` is the naive compiler (:mod:`codesign.compiler.naive`).
Both run on the layer without its bound-1 dimensions (:func:`codesign.compiler.tiles.squeeze`)
and return a :class:`~codesign.compiler.mapping.Mapping` over the full layer's dimensions.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from codesign.compiler import costed, memo, spatial
from codesign.compiler.mapping import Mapping, MappingError
from codesign.compiler.mapspace import Chunk, to_mapping
from codesign.compiler.naive import naive_mapping
from codesign.compiler.policy import SchedulePolicy, objective_values
from codesign.compiler.search import Found, search
from codesign.compiler.spatial import AXIS_CLASSES, dim_classes
from codesign.compiler.tiles import lattice, squeeze
from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

__all__ = ["AXIS_CLASSES", "SchedulePolicy", "clear_cache", "dim_classes", "map_layer", "objective_values",
           "result_from_cost"]


def map_layer(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    """Choose a mapping for ``layer`` on ``acc``; raise :class:`MappingError` if none fits.

    Identical layers (in one model or across the models of a study) are mapped once: results
    are cached on the layer's computation, not its name or count.
    """
    try:
        return replace(_map_canonical(layer.canonical(), acc, policy), layer=layer)
    except MappingError as exc:       # the canonical layer has no name: say which layer it is
        raise MappingError(f"layer {layer.name} {exc}") from None


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
