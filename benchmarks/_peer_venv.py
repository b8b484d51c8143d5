"""A peer tool's own virtual environment beside the benchmarks (never the project's install)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def peer_python(venv: Path, packages: list[str], check: str) -> Path:
    """The interpreter of ``venv``, creating it and pip-installing ``packages`` unless the Python
    statement ``check`` (e.g. a version assertion) already passes there."""
    python = venv / "bin" / "python"
    command = [str(python), "-c", check]
    if python.exists() and subprocess.run(command, capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating {venv} with {' '.join(packages)} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    subprocess.run(command, check=True)
    return python
