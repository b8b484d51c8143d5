"""Installing a system package a test needs (PostgreSQL, Chromium) from the system's package manager.

CI runs on a clean machine with only Python and pip: the tests that need a server or a browser
install it themselves with apt-get (as root), and fail with what to do when they cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def apt_install(package: str, found: Callable[[], T | None], missing: str) -> T:
    """``apt-get install -y package`` (after ``apt-get update`` if the first try fails) until
    ``found()`` returns something; that. ``missing`` says what is missing, for the failure."""
    if shutil.which("apt-get") is None:
        pytest.fail(f"{missing} and apt-get is not available to install it; install the '{package}' package")
    if os.geteuid() != 0:
        pytest.fail(f"{missing}; install it (sudo apt-get install -y {package}) or run the tests as root so the test "
                    "set-up can")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    attempts = []
    for cmd in (["apt-get", "install", "-y", package], ["apt-get", "update"], ["apt-get", "install", "-y", package]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
        attempts.append(f"$ {' '.join(cmd)} -> exit {proc.returncode}\n{proc.stderr[-2000:]}")
        if cmd[1] == "install" and proc.returncode == 0:
            result = found()
            if result is not None:
                return result
    pytest.fail(f"could not install {package} with apt-get:\n" + "\n".join(attempts))
