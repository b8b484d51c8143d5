"""The cost core's narrow paths: int32 chunks, more than 8 dimensions, balanced chunks.

- int32 chunks (:func:`codesign.cost.headroom.narrow_ok`): a chunk is counted in int32 only
  when every integer its kernels form stays below 2^29 (the padded iteration space times the
  tensors' window blow-up; Timeloop's partition is formed in int64). Near that boundary the
  int32 counts must equal arbitrary-precision Python-int counts (``dtype=object``), and the
  decision must be sound for padded bounds whose float32 product rounds below 2^29 while the
  exact product (Python ints) does not.
- More than 8 loop dimensions (the loop-order compaction leaves its one-byte bit path for a
  gather; dimension bit tests use 16 bits): a 10-dimension 3-D convolution against the
  brute-force loop-nest oracle of ``tests/test_cost_oracle.py``.
- :func:`codesign.cost.accesses.chunks`: ``round(M / CHUNK)`` near-equal chunks covering the batch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.test_cost_oracle import check_against_oracle

from codesign.cost import accesses
from codesign.cost.accesses import chunks, count_accesses
from codesign.cost.chunk import make_chunk
from codesign.cost.headroom import HEADROOM32, moved_bound, narrow_ok
from codesign.cost.nest import NestBatch
from codesign.cost.random_nest import random_nests
from codesign.cost.tables import tensor_table
from codesign.workload.ir import Layer, Tensor

ALL_KEPT = ((True, True, True),) * 3


def gemm(M: int, N: int, K: int) -> Layer:
    """Dims (M, N, K): W[K, N], A[M, K], Z[M, N]; every rank one dimension (window blow-up 1)."""
    m, n, k = range(3)
    tensors = (Tensor("W", "weights", (((k, 1),), ((n, 1),))),
               Tensor("A", "inputs", (((m, 1),), ((k, 1),))),
               Tensor("Z", "outputs", (((m, 1),), ((n, 1),))))
    return Layer("gemm", "matmul", ("M", "N", "K"), (M, N, K), tensors)


def conv3d(N: int, K: int, C: int, Z: int, P: int, Q: int, T: int, R: int, S: int, G: int = 1) -> Layer:
    """Ten dims (N, G, K, C, Z, P, Q, T, R, S), stride 1: W[G,K,C,T,R,S], I[N,G,C,Z+T,P+R,Q+S], O[N,G,K,Z,P,Q]."""
    n, g, k, c, z, p, q, t, r, s = range(10)
    def one(d: int) -> tuple[tuple[int, int], ...]:
        return ((d, 1),)

    tensors = (Tensor("W", "weights", (one(g), one(k), one(c), one(t), one(r), one(s))),
               Tensor("I", "inputs", (one(n), one(g), one(c), ((z, 1), (t, 1)), ((p, 1), (r, 1)), ((q, 1), (s, 1)))),
               Tensor("O", "outputs", (one(n), one(g), one(k), one(z), one(p), one(q))))
    return Layer("conv3d", "conv3d", ("N", "G", "K", "C", "Z", "P", "Q", "T", "R", "S"),
                 (N, G, K, C, Z, P, Q, T, R, S), tensors)


def extreme_and_random(layer: Layer, rng: np.random.Generator, n_random: int) -> NestBatch:
    """Everything at DRAM, everything in the RF, and random splits; 3 levels, 2 fanouts above the RF."""
    D, L = len(layer.bounds), 3
    bounds = np.array(layer.bounds, dtype=np.int64)
    temporal = np.ones((2, L, D), dtype=np.int64)
    temporal[0, 0], temporal[1, L - 1] = bounds, bounds
    perm = np.broadcast_to(np.arange(D), (2, L, D)).copy()
    fixed = NestBatch(temporal, perm, np.ones((2, 2, D), dtype=np.int64), (2, 2))
    drawn = random_nests(layer.bounds, L, (2, 2), (16, 16), n_random, rng)
    return NestBatch(np.concatenate([fixed.temporal, drawn.temporal]), np.concatenate([fixed.perm, drawn.perm]),
                     np.concatenate([fixed.spatial, drawn.spatial]), (2, 2))


def chunk_dtype(layer: Layer, nest: NestBatch) -> np.dtype:
    tabs = [tensor_table(t, len(layer.bounds)) for t in layer.tensors]
    return make_chunk(nest, slice(0, nest.size), tabs=tabs).temporal.dtype


def test_int32_counts_just_below_the_headroom_equal_python_ints():
    """M N K = 535,822,336 < 2^29: the chunk is int32 and its counts (including Timeloop's partition
    of the outputs under the PE array, words x tile up to 2^38) equal Python-int arithmetic."""
    layer = gemm(4096, 256, 511)
    assert math.prod(layer.bounds) < HEADROOM32
    nest = extreme_and_random(layer, np.random.default_rng(0), 30)
    assert chunk_dtype(layer, nest) == np.int32
    got = count_accesses(layer.tensors, ALL_KEPT, nest)
    want = count_accesses(layer.tensors, ALL_KEPT, nest, dtype=object)
    for field in ("reads", "fills", "updates"):
        g, w = getattr(got, field), getattr(want, field)
        assert g.dtype == np.int64
        assert np.array_equal(g, w.astype(np.int64)), field
    # everything at DRAM, M innermost (closed form): the one-word tile of W[K, N] stays for all of
    # M, so DRAM reads each weight once; the one-word tile of A[M, K] moves at every MAC step
    M, N, K = layer.bounds
    assert got.reads[0, 0, 0] == K * N and got.reads[0, 0, 1] == M * N * K


def test_int64_at_the_headroom():
    """M N K = 2^29 exactly: not below the int32 headroom, counted in int64 (same counts)."""
    layer = gemm(4096, 256, 512)
    assert math.prod(layer.bounds) == HEADROOM32
    nest = extreme_and_random(layer, np.random.default_rng(1), 10)
    assert chunk_dtype(layer, nest) == np.int64
    got = count_accesses(layer.tensors, ALL_KEPT, nest)
    want = count_accesses(layer.tensors, ALL_KEPT, nest, dtype=object)
    for field in ("reads", "fills", "updates"):
        assert np.array_equal(getattr(got, field), getattr(want, field).astype(np.int64)), field


def _one_dim_padded(factors: tuple[int, int, int]) -> tuple[Layer, NestBatch]:
    """A GEMM whose only non-unit dimension M has temporal factors ``factors`` at 3 levels."""
    layer = gemm(math.prod(factors), 1, 1)
    temporal = np.ones((1, 3, 3), dtype=np.int64)
    temporal[0, :, 0] = factors
    return layer, NestBatch(temporal, np.broadcast_to(np.arange(3), (1, 3, 3)).copy(),
                            np.ones((1, 0, 3), dtype=np.int64), ())


def test_narrow_decision_is_sound_where_float32_rounds_below():
    """21474837 x 5 x 5 = 536,870,925 >= 2^29 (Python ints), but float32 rounds 21474837 to
    21474836 and the product to 536,870,880 < 2^29: the rounding margin keeps the chunk int64."""
    factors = (21474837, 5, 5)
    assert math.prod(factors) >= HEADROOM32
    naive = np.float32(np.float32(np.float32(factors[0]) * np.float32(factors[1])) * np.float32(factors[2]))
    assert float(naive) < HEADROOM32
    layer, nest = _one_dim_padded(factors)
    assert chunk_dtype(layer, nest) == np.int64


@pytest.mark.parametrize("seed", range(5))
def test_narrow_decision_matches_python_ints_away_from_the_margin(seed):
    """Random padded factors near 2^29: int32 implies an exact bound below 2^29, and an exact bound
    below 2^29 (1 - 2^-18) (far outside float32's rounding) implies int32."""
    rng = np.random.default_rng(seed)
    for _ in range(40):
        b, c = (int(x) for x in rng.integers(2, 64, size=2))
        a = int(HEADROOM32 // (b * c)) + int(rng.integers(-3000, 3000))
        layer, nest = _one_dim_padded((a, b, c))
        exact = a * b * c
        narrow = chunk_dtype(layer, nest) == np.int32
        if narrow:
            assert exact < HEADROOM32
        if exact < HEADROOM32 * (1 - 2.0 ** -18):
            assert narrow


def test_narrow_ok_is_the_moved_bound_against_2_29():
    tabs = [tensor_table(t, 3) for t in gemm(2, 2, 2).tensors]
    assert float(moved_bound(tabs, np.array([4096.0, 256.0, 511.0]))) == 4096 * 256 * 511
    assert narrow_ok(tabs, np.array([4096.0, 256.0, 511.0]))
    assert not narrow_ok(tabs, np.array([4096.0, 256.0, 512.0]))


@pytest.mark.parametrize("seed", range(4))
def test_ten_dimension_conv3d_matches_the_oracle(seed):
    """D = 10 > 8: the loop-order compaction gathers (no one-byte bit path) and dimension bits are
    16-bit; counts equal the brute-force walk of the loop nest."""
    layer = conv3d(N=1, K=2, C=2, Z=2, P=2, Q=1, T=2, R=2, S=1)
    rng = np.random.default_rng(seed)
    nest = random_nests(layer.bounds, 3, (1, 2), (2, 2), 6, rng)
    for i in range(nest.size):
        keeps = tuple((True,) + tuple(bool(k) for k in rng.random(2) < 0.7) for _ in range(3))
        case = (layer, keeps, nest.temporal[i], nest.perm[i], nest.spatial[i], nest.fanout_at)
        check_against_oracle(case)


@pytest.mark.parametrize("M", [1, 100, 8191, 12287, 12288, 18431, 18433, 50_000, 100_000])
def test_chunks_are_balanced(M, monkeypatch):
    """round(M / CHUNK) chunks (at least one) of ceil(M / count) mappings, the last no longer."""
    monkeypatch.setattr(accesses, "CHUNK", 12288)
    nest = NestBatch(np.ones((M, 1, 1), dtype=np.int64), np.zeros((M, 1, 1), dtype=np.int64),
                     np.ones((M, 0, 1), dtype=np.int64), ())
    got = chunks(nest)
    count = max(1, round(M / 12288))
    size = -(-M // count)
    assert len(got) == count
    assert [s.start for s in got] == list(range(0, M, size))
    assert got[-1].stop == M and all(s.stop - s.start == size for s in got[:-1])
    assert 0 < got[-1].stop - got[-1].start <= size
