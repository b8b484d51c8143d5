"""What one ``ask`` of codesign's sampler costs as a study grows, with and without the kept
search-space calculators (:class:`codesign.dse.sampling.TrialSeededSampler`).

codesign rebuilds stream-based samplers for every trial (per-trial seeds make resumed and
multi-process runs reproducible). A rebuilt TPE or NSGA-II sampler starts with an empty
intersection-search-space cache and so recomputes the intersection over every finished trial
on each ask; keeping the first sampler's calculators makes that incremental. Both variants
propose the same designs (``tests/test_samplers.py``); this prints the CPU time per ask.

The study is filled with N trials of the space's own parameters (random designs, synthetic
objective values and constraint values: the sampler's cost depends on the number of trials
and parameters, not on what the values mean), then asked ``--asks`` times.

Usage::

    python benchmarks/sampler_overhead.py                        # edge, tpe, 100..1000 trials
    python benchmarks/sampler_overhead.py --sampler nsga2 --sizes 200 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import optuna

from codesign.dse import sampling
from codesign.dse.runner import suggest
from codesign.dse.sampling import distributions, make_sampler
from codesign.spec.loader import load_space

ROOT = Path(__file__).resolve().parent.parent


def filled_trials(space, n: int, seed: int) -> list[optuna.trial.FrozenTrial]:
    """``n`` finished trials of random designs with synthetic values (3 objectives, 3 constraints)."""
    rng = np.random.default_rng(seed)
    dists = distributions(space)
    source = optuna.create_study(directions=["minimize"] * 3, sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for number in range(n):
        t = source.ask()
        params = {k: suggest(t, k, d) for k, d in dists.items()}
        values = list(rng.lognormal(size=3))
        out.append(optuna.trial.create_trial(
            params=params, distributions=dict(t.distributions), values=values,
            system_attrs={"constraints": list(rng.normal(-0.5, 0.5, size=3))}))
        source.tell(t, values)
    return out


def time_asks(space, name: str, trials: list, asks: int, keep: bool) -> float:
    """CPU seconds per ask on a study holding ``trials``."""
    saved = sampling.SEARCH_SPACE_CACHES
    sampling.SEARCH_SPACE_CACHES = saved if keep else ()
    try:
        study = optuna.create_study(directions=["minimize"] * 3, sampler=make_sampler(space, name, 0))
        study.add_trials(trials)
        dists = distributions(space)
        t0 = time.process_time()
        for _ in range(asks):
            study.ask(dists)
        return (time.process_time() - t0) / asks
    finally:
        sampling.SEARCH_SPACE_CACHES = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    ap.add_argument("--sampler", default="tpe")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 600, 1000])
    ap.add_argument("--asks", type=int, default=5)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(args.space)
    print(f"space {args.space}  sampler {args.sampler}  {args.asks} asks per size (CPU time)")
    print(f"{'trials':>7} {'kept calculators':>17} {'rebuilt':>9} {'ratio':>6}")
    for n in args.sizes:
        trials = filled_trials(space, n, seed=1)
        kept = time_asks(space, args.sampler, trials, args.asks, keep=True)
        fresh = time_asks(space, args.sampler, trials, args.asks, keep=False)
        print(f"{n:>7} {kept * 1e3:>14.1f} ms {fresh * 1e3:>6.1f} ms {fresh / kept:>5.2f}x")


if __name__ == "__main__":
    main()
