"""Hypervolume against brute force (inclusion–exclusion on random points, cell counting on integer grids),
and the search progress that reports it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import codesign
from codesign.dse.hypervolume import front_hypervolume, hypervolume, reference_point, to_minimization
from codesign.dse.progress import SearchProgress


def inclusion_exclusion(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume by inclusion–exclusion over every subset (the box of a subset is
    ``[max of its points, ref]``)."""
    total = 0.0
    n = points.shape[0]
    for size in range(1, n + 1):
        sign = 1.0 if size % 2 else -1.0
        for subset in itertools.combinations(range(n), size):
            corner = points[list(subset)].max(axis=0)
            total += sign * float(np.prod(np.clip(ref - corner, 0.0, None)))
    return total


def cell_count(points: list[tuple[int, ...]], ref: tuple[int, ...]) -> int:
    """Unit cells of the integer grid below ``ref`` that some point dominates (weakly)."""
    cells = itertools.product(*(range(r) for r in ref))
    return sum(any(all(p[k] <= c[k] for k in range(len(ref))) for p in points) for c in cells)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(8))
def test_random_points_match_inclusion_exclusion(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 11))
    points = rng.random((n, k))
    if seed % 2:   # also points with equal coordinates and points outside the reference box
        points = np.round(points * 4) / 4
    ref = np.full(k, 0.9)
    assert hypervolume(points, ref) == pytest.approx(inclusion_exclusion(points, ref), rel=1e-12, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 3).flatmap(lambda k: st.tuples(
    st.lists(st.tuples(*[st.integers(0, 6)] * k), min_size=0, max_size=12),
    st.tuples(*[st.integers(1, 7)] * k))))
def test_integer_points_match_cell_counting(case: tuple[list[tuple[int, ...]], tuple[int, ...]]) -> None:
    points, ref = case
    arr = np.array(points, dtype=float).reshape(len(points), len(ref))
    assert hypervolume(arr, np.array(ref, dtype=float)) == pytest.approx(cell_count(points, ref))


def test_known_values() -> None:
    ref = np.array([4.0, 4.0])
    assert hypervolume(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]), ref) == pytest.approx(6.0)
    assert hypervolume(np.array([[2.0, 2.0], [3.0, 3.0]]), ref) == pytest.approx(4.0)   # dominated point adds nothing
    assert hypervolume(np.array([[5.0, 0.0]]), ref) == 0.0                            # outside the box
    assert hypervolume(np.zeros((0, 2)), ref) == 0.0
    cube = hypervolume(np.array([[0.0, 0.0, 0.0]]), np.array([2.0, 3.0, 4.0]))
    assert cube == pytest.approx(24.0)


def test_reference_point_is_ten_percent_beyond_the_worst() -> None:
    values = np.array([[1.0, -5.0, 0.0], [2.0, -10.0, 0.0]])
    ref = reference_point(values)
    assert ref.tolist() == pytest.approx([2.2, -4.5, 1.0])
    assert reference_point(np.array([[0.0, 3.0], [-2.0, 1.0]])).tolist() == pytest.approx([0.2, 3.3])


def test_maximized_objectives_are_negated() -> None:
    values = np.array([[1.0, 10.0], [2.0, 20.0]])
    assert to_minimization(values, (False, True)).tolist() == [[1.0, -10.0], [2.0, -20.0]]
    # minimized: [1, -10], [2, -20]; ref = [2.2, -9]: boxes 1.2 x 1 and 0.2 x 11 overlap in 0.2 x 1
    assert front_hypervolume(values, (False, True)) == pytest.approx(1.2 + 2.2 - 0.2)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        hypervolume(np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ValueError):
        reference_point(np.zeros((0, 2)))


def test_progress_shows_the_front_and_results_are_rewritten_while_searching(tmp_path: Path) -> None:
    """Anytime results: after 10 finished trials the run directory already holds them; the last
    progress snapshot's front size and hypervolume match the final front computed afresh."""
    space = codesign.load_space(Path(__file__).parent / "data" / "tiny.yaml")
    snapshots: list[SearchProgress] = []
    early: dict[str, str] = {}

    def on_progress(p: SearchProgress) -> None:
        snapshots.append(p)
        run = tmp_path / "tiny"
        if p.done == 11 and not early:   # checkpoints come after every 10 finished trials
            early.update({name: (run / name).read_text() for name in ("summary.md", "trials.csv", "pareto.json")})

    result = codesign.search(space, trials=25, runs_dir=tmp_path, on_progress=on_progress)
    assert "- trials: 10 finished" in early["summary.md"]
    assert len(early["trials.csv"].strip().splitlines()) == 1 + 10
    assert all(d["number"] < 10 for d in json.loads(early["pareto.json"]))
    last = snapshots[-1]
    labels = [f"{o.metric} [{o.unit}]" for o in space.objectives]
    feasible = np.array([[r.objectives[lb] for lb in labels] for r in result.trials if r.feasible])
    assert last.done == 25 and last.front == len(result.pareto) > 0
    assert last.hypervolume == pytest.approx(hypervolume(feasible, reference_point(feasible)))
    assert last.best == pytest.approx({lb: feasible[:, i].min() for i, lb in enumerate(labels)})
    assert [s.done for s in snapshots] == list(range(26))
