"""Tile programs: a layer's mapping lowered to the DMA loads, tile computes and stores it runs.

The outermost level (DRAM) is the backing store; its temporal loops (``Mapping.temporal[0]``,
in the mapping's loop order) enumerate the *steps* of the program. Step ``i`` works on one tile:
the box of every dimension ``d`` of extent ``step[d]`` (the product of the factors of every
inner level and fanout, :func:`codesign.cost.nest.step_and_extent`) at the step's loop
indices, clipped to the layer's bounds (edge tiles of a padded mapping are smaller).

For each step, in order:

1. **load** (one DMA into buffer slot ``i mod slots`` of level 1): per tensor, the words of the
   new tile not in the previous step's tile (a weight tile that stays moves nothing; a sliding
   input window moves its new rows only); an output tile visited before (its reduction split
   by an outer loop) is read back whole as partial sums at accumulator width;
2. **compute** on the tile: its MAC steps per MAC unit (``prod ceil(extent / unroll)``), or the
   inner levels' transfer time if longer (the analytical model's per-level cycles, shared among
   the tiles in proportion to their MAC steps: the array and the on-chip buffers are modelled
   at the analytical model's granularity inside a tile);
3. **store** when the output tile is left (the next step has another output tile, or the
   program ends): at operand width if no later step comes back to it (final outputs), else at
   accumulator width (partial sums).

Dependencies (the simulator, :mod:`codesign.sim.events`, enforces them): a load needs its slot,
i.e. step ``i - slots`` computed and its store completed; a load of partial sums additionally waits for every
store issued before it; compute ``i`` needs load ``i`` and compute ``i - 1``; store ``i`` needs
compute ``i``. Level 1 has 2 slots if double-buffered, else 1.

A tensor that bypasses level 1 streams between DRAM and an inner level during compute; its
DRAM traffic (the analytical model's count) is added to the loads (stores for outputs) in
proportion to each step's MAC steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.compiler.tiles import coefficients
from codesign.cost.analytical import evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer

MAX_STEPS = 1 << 22   # steps a program may have (arrays of a few hundred MB beyond)


@dataclass(frozen=True, eq=False)
class TileProgram:
    """The steps of one layer occurrence (arrays of length ``n``; bytes, cycles)."""

    layer: str
    buffer_level: str              # the level loads go into
    slots: int                     # buffer slots of that level
    factors: tuple[int, ...]       # trip counts of the DRAM-level loops, outermost first (n = product)
    loads: np.ndarray              # [n, 3] bytes loaded before step i per role (weights, inputs, outputs)
    stores: np.ndarray             # [n] bytes stored after step i (0: no store)
    final: np.ndarray              # [n] the store holds final outputs (operand width)
    prev_store: np.ndarray         # [n] step whose store a partial-sum load reads back (-1: none)
    mac_steps: np.ndarray          # [n] MAC steps per MAC unit of the tile
    compute_cycles: np.ndarray     # [n] cycles of the tile's compute (inner levels included)

    @property
    def n(self) -> int:
        return int(self.stores.shape[0])

    @property
    def reload(self) -> np.ndarray:
        """[n] whether step i's load reads back partial sums."""
        return self.prev_store >= 0


def _loops(layer: Layer, result: LayerResult) -> list[tuple[int, int]]:
    """(dimension, trip count) of the DRAM level's loops with a trip count > 1, outermost first."""
    m = result.mapping
    return [(d, m.temporal[0][d]) for d in reversed(m.order[0]) if m.temporal[0][d] > 1]


def tile_step(result: LayerResult) -> np.ndarray:
    """Extent per dimension of one step's tile (padded): everything inside the DRAM level's loops."""
    m = result.mapping
    inner = np.prod(np.array(m.temporal[1:], dtype=np.int64).reshape(-1, len(m.dims)), axis=0)
    return inner * np.array(m.rows) * np.array(m.cols) * np.array(m.lanes)


