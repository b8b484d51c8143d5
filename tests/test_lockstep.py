"""A design's layers searched together (:func:`codesign.compiler.search.search_many`) get exactly what
each gets searched alone, and the pruned flow's waves ask exactly the verdicts of one layer at a time.

The references are the one-layer paths: :func:`codesign.compiler.mapper.map_layer` with every cache
cleared before each layer, :func:`codesign.cost.analytical.evaluate` for costs, and a plain
one-layer-at-a-time loop written out here for the verdicts.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from codesign import flow
from codesign.compiler import costed
from codesign.compiler.mapper import clear_cache, lower_bounds, map_layer, map_layers
from codesign.compiler.mapspace import Chunk
from codesign.compiler.naive import naive_mapping
from codesign.compiler.tiles import squeeze
from codesign.cost.analytical import evaluate
from codesign.cost.vector import evaluate_vector
from codesign.flow import GaveUp, best_possible, build_accelerator, evaluate_design, policy_of, space_workloads
from codesign.spec.loader import load_space
from tests.test_prune import EDGE, random_designs

ROOT = Path(__file__).parent.parent


def distinct_layers(space) -> list:
    seen = {}
    for w in space_workloads(space, EDGE.parent):
        for lr in w.layers:
            seen.setdefault(lr.canonical(), lr)
    return list(seen.values())


@pytest.mark.parametrize("seed", [3, 11])
def test_layers_searched_together_get_what_each_gets_alone(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    space = load_space(EDGE)
    design = random_designs(EDGE, 1, seed=seed)[0]
    acc, policy = build_accelerator(space, design), policy_of(design, space)
    layers = distinct_layers(space)
    structures = Counter(squeeze(lr.canonical()).layer.structure for lr in layers)
    assert max(structures.values()) >= 5          # same-structure layers share kernel calls below

    calls = Counter()
    measure = costed.measure

    def counted(*args):
        calls["measure"] += 1
        return measure(*args)

    monkeypatch.setattr(costed, "measure", counted)
    alone = []
    for lr in layers:
        clear_cache()
        try:
            alone.append(map_layer(lr, acc, policy))
        except Exception as exc:  # noqa: BLE001 - a layer no mapping fits: compared as its message
            alone.append(str(exc))
    calls_alone, calls["measure"] = calls["measure"], 0
    clear_cache()
    together = map_layers(layers, acc, policy)
    for a, t in zip(alone, together):
        if isinstance(a, str):
            assert str(t) == a
            continue
        assert (t.mapping, t.energy_pj, t.cycles, t.candidates, t.legal) == (a.mapping, a.energy_pj, a.cycles,
                                                                               a.candidates, a.legal)
    assert calls["measure"] < calls_alone          # usage counted once per structure per round


def test_cost_many_prices_every_request_as_the_cost_core_does() -> None:
    space = load_space(EDGE)
    design = random_designs(EDGE, 1, seed=4)[0]
    acc, policy = build_accelerator(space, design), policy_of(design, space)
    layers = [squeeze(lr.canonical()).layer for lr in distinct_layers(space)]
    by_structure: dict = {}
    for layer in layers:
        by_structure.setdefault(layer.structure, []).append(layer)
    group = max(by_structure.values(), key=len)[:3]
    other = next(v[0] for k, v in by_structure.items() if k != group[0].structure)
    rng = np.random.default_rng(0)

    def chunk(layer, n):          # the naive mapping with its loop orders shuffled at random
        temporal, perm, axes = naive_mapping(layer, acc, policy)
        perms = np.stack([np.stack([rng.permutation(row) for row in perm]) for _ in range(n)])
        return Chunk(np.repeat(temporal[None], n, axis=0), perms, np.repeat(axes[None], n, axis=0))

    requests = [(layer, chunk(layer, 12)) for layer in group + [other]]
    requests.append((group[0], Chunk.concat([requests[0][1].take(slice(0, 5)), chunk(group[0], 7)])))  # one table twice
    costed.clear()
    for (layer, c), got in zip(requests, costed.cost_many(requests, acc)):
        want = evaluate(layer, acc, c.nest(acc.first_per_pe_level))
        for field in ("cycles", "energy_pj", "level_energy_pj", "level_cycles", "fits", "utilization"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), field


def one_at_a_time(space, design, prune_at: int) -> tuple[list, str | None]:
    """The verdicts' questions of the one-layer-at-a-time flow, written out: bound every layer, map
    them largest cycle bound first, ask before each; the ``prune_at``-th question prunes."""
    workloads = space_workloads(space, EDGE.parent)
    acc, policy = build_accelerator(space, design), policy_of(design, space)
    flat = iter(lower_bounds([lr for w in workloads for lr in w.layers], acc, policy))
    costs = [[next(flat) for _ in w.layers] for w in workloads]
    vector = [tuple(evaluate_vector(op, acc) for op in w.vector_ops) for w in workloads]
    order = sorted(((k, i) for k, w in enumerate(workloads) for i in range(len(w.layers))),
                   key=lambda ki: -costs[ki[0]][ki[1]][1] * workloads[ki[0]].layers[ki[1]].count)
    asked = []
    for k, i in order:
        asked.append(best_possible(space, workloads, acc, costs, vector))
        if len(asked) == prune_at:
            return asked, f"pruned at question {prune_at}"
        r = map_layer(workloads[k].layers[i], acc, policy)
        costs[k][i] = (r.energy_pj, r.cycles)
    return asked, None


@pytest.mark.parametrize("prune_at", [1, 2, 6, 19, 10**6])
def test_waves_ask_the_verdicts_of_one_layer_at_a_time(prune_at: int, monkeypatch: pytest.MonkeyPatch) -> None:
    space = load_space(EDGE)
    design = random_designs(EDGE, 1, seed=8)[0]
    want, want_reason = one_at_a_time(space, design, prune_at)
    for first_wave in (1, 3, 4, 1000):
        monkeypatch.setattr(flow, "FIRST_WAVE", first_wave)
        clear_cache()
        asked = []

        def verdict(best: list[float], asked: list = asked) -> str | None:
            asked.append(best)
            return f"pruned at question {prune_at}" if len(asked) == prune_at else None

        try:
            evaluate_design(space, design, EDGE.parent, give_up=verdict)
            reason = None
        except GaveUp as exc:
            reason = str(exc)
        assert reason == want_reason and asked == want, first_wave
