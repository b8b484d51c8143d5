"""Tile-program simulator speed and its gap to the analytical model, per model.

For ResNet-50, MobileNetV2 and BERT-base (batch 1) on one design of spaces/edge.yaml (16x16
weight-stationary, 256 KiB GLB, LPDDR4 at 12.8 GB/s, 500 MHz), every unique layer is mapped
first (the mapper's CPU time is reported separately), then simulated cold: building the tile
program and the event simulation, CPU time (time.process_time) per model and per layer
(median), with the number of tile steps and how many were stepped through (the rest
extrapolated by compression), and the latency gap simulated / analytical - 1.

    python benchmarks/simulator.py [--glb 256KiB] [--check]

``--check`` also runs the uncompressed simulation of every layer and asserts equal cycles.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from codesign import api
from codesign.compiler.mapper import clear_cache, map_layer
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.sim.events import simulate
from codesign.sim.fidelity import design_timing
from codesign.sim.program import build_program
from codesign.spec.params import resolve_design
from codesign.units import parse_quantity
from codesign.workload.zoo import load_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("resnet50", "mobilenetv2", "bert_base")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--glb", default="256KiB")
    ap.add_argument("--check", action="store_true", help="compare with the uncompressed simulation")
    args = ap.parse_args()
    space = api.load_space(ROOT / "spaces" / "edge.yaml")
    design = resolve_design(space, {
        "hardware.technology": 22.0, "hardware.clock": 500e6, "hardware.array.rows": 16, "hardware.array.cols": 16,
        "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.dram_type": "LPDDR4",
        "hardware.memory.DRAM.bandwidth": 12.8e9, "hardware.memory.GLB.size": int(parse_quantity(args.glb, "size")),
        "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": 64, "schedule.objective": "edp"})
    acc, policy = build_accelerator(space, design), policy_of(design, space)
    timing = design_timing(acc, design)
    print(f"design: {acc.rows}x{acc.cols} {acc.dataflow}, GLB {args.glb}, DRAM {acc.levels[0].bytes_per_cycle:.1f} B/cycle, "
          f"{timing.dram_latency_cycles} cycles latency, {timing.burst_bytes} B bursts, {timing.dma_engines} DMA engines, "
          f"fill+drain {timing.fill_drain_cycles} cycles/tile")
    print(f"{'model':12s} {'layers':>6s} {'map CPU s':>9s} {'sim CPU s':>9s} {'median/layer ms':>15s} {'steps':>8s} "
          f"{'stepped':>8s} {'analytical ms':>13s} {'simulated ms':>12s} {'gap':>7s}")
    for name in MODELS:
        layers = load_model(name).layers
        clear_cache()
        t0 = time.process_time()
        results = [map_layer(layer, acc, policy) for layer in layers]
        map_s = time.process_time() - t0
        per_layer, steps, stepped, sim_cycles = [], 0, 0, 0.0
        for r in results:
            t = time.process_time()
            program = build_program(r, acc)
            out = simulate(program, timing)
            per_layer.append(time.process_time() - t)
            steps += program.n
            stepped += out.steps_simulated
            sim_cycles += out.cycles * r.layer.count
            if args.check:
                assert simulate(program, timing, compress=False).cycles == out.cycles, r.layer.name
        ana_cycles = sum(r.cycles * r.layer.count for r in results)
        print(f"{name:12s} {len(layers):6d} {map_s:9.2f} {sum(per_layer):9.3f} {statistics.median(per_layer) * 1e3:15.2f} "
              f"{steps:8d} {stepped:8d} {ana_cycles / acc.clock_hz * 1e3:13.3f} {sim_cycles / acc.clock_hz * 1e3:12.3f} "
              f"{sim_cycles / ana_cycles - 1:+7.1%}")
    print("(MAC layers only; vector operators are not simulated. CPU time on this machine, one core.)")


if __name__ == "__main__":
    main()
