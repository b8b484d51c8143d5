"""Cost-core throughput: mapping evaluations per second of :func:`codesign.cost.analytical.evaluate`.

One layer (default: ResNet-50 ``layer3.1-5.conv2``, C = K = 256, 14x14 outputs, 3x3 filter,
stride 1) on a three-level hierarchy: DRAM, a shared global buffer (GLB) and a register file
(RF) per PE under a ``rows x cols`` PE array (two fanouts directly above the RF, Timeloop's X
and Y). The mappings are random and legal (:func:`codesign.cost.random_nest.random_nests`:
random factor splits over the levels, random loop orders, up to two dimensions unrolled per
array axis, different dimensions on rows and columns) and drawn before the clock starts.

- vectorized: ``evaluate`` on batches of ``--batch`` mappings, ``--total`` mappings in all;
- scalar: ``evaluate`` on one mapping per call (``--scalar`` calls), as a replayed mapping is.

The process is pinned to one core (``os.sched_setaffinity``) where the platform allows it.
Both wall-clock and CPU time (``time.process_time``) are reported: on a shared machine the
CPU figure is the single-core throughput, the wall figure what this run got.
Usage::

    python benchmarks/cost_throughput.py
    python benchmarks/cost_throughput.py --batch 100000 --total 1000000 --layer layer2.1-3.conv2
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _machine import cpu_name  # benchmarks/, beside this script

from codesign.cost.analytical import evaluate
from codesign.cost.random_nest import random_nests
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.workload.ir import Layer
from codesign.workload.zoo import load_model

ALL = ("weights", "inputs", "outputs")


def accelerator(rows: int, cols: int) -> Accelerator:
    """DRAM (LPDDR4, 25.6 GB/s) -> 128 KiB GLB (64 B/cycle) -> 512 B RF per PE; int8, 1 GHz, 28 nm."""
    clock, node = 1e9, 28.0
    levels = (make_level("DRAM", "dram", True, None, 25.6e9, None, ALL, True, "LPDDR4", clock, node),
              make_level("GLB", "sram", True, 128 * 1024, None, 64, ALL, True, None, clock, node),
              make_level("RF", "regfile", False, 512, None, None, ALL, True, None, clock, node))
    return Accelerator(rows, cols, 1, "flexible", "int8", clock, node, levels, tech.mac_energy_pj("int8", node))


def find_layer(model: str, name: str) -> Layer:
    for layer in load_model(model).layers:
        if layer.name == name:
            return layer
    raise SystemExit(f"{model} has no layer {name!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--layer", default="layer3.1-5.conv2")
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--batch", type=int, default=50_000, help="mappings per vectorized call")
    ap.add_argument("--total", type=int, default=500_000, help="mappings evaluated vectorized in all")
    ap.add_argument("--scalar", type=int, default=2_000, help="single-mapping calls")
    ap.add_argument("--repeat", type=int, default=3, help="vectorized runs; the best is reported")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    layer = find_layer(args.model, args.layer)
    acc = accelerator(args.rows, args.cols)
    L = len(acc.levels)
    rng = np.random.default_rng(args.seed)
    n_batches = max(1, args.total // args.batch)
    batches = [random_nests(layer.bounds, L, (L - 1, L - 1), (args.rows, args.cols), args.batch, rng)
               for _ in range(n_batches)]
    singles = random_nests(layer.bounds, L, (L - 1, L - 1), (args.rows, args.cols), args.scalar, rng)
    print(f"{args.model} {layer.name}: {layer.describe()}; DRAM -> GLB -> RF under {args.rows}x{args.cols} PEs")
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores (1 used), numpy {np.__version__}")

    evaluate(layer, acc, batches[0].take(np.arange(min(1000, args.batch))))      # warm-up
    wall = cpu = np.inf
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for nest in batches:
            evaluate(layer, acc, nest)
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    n = n_batches * args.batch
    print(f"vectorized: {n} mappings in batches of {args.batch}: {n / cpu:,.0f} mappings/s CPU time "
          f"({cpu:.3f} s), {n / wall:,.0f} mappings/s wall ({wall:.3f} s)")

    one = [singles.take(i) for i in range(args.scalar)]
    w0, c0 = time.perf_counter(), time.process_time()
    for nest in one:
        evaluate(layer, acc, nest)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"scalar: {args.scalar} calls of one mapping: {args.scalar / cpu:,.0f} mappings/s CPU time "
          f"({cpu / args.scalar * 1e6:.0f} us per call), {args.scalar / wall:,.0f} mappings/s wall")


if __name__ == "__main__":
    main()
