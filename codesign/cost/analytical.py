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

from codesign.cost.accesses import Accesses, count_accesses, instances, tile_words
from codesign.cost.nest import NestBatch, step_and_extent
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
    """Evaluate every mapping in ``nest`` for one occurrence of ``layer`` on ``acc``."""
    M, L, D = nest.temporal.shape
    step, extent = step_and_extent(nest)
    keeps = tuple(acc.keeps(role) for role in ROLES)
    acc_counts = count_accesses(layer.tensors, keeps, nest, step, extent)
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    inst = np.stack([instances(nest, lv) for lv in range(L)], axis=1)

    words = acc_counts.reads + acc_counts.fills + acc_counts.updates          # [M, L, 3]
    bytes_per_instance = (words * role_bytes).sum(axis=2)                     # [M, L]
    # Final outputs leave the chip requantized to operand width; only partial sums spilled to
    # the outermost level travel at accumulator width. At level 0, updates - reads = |outputs|.
    final = acc_counts.updates[:, 0, 2] - acc_counts.reads[:, 0, 2]
    bytes_per_instance[:, 0] -= final * max(0.0, role_bytes[2] - acc.operand_bytes)
    access_pj = np.array([lv.access_pj_per_byte for lv in acc.levels])
    level_energy = bytes_per_instance * inst * access_pj
    mac_pj = layer.macs * acc.mac_pj
    energy = level_energy.sum(axis=1) + mac_pj

    compute = np.prod(nest.temporal.reshape(M, -1), axis=1).astype(np.float64)
    bpc = np.array([lv.bytes_per_cycle if lv.bytes_per_cycle else np.inf for lv in acc.levels])
    level_cycles = bytes_per_instance / bpc
    db = np.array([lv.double_buffered for lv in acc.levels])
    serial = compute + level_cycles[:, ~db].sum(axis=1)
    overlapped = level_cycles[:, db].max(axis=1) if db.any() else np.zeros(M)
    cycles = np.maximum(serial, overlapped)

    fits = np.ones(M, dtype=bool)
    for lv, level in enumerate(acc.levels):
        if level.size_bytes is None:
            continue
        need = np.zeros(M)
        for role, tensor in enumerate(layer.tensors):
            if keeps[role][lv]:
                need = need + tile_words(tensor, extent[:, lv, :]) * role_bytes[role]
        if level.double_buffered:
            need = need * 2
        fits &= need <= level.size_bytes

    utilization = layer.macs / (cycles * acc.num_macs)
    return CostBatch(cycles, compute, level_cycles, energy, level_energy, mac_pj, utilization, fits,
                     acc_counts, inst)
