"""The compiler gap on ``spaces/edge.yaml``: a naive compiler against codesign's mapper, per workload.

For a few designs of the edge space, every layer is compiled twice on the same hardware: by the
naive compiler (``schedule.mode: fixed``: the dataflow's default unroll, one fixed loop order,
greedy largest tiles) and by the mapper (``auto``: searched tiles, orders and unrolls, per-layer
objective EDP). The gap is naive / searched - 1: what the hardware leaves on the table when its
compiler does not search. ``benchmarks/compiler_gap.py`` shows it layer by layer.

    python examples/compiler_gap.py [--quick] [--out DIR]
"""

from __future__ import annotations

from _common import HERE, arguments, grouped_bars, plt, save

import codesign

COMMON = {"hardware.technology": "28nm", "hardware.clock": "800MHz", "hardware.array.dataflow": "weight_stationary",
          "hardware.memory.DRAM.dram_type": "LPDDR4", "hardware.memory.DRAM.bandwidth": "25.6GB/s",
          "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": "64B", "schedule.objective": "edp"}
DESIGNS = {
    "8x8 64KiB": {**COMMON, "hardware.array.rows": 8, "hardware.array.cols": 8, "hardware.memory.GLB.size": "64KiB"},
    "16x16 256KiB": {**COMMON, "hardware.array.rows": 16, "hardware.array.cols": 16, "hardware.memory.GLB.size": "256KiB"},
    "32x32 1MiB": {**COMMON, "hardware.array.rows": 32, "hardware.array.cols": 32, "hardware.memory.GLB.size": "1MiB",
                   "hardware.memory.GLB.bytes_per_cycle": 128},
}
QUICK = ["16x16 256KiB"]


def main() -> None:
    args = arguments(__doc__)
    space = codesign.load_space(HERE.parent / "spaces" / "edge.yaml")
    chosen = {k: DESIGNS[k] for k in (QUICK if args.quick else DESIGNS)}
    records = codesign.compiler_gap(space, chosen)
    rows = [{"design": r["design"], "workload": r["workload"],
             "searched latency [ms]": r["auto latency_s"] * 1e3, "naive latency [ms]": r["fixed latency_s"] * 1e3,
             "latency gap [%]": 100 * r["latency_gap"],
             "searched energy [mJ]": r["auto energy_J"] * 1e3, "naive energy [mJ]": r["fixed energy_J"] * 1e3,
             "energy gap [%]": 100 * r["energy_gap"]} for r in records]
    print(codesign.markdown_table(rows))

    workloads = [w.label for w in space.workloads]
    names = list(chosen)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, gap in zip(axes, ("latency gap [%]", "energy gap [%]")):
        grouped_bars(ax, names, {w: [r[gap] for r in rows if r["workload"] == w] for w in workloads},
                     f"{gap.split(' [')[0]}: naive / searched - 1", 0.0)
    axes[0].set_ylabel("%")
    axes[0].legend()
    save(fig, args.out, "compiler_gap.png")


if __name__ == "__main__":
    main()
