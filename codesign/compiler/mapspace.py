"""The whole mapping space of a layer on an accelerator, and the exhaustive reference mapper.

A mapping is a spatial choice (:func:`~codesign.compiler.spatial.spatial_options`: every
dataflow-allowed unrolling of rows, columns and lanes), a temporal factorization (every
ordered factorization of each dimension's remaining bound over the memory levels) and a
loop order per level. Loop orders are reduced to those that can give distinct reuse:

- only the relative order of a level's *active* loops (factor > 1) matters; inactive
  dimensions follow in index order;
- the innermost level's order does not matter at all: its loops are inside every tile, the
  MACs read their operands every step whatever the order (``tests/test_mapspace.py`` checks
  both reductions against the cost core on random mappings).

Tilings that do not fit a level's capacity are dropped before costing. The space is
generated in chunks and costed with :func:`codesign.cost.analytical.evaluate`, so it is meant
for small layers (tests, studies of the mapper's optimality gap), not for ResNet-sized ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from codesign.compiler.mapping import Mapping
from codesign.compiler.policy import SchedulePolicy, best_index
from codesign.compiler.spatial import spatial_options
from codesign.compiler.tiles import factorizations, fits, level_extents
from codesign.cost.analytical import evaluate
from codesign.cost.nest import NestBatch
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


@dataclass(frozen=True)
class Chunk:
    """A batch of mappings: ``temporal``/``perm`` ``[M, L, D]`` and ``axes`` ``[M, 3, D]`` (rows, cols, lanes)."""

    temporal: np.ndarray
    perm: np.ndarray
    axes: np.ndarray

    def nest(self, array_above: int) -> NestBatch:
        """The chunk as the cost core's :class:`NestBatch` (rows x cols fan out above ``array_above``)."""
        spatial = np.stack([self.axes[:, 0] * self.axes[:, 1], self.axes[:, 2]], axis=1)
        L = self.temporal.shape[1]
        return NestBatch(self.temporal, self.perm, spatial, (array_above, L))

    @property
    def size(self) -> int:
        return int(self.temporal.shape[0])

    def take(self, index: np.ndarray | slice) -> "Chunk":
        """The mappings at ``index``."""
        return Chunk(self.temporal[index], self.perm[index], np.asarray(self.axes)[index])

    def keys(self, with_orders: bool = True) -> np.ndarray:
        """One opaque comparable key per mapping (its tiling, or its tiling and orders). ``[M]``."""
        M = self.size
        parts = [self.temporal.reshape(M, -1), np.asarray(self.axes).reshape(M, -1)]
        if with_orders:
            parts.append(self.perm.reshape(M, -1))
        rows = np.ascontiguousarray(np.concatenate(parts, axis=1))
        return rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()

    def unique(self) -> "Chunk":
        """The chunk without repeated mappings (first occurrences, in order)."""
        _, first = np.unique(self.keys(), return_index=True)
        return self.take(np.sort(first))

    @staticmethod
    def concat(parts: list["Chunk"]) -> "Chunk":
        return Chunk(np.concatenate([p.temporal for p in parts]), np.concatenate([p.perm for p in parts]),
                     np.concatenate([np.asarray(p.axes) for p in parts]))


def stationary_mask(layer: Layer, stationary: str) -> np.ndarray | None:
    """Dims the ``stationary`` tensor does not index (they must be a level's innermost loops), or ``None``."""
    if stationary == "any":
        return None
    rel = layer.tensors[ROLES.index(stationary)].relevant(len(layer.dims))  # type: ignore[arg-type]
    return ~np.array(rel)


def level_orders(active: tuple[int, ...], n_dims: int, irrelevant: np.ndarray | None) -> np.ndarray:
    """Every order (innermost first) of the ``active`` dims, inactive ones after: ``[P, D]``.

    With ``irrelevant`` (a stationarity constraint) only orders that put every active
    irrelevant dim before every active relevant one.
    """
    rest = [d for d in range(n_dims) if d not in active]
    out = []
    for p in itertools.permutations(active):
        if irrelevant is not None:
            flags = [bool(irrelevant[d]) for d in p]
            if flags != sorted(flags, reverse=True):
                continue
        out.append(list(p) + rest)
    return np.array(out, dtype=np.int64).reshape(-1, n_dims)


