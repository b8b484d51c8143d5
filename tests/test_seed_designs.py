"""Seed designs (``search.seed_designs``): validated with file:line messages, run first, once per study."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

import codesign
from codesign.dse.seeds import normalized_seeds
from codesign.dse.storage import CLAIM_PREFIX, claim_waiting_trial, fail_stale_trials
from codesign.errors import CodesignError

DATA = Path(__file__).parent / "data"
FULL = ("{hardware.technology: 22nm, hardware.clock: 500MHz, hardware.array.rows: 16, hardware.array.cols: 8, "
        "hardware.array.dataflow: weight_stationary, hardware.memory.DRAM.bandwidth: 25.6GB/s, "
        "hardware.memory.GLB.size: 64KiB, hardware.memory.RF.size: 64B, hardware.precision: int8}")
FULL_VALUES = {"hardware.technology": 22.0, "hardware.clock": 5e8, "hardware.array.rows": 16, "hardware.array.cols": 8,
               "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.bandwidth": 25.6e9,
               "hardware.memory.GLB.size": 65536, "hardware.memory.RF.size": 64}
PARTIAL = "{hardware.array.rows: 4, hardware.memory.GLB.size: 8KiB}"


def space_file(tmp_path: Path, *seeds: str, name: str = "space.yaml") -> Path:
    """The tiny space with ``seeds`` (YAML flow mappings) as its seed designs; returns its path."""
    text = (DATA / "tiny.yaml").read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    text = text.rstrip("\n") + "\n  seed_designs:\n" + "".join(f"    - {s}\n" for s in seeds)
    path = tmp_path / name
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def journal_trials(run_dir: Path, study: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    storage = JournalStorage(JournalFileBackend(str(run_dir / "journal.log")))
    return sorted(optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False),
                  key=lambda t: t.number)


def test_seeds_run_first_and_once(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path, FULL, PARTIAL))
    result = codesign.search(space, trials=5, runs_dir=tmp_path / "runs")
    assert [r.number for r in result.trials] == [0, 1, 2, 3, 4]
    assert result.trials[0].params == FULL_VALUES
    assert result.trials[0].state == "COMPLETE"
    partial = result.trials[1].params
    assert (partial["hardware.array.rows"], partial["hardware.memory.GLB.size"]) == (4, 8192)
    assert set(partial) == set(FULL_VALUES)   # the parameters a seed leaves out are sampled
    codesign.search(space, trials=8, runs_dir=tmp_path / "runs")   # resume: the seeds are not queued again
    trials = journal_trials(tmp_path / "runs" / "tiny")
    assert len(trials) == 8 and all(t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) for t in trials)
    assert sum(t.params == FULL_VALUES for t in trials) == 1
    assert sum("fixed_params" in t.system_attrs for t in trials) == 2


def test_extra_workers_take_each_seed_once(tmp_path: Path) -> None:
    seeds = [FULL, PARTIAL, "{hardware.array.rows: 8, hardware.array.cols: 4}"]
    space = codesign.load_space(space_file(tmp_path, *seeds))
    codesign.search(space, trials=8, jobs=2, runs_dir=tmp_path / "runs")
    trials = journal_trials(tmp_path / "runs" / "tiny")
    queued = [t for t in trials if "fixed_params" in t.system_attrs]
    assert len(queued) == 3 and [t.number for t in queued] == [0, 1, 2]
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED) and t.user_attrs.get("worker")
               for t in queued)
    assert len(trials) in (8, 9)


def test_seed_values_take_the_distributions_form(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path, "{hardware.technology: 28nm, hardware.clock: 1000000000}"))
    (seed,) = normalized_seeds(space)
    assert seed == {"hardware.technology": 28.0, "hardware.clock": 1e9}
    assert isinstance(seed["hardware.clock"], float)


@pytest.mark.parametrize(("seed", "needle", "message"), [
    ("{hardware.array.rowz: 16}", "rowz", "unknown parameter 'hardware.array.rowz'"),
    ("{hardware.array.rows: 12}", "rows: 12", "12 is outside the domain: "),
    ("{hardware.memory.GLB.size: 1MiB}", "1MiB", "is outside the domain: "),
    ("{hardware.clock: 5 parsecs}", "parsecs", "hardware.clock allows log range [200MHz, 1GHz]"),
    ("{hardware.array.dataflow: weight_stationery}", "stationery", "did you mean 'weight_stationary'"),
    ("{hardware.precision: int16}", "int16", "allows only int8"),
    ("{hardware.array.rows: {choice: [4, 8]}}", "rows: {choice", "give one value, not a domain"),
    ("{hardware.precision: int8}", "- {hardware.precision: int8}", "needs a value for at least one searched parameter"),
])
def test_bad_seed_is_reported_at_its_line(tmp_path: Path, seed: str, needle: str, message: str) -> None:
    path = space_file(tmp_path, FULL, seed)
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert message in info.value.what, info.value.what
    assert info.value.where.startswith(f"{path}:{line_of(path, needle)} search.seed_designs[1]"), info.value.where


def test_out_of_domain_message_points_at_the_domain(tmp_path: Path) -> None:
    path = space_file(tmp_path, "{hardware.array.rows: 12}")
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    domain_line = line_of(path, "rows: {min: 4")
    assert info.value.what == (f"12 is outside the domain: {path}:{domain_line} hardware.array.rows allows "
                               "a power of two in 4, 8, 16")


def test_a_seed_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = space_file(tmp_path, "16")
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert info.value.where.startswith(f"{path}:") and "search.seed_designs[0]" in info.value.where


def test_the_command_line_refuses_a_bad_seed_before_writing(tmp_path: Path) -> None:
    path = space_file(tmp_path, "{hardware.array.rows: 12}")
    proc = subprocess.run([sys.executable, "-c", "from codesign.cli import main; main()", "search", str(path),
                           "--runs-dir", str(tmp_path / "runs"), "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {path}:{line_of(path, 'rows: 12')} search.seed_designs[0]"), proc.stderr
    assert not (tmp_path / "runs").exists()


def test_a_queued_trial_is_taken_once_and_attributed() -> None:
    study = optuna.create_study(directions=["minimize"])
    study.enqueue_trial({"x": 1})
    trial_id = claim_waiting_trial(study)
    assert trial_id is not None and claim_waiting_trial(study) is None
    t = study._storage.get_trial(trial_id)
    me = t.user_attrs["worker"]
    assert t.state == TrialState.RUNNING and me.startswith(socket.gethostname() + ":")
    assert t.system_attrs[CLAIM_PREFIX + me] is True


def test_a_queued_trial_taken_by_a_killed_worker_is_failed() -> None:
    """Killed after taking a queued trial and before writing ``worker``: the claims name the owner."""
    study = optuna.create_study(directions=["minimize"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        ids = []
        for claimants in ([dead.pid], [dead.pid, sleeper.pid]):
            study.enqueue_trial({"x": len(ids)})
            t = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))[0]
            for pid in claimants:
                study._storage.set_trial_system_attr(t._trial_id, f"{CLAIM_PREFIX}{socket.gethostname()}:{pid}", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.RUNNING)
            ids.append(t._trial_id)
        assert fail_stale_trials(study) == 1
        states = [study._storage.get_trial(i).state for i in ids]
        assert states == [TrialState.FAIL, TrialState.RUNNING]   # one claimant still lives: not failed
    finally:
        sleeper.kill()
        sleeper.wait()
    assert fail_stale_trials(study) == 1
