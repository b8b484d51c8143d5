"""Search throughput: trials per second, and where a trial's time goes.

Runs ``codesign.search`` (one process, the default journal storage) on a space for N trials
in a temporary runs directory and times, with ``time.perf_counter`` around the calls the
search makes:

- design evaluation: :func:`codesign.flow.evaluate_design` (build, map every layer, cost), split
  into the mapper (:func:`codesign.compiler.mapper.map_layers` without the cost-core calls it
  makes), the cost model (:func:`codesign.compiler.costed.cost_many`, every round of batches of
  mappings the mapper costs: counting the mappings whose usage is not remembered yet, then
  pricing all), the layer lower bounds pruning takes
  (:func:`codesign.compiler.mapper.lower_bounds`, with ``search.prune``) and the rest (building the accelerator, vector operators, metrics, the
  pruning checks);
- sampling: optuna's ``Trial`` creation and ``suggest_*`` (the sampler), journal writes excluded;
- recording: constraints, result attribute and ``tell``, journal writes excluded;
- journal writes: every append to ``journal.log`` (each one is fsynced);
- other: opening the study, progress snapshots, writing trials.csv/pareto/summary.

Usage::

    python benchmarks/search_throughput.py                      # spaces/edge.yaml, 30 trials
    python benchmarks/search_throughput.py --trials 100 --space tests/data/tiny.yaml
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _machine import machine_line  # benchmarks/, beside this script
from optuna.storages.journal import JournalFileBackend

import codesign
from codesign.dse import runner

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """Seconds per phase; journal writes made inside a timed phase are counted as writes only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            writes_before = self.seconds["journal writes"]
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                inner_writes = self.seconds["journal writes"] - writes_before
                self.seconds[phase] += time.perf_counter() - start - (0 if phase == "journal writes" else inner_writes)
                self.calls[phase] += 1
        return timed


def instrument(clock: Clock) -> None:
    """Put timers around evaluation, sampling, recording and journal appends (this process only)."""
    real_run_trial = runner.run_trial
    from codesign import flow
    from codesign.compiler import costed, mapper, search

    flow.map_layers = clock.wrap("  mapper (incl. cost model)", flow.map_layers)
    flow.lower_bounds = clock.wrap("  layer lower bounds (pruning)", flow.lower_bounds)
    mapper.evaluate = clock.wrap("  cost model", mapper.evaluate)
    real_measure = costed.measure

    def measure(layer: Any, acc: Any, nest: Any) -> Any:
        clock.calls["mappings counted"] += nest.size
        return real_measure(layer, acc, nest)

    costed.measure = clock.wrap("    counting mappings not remembered", measure)
    real_cost = search.cost_many

    def cost_many(requests: Any, acc: Any) -> Any:
        clock.calls["mappings costed"] += sum(chunk.size for _, chunk in requests)
        return real_cost(requests, acc)

    search.cost_many = clock.wrap("  cost model", cost_many)
    runner.evaluate_design = clock.wrap("design evaluation", runner.evaluate_design)
    runner.start_trial = clock.wrap("sampling (ask + suggest)", runner.start_trial)
    JournalFileBackend.append_logs = clock.wrap("journal writes", JournalFileBackend.append_logs)  # type: ignore[method-assign]

    def run_trial(*args: Any, **kwargs: Any) -> Any:
        before = {k: clock.seconds[k] for k in ("design evaluation", "sampling (ask + suggest)", "journal writes")}
        start = time.perf_counter()
        try:
            return real_run_trial(*args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            clock.seconds["recording (tell)"] += spent - sum(clock.seconds[k] - v for k, v in before.items())
            clock.calls["trials"] += 1
    runner.run_trial = run_trial


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml", help="space file")
    parser.add_argument("--trials", type=int, default=30, help="trials to run (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="where the journal goes (default: a temporary directory, deleted afterwards)")
    args = parser.parse_args()

    space = codesign.load_space(args.space)
    clock = Clock()
    instrument(clock)
    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp:
        runs = args.runs_dir or Path(tmp)
        start = time.perf_counter()
        result = codesign.search(space, trials=args.trials, seed=args.seed, runs_dir=runs,
                                 study=f"bench-{time.time_ns()}")
        wall = time.perf_counter() - start
    n = clock.calls["trials"]
    phases = ["design evaluation", "sampling (ask + suggest)", "recording (tell)", "journal writes"]
    clock.seconds["other (open, progress, outputs)"] = wall - sum(clock.seconds[p] for p in phases)
    phases.append("other (open, progress, outputs)")

    sampler = runner.resolved_sampler_name(space, args.trials)
    pruned = sum(t.state == "PRUNED" for t in result.trials)
    print(machine_line())
    print(f"space {args.space}  trials {n} ({pruned} pruned)  sampler {sampler}  seed {args.seed}  "
          f"feasible Pareto designs {len(result.pareto)}")
    print(f"wall {wall:.2f} s   throughput {n / wall:.2f} trials/s   mean {wall / n * 1000:.0f} ms per trial\n")
    mapping = clock.seconds.pop("  mapper (incl. cost model)", 0.0)
    cost = clock.seconds.pop("  cost model", 0.0)
    counting = clock.seconds.pop("    counting mappings not remembered", 0.0)
    bounds = clock.seconds.pop("  layer lower bounds (pruning)", 0.0)
    evaluation = clock.seconds["design evaluation"]
    parts = {"design evaluation": [("  mapper (tiling, bounds, search)", mapping - cost), ("  cost model", cost),
                                   ("    counting mappings not remembered", counting),
                                   ("    pricing, lookups", cost - counting),
                                   ("  layer lower bounds (pruning)", bounds),
                                   ("  build, vector ops, metrics, pruning checks", evaluation - mapping - bounds)]}
    rows = [("phase", "total s", "ms/trial", "share")]
    for p in phases:
        for name, sec in [(p, clock.seconds[p])] + parts.get(p, []):
            rows.append((name, f"{sec:.2f}", f"{sec / n * 1000:.1f}", f"{sec / wall:.0%}"))
    rows.append(("all", f"{wall:.2f}", f"{wall / n * 1000:.1f}", "100%"))
    print(table(rows))
    overhead = wall - clock.seconds["design evaluation"]
    print(f"\noptuna sampling + storage + codesign bookkeeping: {overhead / n * 1000:.1f} ms per trial "
          f"({clock.calls['journal writes'] / n:.1f} journal appends per trial)")
    costed_n, counted = clock.calls["mappings costed"], clock.calls["mappings counted"]
    print(f"cost model: {costed_n / n:.0f} mappings costed per trial, {counted / max(1, costed_n):.0%} of them counted "
          f"afresh (the rest priced from remembered usage, codesign/compiler/costed.py)")


if __name__ == "__main__":
    main()
