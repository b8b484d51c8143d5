"""Brute-force oracle for :func:`codesign.cost.accesses.count_accesses`.

The oracle below is written from the *semantics* (Timeloop's default analytical model, see
``../shared/reference/README.md`` and NVlabs/timeloop ``src/loop-analysis/nest-analysis.cpp``,
``src/loop-analysis/tiling.cpp``), not from codesign's closed forms: it literally walks the loop
nest of one mapping, keeps for every instance of every level the set of tensor coordinates its
tile holds, and counts

- the words moved into a child: per visited iteration of the temporal loops above it, the
  coordinates of its new tile that were not in its previous tile (the first tile in full).
  Timeloop's default model visits only iterations 0 and 1 of each loop, weighting iteration 1
  by ``N - 1`` (``gExtrapolateUniformTemporal``), and refetches the whole tile when its
  translation differs from the last one it kept (``gResetOnStrideChange``,
  ``OperationSpace::SaveAndSubtractIfSameStride``); ``sampled`` and ``reset_on_stride_change``
  turn these off to get plain delta counting over every iteration;
- the MACs: no storage, one operand (or one partial-sum update) per MAC per step;
- parent accesses: words moved into one child times the number of *distinct* children, counted
  per fanout group (the fanouts directly above one level: identical tiles are served by one
  multicast read, or reduced into one update) and multiplied across groups (Timeloop's bypass
  promotion scales a parent's accesses by each bypassed level's accesses-per-fill);
- outputs: parent updates as above; reads = updates - number of distinct coordinates that parent
  instance ever holds; child fills = words moved in - distinct coordinates the child ever holds
  (the first update of an element needs no read, the first touch no fill).

A tile is the bounding box (per rank) of the coordinates touched by the level's own temporal
loops and everything inside it, for the current indices of the loops above. The oracle checks
that every instance of a level gets the same count and reports that per-instance count.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.cost.accesses import count_accesses, instances
from codesign.cost.nest import NestBatch, step_and_extent
from codesign.workload import ops
from codesign.workload.ir import Layer, Tensor

W, I, O = 0, 1, 2
ROLE_NAMES = ("weights", "inputs", "outputs")


# --------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------

@dataclass
class Loop:
    kind: str      # "T" temporal (belongs to level `at`) or "S" spatial (fanout directly above level `at`)
    at: int
    dim: int
    factor: int
    stride: int = 1


def build_loops(temporal, perm, spatial, fanout_at) -> list[Loop]:
    """All loops with a factor > 1, outermost first: level 0's temporal loops, the fanouts above
    level 1, level 1's temporal loops, ..., the fanouts above the MACs. A loop's stride is the
    product of the factors of the same dimension in the loops inside it."""
    L, D = len(temporal), len(temporal[0])
    loops: list[Loop] = []
    for lv in range(L + 1):
        for s, at in enumerate(fanout_at):          # several fanouts above one level: lower s outer
            if at == lv:
                loops += [Loop("S", lv, d, int(spatial[s][d])) for d in range(D) if spatial[s][d] > 1]
        if lv < L:
            order = list(perm[lv])
            assert sorted(order) == list(range(D))
            for d in reversed(order):               # perm is innermost first
                if temporal[lv][d] > 1:
                    loops.append(Loop("T", lv, d, int(temporal[lv][d])))
    for i, lp in enumerate(loops):
        lp.stride = math.prod(x.factor for x in loops[i + 1:] if x.dim == lp.dim)
    return loops


def _ranges(loops):
    return itertools.product(*(range(lp.factor) for lp in loops))


def _visits(loops, sampled: bool):
    """(indices, weight) of the iterations of ``loops`` (outermost first) in execution order:
    every iteration (weight 1), or Timeloop's sampled iterations 0 and 1 of each loop (weights 1
    and ``N - 1``; every loop here has ``N > 1``)."""
    if not sampled:
        return [(idx, 1) for idx in _ranges(loops)]
    return [(idx, math.prod(lp.factor - 1 if i else 1 for lp, i in zip(loops, idx)))
            for idx in itertools.product(*(range(2) for _ in loops))]


def _dims(D, *assignments):
    """Dimension values from (loops, indices) pairs; unassigned loops sit at 0."""
    v = [0] * D
    for loops, idx in assignments:
        for lp, i in zip(loops, idx):
            v[lp.dim] += i * lp.stride
    return v


def _coords(tensor: Tensor, dims) -> tuple[int, ...]:
    return tuple(sum(c * dims[d] for d, c in rank) for rank in tensor.ranks)


class Walker:
    """Tiles of one tensor at the levels of one mapping."""

    def __init__(self, tensor: Tensor, loops: list[Loop], D: int, L: int):
        self.tensor, self.loops, self.D, self.L = tensor, loops, D, L
        self._rel: dict[int, list[tuple[int, int]]] = {}

    def inner(self, level):
        return [lp for lp in self.loops if lp.at > level or (lp.kind == "T" and lp.at == level)]

    def above_temporal(self, level):
        return [lp for lp in self.loops if lp.kind == "T" and lp.at < level]

    def rel_box(self, level):
        """Per rank (lo, hi) of the coordinates touched by the level's loops and everything
        inside, relative to the corner (all those loops at 0): enumerated literally."""
        if level not in self._rel:
            inner = self.inner(level)
            pts = [_coords(self.tensor, _dims(self.D, (inner, idx))) for idx in _ranges(inner)]
            self._rel[level] = [(min(p[r] for p in pts), max(p[r] for p in pts))
                                for r in range(len(self.tensor.ranks))]
        return self._rel[level]

    def tile(self, level, base_dims) -> frozenset:
        corner = _coords(self.tensor, base_dims)
        box = [range(c + lo, c + hi + 1) for c, (lo, hi) in zip(corner, self.rel_box(level))]
        return frozenset(itertools.product(*box))

    def coverage(self, level, inst_loops, inst_idx) -> int:
        """Distinct coordinates one instance of ``level`` ever holds."""
        above = self.above_temporal(level)
        held: set = set()
        for t in _ranges(above):
            held |= self.tile(level, _dims(self.D, (inst_loops, inst_idx), (above, t)))
        return len(held)

    def distinct_children(self, kids: list[Loop]) -> int:
        """Distinct children among the spatial loops ``kids``: per fanout group (the loops directly
        above one level ``a``), the number of distinct level-``a`` tiles (single points for the
        MACs) over the group's indices; the groups multiply."""
        count = 1
        for a in sorted({lp.at for lp in kids}):
            group = [lp for lp in kids if lp.at == a]
            count *= len({self.tile(a, _dims(self.D, (group, g))) for g in _ranges(group)})
        return count


