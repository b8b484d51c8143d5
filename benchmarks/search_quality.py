"""Search quality: how much of the true Pareto front each sampler finds, and a DOSA-style EDP comparison.

Part ``front`` (spaces/bench-small.yaml, 2,880 designs): every design is evaluated once with
:func:`codesign.dse.runner.evaluate_trial` (which calls :func:`codesign.flow.evaluate_design`,
so the values are exactly what a search tells optuna), in parallel processes and cached on disk
(keyed by the space, its model and codesign's source). That gives the true feasible Pareto front
and its hypervolume, with the reference point 10% beyond the worst feasible value of each
objective. Then each sampler (tpe, nsga2, random, qmc; gp when torch is installed) runs with 3
seeds through the search's own trial start (:func:`codesign.dse.runner.start_trial`, the same
seeded samplers) on an in-memory study, looking designs up in the table instead of evaluating
them, and the hypervolume of the feasible front it found after 2%, 5% and 10% of the space is
divided by the true one (1.0 = the whole front found). Samplers do not know the budget, so one
run of the largest budget gives all three.

Part ``edp`` (spaces/edge.yaml): in the spirit of DOSA's comparison with random search (Hong et
al., MICRO 2023), the best EDP among feasible designs found by the default sampler (``auto``,
resolved at the budget) and by random search at an equal budget, over several seeds, with real
evaluations; printed as random's best EDP over auto's (> 1: auto found a better design). Twice:
on the space as it is, whose objectives are latency, energy and area (EDP is none of them), and
on the same space with EDP as its one objective, as in DOSA's comparison.

Usage::

    python benchmarks/search_quality.py                # both parts, full budgets (about 3 min on the 2-core machine of docs/search.md)
    python benchmarks/search_quality.py --quick        # a few minutes: fewer seeds and a smaller EDP budget
    python benchmarks/search_quality.py --table runs/bench-cache/bench-small-<key>.npz   # reuse an enumeration
    python benchmarks/search_quality.py --part front   # only the enumerable space
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

import codesign
from codesign.dse.hypervolume import hypervolume, reference_point, to_minimization
from codesign.dse.pareto import pareto_mask
from codesign.dse.runner import evaluate_trial, run_trial, start_trial
from codesign.dse.sampling import distributions, make_sampler, resolved_sampler_name
from codesign.spec.params import grid_values, search_domains
from codesign.spec.space import Space

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "spaces" / "bench-small.yaml"
EDGE = ROOT / "spaces" / "edge.yaml"
CACHE = ROOT / "runs" / "bench-cache"
FRACTIONS = (0.02, 0.05, 0.10)


@dataclass(frozen=True)
class Table:
    """Every design of an enumerable space: parameters, objective values, constraint values."""

    names: list[str]
    designs: list[tuple[Any, ...]]
    values: np.ndarray        # [n, k] objectives in display units; NaN rows: the design failed
    violations: np.ndarray    # [n, c] constraint values (<= 0: met); NaN rows: the design failed
    constraints: list[str]

    @property
    def failed(self) -> np.ndarray:
        return np.isnan(self.values).any(axis=1)

    @property
    def feasible(self) -> np.ndarray:
        return ~self.failed & np.all(np.nan_to_num(self.violations, nan=1.0) <= 0, axis=1)


# ---- enumeration ---------------------------------------------------------------------------

_SPACE: Space | None = None


def _init_worker(path: str) -> None:
    """Load the space once per evaluating process."""
    global _SPACE
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _SPACE = codesign.load_space(path)


def _evaluate(chunk: list[dict[str, Any]]) -> list[tuple[list[float], dict[str, float]] | str]:
    """Objective and constraint values of each design, or why it failed (``infeasible: ...``, ``error: ...``)."""
    assert _SPACE is not None
    out: list[tuple[list[float], dict[str, float]] | str] = []
    for params in chunk:
        o = evaluate_trial(_SPACE, _SPACE.base_dir, params)
        out.append(o.failure or (o.values, o.violations))
    return out


EVALUATION_SOURCES = ("flow.py", "units.py", "spec", "workload", "hardware", "compiler", "cost")


def cache_key(space_path: Path, space: Space) -> str:
    """Hash of the space file, its model files and the source that evaluates a design (not the
    search or report code): a change to any of them re-evaluates the space."""
    h = hashlib.sha256(space_path.read_bytes())
    for w in space.workloads:
        model = (space.base_dir / w.model)
        h.update(model.read_bytes() if model.is_file() else w.model.encode())
    for name in EVALUATION_SOURCES:
        top = ROOT / "codesign" / name
        for src in sorted(top.rglob("*.py")) if top.is_dir() else [top]:
            h.update(str(src.relative_to(ROOT)).encode())
            h.update(src.read_bytes())
    return h.hexdigest()[:16]


def enumerate_space(path: Path, workers: int, table: Path | None = None) -> Table:
    """Evaluate every design of the space at ``path`` (or load them from the cache, or from ``table``,
    an earlier cache file of the same space)."""
    space = codesign.load_space(path)
    doms = search_domains(space)
    names = list(doms)
    designs = list(itertools.product(*(grid_values(doms[n]) for n in names)))
    constraints = [c.text for c in space.constraints]
    cache = table or CACHE / f"{space.name}-{cache_key(path, space)}.npz"
    if cache.is_file():
        data = np.load(cache)
        if data["values"].shape[0] != len(designs):
            raise SystemExit(f"{cache} holds {data['values'].shape[0]} designs, {path.name} has {len(designs)}")
        print(f"{len(designs)} designs of {path.name}: loaded from {cache}")
        return Table(names, designs, data["values"], data["violations"], constraints)
    if table is not None:
        raise SystemExit(f"no such table: {table}")
    start = time.perf_counter()
    params = [dict(zip(names, d)) for d in designs]
    chunks = [params[i:i + 32] for i in range(0, len(params), 32)]
    k, c = len(space.objectives), len(constraints)
    values, violations = np.full((len(designs), k), np.nan), np.full((len(designs), c), np.nan)
    row = 0
    errors: list[str] = []
    ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(str(path),)) as pool:
        for results in pool.map(_evaluate, chunks):
            for r in results:
                if isinstance(r, str):
                    if r.startswith("error"):
                        errors.append(f"{dict(zip(names, designs[row]))}: {r}")
                else:
                    values[row] = r[0]
                    violations[row] = [r[1][t] for t in constraints]
                row += 1
    if errors:   # a bug, not a property of the space: do not cache it or score samplers on it
        raise SystemExit(f"{len(errors)} of {len(designs)} designs raised an error, e.g.\n  " + "\n  ".join(errors[:3]))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, values=values, violations=violations)
    seconds = time.perf_counter() - start
    print(f"{len(designs)} designs of {path.name}: evaluated in {seconds:.0f} s with {workers} processes "
          f"({seconds / len(designs) * workers * 1000:.0f} ms per design per process); cached in {cache.relative_to(ROOT)}")
    return Table(names, designs, values, violations, constraints)


# ---- part 1: hypervolume ratio on the enumerable space ------------------------------------

def front_hv(values: np.ndarray, maximize: tuple[bool, ...], ref: np.ndarray) -> float:
    """Hypervolume of the Pareto front of ``values`` (own directions) against ``ref`` (minimized form)."""
    v = to_minimization(values, maximize)
    if v.shape[0] == 0:
        return 0.0
    return hypervolume(v[pareto_mask(v, (False,) * v.shape[1])], ref)


def run_sampler(space: Space, table: Table, index: dict[tuple, int], sampler: str, seed: int,
                trials: int) -> list[int]:
    """Run ``sampler`` for ``trials`` trials on an in-memory study answered from ``table``;
    the table row of each trial, in trial order."""
    dists = distributions(space)
    study = optuna.create_study(directions=[o.direction for o in space.objectives],
                                sampler=make_sampler(space, sampler, seed))
    rows = []
    for _ in range(trials):
        trial = start_trial(study, dists)
        i = index[tuple(trial.params[n] for n in table.names)]
        rows.append(i)
        if table.failed[i]:
            trial.set_user_attr("reason", "infeasible")
            study.tell(trial, state=TrialState.FAIL)
            continue
        for text, v in zip(table.constraints, table.violations[i]):
            trial.set_constraint(text, float(v))
        study.tell(trial, table.values[i].tolist())
    return rows


def mean_spread(xs: list[float]) -> str:
    """``mean ± standard deviation`` over seeds."""
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):.3f} ± {sd:.3f}"


def part_front(seeds: list[int], workers: int, fractions: tuple[float, ...] = FRACTIONS,
               table_file: Path | None = None) -> None:
    """Score every sampler against the true front of the enumerable space; print two tables."""
    space = codesign.load_space(SMALL)
    table = enumerate_space(SMALL, workers, table_file)
    maximize = tuple(o.direction == "maximize" for o in space.objectives)
    feasible = table.values[table.feasible]
    ref = reference_point(to_minimization(feasible, maximize))
    true_hv = front_hv(feasible, maximize, ref)
    true_front = int(pareto_mask(to_minimization(feasible, maximize), (False,) * feasible.shape[1]).sum())
    n = len(table.designs)
    print(f"{n} designs: {int(table.failed.sum())} unmappable, {int(table.feasible.sum())} feasible, "
          f"true Pareto front {true_front} designs, hypervolume {true_hv:.4g} (reference {np.round(ref, 4).tolist()})")
    budgets = [max(1, round(f * n)) for f in fractions]
    index = {d: i for i, d in enumerate(table.designs)}
    front_rows = set(np.flatnonzero(table.feasible)[pareto_mask(to_minimization(feasible, maximize),
                                                                (False,) * feasible.shape[1])].tolist())
    samplers = ["tpe", "nsga2", "random", "qmc"] + (["gp"] if importlib.util.find_spec("torch") else [])
    header = f"{'sampler':8}" + "".join(f"{f'{f:.0%} ({b} trials)':>22}" for f, b in zip(fractions, budgets))
    hv_lines, recall_lines = [], []
    for sampler in samplers:
        ratios: dict[int, list[float]] = {b: [] for b in budgets}
        recall: dict[int, list[float]] = {b: [] for b in budgets}
        start = time.perf_counter()
        for seed in seeds:
            rows = run_sampler(space, table, index, sampler, seed, budgets[-1])
            for b in budgets:
                found = np.array(sorted(set(rows[:b])), dtype=int)
                ok = found[table.feasible[found]]
                ratios[b].append(front_hv(table.values[ok], maximize, ref) / true_hv)
                recall[b].append(len(front_rows.intersection(found.tolist())) / len(front_rows))
        per_trial = (time.perf_counter() - start) / len(seeds) / budgets[-1] * 1000
        hv_lines.append(f"{sampler:8}" + "".join(f"{mean_spread(ratios[b]):>22}" for b in budgets)
                        + f"{per_trial:9.1f}")
        recall_lines.append(f"{sampler:8}" + "".join(f"{mean_spread(recall[b]):>22}" for b in budgets))
    print(f"\nhypervolume ratio (found / true), mean ± sd over seeds {seeds}\n{header}  ms/trial\n{'-' * (len(header) + 10)}")
    print("\n".join(hv_lines))
    print(f"\nshare of the true Pareto designs found, mean ± sd\n{header}\n{'-' * len(header)}")
    print("\n".join(recall_lines))
    print("(ms/trial: sampling and bookkeeping only, designs are looked up)")
    if "gp" not in samplers:
        print("(gp skipped: torch is not installed)")


# ---- part 2: DOSA-style best EDP, auto vs random, on the edge space -----------------------

def _edp_run(job: tuple[str, str, int, int]) -> tuple[str, int, float | None, float]:
    """One search of ``trials`` trials with real evaluations: (sampler, seed, best feasible EDP or None, seconds)."""
    path, sampler, seed, trials = job
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = codesign.load_space(path)
    dists = distributions(space)
    study = optuna.create_study(directions=[o.direction for o in space.objectives],
                                sampler=make_sampler(space, sampler, seed))
    start = time.perf_counter()
    best: float | None = None
    for _ in range(trials):
        t = run_trial(study, space, space.base_dir, dists)
        if t.state == TrialState.COMPLETE and all(v <= 0 for v in (t.constraints or {}).values()):
            edp = float(t.user_attrs["result"]["metrics"]["edp"])
            best = edp if best is None else min(best, edp)
    return sampler, seed, best, time.perf_counter() - start


def edp_variant(directory: Path) -> Path:
    """``spaces/edge.yaml`` with EDP as its one objective (DOSA's set-up), written in ``directory``."""
    text = EDGE.read_text()
    start, end = text.index("objectives:\n"), text.index("constraints:\n")
    path = directory / "edge-edp.yaml"
    path.write_text(text[:start] + "objectives:\n  - minimize edp [mJ*ms]\n\n" + text[end:])
    return path


def part_edp(seeds: list[int], trials: int, workers: int, which: str = "both") -> None:
    """Best feasible EDP, the default sampler against random search, per seed: on the edge space as
    it is (objectives latency, energy, area) and on the same space with EDP as its one objective."""
    with tempfile.TemporaryDirectory() as tmp:
        spaces = {"as-is": (EDGE, "objectives latency, energy, area"),
                  "edp": (edp_variant(Path(tmp)), "objective edp alone")}
        runs = [(str(path), what, resolved_sampler_name(codesign.load_space(path), trials))
                for key, (path, what) in spaces.items() if which in (key, "both")]
        jobs = [(path, s, seed, trials) for path, _, auto in runs for seed in seeds for s in (auto, "random")]
        ctx = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            results = list(pool.map(_edp_run, jobs))
    for path, what, auto in runs:
        mine = [r for job, r in zip(jobs, results) if job[0] == path]
        best = {(s, seed): b for s, seed, b, _ in mine}
        seconds = sum(r[3] for r in mine) / (len(mine) * trials)
        print(f"\n{EDGE.name} ({what}): best EDP [J·s] of feasible designs, {trials} trials per run, "
              f"auto = {auto} ({seconds:.2f} s per trial)")
        print(f"{'seed':>4} {'auto (' + auto + ')':>14} {'random':>12} {'random / auto':>14}")
        ratios = []
        for seed in seeds:
            a, r = best[(auto, seed)], best[("random", seed)]
            ratio = (r / a) if a and r else math.nan
            if math.isfinite(ratio):
                ratios.append(ratio)
            show = (lambda x: f"{x:.4g}" if x is not None else "none")
            print(f"{seed:>4} {show(a):>14} {show(r):>12} {ratio:>14.3f}")
        if ratios:
            geo = math.exp(statistics.mean(math.log(x) for x in ratios))
            print(f"geometric mean of random / auto over {len(ratios)} seeds: {geo:.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f})")


def main() -> None:
    """Parse the options and run the chosen parts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds for the front; edge: 30 trials x 2 seeds")
    parser.add_argument("--part", choices=("front", "edp", "all"), default="all", help="which comparison to run")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per sampler (default 3, quick 2)")
    parser.add_argument("--edp-trials", type=int, default=None, help="trials per edge run (default 100, quick 30)")
    parser.add_argument("--edp-space", choices=("as-is", "edp", "both"), default="both",
                        help="edge's objectives as they are, EDP alone, or both (default)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: CPU count)")
    parser.add_argument("--table", type=Path, default=None,
                        help="score samplers on this enumeration (a runs/bench-cache/*.npz of an earlier codesign) "
                             "instead of evaluating the space with the current one")
    parser.add_argument("--fractions", default=",".join(map(str, FRACTIONS)),
                        help="budgets as shares of the enumerable space (default 0.02,0.05,0.1)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seeds = list(range(args.seeds or (2 if args.quick else 3)))
    start = time.perf_counter()
    if args.part in ("front", "all"):
        part_front(seeds, args.workers, tuple(sorted(float(f) for f in args.fractions.split(","))), args.table)
    if args.part in ("edp", "all"):
        part_edp(seeds, args.edp_trials or (30 if args.quick else 100), args.workers, args.edp_space)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
