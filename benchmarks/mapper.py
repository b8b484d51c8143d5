"""Mapper speed: milliseconds per layer, each layer mapped cold (cache cleared before it).

The layers are the unique MAC layers of ResNet-50, MobileNetV2 and BERT-base (batch 1, the zoo's
default sequence length), deduplicated across models as the flow does. The hardware is one
point of ``spaces/edge.yaml`` (every searched parameter set to a mid value below; override
with ``--set``), built as a trial builds it. Prints the median and 95th percentile (and the
slowest layers), wall-clock and CPU time of this process (the CPU time is what one core
spends, whatever else runs on the machine), with the mappings costed per layer.

Then each layer again *warm*, as a search meets it: right after its cold mapping, on the same
design at another clock and technology node (same array and buffer sizes: the remembered
tilings and usage hold, the prices and bandwidth per cycle are new).

Usage::

    python benchmarks/mapper.py
    python benchmarks/mapper.py --set hardware.array.dataflow=row_stationary --objective latency
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _machine import machine_line  # benchmarks/, beside this script

from codesign.compiler.mapper import clear_cache, map_layer
from codesign.compiler.mapping import MappingError
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("resnet50", "mobilenetv2", "bert_base")
POINT = {
    "hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.rows": "16", "hardware.array.cols": "16",
    "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.dram_type": "LPDDR4",
    "hardware.memory.DRAM.bandwidth": "25.6GB/s", "hardware.memory.GLB.size": "256KiB",
    "hardware.memory.GLB.bytes_per_cycle": "64", "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--space", type=Path, default=ROOT / "spaces" / "edge.yaml")
    ap.add_argument("--set", dest="values", action="append", default=[], help="NAME=VALUE (repeat)")
    ap.add_argument("--objective", help="override schedule.objective")
    ap.add_argument("--top", type=int, default=5, help="slowest layers to list")
    args = ap.parse_args()

    space = load_space(args.space)
    texts = dict(POINT)
    texts.update(dict(v.split("=", 1) for v in args.values))
    if args.objective:
        texts["schedule.objective"] = args.objective
    values = {k: parse_value(k, t, space) for k, t in texts.items()}
    design = resolve_design(space, values)
    acc = build_accelerator(space, design)
    policy = policy_of(design, space)
    other = dict(values, **{"hardware.clock": parse_value("hardware.clock", "600MHz", space),
                            "hardware.technology": parse_value("hardware.technology", "22nm", space)})
    if other == values:
        other["hardware.clock"] = parse_value("hardware.clock", "500MHz", space)
    warm_acc = build_accelerator(space, resolve_design(space, other))

    layers = {}
    for model in MODELS:
        for layer in load_model(model).layers:
            layers.setdefault(layer.canonical(), layer)
    times, cpu, warm, costed, failed = [], [], [], [], []
    for layer in layers.values():
        clear_cache()
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            result = map_layer(layer, acc, policy)
            costed.append(result.candidates)
        except MappingError:
            failed.append(layer.name)
        times.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.process_time() - start_cpu) * 1e3)
        start_cpu = time.process_time()
        try:
            map_layer(layer, warm_acc, policy)
        except MappingError:
            pass
        warm.append((time.process_time() - start_cpu) * 1e3)
    ms, cpu_ms = np.array(times), np.array(cpu)
    print(machine_line())
    print(f"hardware: {acc.rows}x{acc.cols} {acc.dataflow}, " + ", ".join(
        f"{lv.name} {lv.size_bytes or 'DRAM'}B" for lv in acc.levels) + f"; policy: {policy}")
    print(f"{len(ms)} unique layers of {', '.join(MODELS)}, each mapped cold")
    for what, values in (("wall", ms), ("cpu", cpu_ms)):
        print(f"{what} ms per layer: median {np.median(values):.1f}, p95 {np.percentile(values, 95):.1f}, "
              f"max {values.max():.1f}, total {values.sum() / 1e3:.2f} s")
    warm_ms = np.array(warm)
    print(f"warm (then at {warm_acc.clock_hz / 1e6:.0f} MHz, {other['hardware.technology']:g} nm): cpu ms per layer: "
          f"median {np.median(warm_ms):.1f}, p95 {np.percentile(warm_ms, 95):.1f}, total {warm_ms.sum() / 1e3:.2f} s")
    print(f"mappings costed per layer: median {int(np.median(costed))}, max {max(costed)}"
          + (f"; unmappable: {', '.join(failed)}" if failed else ""))
    names = [layer.name + " " + layer.describe() for layer in layers.values()]
    for i in np.argsort(-ms)[:args.top]:
        print(f"  {ms[i]:7.1f} ms  {names[i]}")


if __name__ == "__main__":
    main()
