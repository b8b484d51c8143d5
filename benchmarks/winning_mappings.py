"""How many distinct mappings the mapper chooses for one layer across the designs of a search.

A search meets each layer on hundreds of designs. With the array and dataflow fixed, the
designs differ in buffer sizes (the capacities), clock, technology node, DRAM and the
mapper's objective. This counts the distinct mappings the mapper returns per layer, overall
and per capacity key (the same buffer sizes: only prices, bandwidth per cycle and objective
differ). A small count per capacity key means that a remembered set of mappings per (layer,
array, dataflow, capacities) would hold the answer for most designs: the design question
behind the issue's speed target (docs/search.md, "What a minute would take").

Designs are drawn at random from the space (its sampler ignored), with the array fixed.

Usage::

    python benchmarks/winning_mappings.py                          # edge, 16x16 weight-stationary, 120 designs
    python benchmarks/winning_mappings.py --rows 32 --cols 8 --dataflow flexible --designs 60
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import optuna

from codesign.compiler.mapper import map_layer
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
    ap.add_argument("--designs", type=int, default=120)
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--dataflow", default="weight_stationary")
    ap.add_argument("--every", type=int, default=7, help="take every k-th layer of the workloads")
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(args.space)
    dists = distributions(space)
    fixed = {"hardware.array.rows": args.rows, "hardware.array.cols": args.cols,
             "hardware.array.dataflow": args.dataflow}
    layers = [lr for w in space_workloads(space, args.space.parent) for lr in w.layers][::args.every]
    draw = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    chosen: dict[str, dict[tuple, set[str]]] = defaultdict(lambda: defaultdict(set))
    for _ in range(args.designs):
        t = draw.ask()
        params = {k: suggest(t, k, d) for k, d in dists.items()}
        draw.tell(t, 0.0)
        design = resolve_design(space, {**params, **fixed})
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        for layer in layers:
            try:
                chosen[layer.name][acc.capacity_key].add(repr(map_layer(layer, acc, policy).mapping))
            except MappingError:
                pass
    print(f"space {args.space}  {args.designs} random designs on {args.rows}x{args.cols} {args.dataflow}  "
          f"(every {args.every}th layer)")
    print(f"{'layer':<26} {'distinct mappings':>17} {'capacity keys':>13} {'per key: mean':>14} {'max':>4}")
    for layer in layers:
        keys = chosen[layer.name]
        if not keys:
            print(f"{layer.name:<26} {'unmappable':>17}")
            continue
        per_key = [len(v) for v in keys.values()]
        total = len(set().union(*keys.values()))
        print(f"{layer.name:<26} {total:>17} {len(keys):>13} {np.mean(per_key):>14.1f} {max(per_key):>4}")


if __name__ == "__main__":
    main()
