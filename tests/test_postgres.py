"""A study shared through a real PostgreSQL server: two ``codesign search`` workers, no trial lost or doubled.

The session fixture starts a throw-away server (``initdb`` + ``pg_ctl`` on a free port in a
temporary directory, as a non-root user when the tests run as root) and stops it at the end;
a watchdog process stops it too if the test process is killed before its teardown.
When the server binaries are missing it installs them (``apt-get install -y postgresql`` on
Debian, as root); when the Python driver is missing it installs ``psycopg2-binary`` with pip.
If either cannot be installed the test fails with the reason: it is never skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.system_packages import apt_install

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
CLI = [sys.executable, "-c", "from codesign.cli import main; main()", "search"]
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
RUN_AS = "postgres"            # the Debian package's user; created (as a system user) when missing
DB_USER = "codesign"


def server_bin_dir() -> Path | None:
    """A directory holding initdb, pg_ctl and postgres: Debian's newest /usr/lib/postgresql/N/bin, or PATH."""
    def version(p: Path) -> float:
        try:
            return float(p.parent.name)
        except ValueError:
            return 0.0

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    path = [Path(p) for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    for d in [*debian, *path]:
        if all((d / prog).is_file() and os.access(d / prog, os.X_OK) for prog in SERVER_PROGRAMS):
            return d
    return None


def run(cmd: list[str], timeout: float = 900, user: str | None = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` (as ``user`` via runuser when given); never raises for a failing exit status."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def ensure_driver() -> None:
    """Import psycopg2, installing psycopg2-binary with pip first when it is missing."""
    try:
        import psycopg2  # noqa: F401
        return
    except ImportError:
        pass
    proc = run([sys.executable, "-m", "pip", "install", "psycopg2-binary>=2.9"])
    try:
        import psycopg2  # noqa: F401,F811
    except ImportError:
        pytest.fail(f"the PostgreSQL driver psycopg2 is missing and pip could not install psycopg2-binary:\n"
                    f"{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")


def server_user() -> str | None:
    """The user to run the server as: None when not root; else the postgres user, created if needed."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        proc = run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS])
        if proc.returncode != 0:
            pytest.fail(f"initdb refuses to run as root and the user {RUN_AS!r} could not be created: {proc.stderr}")
    return RUN_AS


# Stops the server and deletes its directory if the test process dies without its teardown
# (killed by a timeout, SIGKILL): argv = test pid, directory, then the stop command.
WATCHDOG = """
import os, shutil, subprocess, sys, time
pid, root, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(stop, capture_output=True, timeout=120)
shutil.rmtree(root, ignore_errors=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL server started for this session (stopped and deleted afterwards)."""
    ensure_driver()
    bin_dir = server_bin_dir() or apt_install("postgresql", server_bin_dir,
                                              "PostgreSQL server programs (initdb, pg_ctl, postgres) are missing")
    user = server_user()
    root = Path(tempfile.mkdtemp(prefix="codesign-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    try:
        init = run([str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync"], timeout=300, user=user)
        if init.returncode != 0:
            pytest.fail(f"initdb failed (exit {init.returncode}):\n{init.stdout[-2000:]}\n{init.stderr[-2000:]}")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        start = run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options,
                     "start"], timeout=120, user=user)
        if start.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            pytest.fail(f"pg_ctl start failed (exit {start.returncode}):\n{start.stderr[-2000:]}\n{server_log[-3000:]}")
        stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        as_user = ["runuser", "-u", user, "--"] if user is not None else []
        watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(os.getpid()), str(root), *as_user, *stop],
                                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield f"postgresql://{DB_USER}@127.0.0.1:{port}/postgres"
        finally:
            run(stop, timeout=120, user=user)
            watchdog.kill()
            watchdog.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgres_study(postgres_url: str, tmp_path: Path) -> None:
    common = (TINY, "--storage", postgres_url, "--study", "pg", "--trials", 24, "-q")
    procs = [subprocess.Popen([*CLI, *map(str, common), "--runs-dir", str(tmp_path / f"runs{i}")], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    # workers get the bare URL (codesign picks the installed driver); read back through psycopg2 itself
    study = optuna.load_study(study_name="pg", storage=postgres_url.replace("postgresql://", "postgresql+psycopg2://"))
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    assert 24 <= len(trials) <= 25                  # concurrent workers overshoot by at most one trial each
    assert [t.number for t in trials] == list(range(len(trials)))
    assert len({t._trial_id for t in trials}) == len(trials)
    for t in trials:
        assert t.state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED), (t.number, t.state)
        assert t.state == TrialState.COMPLETE or t.user_attrs.get("reason"), t.number
    workers = {t.user_attrs["worker"] for t in trials}
    assert workers == {f"{socket.gethostname()}:{p.pid}" for p in procs}, "a worker ran no trial"
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == len(params), "the two workers sampled the same designs"
    for i in range(2):   # each worker wrote the run directory's results from the shared study
        assert (tmp_path / f"runs{i}" / "pg" / "trials.csv").is_file()
        assert not (tmp_path / f"runs{i}" / "pg" / "journal.log").exists()
