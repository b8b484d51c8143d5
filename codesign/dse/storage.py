"""Where a study lives: a journal file under ``runs/<study>/`` by default, or any optuna storage URL.

Several processes (``--jobs``) or machines (a shared PostgreSQL ``--storage``) can work on
one study: each trial is written as it starts and as it finishes, so nothing finished is lost
when a process dies, and a rerun of the same command resumes.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

from codesign.errors import CodesignError
from codesign.spec.space import Space

JOURNAL = "journal.log"
STALE_REASON = "interrupted: its worker process exited before the trial finished"
LOCK_GRACE_S = 5   # a journal append holds the lock for milliseconds


def open_storage(run_dir: Path, url: str | None) -> BaseStorage | str:
    """The embedded journal-file storage under ``run_dir``, or the storage at ``url``."""
    if url:
        if url.startswith("journal:"):
            path = Path(url.removeprefix("journal:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            return journal_storage(path)
        return url
    run_dir.mkdir(parents=True, exist_ok=True)
    return journal_storage(run_dir / JOURNAL)


def journal_storage(path: Path) -> JournalStorage:
    """A journal-file storage whose write lock, if left behind by a killed process, is broken
    after :data:`LOCK_GRACE_S` without writes (optuna's default waits 30 s before every resume
    after a crash). The lock is optuna's own, so plain optuna processes can share the file."""
    lock = JournalFileSymlinkLock(str(path), grace_period=LOCK_GRACE_S)
    return JournalStorage(JournalFileBackend(str(path), lock_obj=lock))


def signature(space: Space, distributions: dict) -> str:
    """What a study must agree on to be resumed: objectives and the searched parameters."""
    return json.dumps({"objectives": [f"{o.direction} {o.metric}" for o in space.objectives],
                       "parameters": sorted(distributions)}, sort_keys=True)


def open_study(space: Space, name: str, storage: BaseStorage | str, sampler: optuna.samplers.BaseSampler,
               distributions: dict) -> optuna.Study:
    """Create or load study ``name``; refuse to resume a study made from a different space."""
    try:
        study = optuna.create_study(storage=storage, study_name=name, sampler=sampler, load_if_exists=True,
                                    directions=[o.direction for o in space.objectives])
    except ValueError as exc:
        raise CodesignError(f"cannot open study {name!r}: {exc}", "--storage") from None
    except Exception as exc:  # storage backends raise many types (sqlalchemy, OSError)
        raise CodesignError(f"cannot open storage: {type(exc).__name__}: {exc}", "--storage") from None
    sig = signature(space, distributions)
    stored = study.user_attrs.get("codesign_signature")
    if stored is None:
        study.set_user_attr("codesign_signature", sig)
    elif stored != sig:
        raise CodesignError(
            f"study {name!r} was created from a space with different objectives or parameters; "
            "use another --study name (or delete the old run directory) to start afresh", "--study")
    return study


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials whose worker process on this host has died as FAIL ("interrupted").

    Two runs starting together may both find the same stale trial; the second one skips it.
    """
    host = socket.gethostname()
    failed = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = str(t.user_attrs.get("worker", ""))
        whost, _, pid = worker.rpartition(":")
        if whost == host and pid.isdigit() and not _alive(int(pid)):
            try:
                study._storage.set_trial_user_attr(t._trial_id, "reason", STALE_REASON)
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:
                continue
            failed += 1
    return failed
