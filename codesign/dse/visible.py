"""What a trial may know of the others when several workers share a study: reproducible ``--jobs``.

In one process, trial ``k`` is sampled (and its design pruned, or reused) after trials
``0 .. k-1`` have finished, so a search is a function of the space and the seed. Workers that
sample from whatever has finished when they start make the trial stream depend on timing: two
``--jobs 2`` runs of the same command used to share only a few of their designs.

With ``--jobs N`` (N > 1) trial ``k`` instead sees exactly the trials numbered below
``k - lag`` (:func:`lag`): its worker waits until those have all finished
(:func:`wait_for_earlier`), then its sampler gets a view of the study holding just them
(:class:`VisibleStudy`) and the pruning front and reusable outcomes come from them too. What
trial ``k`` samples and how it ends are then functions of ``k``, the seed and the space, as in
one process, and the same command gives the same trials -- with the samplers seeded per trial
(TPE, NSGA-II/III, random, GP). QMC, grid and CMA-ES keep one random stream or a counter in
the study, and brute force reads the study's storage directly, so under ``--jobs`` their trials
still follow the timing.

The lag keeps the waits rare: a worker waits only when a trial ``lag`` numbers earlier is
still running, i.e. when one trial outlasts about ``lag / N`` trials of every other worker.
``python benchmarks/jobs_scaling.py --space spaces/edge.yaml --trials 200`` replays 200 edge
trial durations: a lag of ``4N`` keeps 99.6% of 2 workers' throughput, 98.6% of 4 workers'
and 91% of 8 workers' (a lag of ``N``: 88%, 71%, 54%); real ``--jobs 2`` runs of 200 trials
waited 0.03-0.9 s in all (docs/search.md). The sampler pays with a view ``lag`` trials old, which a
study of hundreds of trials does not feel.

Only trials of this host are waited for (a local worker that died has its trial failed while
waiting, :func:`~codesign.dse.storage.fail_stale_trials`); a trial of another machine sharing
the study is seen if it has finished by then. So a study shared across machines still works,
but is not reproducible.
"""

from __future__ import annotations

import copy
import socket
import time
from collections import OrderedDict
from collections.abc import Container

import optuna
from optuna.trial import FrozenTrial, TrialState

from codesign.dse.storage import fail_stale_trials, owners

LAG_PER_WORKER = 4      # trials of visibility lag per worker (see the module docstring)
POLL_S = 0.01           # how often a waiting worker looks at the study again
STALE_CHECK_S = 1.0     # how often it looks for dead local workers meanwhile

_DONE = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def lag(jobs: int) -> int:
    """Trials between a trial and the last one it sees: 0 for one worker (it sees every earlier
    trial), :data:`LAG_PER_WORKER` per worker otherwise."""
    return 0 if jobs <= 1 else LAG_PER_WORKER * jobs


def wait_for_earlier(study: optuna.Study, below: int) -> list[FrozenTrial]:
    """Wait until every trial of this host numbered below ``below`` has finished; return the
    finished trials numbered below ``below``, by number (what that trial may see)."""
    host = socket.gethostname()
    checked = time.monotonic()
    while True:
        earlier = [t for t in study._storage.get_all_trials(study._study_id, deepcopy=False) if t.number < below]
        if not any(t.state not in _DONE and _local(t, host) for t in earlier):
            return sorted((t for t in earlier if t.state in _DONE), key=lambda t: t.number)
        if time.monotonic() - checked >= STALE_CHECK_S:
            fail_stale_trials(study)
            checked = time.monotonic()
        time.sleep(POLL_S)


def _local(t: FrozenTrial, host: str) -> bool:
    """Whether ``t`` is (or will be) run by a process of ``host``; a queued trial counts (a local
    worker takes it before starting new ones)."""
    if t.state == TrialState.WAITING:
        return True
    return any(w.rpartition(":")[0] == host for w in owners(t))


class VisibleStudy(optuna.Study):
    """The study as a trial's sampler sees it: only the trials given (:func:`wait_for_earlier`),
    as optuna's own Hyperband pruner shows a sampler one bracket; writes go to the study's storage
    (:class:`_ViewStorage`)."""

    def __init__(self, study: optuna.Study, trials: list[FrozenTrial]) -> None:
        super().__init__(study_name=study.study_name, storage=study._storage, sampler=study.sampler,
                         pruner=study.pruner)
        self._study = study
        self._visible = trials
        self._storage = _ViewStorage(study._storage, trials)

    @property
    def visible(self) -> list[FrozenTrial]:
        """The trials this view holds, by number."""
        return self._visible

    def _get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None,
                    use_cache: bool = False) -> list[FrozenTrial]:
        trials = [t for t in self._visible if states is None or t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy, states)

    def stop(self) -> None:
        self._study.stop()


PARENT_CACHES = 256     # GA parent populations remembered per process (see _ViewStorage)
_parents: OrderedDict[tuple[str, frozenset[int]], object] = OrderedDict()


class _ViewStorage:
    """The study's storage, but for the GA samplers' (NSGA-II/III) parent populations.

    optuna caches generation ``g``'s parents in the study (system attribute
    ``<Sampler>:parent:<g>``), selected by whichever trial needs them first, from the trials it
    sees. Views of different trials see different trials, so that first one would decide for
    all. Here the parents are remembered per process and per set of trials they are selected
    from (every complete trial of an earlier generation the view holds), and never written to
    the study: every trial gets the parents of what it sees.
    """

    def __init__(self, storage: optuna.storages.BaseStorage, trials: list[FrozenTrial]) -> None:
        self._base = storage
        self._trials = trials

    def __getattr__(self, name: str) -> object:
        return getattr(self._base, name)

    def get_study_system_attrs(self, study_id: int) -> dict[str, object]:
        attrs = _Attrs({k: v for k, v in self._base.get_study_system_attrs(study_id).items() if not _parent_key(k)})
        attrs.view = self
        return attrs

    def set_study_system_attr(self, study_id: int, key: str, value: object) -> None:
        if not _parent_key(key):
            self._base.set_study_system_attr(study_id, key, value)
            return
        _parents[self._inputs(key)] = value
        while len(_parents) > PARENT_CACHES:
            _parents.popitem(last=False)

    def _inputs(self, key: str) -> tuple[str, frozenset[int]]:
        """What the parents named by ``key`` are selected from: the view's complete trials of the
        generations before."""
        sampler, _, generation = key.partition(":parent:")
        below = int(generation)
        gen_key = f"{sampler}:generation"
        return key, frozenset(t._trial_id for t in self._trials if t.state == TrialState.COMPLETE
                              and -1 < t.system_attrs.get(gen_key, -1) < below)


class _Attrs(dict):
    """Study system attributes whose GA parent entries come from the process's cache (``_parents``)."""

    view: _ViewStorage

    def get(self, key: str, default: object = None) -> object:
        if _parent_key(key):
            return _parents.get(self.view._inputs(key), default)
        return super().get(key, default)


def _parent_key(key: str) -> bool:
    return ":parent:" in key and key.rpartition(":")[2].isdigit()
