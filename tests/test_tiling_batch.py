"""Tiling spatial choices together on joined lattices (codesign/compiler/candidates.py) gives, per
choice, exactly the tilings, in exactly the order, that tiling each choice on its own lattice
gave: the per-choice implementation this replaced is kept below, verbatim, as the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.compiler import candidates
from codesign.compiler.candidates import MAX_CHAINS, MAX_INNER, tiling_candidates
from codesign.compiler.policy import SchedulePolicy
from codesign.compiler.shortlist import spatial_shortlist
from codesign.compiler.tiles import Lattice, capacity_at, lattice, squeeze
from codesign.flow import policy_of
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent


# ---- the per-choice implementation (codesign 3d983af, candidates.py), verbatim but for names ----
def _level_fits_one(layer, acc, lat, axes):
    inner = lat.points * axes[2]
    outer = inner * axes[0] * axes[1]
    out = np.ones((lat.size, len(acc.levels)), dtype=bool)
    for lv, level in enumerate(acc.levels):
        if level.size_bytes is not None:
            extent = outer if lv < acc.first_per_pe_level else inner
            out[:, lv] = capacity_at(layer, acc, extent, lv) <= level.size_bytes
    return out


def _tiling_candidates_one(layer, acc, axes):
    L, D = len(acc.levels), len(layer.dims)
    q = tuple(-(-b // int(f)) for b, f in zip(layer.bounds, np.prod(axes, axis=0)))
    if L == 1:
        return np.array(q, dtype=np.int64).reshape(1, 1, D)
    lat = lattice(q)
    ok = _level_fits_one(layer, acc, lat, axes)
    P = lat.points
    inner = np.flatnonzero(ok[:, L - 1])
    if L == 2:
        inner = np.flatnonzero(lat.maximal(ok[:, 1]))
    elif len(inner) > MAX_INNER:
        need = np.prod(P[inner], axis=1)
        inner = inner[np.argsort(-need, kind="stable")[:MAX_INNER]]
    chains = inner[:, None]
    rel = [t.relevant(D) for t in layer.tensors]
    for lv in range(L - 2, 0, -1):
        child = chains[:, 0]
        fits_here = ok[child, lv]
        chains, child = chains[fits_here], child[fits_here]
        biggest = np.flatnonzero(lat.maximal(ok[:, lv]))
        above = np.all(P[biggest][None, :, :] % P[child][:, None, :] == 0, axis=2)
        rows, cols = np.nonzero(above)
        options = [np.stack([biggest[cols], rows], axis=1), np.stack([child, np.arange(len(child))], axis=1)]
        for r in rel:
            free = np.flatnonzero(~np.array(r))
            grown = lat.grow(ok[:, lv], child, free)
            options.append(np.stack([grown, np.arange(len(child))], axis=1))
        pairs = np.concatenate(options)
        _, first = np.unique(pairs[:, 0] * len(chains) + pairs[:, 1], return_index=True)
        picked = pairs[np.sort(first)]
        if len(picked) > MAX_CHAINS:
            picked = picked[np.sort(np.argsort(-np.prod(P[picked[:, 0]], axis=1), kind="stable")[:MAX_CHAINS])]
        chains = np.concatenate([picked[:, :1], chains[picked[:, 1]]], axis=1)
    parent = P[chains[:, 0]] if L > 2 else np.broadcast_to(np.array(q), (len(chains), D))
    keep = _maximal_within_one(lat, ok[:, L - 1], chains[:, -1], parent)
    chains = chains[keep]
    cumulative = np.concatenate([np.broadcast_to(np.array(q), (len(chains), 1, D)), P[chains]], axis=1)
    outer = np.concatenate([cumulative[:, 1:], np.ones((len(chains), 1, D), dtype=np.int64)], axis=1)
    return cumulative // outer


def _maximal_within_one(lat: Lattice, member, idx, parent):
    up = lat.prime_steps[idx]
    safe = np.maximum(up, 0)
    divides = np.all(parent[:, None, :] % lat.points[safe] == 0, axis=2)
    return ~((up >= 0) & member[safe] & divides).any(axis=1)
# ---- end of the reference ----


POINTS = [
    {},
    {"hardware.array.rows": "64", "hardware.array.cols": "8", "hardware.array.dataflow": "output_stationary",
     "hardware.memory.GLB.size": "32KiB", "hardware.memory.PE_RF.size": "256B"},
    {"hardware.array.dataflow": "row_stationary", "hardware.memory.GLB.size": "4MiB", "hardware.memory.PE_RF.size": "32B"},
    {"hardware.array.dataflow": "flexible", "hardware.array.rows": "32", "hardware.array.cols": "32"},
]
BASE = {"hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.rows": "16",
        "hardware.array.cols": "16", "hardware.array.dataflow": "weight_stationary",
        "hardware.memory.DRAM.dram_type": "LPDDR4", "hardware.memory.DRAM.bandwidth": "25.6GB/s",
        "hardware.memory.GLB.size": "256KiB", "hardware.memory.GLB.bytes_per_cycle": "64",
        "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp"}


def _setup(space_file: str, over: dict):
    space = load_space(ROOT / "spaces" / space_file)
    texts = {**BASE, **over} if space_file == "edge.yaml" else over
    design = resolve_design(space, {k: parse_value(k, v, space) for k, v in texts.items()})
    return build_accelerator(space, design), policy_of(design, space)


def _layers():
    seen = {}
    for model in ("resnet18", "mobilenetv2"):
        for layer in load_model(model).layers:
            seen.setdefault(layer.canonical(), layer)
    return list(seen.values())


@pytest.mark.parametrize("over", POINTS, ids=["ws16x16", "os64x8-small-glb", "rs-big-glb", "flexible32"])
def test_joined_lattices_tile_like_one_lattice_each(over):
    acc, policy = _setup("edge.yaml", over)
    compared = 0
    for layer in _layers():
        small = squeeze(layer.canonical()).layer
        choices = spatial_shortlist(small, acc, policy)[0]
        joined = tiling_candidates(small, acc, choices)
        assert len(joined) == len(choices)
        for axes, got in zip(choices, joined):
            want = _tiling_candidates_one(small, acc, axes)
            assert got.shape == want.shape and np.array_equal(got, want), (layer.name, axes.tolist())
            compared += len(want)
    assert compared > 1000


def test_crowded_levels_are_cut_per_choice(monkeypatch):
    """With tiny caps on kept innermost tiles and partial tilings, each choice is cut on its own."""
    monkeypatch.setattr(candidates, "MAX_INNER", 3)
    monkeypatch.setattr(candidates, "MAX_CHAINS", 5)
    monkeypatch.setitem(globals(), "MAX_INNER", 3)
    monkeypatch.setitem(globals(), "MAX_CHAINS", 5)
    acc, policy = _setup("edge.yaml", {"hardware.memory.GLB.size": "1MiB", "hardware.memory.PE_RF.size": "256B"})
    cut = 0
    for layer in _layers()[:12]:
        small = squeeze(layer.canonical()).layer
        choices = spatial_shortlist(small, acc, policy)[0]
        for axes, got in zip(choices, candidates.tiling_candidates(small, acc, choices)):
            want = _tiling_candidates_one(small, acc, axes)
            assert np.array_equal(got, want), (layer.name, axes.tolist())
            cut += len(want) > 0
    assert cut > 10


def _hierarchy(sizes: list[tuple[str, bool, int | None]], dataflow: str = "weight_stationary") -> Accelerator:
    ALL = ("weights", "inputs", "outputs")
    levels = [make_level("DRAM", "dram", True, None, 2e9, None, ALL, True, "LPDDR4", 5e8, 28)]
    for name, shared, size in sizes:
        holds = ALL if name != "RFW" else ("weights", "outputs")
        levels.append(make_level(name, "sram" if shared else "regfile", shared, size, None, 16 if shared else None,
                                 holds, True, None, 5e8, 28))
    return Accelerator(8, 8, 1, dataflow, "int8", 5e8, 28, tuple(levels), tech.mac_energy_pj("int8", 28))


@pytest.mark.parametrize("levels", [
    [("GLB", True, 64 * 1024)],                                               # 2 levels
    [("GLB", True, 256 * 1024), ("LB", True, 8 * 1024), ("RF", False, 64)],    # 4 levels
    [("GLB", True, 32 * 1024), ("RFW", False, 48)],                           # an RF that inputs bypass
], ids=["2-levels", "4-levels", "bypass"])
def test_other_hierarchies(levels):
    acc = _hierarchy(levels)
    policy = SchedulePolicy()
    compared = 0
    for layer in _layers()[::3]:
        small = squeeze(layer.canonical()).layer
        choices = spatial_shortlist(small, acc, policy)[0]
        for axes, got in zip(choices, tiling_candidates(small, acc, choices)):
            want = _tiling_candidates_one(small, acc, axes)
            assert np.array_equal(got, want), (layer.name, axes.tolist())
            compared += len(want)
    assert compared > 100
