"""Mapper work remembered across accelerators that differ only in what bytes and cycles cost.

Much of mapping a layer depends on the layer, the array (rows, cols, MACs per PE, dataflow),
the schedule's spatial and stationarity knobs and the accelerator's
:attr:`~codesign.hardware.accelerator.Accelerator.capacity_key` alone, never on energies,
bandwidths, the clock or the mapper's objective:

- the candidate tilings of a spatial choice (:func:`codesign.compiler.candidates.tiling_candidates`)
  and their traffic bounds (:func:`codesign.compiler.bounds.traffic_bounds`);
- the naive compiler's mapping (:func:`codesign.compiler.naive.naive_mapping`);
- the spatial choices and their tiling-free traffic bounds that the shortlist ranks (these
  do not depend on the capacities either: :mod:`codesign.compiler.shortlist` keys them without);
- the bytes each level needs for every point of a spatial choice's tile lattice
  (:func:`codesign.compiler.candidates.choice_needs`, keyed without the capacities too: a design
  with other buffer sizes only compares them with its own).

A search samples many designs that share array and buffer sizes and differ in clock, technology,
DRAM type, bandwidth or mapper objective; they reuse this work. The reuse is exact (equal keys,
equal arrays), so no result depends on what was evaluated before. Memory is bounded: the least
recently used entries go once the arrays held exceed :data:`BUDGET_BYTES`.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from codesign.compiler.bounds import Traffic, traffic_parts
from codesign.compiler.candidates import choice_needs, tiling_candidates
from codesign.compiler.policy import SchedulePolicy
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer


def default_budget_bytes(ram_bytes: int | None = None, cpus: int | None = None) -> int:
    """1 GiB, or a quarter of the machine's memory per core when that is less (never under
    256 MiB). A cold edge design tiles about 40 layers at up to a megabyte each; at 256 MiB a
    1,000-trial search kept re-tiling evicted layers (replaying 600 of its trials in one
    process took 310 s of CPU, 266 s at 1 GiB, 264 s with no bound; see docs/search.md)."""
    if ram_bytes is None:
        try:
            ram_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):       # no sysconf (Windows): the small budget
            return 256 * 2**20
    per_core = ram_bytes // (4 * max(1, cpus or os.cpu_count() or 1))
    return int(min(2**30, max(256 * 2**20, per_core)))


BUDGET_BYTES = default_budget_bytes()

T = TypeVar("T")
_entries: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
_held = [0]


def _arrays(value: object) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, Traffic):
        return [value.base, value.gain, value.steps, value.inst]
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays(v)]
    return []


def lookup(key: tuple) -> object | None:
    """What :func:`remember` holds for ``key``, or None."""
    hit = _entries.get(key)
    if hit is None:
        return None
    _entries.move_to_end(key)
    return hit[0]


def remember(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` once per ``key``; its numpy arrays are made read-only (callers never write)."""
    hit = _entries.get(key)
    if hit is not None:
        _entries.move_to_end(key)
        return hit[0]  # type: ignore[return-value]
    value = compute()
    arrays = _arrays(value)
    for a in arrays:
        a.setflags(write=False)
    size = sum(a.nbytes for a in arrays)
    _entries[key] = (value, size)
    _held[0] += size
    while _held[0] > BUDGET_BYTES and len(_entries) > 1:
        _, (_, gone) = _entries.popitem(last=False)
        _held[0] -= gone
    return value


def remember_many(keys: Sequence[tuple], layers: Sequence[Layer], compute: Callable[[list[int]], list[T]]) -> list[T]:
    """:func:`remember` of each ``keys[j]`` (work on ``layers[j]``); what is not remembered yet is
    computed by one ``compute(js)`` call per loop structure
    (:attr:`~codesign.workload.ir.Layer.structure`), ``js`` listing one ``j`` per distinct key and
    ``compute`` returning their values in that order (kernels cost mostly per call)."""
    out = [lookup(k) for k in keys]
    groups: dict[tuple, dict[tuple, int]] = {}
    for j, (layer, key, v) in enumerate(zip(layers, keys, out)):
        if v is None:
            groups.setdefault(layer.structure, {}).setdefault(key, j)
    computed = {}
    for todo in groups.values():
        for key, v in zip(todo, compute(list(todo.values()))):
            computed[key] = remember(key, lambda v=v: v)
    return [v if v is not None else computed[k] for k, v in zip(keys, out)]  # type: ignore[misc]


def structure_key(layer: Layer, acc: Accelerator, policy: SchedulePolicy | None = None) -> tuple:
    """What the remembered work depends on: layer, array, capacities and the objective-free policy."""
    knobs = None if policy is None else (policy.stationary, policy.spatial_rows, policy.spatial_cols)
    return (layer, acc.rows, acc.cols, acc.macs_per_pe, acc.dataflow, acc.capacity_key, knobs)


def tilings_many(requests: Sequence[tuple[Layer, np.ndarray]], acc: Accelerator) -> list[list[tuple[np.ndarray, Traffic]]]:
    """For each request ``(layer, spatial)`` and each of its spatial choices ``spatial[s]``
    (``[3, D]``): ``(temporal [T, L, D], traffic)``, its candidate tilings and their
    :class:`Traffic` bounds (read-only arrays). The choices not remembered yet are tiled, and
    their tilings bounded, in one call per loop structure
    (:attr:`~codesign.workload.ir.Layer.structure`: the work depends on a layer only through it
    and its bounds, and a call's cost is mostly per call)."""
    items = [(layer, ax) for layer, spatial in requests for ax in spatial]
    layers = [layer for layer, _ in items]

    def compute(js: list[int]) -> list[tuple[np.ndarray, Traffic]]:
        layer = layers[js[0]]
        spatial = np.stack([items[j][1] for j in js])
        bounds = np.array([layers[j].bounds for j in js], dtype=np.int64)
        temporals = tiling_candidates(layer, acc, spatial, _needs([items[j] for j in js], acc), bounds)
        axes = [np.broadcast_to(ax, (len(t), 3, len(layer.dims))) for ax, t in zip(spatial, temporals)]
        return list(zip(temporals, traffic_parts(layer, acc, temporals, axes)))

    keys = [("tilings", layer, acc.capacity_key, ax.shape, ax.tobytes()) for layer, ax in items]
    flat = iter(remember_many(keys, layers, compute))
    return [[next(flat) for _ in spatial] for _, spatial in requests]


def _needs(items: list[tuple[Layer, np.ndarray]], acc: Accelerator) -> list[np.ndarray]:
    """The :func:`choice_needs` of same-structure ``(layer, choice [3, D])`` items, remembered per
    layer and choice (they do not depend on the capacities)."""
    sized = tuple(lv.size_bytes is not None for lv in acc.levels)

    def compute(js: list[int]) -> list[np.ndarray]:
        spatial = np.stack([items[j][1] for j in js])
        return choice_needs(items[js[0]][0], acc, spatial, np.array([items[j][0].bounds for j in js], dtype=np.int64))

    keys = [("needs", layer, acc.traffic_key, sized, ax.shape, ax.tobytes()) for layer, ax in items]
    return remember_many(keys, [layer for layer, _ in items], compute)


def concat_traffic(parts: list[Traffic]) -> Traffic:
    """One :class:`Traffic` for the tilings of several spatial choices, in order."""
    return Traffic(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("base", "gain", "steps", "inst")))


def clear() -> None:
    """Forget everything remembered (benchmarks time mapping cold)."""
    _entries.clear()
    _held[0] = 0


__all__ = ["BUDGET_BYTES", "clear", "concat_traffic", "lookup", "remember", "remember_many", "structure_key",
           "tilings_many"]
