"""Analytical cost model: latency, energy and capacity legality for a batch of mappings.

Latency (cycles) is the larger of the compute bound (padded MAC steps per MAC unit) and each
double-buffered level's transfer time (words moved / bytes per cycle); a level that is not
double-buffered adds its transfer time to compute instead of hiding under it. Energy (pJ) is
accesses x energy per byte at each level (operands at operand width, partial sums at
accumulator width, final outputs written out at operand width), plus MACs x energy per MAC. Leakage is charged by
the caller on the whole layer's time (it depends on the whole chip's area).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from codesign.cost.accesses import Accesses, chunks, count_chunk, tensor_chunks
from codesign.cost.chunk import Chunk, make_chunk
from codesign.cost.headroom import check_headroom
from codesign.cost.nest import NestBatch
from codesign.cost.tables import tensor_table
from codesign.cost.tensor_chunk import TensorChunk
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


@dataclass(frozen=True)
class CostBatch:
    """Costs of M mappings of one layer occurrence. Arrays have leading dimension M."""

    cycles: np.ndarray              # [M] latency in cycles
    compute_cycles: np.ndarray      # [M] MAC steps per MAC unit (padded)
    level_cycles: np.ndarray        # [M, L] transfer cycles per level
    energy_pj: np.ndarray           # [M] dynamic energy (memories + MACs)
    level_energy_pj: np.ndarray     # [M, L] memory energy per level (all instances)
    mac_energy_pj: float            # MACs x energy per MAC (same for all mappings)
    utilization: np.ndarray         # [M] real MACs / (cycles x MAC units)
    fits: np.ndarray                # [M] every level's tiles fit its capacity
    accesses: Accesses | None       # per-instance counts [M, L, 3] (None when priced from a Usage)
    level_instances: np.ndarray     # [M, L] utilized instances per level


def evaluate(layer: Layer, acc: Accelerator, nest: NestBatch) -> CostBatch:
    """Evaluate every mapping in ``nest`` for one occurrence of ``layer`` on ``acc``.

    The batch is counted in chunks of about :data:`~codesign.cost.accesses.CHUNK` mappings
    (:func:`~codesign.cost.accesses.chunks`, :func:`measure`), so the working arrays stay small,
    then priced in one pass (:func:`price`'s arithmetic); results do not depend on the chunking
    (nor on a chunk being counted in int32). The per-level arrays of the result are
    mapping-first views of mapping-last arrays.
    """
    M, L, _ = nest.temporal.shape
    static = _Static.of(acc, layer, np.array(acc.layer_bytes(layer.tensors), dtype=np.float64))
    out = _Outputs.empty(M, L)
    usage = _measure(layer, acc, nest, (out.reads, out.fills, out.updates), out.inst)
    _price(out, slice(0, M), usage.bytes_per_instance, out.inst, usage.compute, usage.need, static, acc)
    utilization = layer.macs / (out.cycles * acc.num_macs)
    mapping_last = (out.reads, out.fills, out.updates, out.inst, out.level_cycles, out.level_energy)
    reads, fills, updates, inst, level_cycles, level_energy = (np.moveaxis(a, -1, 0) for a in mapping_last)
    return CostBatch(out.cycles, out.compute, level_cycles, out.energy, level_energy, static.mac_pj, utilization,
                     out.fits, Accesses(reads, fills, updates), inst)


@dataclass(frozen=True)
class _Static:
    """Per-level constants of the accelerator for one layer."""

    access_pj: np.ndarray        # [L] energy per byte
    bpc: np.ndarray              # [L] bytes per cycle per instance (inf: unbounded)
    db: np.ndarray               # [L] double-buffered
    mac_pj: float                # energy of the layer's MACs
    out_extra_bytes: float       # accumulator bytes beyond operand width per final output

    @classmethod
    def of(cls, acc: Accelerator, layer: Layer, role_bytes: np.ndarray) -> "_Static":
        return cls(np.array([lv.access_pj_per_byte for lv in acc.levels]),
                   np.array([lv.bytes_per_cycle if lv.bytes_per_cycle else np.inf for lv in acc.levels]),
                   np.array([lv.double_buffered for lv in acc.levels]), layer.macs * acc.mac_pj,
                   max(0.0, role_bytes[2] - acc.operand_bytes))


@dataclass(frozen=True)
class _Outputs:
    """The batch's result arrays, filled chunk by chunk. Per-level arrays are mapping-last
    (``[L, M]``, ``[L, 3, M]``), so a chunk's counts are written straight into its columns
    (:func:`~codesign.cost.accesses.count_chunk` ``into``; writing ``[M, L, 3]`` from a
    mapping-last chunk is a strided scatter, ~4 ns per element); the :class:`CostBatch` holds
    mapping-first views of them."""

    reads: np.ndarray
    fills: np.ndarray
    updates: np.ndarray
    inst: np.ndarray
    compute: np.ndarray
    level_cycles: np.ndarray
    cycles: np.ndarray
    energy: np.ndarray
    level_energy: np.ndarray
    fits: np.ndarray

    @classmethod
    def empty(cls, M: int, L: int) -> "_Outputs":
        return cls(np.empty((L, 3, M), dtype=np.int64), np.empty((L, 3, M), dtype=np.int64),
                   np.empty((L, 3, M), dtype=np.int64), np.empty((L, M), dtype=np.int64), np.empty(M),
                   np.empty((L, M)), np.empty(M), np.empty(M), np.empty((L, M)), np.empty(M, dtype=bool))


def _row_sum(rows: list[np.ndarray]) -> np.ndarray:
    """``rows[0] + rows[1] + ...`` in numpy's order for ``sum`` over a contiguous axis of that length
    (left to right below 8 terms, pairwise from 8 on), so results match a ``[m, n].sum(axis=1)``."""
    if len(rows) >= 8:
        return np.ascontiguousarray(np.stack(rows, axis=1)).sum(axis=1)
    total = rows[0]
    for row in rows[1:]:
        total = total + row
    return total


@dataclass(frozen=True)
class Usage:
    """What a batch of M mappings uses before anything is priced, mapping-last: bytes moved per
    instance of each level ``[L, M]``, utilized instances ``[L, M]``, compute cycles ``[M]`` and
    the bytes each level's kept tiles need ``[L, M]`` (before double buffering).

    It depends on the layer, the mapping, the precision and which levels hold which tensors,
    never on energies, bandwidths or capacities: :func:`price` turns it into a :class:`CostBatch`
    for any accelerator with the same :attr:`~codesign.hardware.accelerator.Accelerator.traffic_key`,
    bit-identical to :func:`evaluate`.
    """

    bytes_per_instance: np.ndarray
    inst: np.ndarray
    compute: np.ndarray
    need: np.ndarray

    @property
    def size(self) -> int:
        return int(self.compute.shape[0])


def measure(layer: Layer, acc: Accelerator, nest: NestBatch) -> Usage:
    """The :class:`Usage` of every mapping in ``nest`` (counted as :func:`evaluate` counts)."""
    return _measure(layer, acc, nest)


def _measure(layer: Layer, acc: Accelerator, nest: NestBatch,
             counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, inst: np.ndarray | None = None) -> Usage:
    """:func:`measure`, chunk by chunk; reads, fills and updates go into ``counts`` (``[L, 3, M]``
    each) and utilized instances into ``inst`` (``[L, M]``) when given."""
    M, L, D = nest.temporal.shape
    tabs = [tensor_table(t, D) for t in layer.tensors]
    keeps = tuple(acc.keeps(role) for role in ROLES)
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    static = _Static.of(acc, layer, role_bytes)
    inst = np.empty((L, M), dtype=np.int64) if inst is None else inst
    counts = tuple(np.empty((L, 3, M), dtype=np.int64) for _ in range(3)) if counts is None else counts
    usage = Usage(np.empty((L, M)), inst, np.empty(M), np.empty((L, M)))
    for rows in chunks(nest):
        ch = make_chunk(nest, rows, tabs=tabs)
        if ch.temporal.dtype == np.int64:
            check_headroom(tabs, ch, rows)
        tcs = tensor_chunks(tabs, ch)
        counted = count_chunk(tcs, keeps, ch, tuple(c[..., rows] for c in counts))
        usage.bytes_per_instance[:, rows], usage.need[:, rows] = _usage(inst[:, rows], counted, ch, tcs, keeps,
                                                                        role_bytes, static)
        usage.compute[rows] = ch.macs
    return usage


def price(layer: Layer, acc: Accelerator, usage: Usage) -> CostBatch:
    """:class:`CostBatch` of mappings from their :class:`Usage` on ``acc`` (``accesses`` is None)."""
    L, M = usage.inst.shape
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    static = _Static.of(acc, layer, role_bytes)
    out = _Outputs.empty(M, L)
    rows = slice(0, M)
    out.inst[...] = usage.inst
    _price(out, rows, usage.bytes_per_instance, out.inst, usage.compute, usage.need, static, acc)
    utilization = layer.macs / (out.cycles * acc.num_macs)
    inst, level_cycles, level_energy = (np.moveaxis(a, -1, 0) for a in (out.inst, out.level_cycles, out.level_energy))
    return CostBatch(out.cycles, out.compute, level_cycles, out.energy, level_energy, static.mac_pj, utilization,
                     out.fits, None, inst)


def _usage(inst: np.ndarray, counts: tuple[np.ndarray, np.ndarray, np.ndarray], ch: Chunk, tcs: list[TensorChunk],
           keeps: tuple[tuple[bool, ...], ...], role_bytes: np.ndarray, static: _Static) -> tuple[np.ndarray, np.ndarray]:
    """Bytes per instance and capacity bytes needed (``[L, m]`` each) of one chunk from its counts
    (``[L, 3, m]`` each); utilized instances are written into ``inst`` (``[L, m]``).

    Mapping-last, all levels at once; every float is formed as in a mapping-first evaluation
    (same operations, same order of additions), so results are bit-identical to it.
    """
    L, _, m = ch.temporal.shape
    reads, fills, updates = counts
    inst[...] = 1
    for s, at in enumerate(ch.fanout_at):
        if at < L:                                    # spatial factors multiply to at most the fanout size
            inst[at:] *= np.prod(ch.spatial[s], axis=0, dtype=ch.spatial.dtype)

    words = reads + fills + updates                                             # [L, 3, m]
    bytes_per_instance = words[:, 0] * role_bytes[0]
    bytes_per_instance += words[:, 1] * role_bytes[1]
    bytes_per_instance += words[:, 2] * role_bytes[2]
    # Final outputs leave the chip requantized to operand width; only partial sums spilled to
    # the outermost level travel at accumulator width. At level 0, updates - reads = |outputs|.
    final = updates[0, 2] - reads[0, 2]
    bytes_per_instance[0] -= final * static.out_extra_bytes

    # capacity: per level, the kept tiles' bytes added in role order (a role not kept adds 0.0)
    need = np.zeros((L, m))
    for role, tc in enumerate(tcs):
        need = need + tc.tiles() * (role_bytes[role] * np.array(keeps[role], dtype=np.float64))[:, None]
    return bytes_per_instance, need


def _price(out: _Outputs, rows: slice, bytes_per_instance: np.ndarray, inst: np.ndarray, compute: np.ndarray,
           need: np.ndarray, static: _Static, acc: Accelerator) -> None:
    """Latency, energy and capacity of one chunk from its usage (``[L, m]`` arrays, ``compute [m]``)
    into ``out[rows]``; the same operations in the same order wherever the usage comes from."""
    L, m = bytes_per_instance.shape
    level_energy = bytes_per_instance * inst
    level_energy *= static.access_pj[:, None]
    out.level_energy[:, rows] = level_energy
    out.energy[rows] = _row_sum(list(level_energy)) + static.mac_pj

    out.compute[rows] = compute
    level_cycles = bytes_per_instance / static.bpc[:, None]
    out.level_cycles[:, rows] = level_cycles
    serial_levels = [level_cycles[lv] for lv in range(L) if not static.db[lv]]
    serial = compute + _row_sum(serial_levels) if serial_levels else compute + 0.0
    overlapped = np.zeros(m)
    if static.db.any():
        overlapped = functools.reduce(np.maximum, [level_cycles[lv] for lv in range(L) if static.db[lv]])
    out.cycles[rows] = np.maximum(serial, overlapped)

    sized = [lv for lv, level in enumerate(acc.levels) if level.size_bytes is not None]
    if sized:
        need = need[sized] * np.where(static.db[sized], 2.0, 1.0)[:, None]
        size = np.array([acc.levels[lv].size_bytes for lv in sized], dtype=np.float64)
        out.fits[rows] = (need <= size[:, None]).all(axis=0)
    else:
        out.fits[rows] = True
