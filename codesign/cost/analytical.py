"""Analytical cost model: latency, energy and capacity legality for a batch of mappings.

Latency (cycles) is the larger of the compute bound (padded MAC steps per MAC unit) and each
double-buffered level's transfer time (words moved / bytes per cycle); a level that is not
double-buffered adds its transfer time to compute instead of hiding under it. Energy (pJ) is
accesses x energy per byte at each level (operands at operand width, partial sums at
accumulator width, final outputs written out at operand width), plus MACs x energy per MAC. Leakage is charged by
the caller on the whole layer's time (it depends on the whole chip's area).
"""

from __future__ import annotations

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
    accesses: Accesses              # per-instance counts [M, L, 3]
    level_instances: np.ndarray     # [M, L] utilized instances per level


def evaluate(layer: Layer, acc: Accelerator, nest: NestBatch) -> CostBatch:
    """Evaluate every mapping in ``nest`` for one occurrence of ``layer`` on ``acc``.

    The batch is processed in chunks of :data:`~codesign.cost.accesses.CHUNK` mappings
    (:func:`~codesign.cost.accesses.chunks`; counts, then costs), so the working arrays stay
    small; results do not depend on the chunking.
    """
    M, L, D = nest.temporal.shape
    tabs = [tensor_table(t, D) for t in layer.tensors]
    keeps = tuple(acc.keeps(role) for role in ROLES)
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    static = _Static.of(acc, layer, role_bytes)
    out = _Outputs.empty(M, L)
    for rows in chunks(nest):
        ch = make_chunk(nest, rows)
        check_headroom(tabs, ch, rows)
        tcs = tensor_chunks(tabs, ch)
        counts = count_chunk(tcs, keeps, ch)
        _costs(out, rows, counts, ch, tcs, keeps, role_bytes, static, acc)
    utilization = layer.macs / (out.cycles * acc.num_macs)
    return CostBatch(out.cycles, out.compute, out.level_cycles, out.energy, out.level_energy, static.mac_pj,
                     utilization, out.fits, Accesses(out.reads, out.fills, out.updates), out.inst)


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
    """The batch's result arrays, filled chunk by chunk."""

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
        return cls(np.zeros((M, L, 3), dtype=np.int64), np.zeros((M, L, 3), dtype=np.int64),
                   np.zeros((M, L, 3), dtype=np.int64), np.zeros((M, L), dtype=np.int64), np.zeros(M),
                   np.zeros((M, L)), np.zeros(M), np.zeros(M), np.zeros((M, L)), np.zeros(M, dtype=bool))


def _row_sum(rows: list[np.ndarray]) -> np.ndarray:
    """``rows[0] + rows[1] + ...`` in numpy's order for ``sum`` over a contiguous axis of that length
    (left to right below 8 terms, pairwise from 8 on), so results match a ``[m, n].sum(axis=1)``."""
    if len(rows) >= 8:
        return np.ascontiguousarray(np.stack(rows, axis=1)).sum(axis=1)
    total = rows[0]
    for row in rows[1:]:
        total = total + row
    return total


def _costs(out: _Outputs, rows: slice, counts: tuple[np.ndarray, np.ndarray, np.ndarray], ch: Chunk,
           tcs: list[TensorChunk], keeps: tuple[tuple[bool, ...], ...], role_bytes: np.ndarray, static: _Static,
           acc: Accelerator) -> None:
    """Latency, energy and capacity of one chunk from its counts (``[L, 3, m]`` each) into ``out[rows]``.

    Mapping-last; every float is formed as in a mapping-first evaluation (same operations,
    same order of additions), so results are bit-identical to it.
    """
    L, _, m = ch.temporal.shape
    reads, fills, updates = counts
    for name, c in (("reads", reads), ("fills", fills), ("updates", updates)):
        getattr(out, name)[rows] = np.moveaxis(c, -1, 0)
    inst = np.ones((L, m), dtype=np.int64)
    for s, at in enumerate(ch.fanout_at):
        if at < L:
            inst[at:] *= np.prod(ch.spatial[s], axis=0)
    out.inst[rows] = inst.T

    words = reads + fills + updates                                             # [L, 3, m]
    bytes_per_instance = [_row_sum([words[lv, t] * role_bytes[t] for t in range(3)]) for lv in range(L)]
    # Final outputs leave the chip requantized to operand width; only partial sums spilled to
    # the outermost level travel at accumulator width. At level 0, updates - reads = |outputs|.
    final = updates[0, 2] - reads[0, 2]
    bytes_per_instance[0] = bytes_per_instance[0] - final * static.out_extra_bytes
    level_energy = [bytes_per_instance[lv] * inst[lv] * static.access_pj[lv] for lv in range(L)]
    out.level_energy[rows] = np.stack(level_energy, axis=1)
    out.energy[rows] = _row_sum(level_energy) + static.mac_pj

    compute = ch.macs.astype(np.float64)
    out.compute[rows] = compute
    level_cycles = [bytes_per_instance[lv] / static.bpc[lv] for lv in range(L)]
    out.level_cycles[rows] = np.stack(level_cycles, axis=1)
    serial_levels = [level_cycles[lv] for lv in range(L) if not static.db[lv]]
    serial = compute + _row_sum(serial_levels) if serial_levels else compute + 0.0
    overlapped = np.zeros(m)
    if static.db.any():
        overlapped = np.max([level_cycles[lv] for lv in range(L) if static.db[lv]], axis=0)
    out.cycles[rows] = np.maximum(serial, overlapped)

    fits = np.ones(m, dtype=bool)
    for lv, level in enumerate(acc.levels):
        if level.size_bytes is None:
            continue
        need = np.zeros(m)
        for role, tc in enumerate(tcs):
            if keeps[role][lv]:
                need = need + tc.tile(lv) * role_bytes[role]
        if level.double_buffered:
            need = need * 2
        fits &= need <= level.size_bytes
    out.fits[rows] = fits
