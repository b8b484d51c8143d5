"""The mapper: one mapping per layer, cached per (accelerator, canonical layer, policy).

``mode: auto`` searches (:mod:`codesign.compiler.search`: dominance-pruned tilings, visited
best lower bound first, costed in batches with stationarity orders, refined with every loop
order of the best few); ``mode: fixed`` is the naive compiler (:mod:`codesign.compiler.naive`).
Both run on the layer without its bound-1 dimensions (:func:`codesign.compiler.tiles.squeeze`)
and return a :class:`~codesign.compiler.mapping.Mapping` over the full layer's dimensions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from codesign.compiler import costed, memo, spatial
from codesign.compiler.bounds import Traffic, rows_bounds, traffic_parts, untiled
from codesign.compiler.mapping import Mapping, MappingError
from codesign.compiler.mapspace import Chunk, to_mapping
from codesign.compiler.naive import default_unroll, naive_mapping
from codesign.compiler.orders import role_combinations
from codesign.compiler.policy import SchedulePolicy, objective_values
from codesign.compiler.search import Found, search_many
from codesign.compiler.shortlist import choice_traffic_many, options_key
from codesign.compiler.spatial import AXIS_CLASSES, dim_classes
from codesign.compiler.tiles import Squeezed, lattice, squeeze
from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

__all__ = ["AXIS_CLASSES", "SchedulePolicy", "clear_cache", "dim_classes", "lower_bound", "lower_bounds", "map_layer",
           "map_layers", "objective_values", "result_from_cost"]


MAX_MAPPED = 65536
"""Mapped layers kept (least recently used go first)."""

_mapped: OrderedDict[tuple[Layer, Accelerator, SchedulePolicy], LayerResult | MappingError] = OrderedDict()


def map_layer(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    """Choose a mapping for ``layer`` on ``acc``; raise :class:`MappingError` if none fits.

    Identical layers (in one model or across the models of a study) are mapped once: results
    are cached on the layer's computation, not its name or count.
    """
    result = map_layers((layer,), acc, policy)[0]
    if isinstance(result, MappingError):
        raise result
    return result


def map_layers(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy) -> list[LayerResult | MappingError]:
    """:func:`map_layer` of each layer (a :class:`MappingError` in place of a layer no mapping
    fits). The layers not cached yet are searched together
    (:func:`~codesign.compiler.search.search_many`: same-structure layers share kernel calls);
    each result is the one :func:`map_layer` gives alone."""
    canonical = [layer.canonical() for layer in layers]
    todo = list(dict.fromkeys(c for c in canonical if (c, acc, policy) not in _mapped))
    for c, result in zip(todo, _map_canonical_many(todo, acc, policy)):
        _mapped[(c, acc, policy)] = result
        while len(_mapped) > MAX_MAPPED:
            _mapped.popitem(last=False)
    out: list[LayerResult | MappingError] = []
    for layer, c in zip(layers, canonical):
        result = _mapped[(c, acc, policy)]
        _mapped.move_to_end((c, acc, policy))
        # the canonical layer has no name: say which layer it is
        out.append(MappingError(f"layer {layer.name} {result}") if isinstance(result, MappingError)
                   else replace(result, layer=layer))
    return out


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
    parts = _bound_traffic(smalls, acc, policy)
    sizes = np.array([len(t.steps) for t in parts])
    macs = np.repeat(np.array([small.macs for small in smalls], dtype=np.float64), sizes)
    energy, cycles = rows_bounds(macs, acc, memo.concat_traffic(parts), role_combinations(len(acc.levels), "any")[:1])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return list(zip(np.minimum.reduceat(energy[:, 0], starts).tolist(), np.minimum.reduceat(cycles[:, 0], starts).tolist()))


def _bound_traffic(smalls: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy) -> list[Traffic]:
    """Tiling-free traffic of each layer's naive spatial choice and (searching) of every choice the
    shortlist ranks: remembered work, computed for same-structure layers together and priced by
    :func:`lower_bounds`."""

    def naive_traffic(js: list[int]) -> list[Traffic]:      # the naive compiler's spatial choice, any tiling
        axes = [default_unroll(smalls[j], acc, policy)[None] for j in js]
        temporals = [untiled(smalls[j], acc, ax) for j, ax in zip(js, axes)]
        return traffic_parts(smalls[js[0]], acc, temporals, axes, tiling_free=True)

    naive = memo.remember_many([("naive spatial",) + options_key(small, acc, policy) for small in smalls], smalls,
                               naive_traffic)
    if policy.mode == "fixed":
        return naive
    return [memo.concat_traffic([n, c[3]]) for n, c in zip(naive, choice_traffic_many(smalls, acc, policy))]


def clear_cache() -> None:
    """Forget every cached mapping, tile lattice and remembered piece of mapper work (benchmarks time
    each layer cold)."""
    _mapped.clear()
    lattice.cache_clear()
    squeeze.cache_clear()
    memo.clear()
    costed.clear()
    spatial.clear_cache()


def _map_canonical(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    """The mapping of a canonical layer, uncached; raises :class:`MappingError` if none fits."""
    result = _map_canonical_many((layer,), acc, policy)[0]
    if isinstance(result, MappingError):
        raise result
    return result


def _map_canonical_many(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy
                        ) -> list[LayerResult | MappingError]:
    smalls = [squeeze(layer) for layer in layers]
    if policy.mode == "fixed":
        found = []
        for small in smalls:
            temporal, perm, axes = naive_mapping(small.layer, acc, policy)
            chunk = Chunk(temporal[None], perm[None], axes[None])
            costs = evaluate(small.layer, acc, chunk.nest(acc.first_per_pe_level))
            found.append(Found(policy.objective, [chunk], [costs]))
    else:
        found = search_many([small.layer for small in smalls], acc, policy)
    return [_result(layer, small, f, acc, policy) for layer, small, f in zip(layers, smalls, found)]


def _result(layer: Layer, small: Squeezed, found: Found, acc: Accelerator, policy: SchedulePolicy
            ) -> LayerResult | MappingError:
    """The best mapping ``found`` for ``small`` as a result on the full ``layer``."""
    try:
        b, i = found.best()
    except LookupError:
        return MappingError(_no_fit_reason(layer, acc, policy))
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
