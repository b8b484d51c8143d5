"""How tight the layer lower bounds that pruning uses are: mapped / bound, per layer.

A search prunes a design once the layers it has mapped, plus every other layer at its lower
bound (:func:`codesign.compiler.mapper.lower_bound`), cannot reach the Pareto front
(docs/search.md, "Pruning dominated designs"). The tighter the bound, the fewer layers a pruned
design maps. This draws random designs of a space (its sampler ignored), maps every distinct
layer and prints the distribution of mapped energy / energy bound and mapped cycles / cycle
bound (1.0 is tight), and how many layers a bound exceeds (must be none).

Usage::

    python benchmarks/layer_bounds.py                   # edge, 6 random designs
    python benchmarks/layer_bounds.py --designs 20 --seed 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import optuna

from codesign.compiler.mapper import lower_bound, map_layer
from codesign.compiler.mapping import MappingError
from codesign.dse.runner import suggest
from codesign.dse.sampling import distributions
from codesign.flow import build_accelerator, policy_of, space_workloads
from codesign.spec.loader import load_space
from codesign.spec.params import resolve_design

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    ap.add_argument("--designs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(args.space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    dists = distributions(space)
    ratios, over, t_bound, t_map = [], 0, 0.0, 0.0
    for _ in range(args.designs):
        trial = study.ask()
        design = resolve_design(space, {k: suggest(trial, k, d) for k, d in dists.items()})
        study.tell(trial, 0.0)
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        seen = set()
        for w in space_workloads(space, space.base_dir):
            for layer in w.layers:
                if layer.canonical() in seen:
                    continue
                seen.add(layer.canonical())
                t0 = time.process_time()
                energy, cycles = lower_bound(layer, acc, policy)
                t1 = time.process_time()
                try:
                    mapped = map_layer(layer, acc, policy)
                except MappingError:
                    continue
                t_bound, t_map = t_bound + t1 - t0, t_map + time.process_time() - t1
                over += int(energy > mapped.energy_pj * (1 + 1e-9) or cycles > mapped.cycles * (1 + 1e-9))
                ratios.append((mapped.energy_pj / energy, mapped.cycles / cycles))
    r = np.array(ratios)
    print(f"{args.space.name}: {args.designs} random designs (seed {args.seed}), {len(r)} mapped layers; "
          f"bounds above the mapping: {over}")
    print(f"CPU: {1e3 * t_bound / len(r):.2f} ms per layer bound (cold), {1e3 * t_map / len(r):.1f} ms per layer mapped")
    print(f"{'mapped / bound':>16} {'median':>8} {'p75':>8} {'p90':>8} {'max':>8}")
    for k, name in enumerate(("energy", "cycles")):
        q = np.percentile(r[:, k], [50, 75, 90, 100])
        print(f"{name:>16} " + " ".join(f"{x:8.3f}" for x in q))


if __name__ == "__main__":
    main()
