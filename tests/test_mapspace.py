"""The mapping space and the mapper's shortcuts, each checked against the cost core:

- the order reductions of :mod:`codesign.compiler.mapspace` (innermost level's order, inactive
  loops) change no cost, and the reduced space reaches the optimum of the unreduced one;
- the capacity check of :mod:`codesign.compiler.tiles` agrees with :func:`evaluate`'s ``fits``;
- a layer without its bound-1 dimensions costs the same;
- the lower bounds of :mod:`codesign.compiler.bounds` never exceed the cost core;
- the divisor lattice's maximal tiles and greedy growth agree with brute force.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

import codesign

from codesign.compiler.bounds import best_bounds, lower_bounds, traffic_bounds
from codesign.compiler.mapspace import Chunk, enumerate_mapspace, exhaustive
from codesign.compiler.orders import irrelevance, role_combinations, stationary_orders
from codesign.compiler.spatial import spatial_options, utilization
from codesign.compiler.policy import SchedulePolicy
from codesign.compiler.tiles import factorizations, fits, level_extents, squeeze, Lattice
from codesign.cost.analytical import evaluate
from codesign.cost.nest import NestBatch
from codesign.workload.ir import Layer
from codesign.workload.ops import conv2d
from tests.test_mapper_optimality import HIERARCHIES, LAYERS, _conv, hierarchy

CASES = [(h, layer) for h in ("ws_dram_glb_rf", "rs_rf_bypasses_inputs", "os_dram_glb")
         for layer in (LAYERS[0], LAYERS[3], LAYERS[6], LAYERS[12], LAYERS[16])]
IDS = [f"{h}-{layer.name}" for h, layer in CASES]


@functools.lru_cache(maxsize=None)
def sample(layer: Layer, hier: str, n: int = 400, seed: int = 0) -> Chunk:
    """``n`` mappings drawn from the (reduced, capacity-filtered) mapping space."""
    parts = list(enumerate_mapspace(layer, HIERARCHIES[hier], chunk=10 ** 9))
    temporal = np.concatenate([p.temporal for p in parts])
    pick = np.random.default_rng(seed).choice(len(temporal), size=min(n, len(temporal)), replace=False)
    return Chunk(temporal[pick], np.concatenate([p.perm for p in parts])[pick],
                 np.concatenate([np.asarray(p.axes) for p in parts])[pick])


def cost(layer: Layer, hier: str, chunk: Chunk):
    acc = HIERARCHIES[hier]
    return evaluate(layer, acc, chunk.nest(acc.first_per_pe_level))


@pytest.mark.parametrize("hier,layer", CASES, ids=IDS)
def test_innermost_order_and_inactive_loops_change_nothing(hier: str, layer: Layer) -> None:
    chunk = sample(layer, hier)
    rng = np.random.default_rng(1)
    perm = chunk.perm.copy()
    perm[:, -1] = rng.permuted(perm[:, -1], axis=1)                      # any innermost order
    active = np.take_along_axis(chunk.temporal, chunk.perm, axis=2) > 1
    key = np.where(active, np.arange(perm.shape[2]), -1 - rng.integers(0, 100, size=perm.shape))
    outer = np.take_along_axis(chunk.perm, np.argsort(key, axis=2, kind="stable"), axis=2)
    perm[:, :-1] = outer[:, :-1]                                         # inactive loops first, active kept in order
    a, b = cost(layer, hier, chunk), cost(layer, hier, Chunk(chunk.temporal, perm, chunk.axes))
    np.testing.assert_allclose(b.energy_pj, a.energy_pj, rtol=1e-12)
    np.testing.assert_allclose(b.cycles, a.cycles, rtol=1e-12)


def order_ratios(layer: Layer, hier: str) -> np.ndarray:
    """For every legal tiling of ``layer`` on ``hier``: its lower bound over all orders
    (:func:`best_bounds`) divided by the energy of its cheapest loop order, every order at every
    level costed by the cost core (:func:`enumerate_mapspace`). ``[T]``; a bound holds where <= 1."""
    acc = HIERARCHIES[hier]
    chunk = Chunk.concat(list(enumerate_mapspace(layer, acc, chunk=10 ** 9)))
    exact = cost(layer, hier, chunk)
    _, tiling = np.unique(chunk.keys(with_orders=False), return_inverse=True)
    tiling = tiling.ravel()
    cheapest = np.full(tiling.max() + 1, np.inf)
    np.minimum.at(cheapest, tiling, np.where(exact.fits, exact.energy_pj, np.inf))
    one = chunk.take(np.unique(tiling, return_index=True)[1])
    bound, _ = best_bounds(layer, acc, traffic_bounds(layer, acc, one.temporal, one.axes[:, 0] * one.axes[:, 1],
                                                      one.axes[:, 2]))
    legal = np.isfinite(cheapest)
    return bound[legal] / cheapest[legal]


WINDOWED = [LAYERS[0], LAYERS[3], LAYERS[6], LAYERS[10]]


@pytest.mark.parametrize("hier", ["ws_dram_glb_rf", "os_dram_glb", "rs_rf_bypasses_inputs"])
@pytest.mark.parametrize("layer", WINDOWED, ids=[layer.name for layer in WINDOWED])
def test_window_bounds_hold_over_every_order_and_are_tight(hier: str, layer: Layer) -> None:
    """Sliding-window inputs (stride 2, depthwise, dilation 2 among them): over every loop order of
    every tiling, the bound never exceeds the cheapest order, and at the median tiling it is within
    2% of it (counting a refetch only where a channel loop moves, the bound was 0.66-0.91 of it)."""
    ratio = order_ratios(layer, hier)
    assert len(ratio) > 50
    assert ratio.max() <= 1 + 1e-9
    assert np.median(ratio) >= 0.98


@pytest.mark.parametrize("hier", ["ws_dram_glb_rf", "os_dram_glb"])
def test_reduced_orders_reach_the_optimum_of_all_orders(hier: str) -> None:
    """Tiny GEMM: every order at every level (on the squeezed dims) vs the reduced space."""
    layer = LAYERS[14]
    acc = HIERARCHIES[hier]
    small = squeeze(layer)
    best = np.inf
    L, D = len(acc.levels), len(small.layer.dims)
    for axes in spatial_options(small.layer, acc, SchedulePolicy()):
        q = -(-np.array(small.layer.bounds) // np.prod(axes, axis=0))
        tables = [factorizations(int(x), L) for x in q]
        idx = np.indices([len(t) for t in tables]).reshape(D, -1).T
        temporal = np.stack([tables[d][idx[:, d]] for d in range(D)], axis=2)
        ext = level_extents(temporal, np.broadcast_to(axes[0] * axes[1], (len(temporal), D)),
                            np.broadcast_to(axes[2], (len(temporal), D)), acc.first_per_pe_level)
        temporal = temporal[fits(small.layer, acc, ext)]
        orders = np.array(list(itertools.product(itertools.permutations(range(D)), repeat=L)), dtype=np.int64)
        t = np.repeat(temporal, len(orders), axis=0)
        p = np.tile(orders, (len(temporal), 1, 1))
        spatial = np.broadcast_to(np.stack([axes[0] * axes[1], axes[2]]), (len(t), 2, D))
        c = evaluate(small.layer, acc, NestBatch(t, p, spatial, (acc.first_per_pe_level, L)))
        best = min(best, float(c.energy_pj[c.fits].min(initial=np.inf)))
    reduced = exhaustive(layer, acc)
    assert float(reduced.energy_pj.min()) == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("hier,layer", CASES[:5], ids=IDS[:5])
def test_capacity_check_agrees_with_the_cost_core(hier: str, layer: Layer) -> None:
    acc = HIERARCHIES[hier]
    L, D = len(acc.levels), len(layer.dims)
    for axes in spatial_options(layer, acc, SchedulePolicy())[:6]:
        q = -(-np.array(layer.bounds) // np.prod(axes, axis=0))
        tables = [factorizations(int(x), L) for x in q]
        idx = np.indices([len(t) for t in tables]).reshape(D, -1).T
        temporal = np.stack([tables[d][idx[:, d]] for d in range(D)], axis=2)
        perm = np.broadcast_to(np.arange(D), temporal.shape).copy()
        chunk = Chunk(temporal, perm, np.broadcast_to(axes, (len(temporal), 3, D)))
        ext = level_extents(temporal, chunk.axes[:, 0] * chunk.axes[:, 1], chunk.axes[:, 2], acc.first_per_pe_level)
        mine = fits(layer, acc, ext)
        assert mine.any() and not mine.all()
        np.testing.assert_array_equal(mine, cost(layer, hier, chunk).fits)


@pytest.mark.parametrize("hier,layer", CASES, ids=IDS)
def test_squeezed_layer_costs_the_same(hier: str, layer: Layer) -> None:
    chunk = sample(layer, hier, n=200)
    small = squeeze(layer)
    keep = list(small.keep)
    inner = Chunk(chunk.temporal[:, :, keep], np.argsort(np.argsort(chunk.perm, axis=2)[:, :, keep], axis=2),
                  chunk.axes[:, :, keep])
    full, squeezed = cost(layer, hier, chunk), cost(small.layer, hier, inner)
    np.testing.assert_allclose(squeezed.energy_pj, full.energy_pj, rtol=1e-12)
    np.testing.assert_allclose(squeezed.cycles, full.cycles, rtol=1e-12)
    np.testing.assert_array_equal(squeezed.fits, full.fits)


@pytest.mark.parametrize("hier,layer", CASES, ids=IDS)
def test_bounds_never_exceed_the_cost_core(hier: str, layer: Layer) -> None:
    acc = HIERARCHIES[hier]
    chunk = sample(layer, hier, n=300, seed=2)
    roles = role_combinations(len(acc.levels), "any")
    array, lanes = chunk.axes[:, 0] * chunk.axes[:, 1], chunk.axes[:, 2]
    energy, cycles = lower_bounds(layer, acc, chunk.temporal, array, lanes, roles)
    exact = cost(layer, hier, chunk)
    best_e, best_c = best_bounds(layer, acc, traffic_bounds(layer, acc, chunk.temporal, array, lanes))
    assert np.allclose(best_e, energy.min(axis=1)) and np.all(best_c <= cycles.min(axis=1) * (1 + 1e-9))
    assert np.all(energy.min(axis=1) <= exact.energy_pj * (1 + 1e-9))       # any order: the best combination
    assert np.all(cycles.min(axis=1) <= exact.cycles * (1 + 1e-9))
    active = chunk.temporal[:, :-1] > 1
    checked = 0
    for k in range(len(roles)):            # a stationarity order, where every level serves its tensor: its own bound
        ordered = Chunk(chunk.temporal, stationary_orders(layer, chunk.temporal, np.tile(roles[k], (chunk.size, 1))),
                        chunk.axes)
        c = cost(layer, hier, ordered)
        served = (active & irrelevance(layer)[roles[k, :-1]][None]).any(axis=2) | ~active.any(axis=2)
        own = served.all(axis=1)
        checked += int(own.sum())
        assert np.all(energy[own, k] <= c.energy_pj[own] * (1 + 1e-9))
        assert np.all(cycles[own, k] <= c.cycles[own] * (1 + 1e-9))
    assert checked > 0
    free_e, free_c = lower_bounds(layer, acc, chunk.temporal, array, lanes, roles, tiling_free=True)
    assert np.all(free_e[:, 0] <= exact.energy_pj * (1 + 1e-9)) and np.all(free_c[:, 0] <= exact.cycles * (1 + 1e-9))


def test_tiling_bounds_hold_on_random_orders_of_real_layers() -> None:
    """ResNet-18's and MobileNetV2's layers (7x7 stride 2, 3x3, depthwise, 1x1) on two random edge
    designs: 12 random loop orders (every level permuted) of each of the first two shortlisted
    spatial choices' candidate tilings cost at least the tiling's bound over all orders."""
    from codesign.compiler.memo import tilings_many
    from codesign.compiler.shortlist import spatial_shortlist
    from codesign.flow import build_accelerator, policy_of, space_workloads
    from tests.test_prune import EDGE, random_designs

    space = codesign.load_space(EDGE)
    rng = np.random.default_rng(4)
    checked = 0
    for design in random_designs(EDGE, 2, seed=13):
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        layers = {squeeze(lr.canonical()).layer for w in space_workloads(space, space.base_dir) for lr in w.layers}
        for layer in sorted(layers, key=lambda x: (x.bounds, x.op)):
            choices, _, _ = spatial_shortlist(layer, acc, policy)
            for (temporal, traffic), axes in zip(tilings_many([(layer, choices[:2])], acc)[0], choices[:2]):
                pick = rng.choice(len(temporal), size=min(12, len(temporal)), replace=False)
                M, L, D = temporal[pick].shape
                perm = np.array([[rng.permutation(D) for _ in range(L)] for _ in range(M)]).reshape(M, L, D)
                mapped = evaluate(layer, acc, Chunk(temporal[pick], perm, np.broadcast_to(axes, (M, 3, D))).nest(
                    acc.first_per_pe_level))
                energy, cycles = best_bounds(layer, acc, traffic.take(pick))
                assert np.all(energy <= mapped.energy_pj * (1 + 1e-9)), layer
                assert np.all(cycles <= mapped.cycles * (1 + 1e-9)), layer
                checked += M
    assert checked > 1000


@pytest.mark.parametrize("hier", ["ws_dram_glb_rf", "os_dram_glb"])
def test_tiling_free_bound_holds_on_a_squeezed_strided_1x1_conv(hier: str) -> None:
    """Squeezed (no R), a 1-D 1x1 convolution of stride 2 (H = 8, so P = 4) indexes its inputs by
    ``2p`` alone: tiles of one column fetch only the columns it touches (C x 4 input words, not the
    C x 7 bounding box), which the tiling-free bound must not exceed."""
    layer = squeeze(_conv("conv1x1_stride2", C=4, K=4, H=8, stride=2)).layer
    acc = HIERARCHIES[hier]
    chunk = sample(layer, hier, n=300, seed=3)
    free_e, free_c, exact = _tiling_free_and_exact(layer, hier, chunk)
    assert np.all(free_e <= exact.energy_pj * (1 + 1e-9)) and np.all(free_c <= exact.cycles * (1 + 1e-9))
    array, lanes = chunk.axes[:, 0] * chunk.axes[:, 1], chunk.axes[:, 2]
    unpadded = np.all(np.prod(chunk.axes, axis=1) == 1, axis=1)
    dram_words = traffic_bounds(layer, acc, chunk.temporal, array, lanes, tiling_free=True).base[unpadded, 0]
    assert np.all(dram_words == 4 * 4 + 4 * 4 + 4 * 4)      # weights, inputs touched, outputs (1 B each)


@pytest.mark.parametrize("hier", sorted(HIERARCHIES))
@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_tiling_free_bound_holds_on_every_small_layer_and_hierarchy(hier: str, layer: Layer) -> None:
    """The tiling-free bound (every level's compulsory traffic) is at most the cost core's energy and
    cycles of 100 random mappings, on every hierarchy (register files that bypass inputs, MAC lanes,
    no register file) and every layer of the optimality suite (windows, strides, groups, padding)."""
    free_e, free_c, exact = _tiling_free_and_exact(layer, hier, sample(layer, hier, n=100, seed=9))
    assert np.all(free_e <= exact.energy_pj * (1 + 1e-9)) and np.all(free_c <= exact.cycles * (1 + 1e-9))


def _tiling_free_and_exact(layer: Layer, hier: str, chunk: Chunk):
    """The tiling-free bounds (energy pJ, cycles; ``[M]`` each) of each mapping's spatial choice, and its cost."""
    acc = HIERARCHIES[hier]
    roles = role_combinations(len(acc.levels), "any")
    array, lanes = chunk.axes[:, 0] * chunk.axes[:, 1], chunk.axes[:, 2]
    free_e, free_c = lower_bounds(layer, acc, chunk.temporal, array, lanes, roles, tiling_free=True)
    return free_e[:, 0], free_c[:, 0], cost(layer, hier, chunk)


def test_tiling_free_bound_counts_every_word_into_each_level_once() -> None:
    """A 1x1 convolution (C4 K8 H4: 32 weights, 16 inputs, 32 outputs) unrolled nowhere on DRAM - GLB - RF:
    whatever the tiling, every weight and input enters the GLB once and leaves it for the RF once, enters
    the RF once, and every output is written back to the GLB at least once (partial sums at
    accumulator width); the outputs leave the chip once, at operand width."""
    acc = HIERARCHIES["ws_dram_glb_rf"]
    layer = squeeze(LAYERS[2]).layer
    w_b, i_b, o_b = acc.layer_bytes(layer.tensors)
    D = len(layer.dims)
    temporal = np.ones((1, len(acc.levels), D), dtype=np.int64)
    temporal[0, 0] = layer.bounds
    ones = np.ones((1, D), dtype=np.int64)
    base = traffic_bounds(layer, acc, temporal, ones, ones, tiling_free=True).base[0]
    assert base[0] == 32 * w_b + 16 * i_b + 32 * acc.operand_bytes
    assert base[1] == 2 * (32 * w_b + 16 * i_b) + 32 * o_b
    assert base[2] >= 32 * w_b + 16 * i_b
    chunk = sample(LAYERS[2], "ws_dram_glb_rf", n=300, seed=4)
    exact = cost(LAYERS[2], "ws_dram_glb_rf", chunk)
    unrolled = np.prod(chunk.axes, axis=(1, 2)) == 1
    assert unrolled.sum() > 0
    glb = exact.level_energy_pj[unrolled, 1] / acc.levels[1].access_pj_per_byte
    assert np.all(glb >= base[1] * (1 - 1e-9))                 # bytes the GLB moves in every sampled mapping


@pytest.mark.parametrize("dataflow", ["flexible", "output_stationary", "weight_stationary", "row_stationary"])
@pytest.mark.parametrize("shape", [dict(C=144, K=144, H=28, W=28, R=3, S=3, groups=144), dict(C=32, K=96, H=56, W=56),
                                   dict(C=64, K=128, H=56, W=56, R=3, S=3, stride=2)], ids=["depthwise", "pointwise", "conv_s2"])
def test_kept_spatial_options_reach_the_best_utilization(dataflow: str, shape: dict) -> None:
    """The mapper combines a few options per array axis (``per_axis``); the best utilization of
    every combination (brute force, the same two dimensions per axis at most) must be among them,
    including where rows and columns may unroll the same dimensions (a depthwise layer on a
    flexible 64 x 64 array: G48 x P28, not G64 on one axis and nothing on the other)."""
    layer = squeeze(conv2d("x", shape, 1, 1)).layer
    acc = hierarchy(dataflow, 64, 64, 1, glb=2**20, rf=64)
    policy = SchedulePolicy()
    every = spatial_options(layer, acc, policy, max_dims=2)
    kept = spatial_options(layer, acc, policy, max_dims=2, per_axis=12)
    assert len(kept) < len(every)
    assert utilization(layer.bounds, kept, acc.num_macs).max() == utilization(layer.bounds, every, acc.num_macs).max()

def test_lattice_maximal_tiles_and_growth_match_brute_force() -> None:
    q = (12, 8, 3)
    lat = Lattice(q)
    member = np.prod(lat.points, axis=1) <= 20
    points = [tuple(p) for p in lat.points]
    inside = {p for p, m in zip(points, member) if m}

    def steps(p: tuple[int, ...]) -> list[tuple[int, ...]]:
        return [p[:d] + (p[d] * k,) + p[d + 1:] for d in range(3) for k in (2, 3) if q[d] % (p[d] * k) == 0]

    expect = {p for p in inside if not any(s in inside for s in steps(p))}
    assert {p for p, m in zip(points, lat.maximal(member)) if m} == expect
    start = np.array([points.index((1, 1, 1)), points.index((2, 1, 1))])
    grown = [points[i] for i in lat.grow(member, start, np.array([1, 0]))]
    assert grown == [(2, 8, 1), (2, 8, 1)]


def test_bounds_of_a_row_do_not_depend_on_the_rows_bounded_with_it() -> None:
    """Without a per-PE level, the array and the MAC lanes fan out in one group, so a window rank
    can meet three or more unrolled terms in a batch while a row unrolls two: each row's count of
    distinct children (the exact two-term count there) must be the one it gets alone."""
    acc = hierarchy("flexible", 4, 4, 4, glb=4096, rf=None)
    assert acc.first_per_pe_level == len(acc.levels)
    layer = _conv("conv1d_k3_wide", C=4, K=4, H=12, R=3)
    parts = list(enumerate_mapspace(layer, acc, chunk=10 ** 9))
    temporal = np.concatenate([p.temporal for p in parts])
    axes = np.concatenate([np.asarray(p.axes) for p in parts])
    pick = np.random.default_rng(5).choice(len(temporal), size=min(400, len(temporal)), replace=False)
    temporal, axes = temporal[pick], axes[pick]
    array, lanes = axes[:, 0] * axes[:, 1], axes[:, 2]
    window_dims = [d for d, name in enumerate(layer.dims) if name in ("P", "R")]
    live = np.concatenate([array[:, window_dims] > 1, lanes[:, window_dims] > 1], axis=1)    # [M, terms]
    assert live.any(axis=0).sum() >= 3 and (live.sum(axis=1) == 2).any()     # the case this test is about
    for tiling_free in (False, True):
        together = traffic_bounds(layer, acc, temporal, array, lanes, tiling_free)
        for m in range(len(temporal)):
            alone = traffic_bounds(layer, acc, temporal[m:m + 1], array[m:m + 1], lanes[m:m + 1], tiling_free)
            assert np.array_equal(together.base[m], alone.base[0]) and np.array_equal(together.gain[m], alone.gain[0])
