"""Where a study lives: a journal file under ``runs/<study>/`` by default, or any optuna storage URL.

Several processes (``--jobs``) or machines (a shared PostgreSQL ``--storage``) can work on
one study: each trial is written as it starts and as it finishes, so nothing finished is lost
when a process dies, and a rerun of the same command resumes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
from optuna.trial import TrialState

from codesign.errors import CodesignError
from codesign.flow import RESULTS_VERSION
from codesign.spec.domains import Fixed
from codesign.spec.params import all_domains, conditions, describe_condition, format_value, param_kind
from codesign.spec.space import Space

JOURNAL = "journal.log"
STALE_REASON = "interrupted: its worker process exited before the trial finished"
LOCK_GRACE_S = 5   # a journal append holds the lock for milliseconds
CLAIM_PREFIX = "codesign:claim:"   # system attribute a worker sets on a queued trial before taking it


def open_storage(run_dir: Path, url: str | None) -> BaseStorage:
    """The embedded journal-file storage under ``run_dir``, or the storage at ``url``."""
    if url:
        if url.startswith("journal:"):
            path = Path(url.removeprefix("journal:"))
            path.parent.mkdir(parents=True, exist_ok=True)
            return journal_storage(path)
        try:
            return database_storage(database_url(url))
        except CodesignError:
            raise
        except Exception as exc:  # sqlalchemy and the database drivers raise many types
            raise CodesignError(f"cannot open storage: {type(exc).__name__}: {exc}", "--storage") from None
    run_dir.mkdir(parents=True, exist_ok=True)
    return journal_storage(run_dir / JOURNAL)


def database_url(url: str) -> str:
    """``url`` with a PostgreSQL driver that is installed.

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3; codesign's ``postgres`` extra
    installs psycopg2 (``pip install 'codesign[postgres]'``), so a bare URL is sent to psycopg2
    when psycopg 3 is absent. URLs that name a driver (``postgresql+psycopg://``) are kept.
    """
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres") or not sep:
        return url
    if importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg://{rest}"
    if importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    raise CodesignError("a PostgreSQL storage needs a driver: pip install 'codesign[postgres]' "
                        "(or psycopg2-binary)", "--storage")


def database_storage(url: str, attempts: int = 6) -> RDBStorage:
    """optuna's storage on the database at ``url``, creating its tables if need be.

    Workers started together on a fresh database all create optuna's tables at once; the
    database then refuses all but one (PostgreSQL: a unique violation in its catalog). The
    losers retry after a short random pause and find the tables made. Other errors (no server,
    wrong password) are raised at once.
    """
    import sqlalchemy.exc   # only database storages need it

    for attempt in range(attempts):
        try:
            return RDBStorage(url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.1, 0.3) * (attempt + 1))
    raise AssertionError("unreachable")


def journal_storage(path: Path) -> JournalStorage:
    """A journal-file storage whose write lock, if left behind by a killed process, is broken
    after :data:`LOCK_GRACE_S` without writes (optuna's default waits 30 s before every resume
    after a crash). The lock is optuna's own, so plain optuna processes can share the file."""
    lock = JournalFileSymlinkLock(str(path), grace_period=LOCK_GRACE_S)
    return JournalStorage(_JournalFile(str(path), lock_obj=lock))


class _JournalFile(JournalFileBackend):
    """optuna's journal file, with Ctrl-C held back while a write holds the lock.

    Interrupted inside the lock's release, optuna's clean-up removes the released lock's file a
    second time and raises ``FileNotFoundError`` instead of ``KeyboardInterrupt``: the search
    then ended with a traceback (seen once in a test of Ctrl-C with two workers). Held back, the
    interrupt arrives as soon as the write is done."""

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        with interrupt_after():
            super().append_logs(logs)


@contextmanager
def interrupt_after() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives in the block until the block ends, then deliver it as
    the handler in place would have (``KeyboardInterrupt`` by default). Only the main thread
    receives signals; elsewhere the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    before = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)
        if held and callable(before):
            before(signal.SIGINT, None)


