"""Costing mappings with every mapping's usage remembered across accelerators.

What a mapping moves and needs (:class:`~codesign.cost.analytical.Usage`: bytes per level
instance, instances, compute cycles, capacity bytes) depends on the layer, the mapping, the
precision and which levels hold which tensors
(:attr:`~codesign.hardware.accelerator.Accelerator.traffic_key`), never on energies,
bandwidths, the clock or capacities. A search evaluates many designs whose mapper visits many of
the same mappings (the same layer on arrays, buffers and DRAM that differ in size or speed), so
:func:`cost` counts only the mappings whose usage is not remembered yet and prices all of them on
the accelerator at hand (:func:`~codesign.cost.analytical.price`, a few array operations). The
result is bit-identical to :func:`~codesign.cost.analytical.evaluate`, whatever was costed before.

A mapping is found by two independent 64-bit hashes of its temporal factors, spatial axes and
loop orders (a false match needs both to collide: about 2^-128 per pair of mappings). Memory
is bounded: the least recently used layer's table goes once the tables hold more than
:data:`BUDGET_BYTES`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codesign.compiler.mapspace import Chunk
from codesign.cost.analytical import CostBatch, Usage, evaluate, measure, price
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

BUDGET_BYTES = 256 * 2**20


class _Table:
    """Usages of the mappings of one layer on one traffic structure, in arrays that grow by doubling."""

    def __init__(self, L: int) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)         # first hashes of the rows, sorted
        self.at = np.zeros(0, dtype=np.int64)            # the row of each key
        self.n = 0
        self.check = np.zeros(64, dtype=np.uint64)       # second hash of each row
        self.usage = Usage(np.zeros((L, 64)), np.zeros((L, 64), dtype=np.int64), np.zeros(64), np.zeros((L, 64)))

    @property
    def nbytes(self) -> int:
        u = self.usage
        return (self.keys.nbytes + self.at.nbytes + self.check.nbytes
                + sum(a.nbytes for a in (u.bytes_per_instance, u.inst, u.compute, u.need)))

    def find(self, h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, known)``: the row of each mapping (-1 where not remembered) and whether its first
        hash is in the table at all. ``[M]`` each."""
        if not len(self.keys):
            return np.full(len(h1), -1, dtype=np.int64), np.zeros(len(h1), dtype=bool)
        pos = np.minimum(np.searchsorted(self.keys, h1), len(self.keys) - 1)
        known = self.keys[pos] == h1
        rows = np.where(known, self.at[pos], -1)
        rows[known & (self.check[rows] != h2)] = -1
        return rows, known

    def add(self, h1: np.ndarray, h2: np.ndarray, usage: Usage) -> np.ndarray:
        """Remember new mappings (distinct first hashes, none in the table); returns their rows."""
        m = len(h1)
        if self.n + m > len(self.check):
            grow = max(2 * len(self.check), self.n + m)
            self.check = np.resize(self.check, grow)
            u = self.usage
            self.usage = Usage(*(np.concatenate([a[..., :self.n], np.zeros(a.shape[:-1] + (grow - self.n,), a.dtype)], axis=-1)
                                 for a in (u.bytes_per_instance, u.inst, u.compute, u.need)))
        rows = np.arange(self.n, self.n + m)
        self.check[rows] = h2
        for a, b in zip((self.usage.bytes_per_instance, self.usage.inst, self.usage.compute, self.usage.need),
                        (usage.bytes_per_instance, usage.inst, usage.compute, usage.need)):
            a[..., rows] = b
        order = np.argsort(h1)
        at = np.searchsorted(self.keys, h1[order])
        self.keys, self.at = np.insert(self.keys, at, h1[order]), np.insert(self.at, at, rows[order])
        self.n += m
        return rows

    def take(self, rows: np.ndarray) -> Usage:
        u = self.usage
        return Usage(u.bytes_per_instance[:, rows], u.inst[:, rows], u.compute[rows], u.need[:, rows])


_tables: OrderedDict[tuple, _Table] = OrderedDict()
_held = [0]          # bytes the tables hold


def cost(layer: Layer, acc: Accelerator, chunk: Chunk) -> CostBatch:
    """:func:`~codesign.cost.analytical.evaluate` of ``chunk`` on ``acc``, counting only mappings
    no earlier call has counted for this layer and traffic structure."""
    return cost_many([(layer, chunk)], acc)[0]


