"""The heuristic mapper: candidate generation + one vectorized evaluation + selection.

For one layer on one accelerator:

1. **Spatial candidates.** The dataflow says which classes of dimensions the PE rows and
   columns may unroll (weight-stationary: reduction dims on rows, output channels on
   columns, as in a TPU-style array; output-stationary: output pixels on rows; input-
   stationary: reduction on rows, output pixels on columns; row-stationary: filter/reduction
   dims on rows, output pixels on columns, after Eyeriss; flexible: anything). Each axis takes
   one or two dimensions with the largest factor that fits (or the largest exact divisor);
   the candidates with the best spatial utilization (real MACs over padded MAC slots) are kept.
2. **Temporal candidates.** For each spatial candidate, the remaining bound of every
   dimension is split across the memory levels by sampling uniformly among its ordered
   factorizations (seeded, deterministic), with a loop order per level drawn from three
   canonical stationarity orders; the per-PE level uses the dataflow's stationary order.
   One candidate per spatial choice keeps every temporal loop at the outermost level, so a
   mapping exists whenever the spatial tiles fit at all.
3. **Selection.** All candidates are costed in one vectorized call; among those whose tiles
   fit every level's capacity the one minimizing the schedule objective (energy, latency or
   EDP) wins.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from codesign.compiler.mapping import Mapping, MappingError
from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.nest import NestBatch
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

# which dimension classes each dataflow unrolls on (rows, cols)
AXIS_CLASSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "weight_stationary": (("reduction",), ("outch", "group")),
    "output_stationary": (("outpix",), ("outch", "group", "outpix")),
    "input_stationary": (("reduction", "group"), ("outpix",)),
    "row_stationary": (("reduction",), ("outpix",)),
    "flexible": (("reduction", "outch", "outpix", "group"), ("reduction", "outch", "outpix", "group")),
}
LANE_CLASSES = ("reduction", "group")
STATIONARY_ROLE = {"weight_stationary": 0, "output_stationary": 2, "input_stationary": 1, "row_stationary": 0}
MAX_SPATIAL = 24


@dataclass(frozen=True)
class SchedulePolicy:
    """Compiler knobs: what the mapper minimizes per layer and how many candidates it costs."""

    objective: str = "edp"      # energy | latency | edp
    candidates: int = 1500
    seed: int = 0


def dim_classes(layer: Layer) -> tuple[str, ...]:
    """Class of every dimension by which tensors it indexes (weights, inputs, outputs)."""
    rel = [t.relevant(len(layer.dims)) for t in layer.tensors]
    out = []
    for d in range(len(layer.dims)):
        w, i, o = rel[0][d], rel[1][d], rel[2][d]
        out.append("group" if (w and i and o) else "reduction" if (w and i) else
                   "outch" if (w and o) else "outpix" if (i and o) else "other")
    return tuple(out)


def stationary_order(layer: Layer, role: int) -> tuple[int, ...]:
    """Loop order (innermost first) keeping tensor ``role`` resident: its irrelevant dims innermost."""
    rel = layer.tensors[role].relevant(len(layer.dims))
    return tuple(sorted(range(len(layer.dims)), key=lambda d: (rel[d], d)))


def _axis_options(bounds: tuple[int, ...], allowed: list[int], size: int) -> list[tuple[tuple[int, int], ...]]:
    opts: set[tuple[tuple[int, int], ...]] = {()}
    for d in allowed:
        for f in _fits(bounds[d], size):
            opts.add(((d, f),))
            if f < size:
                for d2 in allowed:
                    if d2 != d:
                        for f2 in _fits(bounds[d2], size // f):
                            if f2 > 1:
                                opts.add(tuple(sorted(((d, f), (d2, f2)))))
    return sorted(opts)


def _fits(bound: int, size: int) -> set[int]:
    if bound <= 1 or size <= 1:
        return set()
    best = min(bound, size)
    div = max(f for f in range(1, best + 1) if bound % f == 0)
    return {best, div} - {1}


@functools.lru_cache(maxsize=4096)
def factorizations(n: int, parts: int) -> np.ndarray:
    """All ordered ways to write ``n`` as a product of ``parts`` factors, ``[count, parts]``."""
    if parts == 1:
        return np.array([[n]], dtype=np.int64)
    rows = []
    for f in (f for f in range(1, n + 1) if n % f == 0):
        for rest in factorizations(n // f, parts - 1):
            rows.append((f, *rest))
    return np.array(rows, dtype=np.int64)


def spatial_candidates(layer: Layer, acc: Accelerator) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """(rows, cols, lanes) factor tuples allowed by the dataflow, best spatial utilization first."""
    classes = dim_classes(layer)
    D = len(layer.dims)
    row_cls, col_cls = AXIS_CLASSES[acc.dataflow]
    pick = lambda cls: [d for d in range(D) if classes[d] in cls and layer.bounds[d] > 1]  # noqa: E731
    rows = _axis_options(layer.bounds, pick(row_cls), acc.rows)
    cols = _axis_options(layer.bounds, pick(col_cls), acc.cols)
    lanes = _axis_options(layer.bounds, pick(LANE_CLASSES), acc.macs_per_pe)
    scored = []
    for r, c, ln in itertools.product(rows, cols, lanes):
        used = [d for d, _ in r + c + ln]
        if len(used) != len(set(used)):
            continue
        vec = [np.ones(D, dtype=np.int64) for _ in range(3)]
        for axis, opt in enumerate((r, c, ln)):
            for d, f in opt:
                vec[axis][d] = f
        s = vec[0] * vec[1] * vec[2]
        padded_steps = math.prod(-(-b // int(f)) for b, f in zip(layer.bounds, s))
        util = layer.macs / (padded_steps * acc.num_macs)
        scored.append((-util, len(scored), tuple(int(x) for x in vec[0]), tuple(int(x) for x in vec[1]), tuple(int(x) for x in vec[2])))
    scored.sort()
    return [(r, c, ln) for _, _, r, c, ln in scored[:MAX_SPATIAL]]


def candidate_batch(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple[NestBatch, np.ndarray]:
    """Candidate mappings as one :class:`NestBatch`, plus each one's rows/cols/lanes ``[N, 3, D]``."""
    L, D = len(acc.levels), len(layer.dims)
    rng = np.random.default_rng([policy.seed, zlib.crc32(repr(layer.key).encode())])
    spatials = spatial_candidates(layer, acc)
    per = max(2, policy.candidates // max(1, len(spatials)))
    orders = np.array([stationary_order(layer, r) for r in range(3)], dtype=np.int64)
    pe_level = acc.first_per_pe_level
    temporal, perm, axes = [], [], []
    for r, c, ln in spatials:
        s = np.array(r) * np.array(c) * np.array(ln)
        remaining = [-(-b // int(f)) for b, f in zip(layer.bounds, s)]
        t = np.ones((per, L, D), dtype=np.int64)
        for d, q in enumerate(remaining):
            table = factorizations(q, L)
            t[:, :, d] = table[rng.integers(0, len(table), size=per)]
        t[0, :, :] = 1
        t[0, 0, :] = remaining            # everything at the outermost level: always fits if anything does
        p = orders[rng.integers(0, 3, size=(per, L))]
        if acc.dataflow in STATIONARY_ROLE and pe_level < L:
            p[:, pe_level:, :] = orders[STATIONARY_ROLE[acc.dataflow]]
        temporal.append(t)
        perm.append(p)
        axes.append(np.broadcast_to(np.array([r, c, ln], dtype=np.int64), (per, 3, D)))
    temporal_a = np.concatenate(temporal)
    axes_a = np.concatenate(axes)
    spatial = np.stack([axes_a[:, 0] * axes_a[:, 1], axes_a[:, 2]], axis=1)
    nest = NestBatch(temporal_a, np.concatenate(perm), spatial, (pe_level, L))
    return nest, axes_a


def objective_values(cost: CostBatch, objective: str) -> np.ndarray:
    """The per-mapping value the mapper minimizes."""
    if objective == "energy":
        return cost.energy_pj + 1e-9 * cost.cycles
    if objective == "latency":
        return cost.cycles + 1e-12 * cost.energy_pj
    return cost.energy_pj * cost.cycles


def map_layer(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    """Choose a mapping for ``layer`` on ``acc``; raise :class:`MappingError` if none fits.

    Identical layers (in one model or across the models of a study) are mapped once: results
    are cached on the layer's computation, not its name or count.
    """
    return replace(_map_canonical(layer.canonical(), acc, policy), layer=layer)


@functools.lru_cache(maxsize=65536)
def _map_canonical(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> LayerResult:
    nest, axes = candidate_batch(layer, acc, policy)
    cost = evaluate(layer, acc, nest)
    legal = int(cost.fits.sum())
    if legal == 0:
        raise MappingError(_no_fit_reason(layer, acc))
    score = np.where(cost.fits, objective_values(cost, policy.objective), np.inf)
    best = int(np.argmin(score))
    names = tuple(lv.name for lv in acc.levels)
    mapping = Mapping(
        dims=layer.dims, level_names=names,
        temporal=tuple(tuple(int(x) for x in row) for row in nest.temporal[best]),
        order=tuple(tuple(int(x) for x in row) for row in nest.perm[best]),
        rows=tuple(int(x) for x in axes[best, 0]), cols=tuple(int(x) for x in axes[best, 1]),
        lanes=tuple(int(x) for x in axes[best, 2]), array_above=acc.first_per_pe_level,
    )
    return result_from_cost(layer, mapping, acc, cost, best, nest.size, legal)


def result_from_cost(layer: Layer, mapping: Mapping, acc: Accelerator, cost: CostBatch, i: int,
                     candidates: int, legal: int) -> LayerResult:
    """Scalar :class:`LayerResult` for mapping ``i`` of a :class:`CostBatch`."""
    names = [lv.name for lv in acc.levels]
    level_cycles = {n: float(cost.level_cycles[i, k]) for k, n in enumerate(names)}
    slowest = max(level_cycles, key=level_cycles.get)
    bound = slowest if level_cycles[slowest] > cost.compute_cycles[i] else "compute"
    return LayerResult(
        layer=layer, mapping=mapping, cycles=float(cost.cycles[i]), compute_cycles=float(cost.compute_cycles[i]),
        level_cycles=level_cycles, energy_pj=float(cost.energy_pj[i]),
        level_energy_pj={n: float(cost.level_energy_pj[i, k]) for k, n in enumerate(names)},
        mac_energy_pj=float(cost.mac_energy_pj), utilization=float(cost.utilization[i]), bound=bound,
        candidates=candidates, legal=legal,
    )


def _no_fit_reason(layer: Layer, acc: Accelerator) -> str:
    smallest = [lv for lv in acc.levels if lv.size_bytes is not None]
    tight = min(smallest, key=lambda lv: lv.size_bytes or 0) if smallest else None
    where = f"; smallest level {tight.name} has {tight.size_bytes} bytes" if tight else ""
    return f"layer {layer.name} ({layer.describe()}): no candidate mapping fits the memory capacities{where}"
