"""Dataflow choice on a CNN (ResNet-18) against a transformer (BERT-Base): latency and energy.

One array (16x16 PEs, 512 KiB buffer, LPDDR5), five dataflows: which loop dimensions the PE
rows and columns may unroll (docs/space.md, Dataflows). The mapper picks the best mapping each
dataflow allows for every layer (per-layer objective: EDP). Bars are relative to the best
dataflow of each workload; the table has the absolute values. Space:
``examples/dataflow_cnn_vs_transformer.yaml``.

    python examples/dataflow_cnn_vs_transformer.py [--quick] [--out DIR]
"""

from __future__ import annotations

from _common import HERE, arguments, grouped_bars, plt, save

import codesign

DATAFLOWS = ["weight_stationary", "output_stationary", "input_stationary", "row_stationary", "flexible"]
QUICK = ["weight_stationary", "flexible"]
WORKLOADS = ["resnet18", "bert_base"]


def main() -> None:
    args = arguments(__doc__)
    space = codesign.load_space(HERE / "dataflow_cnn_vs_transformer.yaml")
    records = codesign.sweep(space, {"hardware.array.dataflow": QUICK if args.quick else DATAFLOWS})
    rows = [{"dataflow": r["hardware.array.dataflow"], "workload": w,
             "latency [ms]": r[f"{w}.latency_s"] * 1e3, "energy [mJ]": r[f"{w}.energy_J"] * 1e3,
             "utilization": r[f"{w}.utilization"]} for w in WORKLOADS for r in records]
    print(codesign.markdown_table(rows))

    flows = [r["hardware.array.dataflow"] for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, metric in zip(axes, ("latency [ms]", "energy [mJ]")):
        relative = {}
        for w in WORKLOADS:
            values = [r[metric] for r in rows if r["workload"] == w]
            relative[w] = [v / min(values) for v in values]
        grouped_bars(ax, [f.replace("_stationary", "\nstationary") for f in flows], relative,
                     f"{metric.split(' ')[0]} relative to the best dataflow", 1.0, fontsize=8)
    axes[0].set_ylabel("x best")
    axes[0].legend()
    save(fig, args.out, "dataflow_cnn_vs_transformer.png")


if __name__ == "__main__":
    main()
