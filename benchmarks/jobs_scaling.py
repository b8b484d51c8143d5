"""``--jobs`` scaling: trials per second of the same search with ``--jobs 1`` and ``--jobs 2``.

Each run is a fresh ``codesign search`` process (cold mapper caches in every worker, as a user
gets them) on ``spaces/bench-small.yaml`` (ResNet-18's first six convolutions; a trial costs
about 0.1-0.5 s) in a temporary runs directory, same seed, same ``--trials``. The runs
alternate (1, 2, 2, 1, 1, 2, ...) so a change in the machine's load hits both settings alike.

Printed per run: wall time of the command, the search span (first trial start to last trial
end, read from the study: no interpreter start-up), finished trials (complete, failed or pruned)
per second over that span, the mean
trial duration, the CPU seconds the processes used (``getrusage`` of the children), the time
all processes waited for the journal's write lock and how many locked writes they made
(measured by a ``sitecustomize`` hook on the search processes), and the load average before
and after. Then trials/s per setting (mean over repeats), the speedup, and whether the runs of
each setting drew the same trials (with ``--repeats 2`` or more). Last, what
``--jobs N``'s reproducibility costs (:mod:`codesign.dse.visible`: trial ``k`` waits for the
trials numbered below ``k - lag``): the share of N workers' throughput a simulation keeps at
several lags, replaying the trial durations of the ``--jobs 1`` run in number order (the "lag
wait s" column measures the real waits).

On a shared machine other processes take cores too: the CPU count and load averages are
printed so the figure can be read against them. CPU/span near the number of jobs means the
workers got their cores.

Usage::

    python benchmarks/jobs_scaling.py                  # 40 trials, 1 repeat of each setting
    python benchmarks/jobs_scaling.py --trials 20      # quicker
    python benchmarks/jobs_scaling.py --trials 60 --repeats 2 --space tests/data/tiny.yaml
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from _machine import machine_line  # benchmarks/, beside this script
from optuna.trial import TrialState

from codesign.dse.storage import journal_storage

ROOT = Path(__file__).resolve().parent.parent

# Put on PYTHONPATH of the search processes (workers inherit it): times every wait for the
# journal's write lock (optuna's JournalFileSymlinkLock.acquire, whose retry sleep doubles up
# to 1 s) and every wait of a trial for the earlier trials it may see (codesign.dse.visible,
# --jobs > 1), and writes "lock-seconds acquisitions wait-seconds" per process to LOCK_LOG when
# the process ends.
SITECUSTOMIZE = """
import multiprocessing.util, os, time
from optuna.storages.journal import JournalFileSymlinkLock
_real, _stats = JournalFileSymlinkLock.acquire, [0.0, 0]
def _timed(self):
    t0 = time.perf_counter()
    try:
        return _real(self)
    finally:
        _stats[0] += time.perf_counter() - t0
        _stats[1] += 1
JournalFileSymlinkLock.acquire = _timed
_waited = [0.0]
try:
    import codesign.dse.visible as _visible
except ImportError:          # a codesign from before reproducible --jobs (PYTHONPATH to a checkout)
    _visible = None
if _visible is not None:
    _wait = _visible.wait_for_earlier
    def _timed_wait(study, below):
        t0 = time.perf_counter()
        try:
            return _wait(study, below)
        finally:
            _waited[0] += time.perf_counter() - t0
    _visible.wait_for_earlier = _timed_wait
def _dump():
    with open(os.environ["LOCK_LOG"], "a") as f:
        f.write(f"{_stats[0]} {_stats[1]} {_waited[0]}\\n")
multiprocessing.util.Finalize(None, _dump, exitpriority=10)
"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(space: Path, trials: int, jobs: int, seed: int, runs: Path, study: str) -> dict[str, float | str]:
    """One ``codesign search`` process; its timings and the finished trials of its study."""
    cmd = [sys.executable, "-c", "from codesign.cli import main; main()", "search", str(space), "--trials", str(trials),
           "--jobs", str(jobs), "--seed", str(seed), "--runs-dir", str(runs), "--study", study, "-q"]
    hooks, lock_log = runs / "hooks", runs / f"{study}.locks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "LOCK_LOG": str(lock_log),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")]))}
    before_load, cpu0, t0 = load(), children_cpu_s(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    wall, cpu = time.perf_counter() - t0, children_cpu_s() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"codesign search failed:\n{proc.stderr}")
    locks = [line.split() for line in lock_log.read_text().splitlines()] if lock_log.exists() else []
    lock_wait, acquisitions = sum(float(w) for w, _, _ in locks), sum(int(n) for _, n, _ in locks)
    lag_wait = sum(float(w) for _, _, w in locks)
    study_obj = optuna.load_study(study_name=study, storage=journal_storage(runs / study / "journal.log"))
    done = [t for t in study_obj.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)]
    span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
    per_trial = statistics.mean((t.datetime_complete - t.datetime_start).total_seconds() for t in done)
    return {"jobs": jobs, "trials": len(done), "wall": wall, "span": span, "rate": len(done) / span,
            "per_trial": per_trial, "cpu": cpu, "lock_wait": lock_wait, "locks": acquisitions, "lag_wait": lag_wait,
            "durations": [(t.datetime_complete - t.datetime_start).total_seconds() for t in done],    # by number
            "drawn": [(t.number, t.state.name, sorted(t.params.items()), t.values) for t in done if t.number < trials],
            "load_before": before_load, "load_after": load()}