def _same(values: dict, what: str) -> int:
    vals = set(values.values())
    assert len(vals) == 1, f"oracle: {what} differs between instances: {values}"
    return vals.pop()


def moved_into(w: Walker, child: int, base: list, sampled: bool, reset_on_stride_change: bool) -> int:
    """Words moved into one child instance (``base``: its (loops, indices) above the temporal
    loops) over the visited iterations of the temporal loops above it."""
    above = w.above_temporal(child)
    prev = corner = stride = None
    moved = 0
    for t, weight in _visits(above, sampled):
        dims = _dims(w.D, *base, (above, t))
        tile, here = w.tile(child, dims), _coords(w.tensor, dims)
        if prev is None:
            new = tile
        else:
            move = tuple(a - b for a, b in zip(here, corner))
            new = tile - prev
            if reset_on_stride_change and any(move):
                if stride is None:
                    stride = move
                elif stride != move:
                    new, stride = tile, None
        moved += weight * len(new)
        prev, corner = tile, here
    return moved


def pair_counts(w: Walker, parent: int, child: int, is_output: bool, sampled: bool = True,
                reset_on_stride_change: bool = True):
    """(parent reads, parent updates, child fills) per instance for one keeper pair."""
    D, L, loops = w.D, w.L, w.loops
    pinst = [lp for lp in loops if lp.kind == "S" and lp.at <= parent]
    kids = [lp for lp in loops if lp.kind == "S" and parent < lp.at <= child]
    distinct = w.distinct_children(kids)
    p_reads, p_updates, c_fills = {}, {}, {}
    for p_idx in _ranges(pinst):
        if child == L:
            moved = {(): math.prod(lp.factor for lp in loops if lp.kind == "T")}
        else:
            moved = {c: moved_into(w, child, [(pinst, p_idx), (kids, c)], sampled, reset_on_stride_change)
                     for c in _ranges(kids)}
            for c, m in moved.items():
                c_fills[p_idx + c] = m - (w.coverage(child, pinst + kids, p_idx + c) if is_output else 0)
        accesses = _same(moved, "words moved into a child") * distinct
        if is_output:
            p_updates[p_idx], p_reads[p_idx] = accesses, accesses - w.coverage(parent, pinst, p_idx)
        else:
            p_updates[p_idx], p_reads[p_idx] = 0, accesses
    return (_same(p_reads, "parent reads"), _same(p_updates, "parent updates"),
            _same(c_fills, "child fills") if c_fills else 0)


def oracle(tensors, keeps, temporal, perm, spatial, fanout_at, sampled=True, reset_on_stride_change=True):
    """Per-instance (reads, fills, updates) as int arrays ``[L, 3]`` for one mapping."""
    temporal, perm, spatial = np.asarray(temporal), np.asarray(perm), np.asarray(spatial).reshape(-1, np.shape(temporal)[1])
    L, D = temporal.shape
    loops = build_loops(temporal.tolist(), perm.tolist(), spatial.tolist(), tuple(fanout_at))
    reads, fills, updates = (np.zeros((L, 3), dtype=np.int64) for _ in range(3))
    for role, tensor in enumerate(tensors):
        assert keeps[role][0], "level 0 keeps everything"
        keepers = [lv for lv in range(L) if keeps[role][lv]]
        w = Walker(tensor, loops, D, L)
        for parent, child in zip(keepers, keepers[1:] + [L]):
            r, u, f = pair_counts(w, parent, child, tensor.role == "outputs", sampled, reset_on_stride_change)
            reads[parent, role], updates[parent, role] = r, u
            if child < L:
                fills[child, role] = f
    return reads, fills, updates


def oracle_step_extent(temporal, spatial, fanout_at):
    """step[l][d]: product of d's factors strictly inside level l's temporal loops."""
    L, D = len(temporal), len(temporal[0])
    step = np.ones((L, D), dtype=np.int64)
    for lv in range(L):
        for d in range(D):
            step[lv, d] = (math.prod(temporal[x][d] for x in range(lv + 1, L))
                           * math.prod(spatial[s][d] for s, at in enumerate(fanout_at) if at > lv))
    return step, np.asarray(temporal) * step


