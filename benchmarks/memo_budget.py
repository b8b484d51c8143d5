"""The mapper memo's memory budget (:data:`codesign.compiler.memo.BUDGET_BYTES`) against search time.

Each budget runs the same one-process search (``codesign search SPACE --trials N --jobs 1
--no-report``, same seed) in a fresh process with the budget set before it starts. One
process and one seed give one trial stream, and the memo's reuse is exact, so the runs'
``trials.csv`` must be identical (checked); only the CPU time and the peak memory differ.
Printed per budget: CPU seconds (user + system), peak resident memory, and the ratio to the
first budget's CPU time.

Usage::

    python benchmarks/memo_budget.py                               # edge, 400 trials, 256 MiB vs 1 GiB
    python benchmarks/memo_budget.py --trials 200 --budgets-mib 128 256 1024 4096
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import resource, sys
import codesign.compiler.memo as memo
memo.BUDGET_BYTES = int(sys.argv[1]) * 2**20
sys.argv = ["codesign", "search"] + sys.argv[2:]
from codesign.cli import main
try:
    main()
finally:
    print("maxrss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run(space: Path, runs: Path, trials: int, seed: int, budget_mib: int) -> tuple[float, float, str]:
    """(CPU seconds, peak RSS in MiB, trials.csv text) of one search with the memo at ``budget_mib``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", CHILD, str(budget_mib), str(space), "--trials", str(trials),
                           "--jobs", "1", "--seed", str(seed), "--no-report", "--runs-dir", str(runs)],
                          capture_output=True, text=True, cwd=runs.parent, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"search at {budget_mib} MiB failed:\n{done.stderr[-2000:]}")
    rss = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("maxrss_kib"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    csv = next(runs.glob("*/trials.csv")).read_text()
    return cpu, rss / 1024, csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budgets-mib", type=int, nargs="+", default=[256, 1024])
    args = ap.parse_args()
    print(f"space {args.space}  {args.trials} trials, one process, seed {args.seed}")
    print(f"{'budget':>9} {'CPU s':>8} {'peak RSS':>10} {'vs first':>9}")
    first_cpu, first_csv = None, None
    with tempfile.TemporaryDirectory() as tmp:
        for mib in args.budgets_mib:
            runs = Path(tmp) / f"b{mib}" / "runs"
            runs.parent.mkdir()
            cpu, rss, csv = run(args.space.resolve(), runs, args.trials, args.seed, mib)
            first_cpu = first_cpu or cpu
            if first_csv is not None and csv != first_csv:
                sys.exit(f"trials.csv at {mib} MiB differs from the first budget's: the memo changed a result")
            first_csv = csv
            print(f"{mib:>5} MiB {cpu:>8.1f} {rss:>6.0f} MiB {cpu / first_cpu:>8.2f}x")
    print("trials.csv identical across budgets")


if __name__ == "__main__":
    main()