def tilings(layer: Layer, acc: Accelerator, axes: np.ndarray) -> np.ndarray:
    """Every temporal factorization ``[T, L, D]`` for one spatial choice that fits every level."""
    L, D = len(acc.levels), len(layer.dims)
    spatial = np.prod(axes, axis=0)
    q = [-(-b // int(f)) for b, f in zip(layer.bounds, spatial)]
    tables = [factorizations(x, L) for x in q]
    idx = np.indices([len(t) for t in tables]).reshape(D, -1).T
    temporal = np.stack([tables[d][idx[:, d]] for d in range(D)], axis=2)
    T = temporal.shape[0]
    ext = level_extents(temporal, np.broadcast_to(axes[0] * axes[1], (T, D)), np.broadcast_to(axes[2], (T, D)),
                        acc.first_per_pe_level)
    return temporal[fits(layer, acc, ext)]


def enumerate_mapspace(layer: Layer, acc: Accelerator, policy: SchedulePolicy = SchedulePolicy(),
                       chunk: int = 20000) -> Iterator[Chunk]:
    """Every legal mapping of ``layer`` on ``acc`` (orders reduced as the module says), in chunks."""
    L, D = len(acc.levels), len(layer.dims)
    irrelevant = stationary_mask(layer, policy.stationary)
    inner = np.arange(D, dtype=np.int64) if irrelevant is None else np.argsort(~irrelevant, kind="stable")
    parts: list[Chunk] = []
    held = 0
    for axes in spatial_options(layer, acc, policy):
        temporal = tilings(layer, acc, axes)
        if not len(temporal):
            continue
        pattern = temporal[:, :L - 1, :] > 1
        keys, group = np.unique(pattern.reshape(len(temporal), -1), axis=0, return_inverse=True)
        group = group.ravel()
        for g, key in enumerate(keys):
            act = key.reshape(L - 1, D)
            per_level = [level_orders(tuple(np.flatnonzero(a)), D, irrelevant) for a in act] + [inner[None, :]]
            combos = np.stack([np.stack(c) for c in itertools.product(*per_level)])     # [P, L, D]
            members = temporal[group == g]
            t = np.repeat(members, len(combos), axis=0)
            p = np.tile(combos, (len(members), 1, 1))
            parts.append(Chunk(t, p, np.broadcast_to(axes, (len(t), 3, D))))
            held += len(t)
            if held >= chunk:
                yield Chunk.concat(parts)
                parts, held = [], 0
    if parts:
        yield Chunk.concat(parts)


@dataclass(frozen=True)
class Mapspace:
    """The costed legal mappings of a layer: arrays with one row per mapping."""

    layer: Layer
    acc: Accelerator
    mappings: Chunk
    energy_pj: np.ndarray
    cycles: np.ndarray

    @property
    def size(self) -> int:
        return self.mappings.size

    def best(self, objective: str) -> tuple[int, Mapping]:
        """Index and :class:`Mapping` of the optimum under ``objective``."""
        i = best_index(self.energy_pj, self.cycles, objective, np.ones(self.size, dtype=bool))
        return i, to_mapping(self.layer, self.acc, self.mappings.temporal[i], self.mappings.perm[i],
                             self.mappings.axes[i])


def exhaustive(layer: Layer, acc: Accelerator, policy: SchedulePolicy = SchedulePolicy(), chunk: int = 20000) -> Mapspace:
    """Cost every legal mapping of ``layer`` (see :func:`enumerate_mapspace`) with the cost core."""
    kept: list[Chunk] = []
    energy, cycles = [], []
    for part in enumerate_mapspace(layer, acc, policy, chunk):
        cost = evaluate(layer, acc, part.nest(acc.first_per_pe_level))
        ok = cost.fits
        kept.append(part.take(ok))
        energy.append(cost.energy_pj[ok])
        cycles.append(cost.cycles[ok])
    if not kept:
        D, L = len(layer.dims), len(acc.levels)
        empty = Chunk(np.zeros((0, L, D), np.int64), np.zeros((0, L, D), np.int64), np.zeros((0, 3, D), np.int64))
        return Mapspace(layer, acc, empty, np.zeros(0), np.zeros(0))
    return Mapspace(layer, acc, Chunk.concat(kept), np.concatenate(energy), np.concatenate(cycles))


def to_mapping(layer: Layer, acc: Accelerator, temporal: np.ndarray, perm: np.ndarray, axes: np.ndarray) -> Mapping:
    """One row of a batch (full-layer dimensions) as a :class:`Mapping`."""
    as_tuple = lambda a: tuple(int(x) for x in a)  # noqa: E731
    return Mapping(dims=layer.dims, level_names=tuple(lv.name for lv in acc.levels),
                   temporal=tuple(as_tuple(r) for r in temporal), order=tuple(as_tuple(r) for r in perm),
                   rows=as_tuple(axes[0]), cols=as_tuple(axes[1]), lanes=as_tuple(axes[2]),
                   array_above=acc.first_per_pe_level)