# --------------------------------------------------------------------------------------------
# Helpers: run codesign on one mapping and compare
# --------------------------------------------------------------------------------------------

def to_nest(temporal, perm, spatial, fanout_at) -> NestBatch:
    t = np.asarray(temporal, dtype=np.int64)
    D = t.shape[1]
    sp = np.asarray(spatial, dtype=np.int64).reshape(len(fanout_at), D)
    return NestBatch(t[None], np.asarray(perm, dtype=np.int64)[None], sp[None], tuple(fanout_at))


def codesign_counts(tensors, keeps, temporal, perm, spatial, fanout_at):
    nest = to_nest(temporal, perm, spatial, fanout_at)
    step, extent = step_and_extent(nest)
    acc = count_accesses(tensors, keeps, nest, step, extent)
    return acc.reads[0], acc.fills[0], acc.updates[0]


def describe(case) -> str:
    layer, keeps, temporal, perm, spatial, fanout_at = case
    return (f"layer={layer.describe()} bounds={layer.bounds} dims={layer.dims}\n"
            f"keeps={keeps}\ntemporal={np.asarray(temporal).tolist()}\nperm={np.asarray(perm).tolist()}\n"
            f"spatial={np.asarray(spatial).tolist()} fanout_at={tuple(fanout_at)}")


def check_against_oracle(case):
    layer, keeps, temporal, perm, spatial, fanout_at = case
    D = len(layer.bounds)
    spatial = np.asarray(spatial, dtype=np.int64).reshape(len(fanout_at), D)
    covered = np.prod(temporal, axis=0) * np.prod(spatial, axis=0)
    assert tuple(covered) == tuple(layer.bounds), "test case does not cover the layer exactly"
    want = oracle(layer.tensors, keeps, temporal, perm, spatial, fanout_at)
    got = codesign_counts(layer.tensors, keeps, temporal, perm, spatial, fanout_at)
    msgs = []
    for name, e, g in zip(("reads", "fills", "updates"), want, got):
        if not np.array_equal(e, g):
            msgs.append(f"{name} [level][role]: oracle={e.tolist()} codesign={g.tolist()}")
    step, extent = step_and_extent(to_nest(temporal, perm, spatial, fanout_at))
    ostep, oextent = oracle_step_extent(np.asarray(temporal).tolist(), spatial.tolist(), fanout_at)
    if not (np.array_equal(step[0], ostep) and np.array_equal(extent[0], oextent)):
        msgs.append(f"step/extent: oracle={ostep.tolist()},{oextent.tolist()} codesign={step[0].tolist()},{extent[0].tolist()}")
    assert not msgs, describe(case) + "\n" + "\n".join(msgs)
    return want


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------

def conv1d(K, C, P, R, stride=1, dilation=1) -> Layer:
    """Dims K, C, P, R: Weights[K,C,R], Inputs[C, stride*P + dilation*R], Outputs[K,P]."""
    k, c, p, r = range(4)
    tensors = (Tensor("Weights", "weights", (((k, 1),), ((c, 1),), ((r, 1),))),
               Tensor("Inputs", "inputs", (((c, 1),), ((p, stride), (r, dilation)))),
               Tensor("Outputs", "outputs", (((k, 1),), ((p, 1),))))
    return Layer("conv1d", "conv1d", ("K", "C", "P", "R"), (K, C, P, R), tensors)


def conv2d(C, K, H, R, stride=1, dilation=1, groups=1, W=None, S=None) -> Layer:
    a = dict(C=C, K=K, H=H, W=W if W is not None else H, R=R, S=S if S is not None else R,
             stride=stride, dilation=dilation, groups=groups)
    return ops.conv2d("conv2d", a, 1, 1)


def gemm(M, N, K, G=1) -> Layer:
    """A batched GEMM over dims (G, M, N, K): W[G,K,N], A[G,M,K], Z[G,M,N]."""
    g, m, n, k = range(4)
    tensors = (Tensor("W", "weights", (((g, 1),), ((k, 1),), ((n, 1),))),
               Tensor("A", "inputs", (((g, 1),), ((m, 1),), ((k, 1),))),
               Tensor("Z", "outputs", (((g, 1),), ((m, 1),), ((n, 1),))))
    return Layer("gemm", "matmul", ("G", "M", "N", "K"), (G, M, N, K), tensors)


KC1 = dict(K=0, C=1, P=2, R=3)                 # conv1d dim indices
CV = dict(N=0, G=1, K=2, C=3, P=4, Q=5, R=6, S=7)   # ops.conv2d dim indices
GM = dict(G=0, M=1, N=2, K=3)                  # ops.matmul dim indices


def perm_of(index: dict, inner_to_outer: str | list[str]) -> list[int]:
    """A full permutation, innermost first, with the named dims first in the given order."""
    names = list(inner_to_outer)
    rest = [n for n in index if n not in names]
    return [index[n] for n in names + rest]


def factors(index: dict, **kw) -> list[int]:
    v = [1] * len(index)
    for n, f in kw.items():
        v[index[n]] = f
    return v


ALL = (True, True, True)


# --------------------------------------------------------------------------------------------
# (a) Hand-picked cases
# --------------------------------------------------------------------------------------------

