"""Pruning dominated designs (``search.prune``): wall time and front quality of the same search
with and without it, or with other samplers.

Each run is a fresh ``codesign search SPACE --trials N --jobs J`` process (``--no-report``: the
report's time is the same either way) in a temporary runs directory, same seed, one per
configuration ``SAMPLER:prune`` or ``SAMPLER:no-prune`` (``SAMPLER`` a ``search.sampler`` value,
``space`` for the space's own); with ``--repeats`` the configurations run in turn, then in
reverse, so a change in the machine's load hits them alike. Printed per run: wall time, trials per second, how many trials were complete, pruned
and failed, the size of the feasible front, and two front-quality figures against the union of
every run's fronts: the hypervolume ratio (one reference point for all: 10% beyond the worst
value of the union front) and the share of the union front's points the run attains (weakly
dominates).

With ``random`` both runs see the same designs (the random sampler ignores results): the
fronts must then be identical, and the saving is pruning alone. With other samplers the runs
diverge (TPE learns from pruned trials, NSGA-II does not count them in a generation); the
hypervolume ratio shows what that costs or gains.

Usage::

    python benchmarks/pruning.py                                   # edge, 200 trials, 2 jobs
    python benchmarks/pruning.py --configs random:prune random:no-prune --trials 100
    python benchmarks/pruning.py --trials 1000 --configs nsga2:no-prune nsga2:prune tpe:prune
    python benchmarks/pruning.py --space tests/data/tiny.yaml --trials 60 --jobs 1
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from codesign.dse.hypervolume import hypervolume
from codesign.dse.pareto import pareto_mask
from codesign.spec.loader import load_space

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from codesign.cli import main; main()", "search"]


def with_sampler(path: Path, sampler: str, out: Path) -> Path:
    """A copy of the space file at ``out`` with ``search.sampler`` set (model paths made absolute)."""
    spec = yaml.safe_load(path.read_text())
    for w in spec["workloads"]:
        if str(w["model"]).endswith((".yaml", ".onnx")):
            w["model"] = str((path.parent / w["model"]).resolve())
    spec.setdefault("search", {})["sampler"] = sampler
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


def run(space: Path, runs: Path, study: str, trials: int, jobs: int, prune: bool, seed: int | None) -> dict:
    t0 = time.perf_counter()
    seeded = [] if seed is None else ["--seed", str(seed)]
    subprocess.run([*CLI, str(space), "--runs-dir", str(runs), "--study", study, "--trials", str(trials),
                    "--jobs", str(jobs), "--no-report", "-q", "--prune" if prune else "--no-prune", *seeded],
                   check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    with (runs / study / "trials.csv").open(newline="") as fh:
        states = [r["state"] for r in csv.DictReader(fh)]
    with (runs / study / "pareto.csv").open(newline="") as fh:
        front = list(csv.DictReader(fh))
    return {"wall": wall, "states": states, "front": front}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="runs of each configuration")
    ap.add_argument("--seed", type=int, default=None, help="sampler seed (default: the space's)")
    ap.add_argument("--configs", nargs="+", default=["space:prune", "space:no-prune"],
                    help="SAMPLER:prune or SAMPLER:no-prune (SAMPLER: a search.sampler value, or space)")
    args = ap.parse_args()
    space = load_space(args.space)
    labels = [f"{o.metric} [{o.unit}]" if o.unit else o.metric for o in space.objectives]
    sign = np.array([-1.0 if o.direction == "maximize" else 1.0 for o in space.objectives])
    configs = [c.split(":") for c in args.configs]
    if any(len(c) != 2 or c[1] not in ("prune", "no-prune") for c in configs):
        ap.error("each --configs entry is SAMPLER:prune or SAMPLER:no-prune")
    order = [c for k in range(args.repeats) for c in (configs if k % 2 == 0 else configs[::-1])]
    with tempfile.TemporaryDirectory() as tmp:
        paths = {s: args.space.resolve() if s == "space" else with_sampler(args.space.resolve(), s, Path(tmp) / f"{s}.yaml")
                 for s, _ in configs}
        results = []
        for i, (sampler, prune) in enumerate(order):
            res = run(paths[sampler], Path(tmp) / "runs", f"r{i}", args.trials, args.jobs, prune == "prune", args.seed)
            results.append({**res, "config": f"{sampler}:{prune}"})
            print(f"ran {sampler}:{prune} in {res['wall']:.1f} s", flush=True)
    fronts = [np.array([[float(r[lb]) for lb in labels] for r in res["front"]]).reshape(-1, len(labels)) * sign
              for res in results]
    union = np.vstack(fronts)
    union = union[pareto_mask(union, (False,) * len(labels))]
    ref = union.max(axis=0) + 0.1 * np.abs(union.max(axis=0))
    hv_union = hypervolume(union, ref)
    print(f"{args.space.name}: {args.trials} trials, --jobs {args.jobs} (space's sampler: {space.search.sampler.name})")
    print(f"{'config':>16} {'wall s':>8} {'trials/s':>9} {'complete':>9} {'pruned':>7} {'failed':>7} {'front':>6} "
          f"{'HV/union':>9} {'attains':>8}")
    for res, f in zip(results, fronts):
        s = res["states"]
        hv = hypervolume(f, ref) / hv_union if len(f) else 0.0
        attains = np.mean([bool(np.any(np.all(f <= u, axis=1))) for u in union]) if len(f) else 0.0
        print(f"{res['config']:>16} {res['wall']:8.1f} {len(s) / res['wall']:9.2f} "
              f"{s.count('COMPLETE'):9d} {s.count('PRUNED'):7d} {s.count('FAIL'):7d} {len(f):6d} {hv:9.4f} {attains:8.2f}")
    for config in args.configs:
        print(f"mean wall, {config}: {np.mean([r['wall'] for r in results if r['config'] == config]):.1f} s")
    same = all(r["front"] == results[0]["front"] for r in results)
    print("fronts identical across runs:", "yes" if same else "no")


if __name__ == "__main__":
    main()