def cost_many(requests: Sequence[tuple[Layer, Chunk]], acc: Accelerator) -> list[CostBatch]:
    """:func:`cost` of several ``(layer, chunk)`` requests: the mappings not remembered yet are
    counted in one :func:`~codesign.cost.analytical.measure` call per loop structure
    (:attr:`~codesign.workload.ir.Layer.structure`: usage depends on a layer only through it, and
    the call's cost is mostly per call)."""
    out: list[CostBatch | None] = [None] * len(requests)
    found: dict[int, _Lookup] = {}
    groups: dict[tuple, list[int]] = {}
    seen: dict[tuple, int] = {}
    for r, (layer, chunk) in enumerate(requests):
        key = (layer, acc.traffic_key, acc.first_per_pe_level)
        if seen.setdefault(key, r) != r:      # a second request on one table: after the first is remembered
            continue
        table = _tables.get(key)
        if table is None:
            table = _tables[key] = _Table(len(acc.levels))
        _tables.move_to_end(key)
        h1, h2 = _hashes(chunk)
        rows, known = table.find(h1, h2)
        missing = np.flatnonzero(rows < 0)
        new = inverse = missing
        if len(missing):
            _, first, inverse = np.unique(h1[missing], return_index=True, return_inverse=True)
            new, inverse = missing[first], inverse.ravel()
            if known[new].any() or (h2[new][inverse] != h2[missing]).any():   # a first-hash clash: never seen in practice
                out[r] = evaluate(layer, acc, chunk.nest(acc.first_per_pe_level))
                continue
            groups.setdefault(layer.structure, []).append(r)
        found[r] = _Lookup(table, h1, h2, rows, missing, new, inverse)
    for members in groups.values():
        parts = [requests[r][1].take(found[r].new) for r in members]
        usage = measure(requests[members[0]][0], acc, Chunk.concat(parts).nest(acc.first_per_pe_level))
        start = 0
        for r, part in zip(members, parts):
            f = found[r]
            cols = slice(start, start + part.size)
            start += part.size
            before = f.table.nbytes
            counted = Usage(usage.bytes_per_instance[:, cols], usage.inst[:, cols], usage.compute[cols],
                            usage.need[:, cols])
            f.rows[f.missing] = f.table.add(f.h1[f.new], f.h2[f.new], counted)[f.inverse]
            _held[0] += f.table.nbytes - before
    for r, f in found.items():
        out[r] = price(requests[r][0], acc, f.table.take(f.rows))
    _evict()
    again = [r for r in range(len(requests)) if out[r] is None]
    for r, batch in zip(again, cost_many([requests[r] for r in again], acc) if again else []):
        out[r] = batch
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class _Lookup:
    """One request's mappings in its table: hashes, rows (-1: not remembered), the rows missing,
    the first of each distinct missing mapping and each missing row's index among those."""

    table: _Table
    h1: np.ndarray
    h2: np.ndarray
    rows: np.ndarray
    missing: np.ndarray
    new: np.ndarray
    inverse: np.ndarray


def _evict() -> None:
    while _held[0] > BUDGET_BYTES and len(_tables) > 1:
        _, gone = _tables.popitem(last=False)
        _held[0] -= gone.nbytes


def _hashes(chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit multiply-add hashes of each mapping's factors, axes and orders. ``[M]`` each."""
    M = chunk.size
    rows = np.concatenate([chunk.temporal.reshape(M, -1), np.asarray(chunk.axes).reshape(M, -1),
                           chunk.perm.reshape(M, -1)], axis=1).astype(np.uint64)
    w1, w2 = _weights(rows.shape[1])
    with np.errstate(over="ignore"):
        return (rows * w1).sum(axis=1, dtype=np.uint64), (rows * w2).sum(axis=1, dtype=np.uint64)


@functools.lru_cache(maxsize=64)
def _weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed odd 64-bit multipliers (seeded by the row length: the same in every process)."""
    rng = np.random.default_rng(n)
    w = rng.integers(0, 2**63, size=(2, n), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return w[0], w[1]


def clear() -> None:
    """Forget every remembered usage (benchmarks time mapping cold)."""
    _tables.clear()
    _held[0] = 0


__all__ = ["BUDGET_BYTES", "clear", "cost", "cost_many"]