def test_oracle_halo_numbers_by_hand():
    """Ground the oracle itself: conv1d P=8, R=3; the buffer holds a P=2 slice and all of R.

    Inputs tile = 2+3-1 = 4 words; the DRAM P loop (4 iterations) slides it by 2, so fills
    are 4 + 3*2 = 10 (halo reuse between consecutive tiles), and weights stay resident (3).
    """
    layer = conv1d(K=1, C=1, P=8, R=3)
    temporal = [factors(KC1, P=4), factors(KC1, P=2, R=3)]
    perm = [perm_of(KC1, "P"), perm_of(KC1, "RP")]
    keeps = (ALL, ALL, ALL)
    reads, fills, updates = check_against_oracle((layer, keeps, temporal, perm, np.zeros((0, 4)), ()))
    assert fills[1].tolist() == [3, 10, 0]
    assert reads[0].tolist() == [3, 10, 0]             # outputs: 8 updates, each the first
    assert updates[0].tolist() == [0, 0, 8]
    assert reads[1].tolist() == [24, 24, 24 - 8]       # MACs read each step; outputs RMW minus first touches
    assert updates[1].tolist() == [0, 0, 24]


def test_oracle_halo_order_matters_by_hand():
    """Same layer, DRAM loops P (inner) and R (outer): the buffer tile is 2 inputs, one P step
    at a time, and the R loop restarts the P sweep, so the halo is only reused within a sweep."""
    layer = conv1d(K=1, C=1, P=8, R=3)
    temporal = [factors(KC1, P=4, R=3), factors(KC1, P=2)]
    perm = [perm_of(KC1, "PR"), perm_of(KC1, "P")]
    reads, fills, updates = check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, np.zeros((0, 4)), ()))
    # inputs: per R: 2 + 3*2 = 8 (disjoint P steps of 2), total 24; weights: one per R
    assert fills[1].tolist() == [3, 24, 3 * 8 - 8]     # outputs revisited for R=1,2: 16 refills
    assert updates[0, O] == 24 and reads[0, O] == 16


@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (3, 1), (1, 2), (2, 3)])
def test_strided_dilated_sliding_window(stride, dilation):
    layer = conv1d(K=2, C=2, P=6, R=3, stride=stride, dilation=dilation)
    temporal = [factors(KC1, P=3, C=2), factors(KC1, K=2, P=2, R=3)]
    for outer in ("PC", "CP"):
        perm = [perm_of(KC1, outer), perm_of(KC1, "RPK")]
        check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, np.zeros((0, 4)), ()))


def test_strided_conv2d_three_levels():
    layer = conv2d(C=2, K=2, H=7, R=3, stride=2)     # P = Q = 3
    assert layer.bounds == (1, 1, 2, 2, 3, 3, 3, 3)
    temporal = [factors(CV, Q=3, K=2), factors(CV, P=3, C=2), factors(CV, R=3, S=3)]
    perm = [perm_of(CV, "KQ"), perm_of(CV, "PC"), perm_of(CV, "SR")]
    check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, np.zeros((0, 8)), ()))


def test_depthwise_conv2d():
    layer = conv2d(C=3, K=3, H=4, R=2, groups=3)      # G=3, K=C=1, P=Q=3
    assert layer.bounds == (1, 3, 1, 1, 3, 3, 2, 2)
    temporal = [factors(CV, G=3, P=3), factors(CV, Q=3, R=2, S=2)]
    for order in ("PG", "GP"):
        perm = [perm_of(CV, order), perm_of(CV, "SRQ")]
        check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, np.zeros((0, 8)), ()))


def test_bypassed_levels():
    """Weights bypass the middle level, inputs bypass the innermost, outputs live only in DRAM
    and the innermost level."""
    layer = conv1d(K=4, C=2, P=4, R=3)
    temporal = [factors(KC1, K=2, C=2), factors(KC1, P=2, K=2), factors(KC1, P=2, R=3)]
    perm = [perm_of(KC1, "CK"), perm_of(KC1, "KP"), perm_of(KC1, "RP")]
    keeps = ((True, False, True), (True, True, False), (True, False, True))
    check_against_oracle((layer, keeps, temporal, perm, np.zeros((0, 4)), ()))
    keeps = ((True, False, False), (True, False, False), (True, True, False))
    check_against_oracle((layer, keeps, temporal, perm, np.zeros((0, 4)), ()))


def test_gemm_spatial_multicast():
    """Spatial N above the buffer: the 4 buffers need the same A (inputs) tile -> one read."""
    layer = gemm(M=4, N=4, K=2)
    temporal = [factors(GM, M=2), factors(GM, M=2, K=2)]
    spatial = [factors(GM, N=4)]
    perm = [perm_of(GM, "M"), perm_of(GM, "KM")]
    reads, fills, updates = check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, spatial, (1,)))
    assert reads[0, I] == 8 and fills[1, I] == 8        # A read once, multicast to 4 buffers
    assert reads[0, W] == 8 * 1 and fills[1, W] == 2    # B: each buffer its own column (distinct)


def test_gemm_spatial_reduction():
    """Spatial K (reduction) above the buffer: the partial sums of the 2 buffers are reduced."""
    layer = gemm(M=2, N=2, K=4)
    temporal = [factors(GM, K=2, N=2), factors(GM, M=2)]
    spatial = [factors(GM, K=2)]
    for outer in ("KN", "NK"):
        perm = [perm_of(GM, outer), perm_of(GM, "M")]
        reads, fills, updates = check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, spatial, (1,)))
        if outer == "KN":      # K inner of N: the output tile is revisited -> no refill
            assert updates[0, O] == 4 and reads[0, O] == 0 and fills[1, O] == 0
        else:                  # N inner of K: each output drained twice (reduced across space)
            assert updates[0, O] == 8 and reads[0, O] == 4 and fills[1, O] == 4


