"""The optimized cost core against the implementation it replaced, bit for bit.

``ref_*`` below are the cost core's functions as of commit 8ba86f4 (``codesign/cost/nest.py``
``step_and_extent``; ``codesign/cost/accesses.py`` from ``coefficient_matrix`` to
``tile_words``; ``codesign/cost/analytical.py`` ``evaluate``), copied verbatim before the
speed-up and renamed. The optimized path must reproduce every integer count and every float
of :class:`~codesign.cost.analytical.CostBatch` exactly (``np.array_equal``, same dtype) on
thousands of random legal mappings (conv with stride/dilation/groups, GEMM, attention; two to
four levels; bypasses; one to three fanouts, shared or distinct dimensions, up to three
dimensions per fanout so that the exact multicast enumeration runs too) and on the Timeloop
reference mappings (``../shared/reference/timeloop``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import codesign.cost.accesses as accesses_mod
from codesign.cost.accesses import Accesses, count_accesses
from codesign.cost.analytical import CostBatch, evaluate
from codesign.cost.nest import NestBatch, step_and_extent
from codesign.cost.random_nest import random_nests
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload import ops
from codesign.workload.ir import ROLES, Layer, Tensor


# --------------------------------------------------------------------------------------------
# Reference: the implementation before the speed-up (verbatim, renamed ref_*)
# --------------------------------------------------------------------------------------------

def ref_step_and_extent(nest: NestBatch) -> tuple[np.ndarray, np.ndarray]:
    """Per level and dimension: the step of one temporal iteration and the tile extent.

    ``step[m, l, d]`` = product of dimension d's factors strictly inside level l's temporal
    loops (inner levels' temporal factors and the fanouts below level l);
    ``extent[m, l, d]`` = ``temporal[m, l, d] * step[m, l, d]``: the tile of level l
    (per instance: fanouts above l are not included). Shapes ``[M, L, D]``.
    """
    M, L, D = nest.temporal.shape
    step = np.ones((M, L, D), dtype=np.int64)
    for level in range(L):
        inside = np.prod(nest.temporal[:, level + 1:, :], axis=1)
        for s, at in enumerate(nest.fanout_at):
            if at > level:
                inside = inside * nest.spatial[:, s, :]
        step[:, level, :] = inside
    return step, nest.temporal * step


def ref_coefficient_matrix(tensor: Tensor, n_dims: int) -> np.ndarray:
    """``C[r, d]``: coefficient of dimension d in rank r of ``tensor``."""
    c = np.zeros((len(tensor.ranks), n_dims), dtype=np.int64)
    for r, rank in enumerate(tensor.ranks):
        for d, coef in rank:
            c[r, d] += coef
    return c


def ref_rank_extents(coef: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Bounding-box extent per rank ``[M, R]`` of a tile with per-dimension ``extent [M, D]``."""
    return 1 + (extent - 1) @ coef.T


def ref_instances(nest: NestBatch, level: int) -> np.ndarray:
    """Utilized instances of ``level`` (``L`` = MAC units): product of the fanouts above it. ``[M]``."""
    n = np.ones(nest.size, dtype=np.int64)
    for s, at in enumerate(nest.fanout_at):
        if at <= level:
            n = n * np.prod(nest.spatial[:, s, :], axis=1)
    return n


def ref_child_fills(coef: np.ndarray, nest: NestBatch, step: np.ndarray, extent: np.ndarray, child: int) -> np.ndarray:
    """Words moved into one instance of level ``child`` over the whole layer (Timeloop deltas). ``[M]``.

    The temporal loops above the child, outermost first, are sampled at iterations {0, 1} (see
    the module docstring), so the visits form a binary counter whose transition of type ``k``
    (loop k advances, all inner loops wrap from 1 to 0) translates the tile by
    ``u_k = v_k - sum_{j inside k, N_j > 1} v_j`` (``v`` = tile translation of one iteration) and
    has total weight ``W_k = (N_k - 1) prod_{j outside k} N_j``. A transition fetches
    ``tile - overlap(u_k)`` unless it resets (``tile``) or ``u_k = 0`` (nothing).

    Which transitions reset depends on the previous non-zero translation only: a transition
    resets iff the previous one did not and their translations differ. The sequence of
    transitions of loops ``k..n`` is ``S(k+1), u_k, S(k+1)``, so it is folded from the
    innermost loop outwards, keeping for both possible reset states of its first non-zero
    transition the weighted overlap restored by resets (``extra``) and whether its last
    non-zero transition reset (``last``).
    """
    M = nest.size
    ext_r = ref_rank_extents(coef, extent[:, child, :])                       # [M, R]
    tile = np.prod(ext_r, axis=1)
    if child == 0:
        return tile.copy()
    rows = np.arange(M)
    total = np.prod(nest.temporal[:, :child, :].reshape(M, -1), axis=1)
    inner_prod = np.ones(M, dtype=np.int64)                                 # prod of N inside
    inner_sum = np.zeros_like(ext_r)                                        # sum of v inside (N > 1)
    first_u = np.zeros_like(ext_r)                                          # innermost non-zero u
    has = np.zeros(M, dtype=bool)                                           # a non-zero u inside
    extra = np.zeros((2, M), dtype=np.int64)
    last = np.zeros((2, M), dtype=bool)
    base = tile.copy()
    for level in range(child - 1, -1, -1):
        for pos in range(nest.temporal.shape[2]):                          # innermost first
            d = nest.perm[:, level, pos]
            n = nest.temporal[rows, level, d]
            active = n > 1
            v = np.where(active[:, None], coef[:, d].T * step[rows, level, d][:, None], 0)
            u = v - inner_sum
            moves = active & (u != 0).any(axis=1)
            overlap = np.prod(np.maximum(0, ext_r - np.abs(u)), axis=1)
            weight = (n - 1) * (total // (inner_prod * n))
            base += np.where(moves, weight * (tile - overlap), 0)
            same = (u == first_u).all(axis=1)
            new_extra, new_last = extra.copy(), last.copy()
            for b in (0, 1):
                # u_k non-zero after a sequence with a non-zero translation: u_k resets iff the
                # sequence ended without a reset and u_k differs; the repeated sequence starts
                # with a reset iff u_k did not reset and its first translation differs from u_k.
                resets = ~last[b] & ~same
                again = (~resets & ~same).astype(np.int64)
                ex_again = np.where(again == 1, extra[1], extra[0])
                ls_again = np.where(again == 1, last[1], last[0])
                e_nz = extra[b] + (n - 1) * (resets * overlap + ex_again)
                # u_k zero: the repeated sequence continues the same stride (no reset)
                e_z = extra[b] + (n - 1) * extra[0]
                # no non-zero translation inside: u_k is the sequence's first, reset state b
                e_first = (n - 1) * b * overlap
                new_extra[b] = np.where(has & moves, e_nz, np.where(has & active, e_z,
                                        np.where(moves, e_first, extra[b])))
                new_last[b] = np.where(has & moves, ls_again, np.where(has & active, last[0],
                                       np.where(moves, bool(b), last[b])))
            extra, last = new_extra, new_last
            first_u = np.where((moves & ~has)[:, None], u, first_u)
            has = has | moves
            inner_sum = inner_sum + v
            inner_prod = inner_prod * n
    return base + extra[0]


def ref_fanout_steps(nest: NestBatch) -> list[np.ndarray]:
    """Per fanout ``[M, D]``: the step of its spatial loops (product of the factors inside it).

    Inside a fanout are all temporal loops of the levels below it, the fanouts of lower levels
    and, among fanouts directly above the same level, those listed after it (lower index outer).
    """
    total_temporal = np.prod(nest.temporal, axis=1)
    steps = []
    for s, at in enumerate(nest.fanout_at):
        inner = total_temporal // np.prod(nest.temporal[:, :at, :], axis=1)
        for s2, at2 in enumerate(nest.fanout_at):
            if at2 > at or (at2 == at and s2 > s):
                inner = inner * nest.spatial[:, s2, :]
        steps.append(inner)
    return steps


def ref_distinct_children(coef: np.ndarray, nest: NestBatch, parent: int, child: int) -> np.ndarray:
    """Distinct tiles of a tensor among the spatial children of one parent instance. ``[M]``.

    Children of the fanouts between ``parent`` and ``child`` that see the same coordinates share
    one parent access (multicast, or reduction for outputs). Per fanout group (the fanouts
    directly above one level) the children are counted jointly: per rank the offsets are
    ``sum coef * step * i`` over the group's spatial loops, counted exactly. Groups multiply
    (Timeloop's bypass promotion). Assumes each dimension indexes at most one rank of the
    tensor (true of every operator of the IR), so per-rank counts multiply too.
    """
    M, L, D = nest.temporal.shape
    fans = [s for s, at in enumerate(nest.fanout_at) if parent < at <= child]
    count = np.ones(M, dtype=np.int64)
    if not fans:
        return count
    steps = ref_fanout_steps(nest)
    for at in sorted({nest.fanout_at[s] for s in fans}):
        group = [s for s in fans if nest.fanout_at[s] == at]
        for r in range(coef.shape[0]):
            terms = [(coef[r, d] * steps[s][:, d], nest.spatial[:, s, d])
                     for s in group for d in range(D) if coef[r, d] and nest.spatial[:, s, d].max() > 1]
            if terms:
                count = count * ref_distinct_sums(terms, M)
    return count


def ref_distinct_sums(terms: list[tuple[np.ndarray, np.ndarray]], M: int) -> np.ndarray:
    """Number of distinct values of ``sum_k u_k * i_k`` with ``0 <= i_k < n_k`` (``u_k > 0``). ``[M]``.

    One term: ``n``. Two terms: with ``g = gcd(u, v)``, the pairs ``(i, j)`` and ``(i + v/g,
    j - u/g)`` collide, so ``a*b - max(0, a - v/g) * max(0, b - u/g)``. More terms: every sum
    is enumerated on the grid of the batch's largest ``n_k`` (index ``i mod n_k`` repeats values
    without adding new ones) and the distinct values are counted after a sort.
    """
    if len(terms) == 1:
        return terms[0][1].astype(np.int64)
    if len(terms) == 2:
        (u, a), (v, b) = terms
        g = np.gcd(u, v)
        return a * b - np.maximum(0, a - v // g) * np.maximum(0, b - u // g)
    sums = np.zeros((M, 1), dtype=np.int64)
    for u, n in terms:
        idx = np.arange(int(n.max()), dtype=np.int64)[None, :] % n[:, None]      # [M, n_max]
        sums = (sums[:, :, None] + (u[:, None] * idx)[:, None, :]).reshape(M, -1)
    sums.sort(axis=1)
    return 1 + (np.diff(sums, axis=1) != 0).sum(axis=1)


def ref_partition_words(coef: np.ndarray, nest: NestBatch, extent: np.ndarray, level: int) -> np.ndarray:
    """Timeloop's partition of a tensor at one instance of ``level`` (words). ``[M]``.

    Level 0 holds the whole tensor; at each fanout group directly above a level ``a <= level``
    the partition is scaled (integer arithmetic, as Timeloop's ``ComputePartitionSizes``) by the
    tile words of ``a`` over the words of the group's union of tiles (the tile of ``a`` extended
    by the group's spatial factors).
    """
    words = np.prod(ref_rank_extents(coef, extent[:, 0, :]), axis=1)
    for at in sorted({at for at in nest.fanout_at if 0 < at <= level}):
        spread = np.ones_like(extent[:, at, :])
        for s, at2 in enumerate(nest.fanout_at):
            if at2 == at:
                spread = spread * nest.spatial[:, s, :]
        tile = np.prod(ref_rank_extents(coef, extent[:, at, :]), axis=1)
        union = np.prod(ref_rank_extents(coef, extent[:, at, :] * spread), axis=1)
        words = words * tile // union
    return words


def ref_count_accesses(tensors: tuple[Tensor, Tensor, Tensor], keeps: tuple[tuple[bool, ...], ...],
                   nest: NestBatch, step: np.ndarray, extent: np.ndarray) -> Accesses:
    """Reads, fills and updates per instance for every level and role. ``keeps[role][level]``.

    The outermost keeper of a tensor is its backing store (no fills); a tensor kept nowhere
    moves no data.
    """
    M, L, D = nest.temporal.shape
    reads = np.zeros((M, L, 3), dtype=np.int64)
    fills = np.zeros((M, L, 3), dtype=np.int64)
    updates = np.zeros((M, L, 3), dtype=np.int64)
    steps = np.prod(nest.temporal.reshape(M, -1), axis=1)
    for role, tensor in enumerate(tensors):
        coef = ref_coefficient_matrix(tensor, D)
        levels = [lv for lv in range(L) if keeps[role][lv]]
        is_output = tensor.role == "outputs"
        for parent, child in zip(levels, levels[1:] + [L]):
            distinct = ref_distinct_children(coef, nest, parent, child)
            if child == L:
                moved = steps
            else:
                moved = ref_child_fills(coef, nest, step, extent, child)
                fills[:, child, role] = moved - (ref_partition_words(coef, nest, extent, child) if is_output else 0)
            if is_output:
                updates[:, parent, role] = moved * distinct
                reads[:, parent, role] = updates[:, parent, role] - ref_partition_words(coef, nest, extent, parent)
            else:
                reads[:, parent, role] = moved * distinct
    return Accesses(reads, fills, updates)


def ref_tile_words(tensor: Tensor, extent: np.ndarray) -> np.ndarray:
    """Words of ``tensor``'s tile for per-dimension ``extent [M, D]``. ``[M]``."""
    return np.prod(ref_rank_extents(ref_coefficient_matrix(tensor, extent.shape[1]), extent), axis=1)


def ref_evaluate(layer: Layer, acc: Accelerator, nest: NestBatch) -> CostBatch:
    """Evaluate every mapping in ``nest`` for one occurrence of ``layer`` on ``acc``."""
    M, L, D = nest.temporal.shape
    step, extent = ref_step_and_extent(nest)
    keeps = tuple(acc.keeps(role) for role in ROLES)
    acc_counts = ref_count_accesses(layer.tensors, keeps, nest, step, extent)
    role_bytes = np.array(acc.layer_bytes(layer.tensors), dtype=np.float64)
    inst = np.stack([ref_instances(nest, lv) for lv in range(L)], axis=1)

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
                need = need + ref_tile_words(tensor, extent[:, lv, :]) * role_bytes[role]
        if level.double_buffered:
            need = need * 2
        fits &= need <= level.size_bytes

    utilization = layer.macs / (cycles * acc.num_macs)
    return CostBatch(cycles, compute, level_cycles, energy, level_energy, mac_pj, utilization, fits,
                     acc_counts, inst)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

ALL = ("weights", "inputs", "outputs")


def _conv(**a) -> Layer:
    batch = a.pop("batch", 1)
    return ops.conv2d("conv", a, batch, 1)


def _exotic() -> Layer:
    """Projections no IR operator makes but Timeloop problems may: a dimension in two ranks of one
    tensor, a stride-only rank with coefficient 2, a window over three dimensions."""
    k, c, p, q, r = range(5)
    tensors = (Tensor("W", "weights", (((k, 1),), ((c, 1), (r, 1)), ((r, 1),))),
               Tensor("I", "inputs", (((c, 1),), ((p, 2),), ((p, 1), (r, 1)), ((q, 1), (r, 2), (c, 1)))),
               Tensor("O", "outputs", (((k, 1), (q, 1)), ((p, 1),))))
    return Layer("exotic", "exotic", ("K", "C", "P", "Q", "R"), (4, 3, 6, 4, 3), tensors)


LAYERS = {
    "exotic": _exotic(),
    "conv3x3": _conv(C=16, K=16, H=14, R=3, pad=1),
    "conv_stride2": _conv(C=8, K=12, H=15, R=3, stride=2),
    "conv_dilated": _conv(C=4, K=8, H=12, R=3, dilation=2),
    "conv_strided_dilated": _conv(C=2, K=4, H=17, R=3, stride=[2, 3], dilation=[2, 1], batch=2),
    "depthwise": _conv(C=8, K=8, H=10, R=3, groups=8),
    "conv_grouped_7x7": _conv(C=8, K=8, H=20, R=7, stride=2, groups=2),
    "conv2x2": _conv(C=2, K=2, H=9, R=2),
    "linear": ops.linear("fc", {"in": 96, "out": 60, "tokens": 12}, 2, 1),
    "attention": ops.matmul("qk", {"M": 24, "N": 24, "K": 16, "heads": 4, "kv_heads": 2}, 1, 1),
}

# (levels, fanout_at, fanout sizes, max dims per fanout, shared fanout dims)
SHAPES = [
    (3, (2, 2), (4, 6), 2, False),        # DRAM, GLB, RF under rows x cols (the benchmark's shape)
    (3, (2, 2), (4, 4), 3, True),         # rows and cols may unroll the same dimension
    (3, (2, 3), (12, 4), 2, False),       # the mapper's shape: array above RF, lanes above the MACs
    (2, (1,), (16,), 3, False),           # one fanout, three dimensions on it
    (4, (1, 3, 3), (4, 3, 3), 2, True),   # fanouts above two levels
    (3, (), (), 0, False),                # no fanout
    (3, (2, 2), (16, 8), 3, True),        # up to four spatial loops on one rank: exact enumeration
    (3, (0, 2), (2, 4), 2, True),         # a fanout above level 0 (several DRAM instances)
]


def _accelerator(rng: np.random.Generator, L: int, rows: int = 4, cols: int = 4) -> Accelerator:
    clock, node = 1e9, 28.0
    levels = [make_level("DRAM", "dram", True, None, 12.8e9, None, ALL, True, "LPDDR4", clock, node)]
    for lv in range(1, L):
        holds = tuple(r for r in ALL if rng.random() < 0.7)
        kind = "regfile" if lv == L - 1 else "sram"
        size = int(rng.choice([64, 256, 1024, 16384, 262144]))
        bpc = None if rng.random() < 0.3 else float(rng.choice([4.0, 16.0, 64.0]))
        levels.append(make_level(f"L{lv}", kind, lv < L - 1, size, None, bpc, holds, bool(rng.random() < 0.7),
                                 None, clock, node))
    return Accelerator(rows, cols, 1, "flexible", "int8", clock, node, tuple(levels), tech.mac_energy_pj("int8", node))


def _cases(seed: int, per_case: int):
    rng = np.random.default_rng(seed)
    for lname, layer in LAYERS.items():
        for si, (L, fanout_at, sizes, k, shared) in enumerate(SHAPES):
            acc = _accelerator(rng, L)
            nest = random_nests(layer.bounds, L, fanout_at, sizes, per_case, rng, max_dims_per_fanout=k,
                                shared_fanout_dims=shared)
            yield f"{lname}-{si}", layer, acc, nest


def _assert_same(got, want, what: str) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    bad = np.argwhere(~((got == want) | (np.isnan(got) & np.isnan(want))) if got.dtype.kind == "f" else got != want)
    assert not len(bad), f"{what}: {len(bad)} differences, first at {bad[0].tolist()}: {got[tuple(bad[0])]} != {want[tuple(bad[0])]}"


def _assert_same_cost(got: CostBatch, want: CostBatch, what: str) -> None:
    for field in ("cycles", "compute_cycles", "level_cycles", "energy_pj", "level_energy_pj", "utilization", "fits",
                  "level_instances"):
        _assert_same(getattr(got, field), getattr(want, field), f"{what} {field}")
    assert got.mac_energy_pj == want.mac_energy_pj
    for field in ("reads", "fills", "updates"):
        _assert_same(getattr(got.accesses, field), getattr(want.accesses, field), f"{what} accesses.{field}")


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_matches_reference_on_random_mappings(seed):
    """10 layers x 8 hierarchy shapes x 150 mappings x 2 seeds = 24,000 random legal mappings."""
    for name, layer, acc, nest in _cases(seed, 150):
        _assert_same_cost(evaluate(layer, acc, nest), ref_evaluate(layer, acc, nest), name)


def test_count_accesses_matches_reference_with_random_bypasses():
    rng = np.random.default_rng(7)
    for name, layer, acc, nest in _cases(7, 120):
        L = nest.temporal.shape[1]
        keeps = tuple((True,) + tuple(bool(b) for b in rng.random(L - 1) < 0.5) for _ in range(3))
        step, extent = step_and_extent(nest)
        got = count_accesses(layer.tensors, keeps, nest, step, extent)
        want = ref_count_accesses(layer.tensors, keeps, nest, step, extent)
        for field in ("reads", "fills", "updates"):
            _assert_same(getattr(got, field), getattr(want, field), f"{name} keeps={keeps} {field}")
        _assert_same(step, ref_step_and_extent(nest)[0], f"{name} step")
        _assert_same(extent, ref_step_and_extent(nest)[1], f"{name} extent")


def test_chunk_boundaries(monkeypatch):
    """Several chunks, a short last one."""
    rng = np.random.default_rng(3)
    layer = LAYERS["conv_strided_dilated"]
    acc = _accelerator(rng, 3)
    nest = random_nests(layer.bounds, 3, (2, 2), (4, 6), 1000, rng, max_dims_per_fanout=3, shared_fanout_dims=True)
    want = ref_evaluate(layer, acc, nest)
    monkeypatch.setattr(accesses_mod, "CHUNK", 96)
    
    _assert_same_cost(evaluate(layer, acc, nest), want, "small chunks")


def test_single_mappings_match_reference():
    """The scalar path (one mapping per call), as the mapper's replay and the Timeloop bridge use it."""
    for name, layer, acc, nest in _cases(11, 8):
        for i in range(nest.size):
            one = nest.take(i)
            _assert_same_cost(evaluate(layer, acc, one), ref_evaluate(layer, acc, one), f"{name} #{i}")


def test_python_int_counts_match_int64():
    """``dtype=object`` (arbitrary precision) counts the same as int64 where int64 suffices."""
    for name, layer, acc, nest in _cases(5, 40):
        keeps = tuple(acc.keeps(r) for r in ROLES)
        got = count_accesses(layer.tensors, keeps, nest, dtype=object)
        want = count_accesses(layer.tensors, keeps, nest)
        for field in ("reads", "fills", "updates"):
            assert getattr(got, field).dtype == object
            _assert_same(getattr(got, field).astype(np.int64), getattr(want, field), f"{name} {field}")


def test_public_helpers_match_reference():
    """child_fills, distinct_children, partition_words, instances and tile_words, one tensor at a time."""
    from codesign.cost import accesses

    for name, layer, acc, nest in _cases(13, 60):
        M, L, D = nest.temporal.shape
        step, extent = step_and_extent(nest)
        for tensor in layer.tensors:
            coef = accesses.coefficient_matrix(tensor, D)
            for child in range(1, L):
                _assert_same(accesses.child_fills(coef, nest, step, extent, child),
                             ref_child_fills(coef, nest, step, extent, child), f"{name} {tensor.name} fills {child}")
            for parent in range(L):
                for child in range(parent + 1, L + 1):
                    _assert_same(accesses.distinct_children(coef, nest, parent, child),
                                 ref_distinct_children(coef, nest, parent, child), f"{name} {tensor.name} distinct")
                _assert_same(accesses.partition_words(coef, nest, extent, parent),
                             ref_partition_words(coef, nest, extent, parent), f"{name} {tensor.name} partition")
            for lv in range(L):
                _assert_same(accesses.tile_words(tensor, extent[:, lv, :]), ref_tile_words(tensor, extent[:, lv, :]),
                             f"{name} tile")
        for lv in range(L + 1):
            _assert_same(accesses.instances(nest, lv), ref_instances(nest, lv), f"{name} instances")


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "timeloop"
TIMELOOP_CASES = sorted(p.name for p in REFERENCE.iterdir() if (p / "case.yaml").exists()) if REFERENCE.exists() else []


@pytest.mark.parametrize("case_id", TIMELOOP_CASES)
def test_timeloop_reference_mappings_match_reference(case_id):
    """The mappings of the eleven Timeloop reference cases, as the bridge parses them."""
    from codesign.interop.timeloop import load_doc, read_architecture
    from codesign.interop.timeloop_problem import read_mapping, read_problem

    out = REFERENCE / case_id / "ref_output"
    doc = load_doc(out / "parsed-processed-input.yaml", "spec")
    arch, problem = read_architecture(doc), read_problem(doc)
    maps = sorted(out.glob("*.map.yaml"))
    mdoc = load_doc(maps[0], "mapping") if maps else doc
    parsed = read_mapping(mdoc, ("mapping",), arch, problem)
    step, extent = step_and_extent(parsed.nest)
    got = count_accesses(problem.layer.tensors, parsed.keeps, parsed.nest, step, extent)
    want = ref_count_accesses(problem.layer.tensors, parsed.keeps, parsed.nest, step, extent)
    for field in ("reads", "fills", "updates"):
        _assert_same(getattr(got, field), getattr(want, field), f"{case_id} {field}")
