"""``--jobs N`` is reproducible: trial ``k`` sees exactly the trials numbered below ``k - lag``
(:mod:`codesign.dse.visible`), so the same command gives the same trials whatever the timing.

Before this, two ``--jobs 2`` runs of the same command shared only their first trials (the
samplers, pruning and reuse looked at whatever had finished when a trial started).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from codesign.dse import visible
from codesign.dse.runner import start_trial
from tests.test_search import TINY, dead_pid, identity, search, trials_of


def run_twice(tmp_path: Path, space: Path, trials: int) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    runs = []
    for i in range(2):
        search(space, "--runs-dir", tmp_path / f"runs{i}", "--trials", trials, "--jobs", 2, "--seed", 5, cwd=tmp_path)
        runs.append(trials_of(tmp_path / f"runs{i}" / "tiny" / "journal.log", "tiny")[:trials])
    return runs[0], runs[1]


def with_sampler(tmp_path: Path, sampler: str) -> Path:
    text = TINY.read_text().replace("model: tiny_model.yaml", f"model: {TINY.parent / 'tiny_model.yaml'}")
    path = tmp_path / "tiny.yaml"
    path.write_text(text.replace("  seed: 0", f"  seed: 0\n  sampler: {sampler}"))
    return path


@pytest.mark.parametrize("sampler", ["{name: tpe, options: {n_startup_trials: 6}}",
                                     "{name: nsga2, options: {population_size: 6}}"])
def test_two_runs_with_two_workers_give_the_same_trials(tmp_path: Path, sampler: str) -> None:
    first, second = run_twice(tmp_path, with_sampler(tmp_path, sampler), 40)
    assert len(first) == 40
    assert [identity(t) for t in first] == [identity(t) for t in second]
    assert [t.user_attrs.get("reason") for t in first] == [t.user_attrs.get("reason") for t in second]
    assert len({t.user_attrs["worker"] for t in first}) == 2, "one worker ran every trial"
    assert len({tuple(sorted(t.params.items())) for t in first}) > 20    # not one design over and over


def study_with(states: list[TrialState], workers: list[str]) -> optuna.Study:
    study = optuna.create_study(directions=["minimize"])
    for i, (state, worker) in enumerate(zip(states, workers)):
        values = [float(i)] if state == TrialState.COMPLETE else None
        study.add_trial(optuna.trial.create_trial(state=state, values=values, params={"x": float(i)},
                                                  distributions={"x": optuna.distributions.FloatDistribution(0, 10)},
                                                  user_attrs={"worker": worker}))
    return study


def test_a_trial_sees_only_the_trials_below_its_bound() -> None:
    here = f"{socket.gethostname()}:1"
    study = study_with([TrialState.COMPLETE] * 5, [here] * 5)
    seen = []

    class Recording(optuna.samplers.RandomSampler):
        def infer_relative_search_space(self, study, trial):  # type: ignore[no-untyped-def]
            seen.append([t.number for t in study.get_trials(deepcopy=False)])
            return {}

    study.sampler = Recording(seed=0)
    dists = {"x": optuna.distributions.FloatDistribution(0, 10)}
    trial = start_trial(study, dists, lag=3)        # trial 5 sees trials 0 and 1
    assert trial.number == 5 and seen == [[0, 1]]
    assert [t.number for t in trial.study.get_trials()] == [0, 1]
    assert [t.number for t in trial.study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)] == [0, 1]
    assert trial.params["x"] == study.get_trials()[5].params["x"]   # what it suggests is written to the study


def test_a_trial_waits_for_a_running_trial_it_may_see() -> None:
    here = f"{socket.gethostname()}:{dead_pid()}"       # never checked: the trial finishes first
    study = study_with([TrialState.COMPLETE, TrialState.RUNNING, TrialState.COMPLETE], [here] * 3)
    running = study.get_trials()[1]

    def finish() -> None:
        time.sleep(0.3)
        study.tell(running.number, [7.0])

    threading.Thread(target=finish).start()
    begin = time.monotonic()
    old, visible.STALE_CHECK_S = visible.STALE_CHECK_S, 60.0
    try:
        seen = visible.wait_for_earlier(study, 2)
    finally:
        visible.STALE_CHECK_S = old
    assert time.monotonic() - begin >= 0.25
    assert [(t.number, t.state, t.values) for t in seen] == [(0, TrialState.COMPLETE, [0.0]), (1, TrialState.COMPLETE, [7.0])]


def test_a_dead_local_worker_does_not_block_and_other_hosts_are_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    here, elsewhere = f"{socket.gethostname()}:{dead_pid()}", "another-host.invalid:1"
    study = study_with([TrialState.COMPLETE, TrialState.RUNNING, TrialState.RUNNING], [elsewhere, here, elsewhere])
    monkeypatch.setattr(visible, "STALE_CHECK_S", 0.0)
    seen = visible.wait_for_earlier(study, 3)
    assert [(t.number, t.state) for t in seen] == [(0, TrialState.COMPLETE), (1, TrialState.FAIL)]
    assert seen[1].user_attrs["reason"].startswith("interrupted")
    assert study.get_trials()[2].state == TrialState.RUNNING     # another machine's trial: not seen, not touched


def test_lag() -> None:
    assert visible.lag(1) == 0            # one process: every earlier trial, as before
    assert visible.lag(2) == 2 * visible.LAG_PER_WORKER