def test_spatial_at_mac_level_multicast_and_reduction():
    layer = gemm(M=2, N=3, K=4)
    temporal = [factors(GM, M=2), factors(GM, K=2)]
    spatial = [factors(GM, N=3, K=2)]        # 6 MACs under each buffer
    perm = [perm_of(GM, "M"), perm_of(GM, "K")]
    reads, fills, updates = check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, spatial, (2,)))
    steps = 4
    assert reads[1, W] == steps * 6          # B[k,n]: all 6 distinct
    assert reads[1, I] == steps * 2          # A[m,k]: multicast over N
    assert updates[1, O] == steps * 3        # Z[m,n]: reduced over K


@pytest.mark.parametrize("stride,dilation,fP,fR", [(1, 1, 2, 3), (1, 1, 4, 2), (2, 1, 2, 3), (1, 2, 3, 2), (2, 2, 2, 2), (3, 2, 2, 3)])
@pytest.mark.parametrize("at", [1, 2])
def test_two_spatial_dims_on_one_rank(stride, dilation, fP, fR, at):
    """P and R of a conv window both unrolled across one fanout: the inputs rank stride*P +
    dilation*R sees overlapping children; only identical tiles share a read."""
    P, R = 2 * fP, fR
    layer = conv1d(K=2, C=1, P=P, R=R, stride=stride, dilation=dilation)
    temporal = [factors(KC1, P=2), factors(KC1, K=2)]
    spatial = [factors(KC1, P=fP, R=fR)]
    perm = [perm_of(KC1, "P"), perm_of(KC1, "K")]
    check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, spatial, (at,)))


@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (2, 3), (3, 2)])
def test_two_spatial_dims_on_one_rank_across_two_fanouts(stride, dilation):
    """P unrolled above the buffer, R above the MACs; inputs bypass the buffer, so all 6
    MACs are children of the DRAM copy and see the two loops on one rank."""
    layer = conv1d(K=2, C=1, P=4, R=3, stride=stride, dilation=dilation)
    temporal = [factors(KC1, P=2), factors(KC1, K=2)]
    spatial = [factors(KC1, P=2), factors(KC1, R=3)]
    perm = [perm_of(KC1, "P"), perm_of(KC1, "K")]
    for keeps_in in ((True, False), (True, True)):
        check_against_oracle((layer, (ALL[:2], keeps_in, ALL[:2]), temporal, perm, spatial, (1, 2)))


def test_two_fanouts_pe_array_and_lanes():
    """The mapper's shape: an array fanout above the per-PE level and lanes above the MACs."""
    layer = conv2d(C=2, K=4, H=4, R=3)                 # P = Q = 2
    temporal = [factors(CV, K=2, Q=2), factors(CV, C=2, R=3)]
    spatial = [factors(CV, K=2, P=2), factors(CV, S=3)]
    for order in ("KQ", "QK"):
        perm = [perm_of(CV, order), perm_of(CV, "CR")]
        check_against_oracle((layer, (ALL, ALL, ALL), temporal, perm, spatial, (1, 2)))
        check_against_oracle((layer, (ALL, (True, False), ALL), temporal, perm, spatial, (1, 2)))


def test_fanout_under_bypassed_level():
    """A fanout sits above a level that bypasses the tensor; the children of the DRAM copy are
    the instances of the next keeper (both fanouts)."""
    layer = gemm(M=4, N=2, K=2, G=2)
    temporal = [factors(GM, M=2), factors(GM, G=2), factors(GM, K=2)]
    spatial = [factors(GM, N=2), factors(GM, M=2)]
    perm = [perm_of(GM, "M"), perm_of(GM, "G"), perm_of(GM, "K")]
    keeps = ((True, False, True), (True, False, True), (True, False, True))
    check_against_oracle((layer, keeps, temporal, perm, spatial, (1, 2)))


# --------------------------------------------------------------------------------------------
# The oracle against Timeloop's own numbers (the reference cases small enough to brute-force)
# --------------------------------------------------------------------------------------------

REFERENCE = Path(__file__).resolve().parent / "data" / "timeloop_reference"  # verbatim copy, see its README


