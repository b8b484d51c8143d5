"""Pruning dominated designs during a search (``search.prune``), checked against full evaluations:

- every layer's lower bound (:func:`codesign.compiler.mapper.lower_bound`) is at most what the
  mapper's mapping costs in the cost core, on random edge and tiny designs;
- a design's layers bounded in one pass (:func:`codesign.compiler.mapper.lower_bounds`) get
  exactly the bounds each layer gets priced alone;
- a design's best possible objective values (:func:`codesign.flow.best_possible`) never beat its
  real values, and equal them once every layer is mapped;
- every PRUNED trial of a search, evaluated in full afterwards, is dominated by the feasible trial
  its reason names;
- with a sampler that ignores results (random), the feasible Pareto front with pruning is the
  front without it, trial for trial.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from optuna.trial import TrialState

from codesign.compiler.bounds import combination_bounds, traffic_bounds
from codesign.compiler.mapper import lower_bound, lower_bounds, map_layer
from codesign.compiler.naive import default_unroll
from codesign.compiler.orders import role_combinations
from codesign.compiler.shortlist import choice_bounds
from codesign.compiler.tiles import squeeze
from codesign.cost.vector import evaluate_vector
from codesign.dse.progress import ProgressTracker
from codesign.dse.runner import evaluate_trial, suggest
from codesign.dse.sampling import distributions
from codesign.flow import best_possible, build_accelerator, display, evaluate_design, policy_of, space_workloads
from codesign.spec.loader import load_space
from codesign.spec.params import resolve_design
from tests.test_search import TINY, load, read_csv, search

ROOT = Path(__file__).parent.parent
EDGE = ROOT / "spaces" / "edge.yaml"


def random_designs(path: Path, n: int, seed: int) -> list[dict]:
    space = load_space(path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    designs = []
    for _ in range(n):
        trial = study.ask()
        designs.append(resolve_design(space, {k: suggest(trial, k, d) for k, d in distributions(space).items()}))
        study.tell(trial, 0.0)
    return designs


@pytest.mark.parametrize("path,n", [(EDGE, 3), (TINY, 12)], ids=["edge", "tiny"])
def test_layer_lower_bounds_never_exceed_the_mapping(path: Path, n: int) -> None:
    space = load_space(path)
    checked = 0
    for design in random_designs(path, n, seed=5):
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        for w in space_workloads(space, space.base_dir):
            for layer in w.layers:
                energy, cycles = lower_bound(layer, acc, policy)
                mapped = map_layer(layer, acc, policy)
                assert energy <= mapped.energy_pj * (1 + 1e-9), (layer.name, energy, mapped.energy_pj)
                assert cycles <= mapped.cycles * (1 + 1e-9), (layer.name, cycles, mapped.cycles)
                checked += 1
    assert checked >= n * 3


def _layer_bound(layer, acc, policy) -> tuple[float, float]:
    """One layer's bound priced alone (the per-layer code of results version 2, verbatim but for names)."""
    small = squeeze(layer.canonical()).layer
    axes = default_unroll(small, acc, policy)
    temporal = np.ones((1, len(acc.levels), len(small.dims)), dtype=np.int64)
    temporal[0, 0] = -(-np.array(small.bounds, dtype=np.int64) // np.prod(axes, axis=0))
    naive = traffic_bounds(small, acc, temporal, (axes[0] * axes[1])[None], axes[2][None], tiling_free=True)
    energy, cycles = combination_bounds(small, acc, naive, role_combinations(len(acc.levels), "any")[:1])
    if policy.mode != "fixed":
        _, _, _, e, c = choice_bounds(small, acc, policy)
        energy, cycles = np.concatenate([energy, e]), np.concatenate([cycles, c])
    return float(energy.min()), float(cycles.min())


@pytest.mark.parametrize("path,n", [(EDGE, 2), (TINY, 6)], ids=["edge", "tiny"])
def test_a_designs_layers_bounded_in_one_pass_get_their_own_bounds(path: Path, n: int) -> None:
    space = load_space(path)
    for design in random_designs(path, n, seed=11):
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        layers = [lr for w in space_workloads(space, space.base_dir) for lr in w.layers]
        assert lower_bounds(layers, acc, policy) == [_layer_bound(lr, acc, policy) for lr in layers]


def test_best_possible_values_bound_the_real_ones() -> None:
    space = load_space(TINY)
    workloads = space_workloads(space, space.base_dir)
    for design in random_designs(TINY, 8, seed=2):
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        result = evaluate_design(space, design, space.base_dir)
        real = [display(o.metric, result.metrics[o.metric], o.unit) for o in space.objectives]
        vector = [tuple(evaluate_vector(op, acc) for op in w.vector_ops) for w in workloads]
        bounds = [[lower_bound(lr, acc, policy) for lr in w.layers] for w in workloads]
        exact = [[(r.energy_pj, r.cycles) for r in wr.layers] for wr in result.workloads]
        assert all(b <= v * (1 + 1e-9) for b, v in zip(best_possible(space, workloads, acc, bounds, vector), real))
        assert best_possible(space, workloads, acc, exact, vector) == pytest.approx(real, rel=1e-12)


def test_the_tracker_names_a_dominating_front_trial() -> None:
    space = load_space(TINY)                        # minimize latency [ms], minimize energy [mJ]
    tracker = ProgressTracker(space)
    study = optuna.create_study(directions=["minimize", "minimize"])
    for values in ([2.0, 5.0], [4.0, 1.0]):
        study.add_trial(optuna.trial.create_trial(values=values, system_attrs={"constraints:area <= 0.5mm2": -1.0}))
    tracker.update(study.get_trials())
    assert tracker.dominated([3.0, 6.0]).startswith("dominated by trial 0 (latency [ms] 2, energy [mJ] 5)")
    assert tracker.dominated([4.0, 1.0]) is None           # equal to a front point: not dominated
    assert tracker.dominated([4.5, 1.0]).startswith("dominated by trial 1")
    assert tracker.dominated([1.0, 9.0]) is None
    assert tracker.dominated([-np.inf, 9.0]) is None       # an objective without a bound is never dominated


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pruned")
    search(TINY, "--runs-dir", root / "runs", "--trials", 30, "--seed", 1, cwd=root)
    return root / "runs" / "tiny"


def test_pruned_trials_are_dominated_by_the_trial_they_name(pruned_run: Path) -> None:
    space = load_space(TINY)
    trials = {t.number: t for t in load(pruned_run / "journal.log", "tiny").get_trials()}
    pruned = [t for t in trials.values() if t.state == TrialState.PRUNED]
    assert pruned, "the tiny search pruned nothing: the check below would be empty"
    for t in pruned:
        reason = t.user_attrs["reason"]
        by = trials[int(reason.split("dominated by trial ")[1].split(" ")[0])]
        assert by.state == TrialState.COMPLETE and all(c <= 0 for c in by.constraints.values())
        full = evaluate_trial(space, space.base_dir, t.params)      # no pruning: every layer mapped
        assert all(a <= b for a, b in zip(by.values, full.values)) and any(a < b for a, b in zip(by.values, full.values))
    rows = read_csv(pruned_run / "trials.csv")
    assert sum(r["state"] == "PRUNED" for r in rows) == len(pruned)
    assert "pruned as dominated" in (pruned_run / "summary.md").read_text()


def test_pruning_leaves_the_front_of_a_random_search_unchanged(tmp_path: Path) -> None:
    """The random sampler proposes the same designs whatever the results: the two searches see the
    same 40 designs, and the one that prunes finds the same feasible front."""
    spec = yaml.safe_load(TINY.read_text())
    spec["workloads"][0]["model"] = str(TINY.parent / spec["workloads"][0]["model"])
    spec["search"] = {"sampler": "random", "seed": 4}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    fronts, states = [], []
    for flag, name in (("--prune", "a"), ("--no-prune", "b")):
        search(path, flag, "--study", name, "--runs-dir", tmp_path / "runs", "--trials", 40, cwd=tmp_path)
        fronts.append(read_csv(tmp_path / "runs" / name / "pareto.csv"))
        states.append([r["state"] for r in read_csv(tmp_path / "runs" / name / "trials.csv")])
    assert states[0].count("PRUNED") > 0 and states[1].count("PRUNED") == 0
    assert fronts[0] == fronts[1] and len(fronts[0]) > 1


@pytest.mark.parametrize("flag", ["--prune", "--no-prune"])
def test_a_run_without_pruning_evaluates_a_design_pruned_before_in_full(pruned_run: Path, tmp_path: Path,
                                                                       flag: str) -> None:
    """A design proposed again takes its earlier trial's outcome (``same_as``), but a PRUNED outcome
    only when this run prunes too: with ``--no-prune`` the design is mapped in full."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(pruned_run, runs / "tiny")
    study = load(runs / "tiny" / "journal.log", "tiny")
    before = study.get_trials(deepcopy=False)
    earlier = next(t for t in before if t.state == TrialState.PRUNED)
    study.enqueue_trial(earlier.params)
    search(TINY, flag, "--runs-dir", runs, "--trials", len(before) + 1, "--seed", 1, cwd=tmp_path)
    again = max(load(runs / "tiny" / "journal.log", "tiny").get_trials(deepcopy=False), key=lambda t: t.number)
    assert again.params == earlier.params
    if flag == "--prune":
        assert again.state == TrialState.PRUNED and again.user_attrs["same_as"] == earlier.number
    else:
        assert again.state == TrialState.COMPLETE and "same_as" not in again.user_attrs