def signature(space: Space, distributions: dict, fidelity: str = "analytical") -> dict:
    """What a study's trials mean, to resume only from a space that agrees: objectives,
    constraints, workloads, the searched parameters (and their conditions), every fixed value,
    the energy overrides, which model the objective values come from (the simulator under
    ``fidelity="simulated"``, else the analytical model: ``auto`` keeps the analytical values),
    and which version of codesign's results (:data:`codesign.flow.RESULTS_VERSION`).

    A numeric range may be narrowed or widened and the study resumed, but not made log or
    linear; a choice (or pow2 range) may not change at all: optuna refuses both within a study
    (``check_distribution_compatibility``). Sampler and budget may change.
    """
    conds = conditions(space)
    searched = set(distributions)
    record = {
        "objectives": [f"{o.direction} {o.metric}" for o in space.objectives],
        "parameters": sorted(distributions),
        "distributions": {name: _kind(d) for name, d in sorted(distributions.items())},
        "constraints": [c.text for c in space.constraints],
        "workloads": [w.model_dump(mode="json") for w in space.workloads],
        "fixed": {name: d.value for name, d in all_domains(space).items()
                  if name not in searched and isinstance(d, Fixed)},
        **({"conditions": {name: describe_condition(c) for name, c in conds.items()}} if conds else {}),
        "values": "simulated" if fidelity == "simulated" else "analytical",
        "overrides": energy_overrides(space),
        "results_version": RESULTS_VERSION,
    }
    return json.loads(json.dumps(record))   # as it reads back from the storage


def energy_overrides(space: Space) -> dict[str, float]:
    """The energies a space gives instead of the technology tables (pJ per MAC, per byte), by key path."""
    hw = space.hardware
    out = {"hardware.array.mac_energy": hw.array.mac_energy} if hw.array.mac_energy is not None else {}
    out.update({f"hardware.memory.{lv.name}.access_energy": lv.access_energy for lv in hw.memory
                if lv.access_energy is not None})
    return out


# what a record made before a key existed implies for it
_DEFAULTS = {"values": "analytical", "overrides": {}, "results_version": 1}


def _kind(dist: BaseDistribution) -> str:
    """What of a distribution optuna keeps fixed within a study: a choice's options, a range's kind and scale."""
    if isinstance(dist, CategoricalDistribution):
        return "one of " + ", ".join(map(str, dist.choices))
    return f"{'integer' if isinstance(dist, IntDistribution) else 'float'} {'log' if dist.log else 'linear'} range"


# earlier codesign versions stored only objectives and parameter names, as JSON text, under this key
_OLD_SIGNATURE = "codesign_signature"
SIGNATURE = "codesign_space"


def open_study(space: Space, name: str, storage: BaseStorage | str, sampler: optuna.samplers.BaseSampler,
               distributions: dict, taken: Collection[str] = (), fidelity: str = "analytical") -> optuna.Study:
    """Create or load study ``name``; refuse to resume a study made from a different space.

    The refusal says what differs and names a free study name to start afresh with (not among
    the storage's studies nor ``taken``, e.g. the run directories beside the default journal).
    """
    try:
        study = optuna.create_study(storage=storage, study_name=name, sampler=sampler, load_if_exists=True,
                                    directions=[o.direction for o in space.objectives])
    except ValueError as exc:
        raise CodesignError(f"cannot open study {name!r}: {exc}", "--storage") from None
    except Exception as exc:  # storage backends raise many types (sqlalchemy, OSError)
        raise CodesignError(f"cannot open storage: {type(exc).__name__}: {exc}", "--storage") from None
    sig = signature(space, distributions, fidelity)
    attrs = study.user_attrs
    if SIGNATURE in attrs:
        stored = {**_DEFAULTS, **attrs[SIGNATURE]}
    elif _OLD_SIGNATURE in attrs:   # what it holds; made before results versions: version 1
        stored = {**sig, **_DEFAULTS, **json.loads(attrs[_OLD_SIGNATURE])}
    else:
        stored = None
    if stored is not None and stored != sig:
        names = set(taken) | {s.study_name for s in study._storage.get_all_studies()}
        fresh = next(f"{name}-{k}" for k in range(2, len(names) + 3) if f"{name}-{k}" not in names)
        other_codesign = stored.get("results_version") != sig["results_version"]
        what, made = (("cannot be resumed by this codesign", "codesign it was made with") if other_codesign
                      else ("was made from a different space", "space it was made from"))
        raise CodesignError(
            f"study {name!r} {what}: {'; '.join(differences(stored, sig))}. "
            f"Resume it with the {made}, or start a new study with --study {fresh}", "--study")
    if attrs.get(SIGNATURE) != sig:
        study.set_user_attr(SIGNATURE, sig)
    return study


