"""No silent int64 overflow in the cost core.

The biggest layers (by MACs and by tensor size) of every zoo model, at the models' default
parameters (llama3_8b_prefill at seq_len 2048, vgg16 at 224x224), on a large hierarchy (DRAM,
64 MiB GLB, 1 MiB L1, 4 KiB RF per PE under 128 x 128 PEs x 16 MAC lanes), under mappings that
put every loop at DRAM, every loop in the innermost level, as much as possible on the array,
and random extreme splits: every count and cost is finite and non-negative, and the int64
counts equal an arbitrary-precision recomputation (``dtype=object``, Python ints) for a few
mappings per layer. A layer whose counts would exceed int64's headroom is refused with a
clear error instead of wrapping (:mod:`codesign.cost.headroom`).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from codesign.cost.accesses import count_accesses
from codesign.cost.analytical import evaluate
from codesign.cost.headroom import HEADROOM, CountOverflowError
from codesign.cost.nest import NestBatch
from codesign.cost.random_nest import random_nests
from codesign.errors import CodesignError
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload import ops
from codesign.workload.ir import ROLES, Layer
from codesign.workload.zoo import load_model, model_names

ALL = ("weights", "inputs", "outputs")
ROWS, COLS, LANES = 128, 128, 16
FANOUT_AT = (3, 3, 4)                       # rows and cols above the RF, lanes above the MACs


def big_accelerator() -> Accelerator:
    clock, node = 1e9, 7.0
    levels = (make_level("DRAM", "dram", True, None, 3.2e12, None, ALL, True, "HBM3", clock, node),
              make_level("GLB", "sram", True, 64 << 20, None, 512, ALL, True, None, clock, node),
              make_level("L1", "sram", True, 1 << 20, None, 256, ALL, True, None, clock, node),
              make_level("RF", "regfile", False, 4096, None, None, ALL, False, None, clock, node))
    return Accelerator(ROWS, COLS, LANES, "flexible", "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


def biggest_layers(model: str) -> list[Layer]:
    """The layer with the most MACs and the layer with the largest tensor."""
    layers = load_model(model).layers
    by_macs = max(layers, key=lambda lay: lay.macs)
    by_tensor = max(layers, key=lambda lay: max(t.size(lay.bounds) for t in lay.tensors))
    return [by_macs] if by_tensor is by_macs else [by_macs, by_tensor]


CASES = [pytest.param(model, layer, id=f"{model}:{layer.name}") for model in model_names()
         for layer in biggest_layers(model)]


def _largest_divisor(n: int, cap: int) -> int:
    return max(f for f in range(1, min(n, cap) + 1) if n % f == 0)


def extreme_nests(layer: Layer, rng: np.random.Generator) -> NestBatch:
    """Everything at DRAM; everything in the RF; as much as fits on rows, cols and lanes with the
    rest at DRAM (loop orders reversed); and 61 random splits with up to three dims per fanout."""
    D, L = len(layer.bounds), 4
    bounds = np.array(layer.bounds, dtype=np.int64)
    temporal = np.ones((3, L, D), dtype=np.int64)
    spatial = np.ones((3, 3, D), dtype=np.int64)
    temporal[0, 0] = bounds
    temporal[1, L - 1] = bounds
    rest = bounds.copy()
    for s, cap in enumerate((ROWS, COLS, LANES)):
        for d in np.argsort(-rest, kind="stable"):
            f = _largest_divisor(int(rest[d]), cap)
            spatial[2, s, d] *= f
            rest[d] //= f
            cap //= f
    temporal[2, 0] = rest
    perm = np.broadcast_to(np.arange(D), (3, L, D)).copy()
    perm[2] = perm[2, :, ::-1]
    fixed = NestBatch(temporal, perm, spatial, FANOUT_AT)
    randoms = random_nests(layer.bounds, L, FANOUT_AT, (ROWS, COLS, LANES), 61, rng, max_dims_per_fanout=3,
                           shared_fanout_dims=True)
    return NestBatch(np.concatenate([fixed.temporal, randoms.temporal]), np.concatenate([fixed.perm, randoms.perm]),
                     np.concatenate([fixed.spatial, randoms.spatial]), FANOUT_AT)


@pytest.mark.parametrize("model,layer", CASES)
def test_biggest_layers_stay_finite_and_exact(model, layer):
    acc = big_accelerator()
    nest = extreme_nests(layer, np.random.default_rng(zlib.crc32(layer.name.encode())))
    cost = evaluate(layer, acc, nest)
    for name in ("cycles", "compute_cycles", "level_cycles", "energy_pj", "level_energy_pj", "utilization"):
        values = getattr(cost, name)
        assert np.isfinite(values).all() and (values >= 0).all(), name
    assert (cost.cycles > 0).all() and (cost.energy_pj > 0).all()
    counts = cost.accesses
    for name in ("reads", "fills", "updates"):
        assert (getattr(counts, name) >= 0).all(), name
    # arbitrary precision, for the three extreme mappings and two random ones
    keeps = tuple(acc.keeps(role) for role in ROLES)
    few = nest.take(np.array([0, 1, 2, 3, 4]))
    exact = count_accesses(layer.tensors, keeps, few, dtype=object)
    for name in ("reads", "fills", "updates"):
        want = getattr(exact, name)
        got = getattr(counts, name)[:5]
        assert all(int(g) == int(w) for g, w in zip(got.ravel(), want.ravel())), name


def test_the_headroom_check_refuses_what_int64_cannot_hold():
    """A GEMM of 2^21 x 2^21 x 2^21 (2^63 MACs) on DRAM alone: weights are read once per MAC,
    2^63 words, one more than int64 holds. evaluate refuses it naming the mapping; Python-int
    counting gets it exactly."""
    n = 1 << 21
    layer = ops.linear("huge", {"in": n, "out": n, "tokens": n}, 1, 1)
    clock, node = 1e9, 7.0
    dram = make_level("DRAM", "dram", True, None, 1e12, None, ALL, True, "HBM3", clock, node)
    acc = Accelerator(1, 1, 1, "flexible", "int8", clock, node, (dram,), tech.mac_energy_pj("int8", node))
    nest = NestBatch(np.array([[layer.bounds]], dtype=np.int64), np.arange(6)[None, None, :].copy(),
                     np.ones((1, 0, 6), dtype=np.int64), ())
    with pytest.raises(CountOverflowError, match=r"mapping 0: .*2\^61") as info:
        evaluate(layer, acc, nest)
    assert isinstance(info.value, CodesignError) and isinstance(info.value, OverflowError)
    with pytest.raises(CountOverflowError):
        count_accesses(layer.tensors, tuple(acc.keeps(r) for r in ROLES), nest)
    exact = count_accesses(layer.tensors, tuple(acc.keeps(r) for r in ROLES), nest, dtype=object)
    assert exact.reads[0, 0, 0] == n ** 3 == 2 ** 63 > np.iinfo(np.int64).max


def test_headroom_boundary():
    """Just below 2^61 words passes; the bound is the padded iteration count for a GEMM."""
    m = 1 << 20
    layer = ops.linear("big", {"in": m, "out": m, "tokens": (1 << 20) - 1}, 1, 1)    # (2^20 - 1) 2^40 MACs
    assert layer.macs < HEADROOM < 4 * layer.macs
    clock, node = 1e9, 7.0
    dram = make_level("DRAM", "dram", True, None, 1e12, None, ALL, True, "HBM3", clock, node)
    acc = Accelerator(1, 1, 1, "flexible", "int8", clock, node, (dram,), tech.mac_energy_pj("int8", node))
    nest = NestBatch(np.array([[layer.bounds]], dtype=np.int64), np.arange(6)[None, None, :].copy(),
                     np.ones((1, 0, 6), dtype=np.int64), ())
    cost = evaluate(layer, acc, nest)
    assert int(cost.accesses.reads[0, 0, 0]) == layer.macs == math.prod(layer.bounds)
