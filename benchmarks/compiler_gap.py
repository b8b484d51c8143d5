"""The compiler gap: the naive compiler (``schedule.mode: fixed``) against the mapper (``auto``)
on the same hardware, per layer and for the whole model.

The hardware is the representative point of ``spaces/edge.yaml`` used by
``benchmarks/mapper.py`` (override with ``--set``). Per layer: the per-layer objective of both
modes and the gap (fixed / auto - 1); for the model: latency, dynamic energy and EDP summed over
its MAC layers (x count).

Usage::

    python benchmarks/compiler_gap.py
    python benchmarks/compiler_gap.py --model mobilenetv2 --objective latency
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from codesign.compiler.mapper import map_layer
from codesign.compiler.policy import metric, objective_keys
from codesign.flow import policy_of
from codesign.hardware.build import build_accelerator
from codesign.spec.loader import load_space
from codesign.spec.params import parse_value, resolve_design
from codesign.workload.zoo import load_model

from mapper import POINT, ROOT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--objective", default="edp")
    ap.add_argument("--set", dest="values", action="append", default=[], help="NAME=VALUE (repeat)")
    args = ap.parse_args()
    space = load_space(ROOT / "spaces" / "edge.yaml")
    texts = {**POINT, **dict(v.split("=", 1) for v in args.values)}
    design = resolve_design(space, {k: parse_value(k, t, space) for k, t in texts.items()})
    acc = build_accelerator(space, design)
    auto = replace(policy_of(design, space), objective=args.objective)
    fixed = replace(auto, mode="fixed")
    first = objective_keys(args.objective)[0]
    totals = {"auto": [0.0, 0.0], "fixed": [0.0, 0.0]}
    print(f"{args.model} on {acc.rows}x{acc.cols} {acc.dataflow}; per-layer objective {args.objective}")
    print(f"{'layer':28s} {'x':>2s} {'auto':>11s} {'fixed':>11s} {'gap':>8s}")
    for layer in load_model(args.model).layers:
        a, f = map_layer(layer, acc, auto), map_layer(layer, acc, fixed)
        for mode, r in (("auto", a), ("fixed", f)):
            totals[mode][0] += r.cycles * layer.count
            totals[mode][1] += r.energy_pj * layer.count
        va, vf = metric(a.energy_pj, a.cycles, first), metric(f.energy_pj, f.cycles, first)
        print(f"{layer.name:28s} {layer.count:2d} {va:11.4g} {vf:11.4g} {vf / va - 1:8.1%}")
    (ca, ea), (cf, ef) = totals["auto"], totals["fixed"]
    ms = 1e3 / acc.clock_hz
    print(f"model (MAC layers): latency {ca * ms:.3f} -> {cf * ms:.3f} ms ({cf / ca - 1:+.1%}), "
          f"energy {ea * 1e-9:.4f} -> {ef * 1e-9:.4f} mJ ({ef / ea - 1:+.1%}), EDP {cf * ef / (ca * ea) - 1:+.1%}")


if __name__ == "__main__":
    main()