def differences(old: dict, new: dict) -> list[str]:
    """What changed between two :func:`signature` records, in words."""
    out = []
    if old.get("objectives") != new["objectives"]:
        out.append(f"different objectives (were {', '.join(old.get('objectives', []))}; "
                   f"now {', '.join(new['objectives'])})")
    added = sorted(set(new["parameters"]) - set(old.get("parameters", [])))
    removed = sorted(set(old.get("parameters", [])) - set(new["parameters"]))
    out += [f"searched parameters added: {', '.join(added)}"] if added else []
    out += [f"searched parameters removed: {', '.join(removed)}"] if removed else []
    if old.get("constraints") != new["constraints"]:
        out.append(f"different constraints (were {', '.join(old.get('constraints', [])) or 'none'}; "
                   f"now {', '.join(new['constraints']) or 'none'})")
    if old.get("workloads") != new["workloads"]:
        out.append("different workloads (were " + ", ".join(_workload(w) for w in old.get("workloads", []))
                   + "; now " + ", ".join(_workload(w) for w in new["workloads"]) + ")")
    old_dist, new_dist = old.get("distributions", {}), new["distributions"]
    out += [f"{k} was {old_dist[k]}, now {new_dist[k]} (optuna cannot change that within a study)"
            for k in sorted(set(old_dist) & set(new_dist)) if old_dist[k] != new_dist[k]]
    old_fixed, new_fixed = old.get("fixed", {}), new["fixed"]
    out += [f"{k} fixed at {format_value(old_fixed[k], param_kind(k))}, now {format_value(new_fixed[k], param_kind(k))}"
            for k in sorted(set(old_fixed) & set(new_fixed)) if old_fixed[k] != new_fixed[k]]
    if old.get("values", "analytical") != new["values"]:
        out.append(f"objective values came from the {old.get('values', 'analytical')} model, now from the "
                   f"{new['values']} one (search.fidelity / --fidelity)")
    if old.get("overrides", {}) != new["overrides"]:
        out.append(f"different energy overrides (were {old.get('overrides') or 'none'}; now {new['overrides'] or 'none'})")
    if old.get("results_version", 1) != new["results_version"]:
        out.append(f"its trials were computed by codesign's results version {old.get('results_version', 1)}, this "
                   f"codesign computes version {new['results_version']} (the mapper or the cost model changed; "
                   "old and new trials would not compare)")
    if old.get("conditions", {}) != new.get("conditions", {}):
        out.append(f"different conditions (were {old.get('conditions') or 'none'}; now {new.get('conditions') or 'none'})")
    return out or ["a different record"]


def _workload(w: dict) -> str:
    extras = {k: v for k, v in w.items() if k not in ("model", "name") and v not in (None, {}, 1, 1.0)}
    return w["model"] + (" " + " ".join(f"{k}={v}" for k, v in extras.items()) if extras else "")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_waiting_trial(study: optuna.Study) -> int | None:
    """Take a queued (WAITING, e.g. seed-design) trial for this process; its id, or ``None`` if none is left.

    Taking a trial (WAITING -> RUNNING) is one atomic storage write that only one process
    wins, but it cannot carry the ``worker`` attribute. So before trying, the process marks
    the trial with its own claim key (``codesign:claim:<host>:<pid>``, one key per process,
    nothing overwritten); after winning it sets ``worker``. A process killed between the two
    writes leaves a RUNNING trial without ``worker`` whose claimants are known:
    :func:`fail_stale_trials` fails it once they are all dead.
    """
    me = worker_id()
    storage = study._storage
    for t in storage.get_all_trials(study._study_id, deepcopy=False, states=(TrialState.WAITING,)):
        try:
            storage.set_trial_system_attr(t._trial_id, CLAIM_PREFIX + me, True)
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                continue   # another process took it first
        except UpdateFinishedTrialError:
            continue
        storage.set_trial_user_attr(t._trial_id, "worker", me)
        return t._trial_id
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_here(worker: str, host: str) -> bool:
    """Whether ``worker`` (``host:pid``) is a process of ``host`` that has exited."""
    whost, _, pid = worker.rpartition(":")
    return whost == host and pid.isdigit() and not _alive(int(pid))


def owners(t: optuna.trial.FrozenTrial) -> list[str]:
    """The processes (``host:pid``) a RUNNING trial may belong to: its ``worker``, or else every
    process that claimed it while it was queued (see :func:`claim_waiting_trial`)."""
    worker = t.user_attrs.get("worker")
    if worker:
        return [str(worker)]
    return [k.removeprefix(CLAIM_PREFIX) for k in t.system_attrs if k.startswith(CLAIM_PREFIX)]


def fail_stale_trials(study: optuna.Study) -> int:
    """Mark RUNNING trials whose worker process on this host has died as FAIL ("interrupted").

    A queued trial taken by a process killed before it wrote ``worker`` is failed once every
    process that claimed it is a dead process of this host. Two runs starting together may
    both find the same stale trial; the second one skips it.
    """
    host = socket.gethostname()
    failed = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        candidates = owners(t)
        if candidates and all(_dead_here(w, host) for w in candidates):
            try:
                study._storage.set_trial_user_attr(t._trial_id, "reason", STALE_REASON)
                study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:
                continue
            failed += 1
    return failed
