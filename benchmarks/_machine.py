"""What machine a benchmark ran on, and how fast it runs Python and small numpy operations.

codesign's search is CPU-bound Python and numpy calls on small arrays, so its figures scale with
the machine: the same code and command (``python benchmarks/jobs_scaling.py --space
spaces/edge.yaml --trials 200 --repeats 2``, commit 0f0b790) ran at 2.020 trials/s on one 2-core
"AMD EPYC" machine and 5.995 on another (2.97x). The throughput benchmarks print
:func:`machine_line` so that figures measured on different machines can be compared: two
reference loops that codesign's code does not change, timed best of five.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def reference_ms() -> tuple[float, float]:
    """Best of five, in ms: ``sum(range(1_000_000))`` (Python), and 10,000 numpy operations on
    arrays of 64 elements (an add, a take, a reduction and a comparison, 2,500 times each)."""
    a, b, idx = np.arange(64.0), np.ones(64), np.arange(0, 64, 2)

    def python() -> None:
        sum(range(1_000_000))

    def small_numpy() -> None:
        for _ in range(2_500):
            c = a + b
            c = c[idx]
            c.sum()
            _ = c > 3.0

    out = []
    for fn in (python, small_numpy):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        out.append(best * 1e3)
    return out[0], out[1]


def machine_line() -> str:
    """``machine: CPU, cores, Python and numpy versions; reference loops (lower is faster)``."""
    py_ms, np_ms = reference_ms()
    return (f"machine: {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy "
            f"{np.__version__}; reference loops: Python {py_ms:.1f} ms, small numpy ops {np_ms:.1f} ms "
            f"(lower is faster; benchmarks/_machine.py)")


if __name__ == "__main__":
    print(machine_line())