def _load_reference(case_id):
    import yaml
    path = REFERENCE / case_id / "case.yaml"
    assert path.exists(), f"{path} is missing"
    case = yaml.safe_load(path.read_text())
    prob = case["inputs"]["problem"]
    dims = prob["dimensions"]
    bounds = tuple(prob["instance"][d] for d in dims)
    coefs = prob.get("coefficients") or {}
    tensors = []
    assert [ds["name"] for ds in prob["data_spaces"]] == ["Weights", "Inputs", "Outputs"]
    for ds, role in zip(prob["data_spaces"], ROLE_NAMES):
        ranks = []
        for rank in ds["projection"]:
            terms = []
            for term in rank:
                names = [t for t in term if t in dims]
                coef = math.prod(coefs[t] for t in term if t not in dims)
                terms.append((dims.index(names[0]), coef))
            ranks.append(tuple(terms))
        tensors.append(Tensor(ds["name"], role, tuple(ranks)))
    levels = [lv["name"] for lv in case["inputs"]["architecture"]["levels_outer_to_inner"]
              if lv.get("role") != "compute" and lv.get("class") not in ("intmac",)]
    L, D = len(levels), len(dims)
    temporal = [[1] * D for _ in range(L)]
    perm = [list(range(D)) for _ in range(L)]
    spatial, fanout_at = [], []
    keeps = [[True] * L for _ in range(3)]
    names = [t.name for t in tensors]
    for d in case["inputs"]["mapping"]["directives"]:
        lv = levels.index(d["target"])
        if d["type"] == "temporal":
            temporal[lv] = [d["factors"].get(n, 1) for n in dims]
            order = [dims.index(c) for c in d["permutation_inner_to_outer"]]
            perm[lv] = order + [x for x in range(D) if x not in order]
        elif d["type"] == "spatial":          # the spatial loops of level lv sit above level lv+1
            spatial.append([d["factors"].get(n, 1) for n in dims])
            fanout_at.append(lv + 1)
        elif d["type"] in ("bypass", "datatype"):
            for n in d.get("bypass", []):
                keeps[names.index(n)][lv] = False
    expected = np.zeros((3, L, 3), dtype=np.int64)     # (reads, fills, updates)[level, role]
    for lv in case["expected"]["levels_inner_to_outer"]:
        if lv["name"] not in levels:
            continue
        for name, ds in (lv.get("dataspaces") or {}).items():
            role = names.index(name)
            expected[:, levels.index(lv["name"]), role] = (ds["reads_per_instance"], ds["fills_per_instance"],
                                                            ds["updates_per_instance"])
    layer = Layer(case_id, prob["name"], tuple(dims), bounds, tuple(tensors))
    return layer, tuple(tuple(k) for k in keeps), temporal, perm, spatial, tuple(fanout_at), expected


REFERENCE_CASES = ["tl00_conv1d_1level", "tl01_conv1d_2level_os", "tl01_conv1d_2level_ws",
                   "tl02_conv1d_oc_2level_untiled", "tl02_conv1d_oc_2level_tiled", "tl03_conv1d_oc_3level",
                   "tl03_conv1d_oc_3level_bypass", "tl04_conv1d_oc_ic_spatial_cp", "tl04_conv1d_oc_ic_spatial_kp",
                   "tl05_mapper_baked"]

@pytest.mark.parametrize("case_id", REFERENCE_CASES)
def test_oracle_reproduces_reference(case_id):
    """The oracle reproduces every reference case small enough to brute-force exactly: evidence
    that its tiles, sampled deltas with reset on stride change, multicast, reduction and output
    rules are Timeloop's (case.yaml ``expected``, per-instance reads/fills/updates)."""
    layer, keeps, temporal, perm, spatial, fanout_at, expected = _load_reference(case_id)
    spatial = np.asarray(spatial, dtype=np.int64).reshape(len(fanout_at), len(layer.dims))
    got = oracle(layer.tensors, keeps, temporal, perm, spatial, fanout_at)
    for name, g, e in zip(("reads", "fills", "updates"), got, expected):
        assert np.array_equal(g, e), f"{case_id} {name}: oracle={g.tolist()} timeloop={e.tolist()}"


@pytest.mark.parametrize("case_id", REFERENCE_CASES)
def test_codesign_matches_timeloop_reference(case_id):
    """codesign == oracle == Timeloop on the reference cases (case.yaml ``expected``)."""
    layer, keeps, temporal, perm, spatial, fanout_at, expected = _load_reference(case_id)
    spatial = np.asarray(spatial, dtype=np.int64).reshape(len(fanout_at), len(layer.dims))
    got = check_against_oracle((layer, keeps, temporal, perm, spatial, fanout_at))   # codesign == oracle
    for name, g, e in zip(("reads", "fills", "updates"), got, expected):
        assert np.array_equal(g, e), f"{case_id} {name}: codesign={g.tolist()} timeloop={e.tolist()}"


def test_plain_deltas_miss_the_tl04_refetches():
    """Without reset on stride change the tl04 RegisterFile inputs tile (16 words, sliding +1
    along R, jumping back when K advances) keeps its overlap: 284 fills per instance instead of
    Timeloop's 1152 (tl04_conv1d_oc_ic_spatial_cp case.yaml)."""
    layer, keeps, temporal, perm, spatial, fanout_at, expected = _load_reference("tl04_conv1d_oc_ic_spatial_cp")
    spatial = np.asarray(spatial, dtype=np.int64).reshape(len(fanout_at), len(layer.dims))
    plain = oracle(layer.tensors, keeps, temporal, perm, spatial, fanout_at, sampled=False, reset_on_stride_change=False)
    assert plain[1][3, I] == 284 and expected[1][3, I] == 1152


def _reset_case():
    """Minimal case for reset on stride change: conv1d K=2, P=2, R=2; DRAM loops R (inner) and
    K (outer), the buffer holds a P=2 slice. The inputs tile slides +1 along R, then jumps back
    when K advances: plain deltas refill 1 word (overlap kept), Timeloop the whole tile (2)."""
    layer = conv1d(K=2, C=1, P=2, R=2)
    temporal = [factors(KC1, K=2, R=2), factors(KC1, P=2)]
    perm = [perm_of(KC1, "RK"), perm_of(KC1, "P")]
    return layer, (ALL[:2], ALL[:2], ALL[:2]), temporal, perm, np.zeros((0, 4), dtype=np.int64), ()


