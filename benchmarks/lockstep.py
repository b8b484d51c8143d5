"""A design's layer searches one at a time against in lockstep: CPU time, kernel calls, same results.

For random designs of a space (``spaces/edge.yaml`` by default, optuna's random sampler, fixed
seed), every distinct MAC layer of the space's workloads is mapped cold (every mapper cache
cleared before each design) twice in this process:

- **one at a time**: :func:`codesign.compiler.mapper.map_layer` per layer, as the flow did
  before the lockstep searches (every search makes its own kernel calls);
- **in lockstep**: :func:`codesign.compiler.mapper.map_layers` of all of them
  (:func:`codesign.compiler.search.search_many`: each round, same-structure layers share one
  tiling, tiling-bound and usage-counting call).

Prints per design the CPU seconds (``time.process_time``: what one core spends, whatever else
runs) of each way, their ratio, and the calls of the two batched kernels
(:func:`codesign.compiler.bounds.traffic_bounds`, :func:`codesign.cost.analytical.measure`);
then the totals. Fails if any layer's mapping, energy, cycles or candidate counts differ.

Usage::

    python benchmarks/lockstep.py                       # 8 designs of spaces/edge.yaml
    python benchmarks/lockstep.py --designs 20 --seed 1
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import optuna

from codesign.compiler import bounds, costed
from codesign.compiler.mapper import clear_cache, map_layer, map_layers
from codesign.compiler.mapping import MappingError
from codesign.compiler.tiles import squeeze
from codesign.dse.runner import suggest
from codesign.dse.sampling import distributions
from codesign.flow import build_accelerator, policy_of, space_workloads
from codesign.spec.loader import load_space
from codesign.spec.params import resolve_design

ROOT = Path(__file__).resolve().parent.parent


def count_calls(calls: Counter) -> None:
    """Count the two batched kernels' calls (wrapping them where the mapper calls them)."""
    real_traffic, real_measure = bounds.traffic_bounds, costed.measure

    def traffic_bounds(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["traffic_bounds"] += 1
        return real_traffic(*args, **kwargs)

    def measure(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["measure"] += 1
        return real_measure(*args, **kwargs)

    bounds.traffic_bounds = traffic_bounds          # every batched caller goes through bounds.traffic_parts
    costed.measure = measure


def outcome(result: object) -> tuple:
    if isinstance(result, MappingError):
        return ("no mapping", str(result))
    return (result.mapping, result.energy_pj, result.cycles, result.candidates, result.legal)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    parser.add_argument("--designs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    space = load_space(args.space)
    layers = list({lr.canonical(): lr for w in space_workloads(space, args.space.parent) for lr in w.layers}.values())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=args.seed))
    calls: Counter = Counter()
    count_calls(calls)
    totals = Counter()
    print(f"space {args.space.name}: {len(layers)} distinct layers, "
          f"{len({squeeze(lr.canonical()).layer.structure for lr in layers})} loop structures")
    print(f"{'design':>6} {'alone s':>8} {'lockstep s':>10} {'ratio':>6} {'traffic calls':>14} {'measure calls':>14}")
    for n in range(args.designs):
        trial = study.ask()
        design = resolve_design(space, {k: suggest(trial, k, d) for k, d in distributions(space).items()})
        study.tell(trial, 0.0)
        acc, policy = build_accelerator(space, design), policy_of(design, space)
        clear_cache()
        calls.clear()
        start = time.process_time()
        alone = []
        for lr in layers:
            try:
                alone.append(map_layer(lr, acc, policy))
            except MappingError as exc:
                alone.append(exc)
        t_alone, c_alone = time.process_time() - start, dict(calls)
        clear_cache()
        calls.clear()
        start = time.process_time()
        together = map_layers(layers, acc, policy)
        t_together, c_together = time.process_time() - start, dict(calls)
        same = [outcome(a) == outcome(t) for a, t in zip(alone, together)]
        if not all(same):
            raise SystemExit(f"design {n}: {same.count(False)} layers differ in lockstep")
        totals.update({"alone": t_alone, "together": t_together})
        print(f"{n:>6} {t_alone:>8.2f} {t_together:>10.2f} {t_alone / t_together:>6.2f} "
              f"{c_alone.get('traffic_bounds', 0):>6} -> {c_together.get('traffic_bounds', 0):<5} "
              f"{c_alone.get('measure', 0):>6} -> {c_together.get('measure', 0):<5}")
    print(f"total  {totals['alone']:>8.2f} {totals['together']:>10.2f} {totals['alone'] / totals['together']:>6.2f}"
          f"   every layer's result identical")


if __name__ == "__main__":
    main()