def _boxes(coef: np.ndarray, origin: np.ndarray, extent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounding box ``[lo, hi)`` per rank of each step's tile, and which tiles are empty."""
    lo = origin @ coef.T
    hi = (origin + np.maximum(extent, 1) - 1) @ coef.T + 1
    return lo, hi, (extent <= 0).any(axis=1)


def _words(lo: np.ndarray, hi: np.ndarray, empty: np.ndarray) -> np.ndarray:
    return np.where(empty, 0, np.prod(hi - lo, axis=1))


def _new_words(lo: np.ndarray, hi: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Words of each step's box not in the previous step's box."""
    words = _words(lo, hi, empty)
    inter = np.prod(np.maximum(0, np.minimum(hi[1:], hi[:-1]) - np.maximum(lo[1:], lo[:-1])), axis=1)
    inter = np.where(empty[1:] | empty[:-1], 0, inter)
    return np.concatenate([words[:1], words[1:] - inter])


def _visits(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output-tile keys per step: visit ends, whether each end is the tile's last visit, and
    for each visit start the step of the same tile's previous visit end (-1: first visit)."""
    n = key.shape[0]
    change = np.any(key[1:] != key[:-1], axis=1)
    start = np.concatenate([[True], change])
    end = np.concatenate([change, [True]])
    _, ids = np.unique(key, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    last = np.full(ids.max() + 1, -1, dtype=np.int64)
    np.maximum.at(last, ids, np.arange(n))
    final = end & (np.arange(n) == last[ids])
    starts, ends = np.flatnonzero(start), np.flatnonzero(end)
    s_sorted = starts[np.lexsort((starts, ids[starts]))]
    e_sorted = ends[np.lexsort((ends, ids[ends]))]
    prev = np.full(n, -1, dtype=np.int64)
    same = ids[s_sorted[1:]] == ids[s_sorted[:-1]]
    prev[s_sorted[1:][same]] = e_sorted[:-1][same]
    return end, final, prev


def build_program(result: LayerResult, acc: Accelerator) -> TileProgram:
    """The tile program of ``result`` (a mapped layer occurrence) on ``acc``.

    Raises ``ValueError`` if the DRAM level's loops have more than :data:`MAX_STEPS` steps.
    """
    layer, m = result.layer, result.mapping
    D = len(m.dims)
    loops = _loops(layer, result)
    factors = tuple(f for _, f in loops)
    n = math.prod(factors)
    if n > MAX_STEPS:
        raise ValueError(f"layer {layer.name}: {n} tiles exceed the simulator's {MAX_STEPS}")
    step = tile_step(result)
    bounds = np.array(layer.bounds, dtype=np.int64)
    origin = np.zeros((n, D), dtype=np.int64)
    if loops:
        idx = np.indices(factors, dtype=np.int64).reshape(len(factors), -1)
        for k, (d, _) in enumerate(loops):
            origin[:, d] = idx[k] * step[d]
    extent = np.clip(np.minimum(origin + step, bounds) - origin, 0, None)
    unroll = np.array(m.rows) * np.array(m.cols) * np.array(m.lanes)
    mac_steps = np.where((extent <= 0).any(axis=1), 0, np.prod(-(-extent // unroll), axis=1))

    role_bytes = acc.layer_bytes(layer.tensors)
    final_bytes = min(role_bytes[2], acc.operand_bytes)
    level1 = acc.levels[1]
    loads = np.zeros((n, 3))
    stores = np.zeros(n)
    final = np.zeros(n, dtype=bool)
    prev = np.full(n, -1, dtype=np.int64)
    share = mac_steps / max(1, int(mac_steps.sum()))
    bypass = [r for r, role in enumerate(ROLES) if role not in level1.holds and role in acc.levels[0].holds]
    counts = evaluate(layer, acc, m.to_nest()).accesses if bypass else None
    for r, (role, tensor) in enumerate(zip(ROLES, layer.tensors)):
        if r in bypass:
            assert counts is not None
            if role == "outputs":
                words = int(counts.updates[0, 0, r])
                stores += share * words * final_bytes
                final |= mac_steps > 0
            else:
                loads[:, r] = share * int(counts.reads[0, 0, r]) * role_bytes[r]
            continue
        if role not in level1.holds:
            continue
        lo, hi, empty = _boxes(coefficients(tensor, D), origin, extent)
        if role != "outputs":
            loads[:, r] = _new_words(lo, hi, empty) * role_bytes[r]
            continue
        words = _words(lo, hi, empty)
        end, last, prev = _visits(lo)
        loads[:, r] = np.where(prev >= 0, words * role_bytes[r], 0.0)
        stores = np.where(end, words * np.where(last, final_bytes, role_bytes[r]), 0.0)
        final = end & last

    compute = _compute_cycles(result, acc, mac_steps, share)
    return TileProgram(layer.name, level1.name, 2 if level1.double_buffered else 1, factors, loads, stores,
                       final, prev, mac_steps.astype(np.int64), compute)


def _compute_cycles(result: LayerResult, acc: Accelerator, mac_steps: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Per tile: MAC steps plus the inner levels' serial transfers, or the slowest overlapped one."""
    serial = mac_steps.astype(np.float64)
    overlapped = np.zeros_like(serial)
    for level in acc.levels[1:]:
        cycles = result.level_cycles.get(level.name, 0.0) * share
        if level.double_buffered:
            overlapped = np.maximum(overlapped, cycles)
        else:
            serial = serial + cycles
    total = np.maximum(serial, overlapped)
    return np.ceil(total * (1 - 1e-12)).astype(np.int64)