def test_reset_on_stride_change():
    layer, keeps, temporal, perm, spatial, fanout_at = _reset_case()
    reads, fills, updates = check_against_oracle(_reset_case())
    assert fills[1, I] == 2 + 1 + 2 + 1 and reads[0, I] == 6
    plain = oracle(layer.tensors, keeps, temporal, perm, spatial, fanout_at, sampled=False, reset_on_stride_change=False)
    assert plain[1][1, I] == 2 + 1 + 1 + 1


def test_sampled_iterations():
    """Timeloop visits iterations 0 and 1 of each loop only (weights 1 and N-1): conv1d P=4, R=3,
    the buffer holds a P=2 slice (2 inputs); DRAM loops R (3, inner, +1) and P (2, outer, +2).
    Every iteration: the P step after a full R sweep lands on the same tile (0 words): 2 + 2 + 0
    + 2 = 6. Sampled: the P step is seen from R's iteration 1, a +1 move like R's, so no reset
    and 1 new word: 2 + 2*1 + 1 + 2*1 = 7 (NVlabs/timeloop nest-analysis.cpp,
    gExtrapolateUniformTemporal)."""
    layer = conv1d(K=1, C=1, P=4, R=3)
    temporal = [factors(KC1, P=2, R=3), factors(KC1, P=2)]
    perm = [perm_of(KC1, "RP"), perm_of(KC1, "P")]
    case = (layer, (ALL[:2], ALL[:2], ALL[:2]), temporal, perm, np.zeros((0, 4), dtype=np.int64), ())
    reads, fills, updates = check_against_oracle(case)
    assert fills[1, I] == 7
    every = oracle(layer.tensors, case[1], temporal, perm, case[4], (), sampled=False)
    assert every[1][1, I] == 6


@pytest.mark.parametrize("stride,dilation,P,R,spatial,fanout_at,reads", [
    (2, 2, 2, 4, [[1, 1, 1, 2], [1, 1, 2, 2]], (1, 2), 2 * 3),   # groups R | P, R: 2 x |{0,2,4}|
    (2, 3, 4, 3, [[1, 1, 2, 1], [1, 1, 2, 3]], (1, 2), 2 * 6),   # groups P | P, R: 2 x |{0,2,3,5,6,8}|
    (2, 2, 2, 4, [[1, 1, 1, 2], [1, 1, 2, 2]], (2, 2), 5),       # one group: 2P+2R = {0,2,...,8}
    (2, 3, 4, 3, [[1, 1, 2, 1], [1, 1, 2, 3]], (2, 2), 11),      # one group: 2P+3R, 11 distinct of 12
])
def test_three_spatial_loops_on_one_rank(stride, dilation, P, R, spatial, fanout_at, reads):
    """R (or P) split over two fanouts and the other window dim unrolled too; inputs bypass the
    buffer so all MACs are children of the DRAM copy. Fanouts above different levels count
    their distinct children separately and multiply (Timeloop's bypass promotion); fanouts above
    one level count jointly (exactly, by enumeration when three loops index one rank)."""
    layer = conv1d(K=1, C=1, P=P, R=R, stride=stride, dilation=dilation)
    temporal = [[1, 1, 1, 1], [1, 1, 1, 1]]
    perm = [[0, 1, 2, 3], [0, 1, 2, 3]]
    got = check_against_oracle((layer, (ALL[:2], (True, False), ALL[:2]), temporal, perm, spatial, fanout_at))
    assert got[0][0, I] == reads


def test_two_fanouts_at_one_level_same_dimension():
    """Two fanouts above one level unrolling the same dimension (GEMM M=4 split 2x2 over
    fanout_at=(1, 1)): the earlier fanout is the outer one, its step includes the later one's."""
    layer = gemm(M=4, N=1, K=1)
    reads, fills, updates = check_against_oracle((layer, ((True,), (True,), (True,)), [[1, 1, 1, 1]], [[0, 1, 2, 3]],
                                                  [factors(GM, M=2), factors(GM, M=2)], (1, 1)))
    assert reads[0, I] == 4 and updates[0, O] == 4 and reads[0, O] == 0


def test_two_fanouts_at_one_level_different_dimensions():
    """The mapper's (L, L) shape with distinct dims per fanout (rows/cols vs lanes)."""
    layer = gemm(M=2, N=2, K=3)
    for keeps in ((ALL[:1],) * 3, (ALL[:2],) * 3):
        L = len(keeps[0])
        temporal = [factors(GM, K=3)] + [factors(GM)] * (L - 1)
        check_against_oracle((layer, keeps, temporal, [[0, 1, 2, 3]] * L,
                              [factors(GM, M=2), factors(GM, N=2)], (L, L)))


# --------------------------------------------------------------------------------------------
# (b) Property test: random small layers and random legal mappings
# --------------------------------------------------------------------------------------------

def _divisors(n):
    return [f for f in range(1, n + 1) if n % f == 0]


@st.composite
def layers(draw):
    kind = draw(st.sampled_from(["conv1d", "conv2d", "gemm", "depthwise"]))
    if kind == "conv1d":
        return draw(st.builds(conv1d, K=st.integers(1, 3), C=st.integers(1, 2), P=st.integers(1, 6),
                              R=st.integers(1, 3), stride=st.integers(1, 3), dilation=st.integers(1, 2)))
    if kind == "gemm":
        return draw(st.builds(gemm, M=st.integers(1, 4), N=st.integers(1, 4), K=st.integers(1, 4),
                              G=st.integers(1, 2)))
    R = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    P = draw(st.integers(1, 3))
    H = stride * (P - 1) + R
    if kind == "depthwise":
        C = draw(st.integers(1, 3))
        return conv2d(C=C, K=C, H=H, R=R, stride=stride, groups=C, W=draw(st.integers(R, R + 2)))
    return conv2d(C=draw(st.integers(1, 2)), K=draw(st.integers(1, 2)), H=H, R=R, stride=stride,
                  W=draw(st.integers(1, 3)), S=1)


