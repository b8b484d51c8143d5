"""GLB SRAM size against energy per inference on MobileNetV2: a one-parameter sweep.

Every other parameter is fixed (``BASE``); at every size the compiler maps each layer anew
(per-layer objective: energy). A small buffer spills tiles to DRAM; a large one costs more per
access, more leakage and more area. Space: ``examples/sram_vs_energy.yaml``.

    python examples/sram_vs_energy.py [--quick] [--out DIR]
"""

from __future__ import annotations

from _common import HERE, arguments, plt, save

import codesign
from codesign.studies import cell

BASE = {"hardware.memory.PE_RF.size": "64B"}
SIZES = ["16KiB", "64KiB", "256KiB", "1MiB", "4MiB"]
QUICK = ["64KiB", "1MiB"]


def main() -> None:
    args = arguments(__doc__)
    space = codesign.load_space(HERE / "sram_vs_energy.yaml")
    records = codesign.sweep(space, {"hardware.memory.GLB.size": QUICK if args.quick else SIZES}, fixed=BASE)
    rows = [{"hardware.memory.GLB.size": r["hardware.memory.GLB.size"],
             "energy [mJ]": r["mobilenetv2.energy_J"] * 1e3, "latency [ms]": r["mobilenetv2.latency_s"] * 1e3,
             "area [mm2]": r["area_mm2"]} for r in records]
    print(codesign.markdown_table(rows))

    kib = [r["hardware.memory.GLB.size"] / 1024 for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(kib, [r["energy [mJ]"] for r in rows], "o-", color="tab:blue", label="energy")
    ax.set_xscale("log", base=2)
    ax.set_xticks(kib, [cell("hardware.memory.GLB.size", r["hardware.memory.GLB.size"]) for r in rows])
    ax.minorticks_off()
    ax.set_xlabel("GLB size")
    ax.set_ylabel("energy per inference [mJ]", color="tab:blue")
    area = ax.twinx()
    area.plot(kib, [r["area [mm2]"] for r in rows], "s--", color="tab:gray", label="area")
    area.set_ylabel("area [mm²]", color="tab:gray")
    ax.set_title("MobileNetV2, 16x16 weight-stationary, 28 nm")
    save(fig, args.out, "sram_vs_energy.png")


if __name__ == "__main__":
    main()
