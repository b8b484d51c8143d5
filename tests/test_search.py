"""End-to-end tests of ``codesign search``: determinism, resume, crash recovery, shared studies, outputs.

Searches run as subprocesses of the real command line (``codesign.cli.main`` under this
interpreter) on the fast space ``tests/data/tiny.yaml`` (about 0.1 s per trial); the study is
then read back with optuna from its journal file.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from codesign import api
from codesign.dse.pareto import pareto_mask
from codesign.dse.runner import _start_within, evaluate_trial
from codesign.spec.params import format_value

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
CLI = [sys.executable, "-c", "from codesign.cli import main; main()", "search"]
FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def search(*args: object, cwd: Path, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``codesign search ARGS -q`` and return the finished process."""
    proc = subprocess.run([*CLI, *map(str, args), "-q"], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def start(*args: object, cwd: Path) -> subprocess.Popen:
    """Start ``codesign search ARGS -q`` in the background."""
    return subprocess.Popen([*CLI, *map(str, args), "-q"], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def load(journal: Path, study: str) -> optuna.Study:
    """The study as stored in a journal file (a fresh reader every call)."""
    return optuna.load_study(study_name=study, storage=JournalStorage(JournalFileBackend(str(journal))))


def trials_of(journal: Path, study: str) -> list[FrozenTrial]:
    return sorted(load(journal, study).get_trials(deepcopy=False), key=lambda t: t.number)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def identity(t: FrozenTrial) -> tuple:
    """What must not change about a finished trial: number, state, parameters, objective values."""
    return t.number, t.state, tuple(sorted(t.params.items())), tuple(t.values or ())


def assert_consistent(trials: list[FrozenTrial]) -> None:
    """Numbers unique and contiguous, ids unique, every trial finished, every FAIL or PRUNED with a reason."""
    assert [t.number for t in trials] == list(range(len(trials)))
    assert len({t._trial_id for t in trials}) == len(trials)
    for t in trials:
        assert t.state in FINISHED, (t.number, t.state)
        if t.state in (TrialState.FAIL, TrialState.PRUNED):
            assert t.user_attrs.get("reason"), t.number


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 25-trial search of the tiny space (past TPE's 20 random start-up trials); its run directory."""
    root = tmp_path_factory.mktemp("tiny_run")
    search(TINY, "--runs-dir", root / "runs", "--trials", 25, "--seed", 3, cwd=root)
    return root / "runs" / "tiny"


def test_same_seed_gives_identical_trials(tiny_run: Path, tmp_path: Path) -> None:
    search(TINY, "--runs-dir", tmp_path / "runs", "--trials", 25, "--seed", 3, cwd=tmp_path)
    first = read_csv(tiny_run / "trials.csv")
    second = read_csv(tmp_path / "runs" / "tiny" / "trials.csv")
    assert len(first) == 25
    assert first == second   # trials.csv holds no timestamps or worker ids: nothing may differ


def test_other_seed_gives_other_trials(tiny_run: Path, tmp_path: Path) -> None:
    search(TINY, "--runs-dir", tmp_path / "runs", "--trials", 3, "--seed", 4, cwd=tmp_path)
    other = read_csv(tmp_path / "runs" / "tiny" / "trials.csv")
    assert other[0]["hardware.clock"] != read_csv(tiny_run / "trials.csv")[0]["hardware.clock"]


def test_output_files(tiny_run: Path) -> None:
    for name in ("trials.csv", "pareto.csv", "pareto.json", "summary.md", "space.yaml", "journal.log"):
        assert (tiny_run / name).is_file(), name
    assert (tiny_run / "space.yaml").read_text() == TINY.read_text()
    trials = read_csv(tiny_run / "trials.csv")
    pareto = read_csv(tiny_run / "pareto.csv")
    front = json.loads((tiny_run / "pareto.json").read_text())
    labels = ["latency [ms]", "energy [mJ]"]
    assert pareto and len(pareto) == len(front)
    assert [int(r["number"]) for r in pareto] == [d["number"] for d in front]
    by_number = {r["number"]: r for r in trials}
    for row, design in zip(pareto, front):
        assert row["state"] == "COMPLETE" and row["feasible"] == "True"
        assert by_number[row["number"]] == row
        assert all(v <= 0 for v in design["constraints"].values())
        assert [float(row[lb]) for lb in labels] == pytest.approx([design["objectives"][lb] for lb in labels])
    import numpy as np

    values = np.array([[float(r[lb]) for lb in labels] for r in pareto])
    assert pareto_mask(values, (False, False)).all(), "a Pareto row is dominated by another"
    feasible = np.array([[float(r[lb]) for lb in labels] for r in trials if r["feasible"] == "True"])
    for v in values:   # and no feasible trial dominates a Pareto row
        assert not (np.all(feasible <= v, axis=1) & np.any(feasible < v, axis=1)).any()
    summary = (tiny_run / "summary.md").read_text()
    assert "25 finished" in summary and "seed 3" in summary and f"Pareto front ({len(pareto)} designs)" in summary
    # parameters as a space file writes them (units), the same values as trials.csv's columns
    front_line = next(line for line in summary.splitlines() if line.startswith(f"| {pareto[0]['number']} |"))
    assert format_value(float(pareto[0]["hardware.clock"]), "frequency") in front_line
    assert format_value(float(pareto[0]["hardware.memory.GLB.size"]), "size") in front_line


def test_resume_keeps_trials(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    search(TINY, "--runs-dir", runs, "--trials", 10, cwd=tmp_path)
    first = [identity(t) for t in trials_of(runs / "tiny" / "journal.log", "tiny")]
    search(TINY, "--runs-dir", runs, "--trials", 15, cwd=tmp_path)
    trials = trials_of(runs / "tiny" / "journal.log", "tiny")
    assert len(trials) == 15
    assert_consistent(trials)
    assert [identity(t) for t in trials[:10]] == first
    old = {tuple(sorted(t.params.items())) for t in trials[:10]}
    assert not any(tuple(sorted(t.params.items())) in old for t in trials[10:]), "the resumed run repeated designs"
    assert len(read_csv(runs / "tiny" / "trials.csv")) == 15
    fresh = tmp_path / "fresh"   # seeding is per trial: resuming 10 -> 15 samples what one run of 15 does
    search(TINY, "--runs-dir", fresh, "--trials", 15, cwd=tmp_path)
    assert read_csv(fresh / "tiny" / "trials.csv") == read_csv(runs / "tiny" / "trials.csv")


def test_two_processes_share_one_study(tmp_path: Path) -> None:
    journal = tmp_path / "j.log"
    common = ("--storage", f"journal:{journal}", "--study", "shared", "--trials", 30)
    procs = [start(TINY, "--runs-dir", tmp_path / f"runs{i}", *common, cwd=tmp_path) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    trials = trials_of(journal, "shared")
    assert_consistent(trials)
    assert 30 <= len(trials) <= 31   # overshoot: at most jobs - 1 per extra process
    workers = {t.user_attrs["worker"] for t in trials}
    assert workers <= {f"{socket.gethostname()}:{p.pid}" for p in procs}
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == len(params), "the two processes sampled the same designs"


def wait_until_finished(proc: subprocess.Popen, journal: Path, study: str, n: int) -> None:
    """Wait (at most a minute) until the running search ``proc`` has finished ``n`` trials."""
    deadline = time.monotonic() + 60
    finished: list[FrozenTrial] = []
    while len(finished) < n:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the search made no progress"
        time.sleep(0.05)
        if journal.exists():
            try:
                finished = [t for t in trials_of(journal, study) if t.state in FINISHED]
            except KeyError:   # the study is not created yet
                continue


def test_sigkill_loses_no_finished_trial(tmp_path: Path) -> None:
    journal = tmp_path / "j.log"
    args = (TINY, "--runs-dir", tmp_path / "runs", "--storage", f"journal:{journal}", "--study", "k")
    proc = start(*args, "--trials", 400, cwd=tmp_path)
    wait_until_finished(proc, journal, "k", 5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    at_kill = trials_of(journal, "k")
    recorded = {t.number: identity(t) for t in at_kill if t.state in FINISHED}
    unfinished = [t.number for t in at_kill if t.state not in FINISHED]
    assert len(recorded) >= 5
    target = len(at_kill) + 3
    lock = Path(f"{journal}.lock")   # as if killed while appending: the journal's write lock is left behind
    if not lock.is_symlink():
        lock.symlink_to(journal)
    begin = time.monotonic()
    search(*args, "--trials", target, cwd=tmp_path)
    assert time.monotonic() - begin < 25, "the stale journal lock was not broken promptly (optuna's default: 30 s)"
    after = trials_of(journal, "k")
    assert_consistent(after)
    assert len(after) == target
    by_number = {t.number: t for t in after}
    for number, ident in recorded.items():
        assert identity(by_number[number]) == ident
    assert len(unfinished) <= 1
    for number in unfinished:   # the trial running at the kill is failed, not redone
        assert at_kill[number].state == TrialState.RUNNING
        t = by_number[number]
        assert t.state == TrialState.FAIL and t.user_attrs["reason"].startswith("interrupted"), number


@pytest.fixture
def interruptible() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process and in the processes it starts, even when
    the test run was started with SIGINT ignored (a shell's background job is): an ignored signal
    stays ignored across ``exec``, a handled one starts as the default, which Python handles."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("interruptible")
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_keeps_every_finished_trial_and_the_same_command_resumes(tmp_path: Path, jobs: int) -> None:
    """Ctrl-C (SIGINT to the terminal's foreground process group: the command and its workers)
    fails the running trials as "interrupted by the user", keeps the finished ones, exits with
    130 and a one-line message (no traceback); rerunning the same command resumes."""
    journal = tmp_path / "j.log"
    args = (TINY, "--runs-dir", tmp_path / "runs", "--storage", f"journal:{journal}", "--study", "c", "--jobs", jobs)
    proc = subprocess.Popen([*CLI, *map(str, args), "--trials", "400", "-q"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_until_finished(proc, journal, "c", 6)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted: finished trials are saved" in err, err
    at_stop = trials_of(journal, "c")
    assert_consistent(at_stop)                 # nothing left RUNNING
    stopped = [t for t in at_stop if t.user_attrs.get("reason") == "interrupted by the user"]
    assert 1 <= len(stopped) <= jobs and all(t.state == TrialState.FAIL for t in stopped)
    kept = {t.number: identity(t) for t in at_stop if t not in stopped}
    assert len(kept) >= 6
    assert len(read_csv(tmp_path / "runs" / "c" / "trials.csv")) == len(at_stop)   # written once more at the stop
    target = len(at_stop) + 3
    search(*args, "--trials", target, cwd=tmp_path)
    after = trials_of(journal, "c")
    assert_consistent(after)
    assert len(after) in range(target, target + jobs)
    for number, ident in kept.items():
        assert identity(after[number]) == ident


@pytest.mark.usefixtures("interruptible")
def test_a_journal_write_is_not_cut_by_ctrl_c(tmp_path: Path) -> None:
    """A Ctrl-C during a journal append arrives after it (optuna's lock, interrupted inside its
    release, failed with FileNotFoundError instead)."""
    from codesign.dse.storage import interrupt_after, journal_storage

    done = []
    with pytest.raises(KeyboardInterrupt), interrupt_after():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)                 # the signal is handled here, and held
        done.append(True)
    assert done == [True]
    storage = journal_storage(tmp_path / "j.log")
    study = optuna.create_study(storage=storage, study_name="w")
    original = storage._backend._lock.release

    def interrupted_release() -> None:      # Ctrl-C in the middle of releasing the lock
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        original()

    storage._backend._lock.release = interrupted_release  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        study.add_trial(optuna.trial.create_trial(values=[1.0], params={}, distributions={}))
    storage._backend._lock.release = original  # type: ignore[method-assign]
    assert [t.values for t in load(tmp_path / "j.log", "w").trials] == [[1.0]]
    assert not Path(f"{tmp_path / 'j.log'}.lock").exists()


@pytest.mark.usefixtures("interruptible")
def test_a_worker_the_interrupt_misses_finishes_its_trial_and_stops(tmp_path: Path) -> None:
    """SIGINT to the first process alone (``kill -INT``): it fails its own trial and tells the
    worker, which finishes the trial it is running and starts no other."""
    journal = tmp_path / "j.log"
    args = (TINY, "--runs-dir", tmp_path / "runs", "--storage", f"journal:{journal}", "--study", "m", "--jobs", 2)
    proc = start(*args, "--trials", 400, cwd=tmp_path)
    wait_until_finished(proc, journal, "m", 6)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    trials = trials_of(journal, "m")
    assert_consistent(trials)
    stopped = [t for t in trials if t.user_attrs.get("reason") == "interrupted by the user"]
    assert len(stopped) == 1 and stopped[0].user_attrs["worker"].endswith(f":{proc.pid}")
    assert len(trials) < 400


def test_running_trials_of_dead_workers_are_failed(tmp_path: Path) -> None:
    """A RUNNING trial of a dead process of this host is failed by the next run; a live one's is kept."""
    space = api.load_space(TINY)
    api.search(space, trials=2, runs_dir=tmp_path)
    study = load(tmp_path / "tiny" / "journal.log", "tiny")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for pid in (dead_pid(), sleeper.pid):
            worker = f"{socket.gethostname()}:{pid}"
            study.add_trial(optuna.trial.create_trial(state=TrialState.RUNNING, user_attrs={"worker": worker}))
        api.search(space, trials=6, runs_dir=tmp_path)
        trials = trials_of(tmp_path / "tiny" / "journal.log", "tiny")
        assert len(trials) == 6 and [t.state for t in trials[2:4]] == [TrialState.FAIL, TrialState.RUNNING]
        assert trials[2].user_attrs["reason"].startswith("interrupted")
    finally:
        sleeper.kill()
        sleeper.wait()
    result = api.search(space, trials=6, runs_dir=tmp_path)
    trials = trials_of(tmp_path / "tiny" / "journal.log", "tiny")
    assert trials[3].state == TrialState.FAIL and trials[3].user_attrs["reason"].startswith("interrupted")
    assert_consistent(trials)
    assert len(result.trials) == 6


def test_jobs_two_reaches_the_target(tmp_path: Path) -> None:
    search(TINY, "--runs-dir", tmp_path / "runs", "--trials", 20, "--jobs", 2, cwd=tmp_path)
    trials = trials_of(tmp_path / "runs" / "tiny" / "journal.log", "tiny")
    assert_consistent(trials)
    assert len(trials) == 20          # the two processes count and start trials in turn: no overshoot
    assert len({t.user_attrs["worker"] for t in trials}) == 2, "the second worker process ran no trial"
    assert len(read_csv(tmp_path / "runs" / "tiny" / "trials.csv")) == len(trials)


class _NoLock:
    """A lock that does not exclude (checks that the race below is real)."""

    def acquire(self, timeout: float) -> bool:
        return True

    def release(self) -> None:
        pass


def _start_at_once(journal: str, go: object, budget: object, started: object) -> None:
    from codesign.dse import runner

    start = runner.new_trial

    def slow_start(study: optuna.Study) -> int:   # between counting and starting: every process counts 5
        time.sleep(0.5)
        return start(study)

    runner.new_trial = slow_start  # type: ignore[assignment]   # in this racing process only
    study = optuna.load_study(study_name="race", storage=JournalStorage(JournalFileBackend(journal)))
    go.wait()  # type: ignore[attr-defined]   # a barrier: every process is ready, then all go
    if _start_within(study, 6, budget)[0] is not None:  # type: ignore[arg-type]
        started.put(os.getpid())  # type: ignore[attr-defined]


def start_together(tmp_path: Path, budget: object, processes: int = 4) -> tuple[int, int]:
    """``processes`` processes leave a barrier together and each try to start the sixth trial of a
    five-trial study under ``budget``, each taking 0.5 s between counting the trials and starting
    one: (how many started one, the trials the study holds then)."""
    import multiprocessing

    tmp_path.mkdir()
    journal = str(tmp_path / "race.log")
    study = optuna.create_study(study_name="race", storage=JournalStorage(JournalFileBackend(journal)))
    for _ in range(5):
        study.tell(study.ask(), 1.0)
    ctx = multiprocessing.get_context("spawn")
    go, started = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_start_at_once, args=(journal, go, budget, started)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    n = 0
    while not started.empty():
        started.get()
        n += 1
    return n, len(optuna.load_study(study_name="race", storage=JournalStorage(JournalFileBackend(journal))).trials)


def test_workers_of_one_command_start_the_last_trial_once(tmp_path: Path) -> None:
    import multiprocessing

    assert start_together(tmp_path / "locked", multiprocessing.get_context("spawn").Lock()) == (1, 6)
    assert start_together(tmp_path / "unlocked", _NoLock()) == (4, 9)     # without it: every process starts one


def test_a_lock_its_holder_died_with_delays_but_does_not_stop_a_worker(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    from codesign.dse import runner

    monkeypatch.setattr(runner, "BUDGET_LOCK_WAIT_S", 0.2)
    lock = multiprocessing.get_context("spawn").Lock()
    lock.acquire()                   # as a worker killed while holding it leaves it
    study = optuna.create_study(study_name="held", storage=JournalStorage(JournalFileBackend(str(tmp_path / "j.log"))))
    for _ in range(5):
        study.tell(study.ask(), 1.0)
    trial_id, taken = _start_within(study, 6, lock)
    assert not taken and trial_id is not None
    assert len(study.trials) == 6 and study.trials[5].state == TrialState.RUNNING
    assert _start_within(study, 6, lock) == (None, False)       # full: nothing more started


def test_unmappable_design_is_a_failed_trial(tmp_path: Path) -> None:
    text = TINY.read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    text = text.replace("size: {choice: [16B, 64B]}", "size: 1B")
    assert "size: 1B" in text
    space = tmp_path / "tiny1b.yaml"
    space.write_text(text)
    proc = search(space, "--runs-dir", tmp_path / "runs", "--trials", 3, cwd=tmp_path)
    assert "0 Pareto-optimal" in proc.stdout
    rows = read_csv(tmp_path / "runs" / "tiny" / "trials.csv")
    assert len(rows) == 3
    for row in rows:
        assert row["state"] == "FAIL" and row["feasible"] == "False"
        assert row["reason"].startswith("infeasible:") and "RF" in row["reason"]
    assert read_csv(tmp_path / "runs" / "tiny" / "pareto.csv") == []
    assert "No feasible design yet." in (tmp_path / "runs" / "tiny" / "summary.md").read_text()


def test_refused_resume_leaves_the_run_untouched(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    search(TINY, "--runs-dir", runs, "--trials", 2, cwd=tmp_path)
    before = {p.name: p.read_bytes() for p in (runs / "tiny").iterdir() if p.name != "journal.log"}
    other = tmp_path / "other.yaml"
    other.write_text(TINY.read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
                     .replace("minimize energy [mJ]", "minimize area [mm2]"))
    proc = search(other, "--runs-dir", runs, "--trials", 2, cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "different objectives" in proc.stderr
    assert {p.name: p.read_bytes() for p in (runs / "tiny").iterdir() if p.name != "journal.log"} == before
    bad = search(TINY, "--runs-dir", runs, "--storage", "nosuchdb://x", cwd=tmp_path, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: --storage: cannot open storage"), bad.stderr


def test_non_finite_results_fail_the_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NaN objective or constraint is a FAIL trial with a reason, not a crash."""
    from codesign.dse import runner

    space = api.load_space(TINY)
    real = runner.evaluate_design

    def nan_area(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)
        result.violations["area <= 0.5mm2"] = math.nan
        return result

    monkeypatch.setattr(runner, "evaluate_design", nan_area)
    study = optuna.create_study(directions=["minimize", "minimize"])
    dists = runner.distributions(space)
    t = runner.run_trial(study, space, space.base_dir, dists)
    assert t.state == TrialState.FAIL and "not a finite number: area <= 0.5mm2" in t.user_attrs["reason"]


def test_codesign_search_is_the_public_function(tmp_path: Path) -> None:
    """``codesign.search`` stays the public function once the search machinery (``codesign.dse``) is loaded."""
    import codesign
    import codesign.dse.runner  # noqa: F401

    result = codesign.search(codesign.load_space(TINY), trials=2, runs_dir=tmp_path)
    assert result.study == "tiny", result
    assert len(result.trials) == 2, result.trials


def test_a_design_proposed_again_takes_the_earlier_outcome(tmp_path: Path) -> None:
    """Samplers propose a design already evaluated (NSGA-II does, ~12% of 1,000 edge trials); the
    trial takes the earlier trial's outcome (evaluation is deterministic) and says which."""
    text = TINY.read_text()
    for old, new in [("clock: {min: 200MHz, max: 1GHz, scale: log}", "clock: 500MHz"),
                     ("rows: {min: 4, max: 16, scale: pow2}", "rows: 8"), ("cols: {min: 4, max: 16, scale: pow2}", "cols: 8"),
                     ("bandwidth: {choice: [12.8GB/s, 25.6GB/s]}", "bandwidth: 12.8GB/s"),
                     ("size: {min: 8KiB, max: 256KiB, scale: pow2}", "size: 64KiB"),
                     ("size: {choice: [16B, 64B]}", "size: 64B"), ("seed: 0", "seed: 0\n  sampler: random")]:
        assert old in text, old
        text = text.replace(old, new)
    space = tmp_path / "two.yaml"                 # 2 technologies x 2 dataflows: 4 designs
    space.write_text(text)
    (tmp_path / "tiny_model.yaml").write_text((DATA / "tiny_model.yaml").read_text())
    search(space, "--runs-dir", tmp_path / "runs", "--trials", 10, cwd=tmp_path)
    trials = trials_of(tmp_path / "runs" / "tiny" / "journal.log", "tiny")
    assert_consistent(trials)
    first = {}
    again = [t for t in trials if "same_as" in t.user_attrs]
    for t in trials:
        first.setdefault(tuple(sorted(t.params.items())), t)
    assert len(first) <= 4 and len(again) == len(trials) - len(first)
    for t in again:
        earlier = trials[t.user_attrs["same_as"]]
        assert earlier is first[tuple(sorted(t.params.items()))] and earlier.number < t.number
        assert (t.state, t.values, t.constraints, t.user_attrs["result"]) == \
            (earlier.state, earlier.values, earlier.constraints, earlier.user_attrs["result"])
    fresh = evaluate_trial(api.load_space(space), tmp_path, again[0].params)     # a new evaluation agrees
    assert fresh.values == again[0].values and fresh.violations == again[0].constraints
    rows = read_csv(tmp_path / "runs" / "tiny" / "trials.csv")
    assert [r["same_as"] for r in rows] == [str(t.user_attrs.get("same_as", "")) for t in trials]
    front = read_csv(tmp_path / "runs" / "tiny" / "pareto.csv")                  # each design once
    keys = [tuple(r[k] for k in r if k.startswith(("hardware.", "schedule."))) for r in front]
    assert front and len(set(keys)) == len(keys)
    assert all(int(r["number"]) == first[tuple(sorted(trials[int(r["number"])].params.items()))].number for r in front)