def lag_efficiency(durations: list[float], workers: int, lag: int) -> float:
    """Share of ``workers``' throughput kept when trial ``k`` must wait for every trial numbered
    below ``k - lag`` (:mod:`codesign.dse.visible`): the ideal time ``sum / workers`` over the
    makespan of a simulation in which each free worker takes the next trial number."""
    free = [0.0] * workers
    done_by = [0.0]               # done_by[k]: when trials 0 .. k-1 have all finished
    for k, d in enumerate(durations):
        w = min(range(workers), key=free.__getitem__)
        end = max(free[w], done_by[max(0, k - lag)]) + d
        free[w] = end
        done_by.append(max(done_by[-1], end))
    return sum(durations) / workers / done_by[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", type=Path, default=ROOT / "spaces" / "bench-small.yaml")
    parser.add_argument("--trials", type=int, default=40, help="trials per run (default 40)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each setting (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    print(machine_line())
    print(f"{args.space.name}: {args.trials} trials per run, seed {args.seed}; "
          f"{os.cpu_count()} CPUs, load average {load()} (1, 5, 15 min)")
    header = f"{'run':>3} {'jobs':>4} {'trials':>6} {'wall s':>7} {'span s':>7} {'trials/s':>8} {'s/trial':>7} " \
             f"{'CPU s':>6} {'CPU/span':>8} {'lock wait s':>11} {'writes':>6} {'lag wait s':>10}  load before -> after"
    print(header)
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="jobs-scaling-") as tmp:
        order = [j for r in range(args.repeats) for j in ((1, 2) if r % 2 == 0 else (2, 1))]
        for i, jobs in enumerate(order):
            r = run(args.space, args.trials, jobs, args.seed, Path(tmp), f"run{i}-jobs{jobs}")
            results.append(r)
            print(f"{i:>3} {jobs:>4} {r['trials']:>6} {r['wall']:>7.1f} {r['span']:>7.1f} {r['rate']:>8.3f} "
                  f"{r['per_trial']:>7.3f} {r['cpu']:>6.1f} {r['cpu'] / r['span']:>8.2f} {r['lock_wait']:>11.2f} "
                  f"{r['locks']:>6} {r['lag_wait']:>10.3f}  "
                  f"{r['load_before']} -> {r['load_after']}", flush=True)
    rate = {j: statistics.mean(r["rate"] for r in results if r["jobs"] == j) for j in (1, 2)}
    print(f"trials/s: --jobs 1 {rate[1]:.3f}, --jobs 2 {rate[2]:.3f}; speedup {rate[2] / rate[1]:.2f}x "
          f"(load average at the end {load()})")
    for jobs in (1, 2):
        drawn = [r["drawn"] for r in results if r["jobs"] == jobs]
        if len(drawn) > 1:
            same = all(d == drawn[0] for d in drawn)
            print(f"--jobs {jobs}: the {len(drawn)} runs drew {'the same' if same else 'different'} trials "
                  f"(number, state, parameters, values)")
    durations = next(r["durations"] for r in results if r["jobs"] == 1)
    print(f"simulated share of N workers' throughput kept at each visibility lag (the --jobs 1 run's "
          f"{len(durations)} trial durations; codesign's lag is 4N):")
    lags = (1, 2, 4, 8)
    print(f"{'N':>3} " + " ".join(f"{'lag ' + str(f) + 'N':>9}" for f in lags))
    for workers in (2, 4, 8):
        print(f"{workers:>3} " + " ".join(f"{lag_efficiency(durations, workers, f * workers):>9.3f}" for f in lags))


if __name__ == "__main__":
    main()
