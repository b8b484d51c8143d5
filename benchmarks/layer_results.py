"""Per-layer mapper results on random designs, and how two versions of codesign compare on them.

A change to the mapper or its bounds (a new :data:`codesign.flow.RESULTS_VERSION`) moves some
layers' mappings. ``dump`` maps every layer of N random designs of a space (seeded, so every
version draws the same designs) and writes each layer's energy (pJ), cycles and the mapper
objective it was mapped for; ``compare`` scores a second dump against a first one under each
layer's own objective (energy, latency or EDP): how many layers got better, stayed, got worse,
the geometric mean of new / old and the worst layers.

Usage (the old version in a git worktree)::

    git worktree add /tmp/old <commit>
    (cd /tmp/old && python benchmarks/layer_results.py dump /tmp/old.json)
    python benchmarks/layer_results.py dump /tmp/new.json
    python benchmarks/layer_results.py compare /tmp/old.json /tmp/new.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import optuna

from codesign.dse.runner import suggest
from codesign.dse.sampling import distributions
from codesign.flow import InfeasibleDesign, evaluate_design
from codesign.spec.loader import load_space
from codesign.spec.params import resolve_design

ROOT = Path(__file__).resolve().parent.parent


def dump(space_path: Path, designs: int, seed: int, out: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = load_space(space_path)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    dists = distributions(space)
    record: dict[str, object] = {}
    cpu = 0.0
    for i in range(designs):
        trial = study.ask()
        design = resolve_design(space, {k: suggest(trial, k, d) for k, d in dists.items()})
        study.tell(trial, 0.0)
        objective = str(design.get("schedule.objective", "edp"))
        t0 = time.process_time()
        try:
            result = evaluate_design(space, design, space.base_dir)
        except InfeasibleDesign as exc:
            record[str(i)] = str(exc)
            continue
        finally:
            cpu += time.process_time() - t0
        record[str(i)] = {f"{w.name}/{lr.layer.name}": [lr.energy_pj, lr.cycles, objective]
                          for w in result.workloads for lr in w.layers}
    out.write_text(json.dumps(record))
    print(f"{designs} designs of {space_path.name} (seed {seed}): {cpu:.1f} s of CPU, written to {out}")


def _value(energy_pj: float, cycles: float, objective: str) -> float:
    return {"energy": energy_pj, "latency": cycles}.get(objective, energy_pj * cycles)


def compare(old_path: Path, new_path: Path) -> None:
    old, new = json.loads(old_path.read_text()), json.loads(new_path.read_text())
    better = same = worse = 0
    logs, worst = [], []
    for key, layers in old.items():
        other = new.get(key)
        if isinstance(layers, str) or isinstance(other, str) or other is None:
            if isinstance(layers, str) != isinstance(other, str):
                print(f"design {key}: feasibility differs ({'old' if isinstance(layers, str) else 'new'} unmappable)")
            continue
        for name, (e, c, objective) in layers.items():
            e2, c2, _ = other[name]
            ratio = _value(e2, c2, objective) / _value(e, c, objective)
            logs.append(math.log(ratio))
            if ratio < 1 - 1e-9:
                better += 1
            elif ratio > 1 + 1e-9:
                worse += 1
                worst.append((ratio, key, name, objective))
            else:
                same += 1
    print(f"{len(logs)} layers: better {better}, same {same}, worse {worse}; "
          f"geometric mean new / old {math.exp(sum(logs) / max(1, len(logs))):.4f}")
    for ratio, key, name, objective in sorted(worst, reverse=True)[:8]:
        print(f"  worse {ratio:.3f}x  design {key}  {name}  ({objective})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="map every layer of N random designs, write JSON")
    d.add_argument("out", type=Path)
    d.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    d.add_argument("--designs", type=int, default=30)
    d.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("compare", help="score a new dump against an old one")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.space, args.designs, args.seed, args.out)
    else:
        compare(args.old, args.new)


if __name__ == "__main__":
    main()