@st.composite
def mappings(draw, layer=None, allow_shared_fanout_dims=True):
    """A random legal mapping: per dimension an exact factor split over L temporal levels and
    the fanouts, random loop orders, random keeps (level 0 keeps everything)."""
    layer = layer or draw(layers())
    D = len(layer.bounds)
    L = draw(st.integers(2, 3))
    n_fan = draw(st.integers(0, 2))
    fanout_at = tuple(sorted(draw(st.lists(st.integers(1, L), min_size=n_fan, max_size=n_fan))))
    temporal = np.ones((L, D), dtype=np.int64)
    spatial = np.ones((n_fan, D), dtype=np.int64)
    for d, b in enumerate(layer.bounds):
        slots = [("T", lv) for lv in range(L)] + [("S", s) for s in range(n_fan)]
        order = draw(st.permutations(slots))
        rest = b
        for kind, i in order[:-1]:
            f = draw(st.sampled_from(_divisors(rest)))
            rest //= f
            (temporal[i] if kind == "T" else spatial[i])[d] = f
        kind, i = order[-1]
        (temporal[i] if kind == "T" else spatial[i])[d] = rest
    if not allow_shared_fanout_dims:
        # fanouts above the same level must unroll different dimensions (as the mapper does)
        for s in range(n_fan):
            for s2 in range(s):
                if fanout_at[s2] == fanout_at[s]:
                    for d in range(D):
                        if spatial[s, d] > 1 and spatial[s2, d] > 1:
                            temporal[0, d] *= spatial[s, d]
                            spatial[s, d] = 1
    perm = np.array([draw(st.permutations(range(D))) for _ in range(L)], dtype=np.int64)
    keeps = tuple((True,) + tuple(draw(st.booleans()) for _ in range(L - 1)) for _ in range(3))
    return layer, keeps, temporal, perm, spatial, fanout_at


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mappings())
def test_property_matches_oracle(case):
    want = check_against_oracle(case)
    _closed_form(case, want)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mappings(allow_shared_fanout_dims=False))
def test_property_matches_oracle_mapper_shapes(case):
    """The mapper's shapes: fanouts above one level unroll different dimensions."""
    want = check_against_oracle(case)
    _closed_form(case, want)


# --------------------------------------------------------------------------------------------
# (c) Closed-form checks (any mapping)
# --------------------------------------------------------------------------------------------

def _closed_form(case, counts):
    layer, keeps, temporal, perm, spatial, fanout_at = case
    reads, fills, updates = counts
    nest = to_nest(temporal, perm, spatial, fanout_at)
    L, D = len(temporal), len(layer.bounds)
    macs = layer.macs
    size = {role: t.size(layer.bounds) for role, t in enumerate(layer.tensors)}
    # every weight leaves DRAM at least once; DRAM holds all outputs in the end
    for arr in counts:
        assert (arr >= 0).all(), "negative access count"
    assert reads[0, W] >= size[W]
    if all(c == 1 for rank in layer.tensors[I].ranks for _, c in rank):   # (strided windows skip words)
        assert reads[0, I] >= size[I]
    assert updates[0, O] >= size[O]
    for role in (W, I, O):       # no level is filled with more than its parent sends down
        keepers = [lv for lv in range(L) if keeps[role][lv]]
        for parent, child in zip(keepers, keepers[1:]):
            n_par, n_child = int(instances(nest, parent)[0]), int(instances(nest, child)[0])
            if role != O:
                assert fills[child, role] * n_child >= reads[parent, role] * n_par >= fills[child, role]
    for role, tensor in enumerate(layer.tensors):
        relevant = tensor.relevant(D)
        inner = max(lv for lv in range(L) if keeps[role][lv])
        fans = [s for s, at in enumerate(fanout_at) if at > inner]
        single = all(len(rank) == 1 for rank in tensor.ranks) or all(
            sum(1 for s in fans for d, _ in rank if spatial[s][d] > 1) <= 1 for rank in tensor.ranks)
        if not single:
            continue
        # innermost keeper -> MACs: one access per MAC, divided by the multicast/reduction factor
        shared = math.prod(int(spatial[s][d]) for s in fans for d in range(D) if not relevant[d])
        per_inst = updates[inner, role] if tensor.role == "outputs" else reads[inner, role]
        assert per_inst * int(instances(nest, inner)[0]) * shared == macs, (role, inner)
    # outputs: no temporal reduction loop above the first output keeper below DRAM -> each
    # output is drained to DRAM exactly once and never read back
    out_levels = [lv for lv in range(1, L) if keeps[O][lv]]
    first = out_levels[0] if out_levels else L
    reduction = [d for d in range(D) if not layer.tensors[O].relevant(D)[d]]
    if all(temporal[lv][d] == 1 for lv in range(first) for d in reduction):
        assert updates[0, O] == size[O] and reads[0, O] == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mappings())
def test_property_closed_forms(case):
    """codesign alone, more examples (no oracle needed)."""
    layer, keeps, temporal, perm, spatial, fanout_at = case
    _closed_form(case, codesign_counts(layer.tensors, keeps, temporal, perm, spatial, fanout_at))
