"""How many designs of each dataflow a search tried, found feasible and kept on its Pareto front.

Prints, per run directory (``codesign search ... --runs-dir DIR`` writes ``DIR/<study>/``), the
number of complete trials, feasible trials and Pareto-optimal feasible designs per
``hardware.array.dataflow``. Used to check that ``flexible`` no longer dominates the fronts of
``spaces/edge.yaml`` once its interconnect is costed (docs/cost-model.md, Technology tables).

With ``--swap`` it also makes a paired comparison that does not depend on what the sampler
happened to try: every Pareto design of the run is evaluated as it is and again with its
dataflow set to ``flexible`` (all else equal), and it prints whether the flexible variant
dominates the original and how many flexible variants are on the front of the union. Run it with
``PYTHONPATH`` pointing at another checkout to see that checkout's cost model.

Usage::

    codesign search spaces/edge.yaml --trials 60 --seed 1 --runs-dir /tmp/flexruns -q
    python benchmarks/dataflow_front.py /tmp/flexruns/edge [/tmp/flexruns-before/edge ...] [--swap]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

import codesign
from codesign.dse.pareto import pareto_mask
from codesign.report.gather import load_run

KEY = "hardware.array.dataflow"
METRICS = ("latency", "energy", "area")          # spaces/edge.yaml's objectives, all minimized


def counts(run_dir: str) -> tuple[Counter, Counter, Counter]:
    data = load_run(run_dir)
    complete = [r for r in data.rows if r.state == "COMPLETE"]
    return (Counter(r.params.get(KEY) for r in complete),
            Counter(r.params.get(KEY) for r in complete if r.feasible),
            Counter(r.params.get(KEY) for r in data.front))


def swap(run_dir: str) -> None:
    """Each Pareto design as it is and with a flexible array; the front of the union."""
    data = load_run(run_dir)
    points, labels = [], []
    print(f"  {'trial':>5} {'dataflow':<18}{'latency [ms]':>13}{'energy [mJ]':>12}{'area [mm2]':>11}"
          f"  flexible variant: latency, energy, area ratio; dominates?")
    for row in data.front:
        pair = []
        for dataflow in (row.params[KEY], "flexible"):
            r = codesign.evaluate(data.space, {**row.params, KEY: dataflow})
            pair.append(np.array([r.metrics[m] for m in METRICS]))
            if r.feasible:
                points.append(pair[-1])
                labels.append(dataflow)
        orig, flex = pair
        ratio = flex / orig
        dominates = bool(np.all(flex <= orig) and np.any(flex < orig))
        print(f"  {row.number:>5} {row.params[KEY]:<18}{orig[0] * 1e3:>13.4g}{orig[1] * 1e3:>12.4g}{orig[2]:>11.4g}"
              f"  {ratio[0]:.3f} {ratio[1]:.3f} {ratio[2]:.3f}  {'yes' if dominates else 'no'}")
    mask = pareto_mask(np.array(points), (False,) * len(METRICS))
    front = [lab for lab, keep in zip(labels, mask) if keep]
    print(f"  union of originals and flexible variants: {len(front)} Pareto-optimal feasible designs, "
          f"{front.count('flexible')} flexible")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories (DIR/<study>/)")
    ap.add_argument("--swap", action="store_true", help="also evaluate each Pareto design with a flexible array")
    args = ap.parse_args()
    for run in args.runs:
        tried, feasible, front = counts(run)
        print(f"{run}: {sum(front.values())} Pareto-optimal feasible designs, "
              f"{front.get('flexible', 0)} of them flexible")
        print(f"  {'dataflow':<20}{'complete':>10}{'feasible':>10}{'Pareto':>8}")
        for dataflow in sorted(tried):
            print(f"  {dataflow:<20}{tried[dataflow]:>10}{feasible[dataflow]:>10}{front[dataflow]:>8}")
        if args.swap:
            swap(run)


if __name__ == "__main__":
    main()
