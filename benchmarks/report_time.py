"""How long the study report takes, by step: reading the run, re-evaluating each detailed design
(per layer, with rooflines and loop nests), the compiler gap, the PNGs, the whole report.

Without RUN_DIR it first runs a 12-trial search of ``spaces/edge.yaml`` (seed 1, no report) in a
temporary directory. Wall-clock times on a shared machine vary: read them as rough figures.

Usage::

    python benchmarks/report_time.py
    python benchmarks/report_time.py runs/edge --designs 6
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", nargs="?", type=Path)
    ap.add_argument("--designs", type=int, default=3)
    args = ap.parse_args()
    import codesign
    from codesign.report import figures
    from codesign.report.build import build_report, chosen_rows
    from codesign.report.detail import detail_design
    from codesign.report.gather import load_run

    run_dir = args.run_dir
    if run_dir is None:
        tmp = Path(tempfile.mkdtemp())
        t = time.perf_counter()
        run_dir = codesign.search(codesign.load_space(ROOT / "spaces" / "edge.yaml"), trials=12, seed=1,
                                  runs_dir=tmp, with_report=False).run_dir
        print(f"search (12 trials of spaces/edge.yaml): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    data = load_run(run_dir)
    print(f"read the run ({len(data.rows)} trials, front {len(data.front)}): {time.perf_counter() - t:.2f} s")
    for row in chosen_rows(data, args.designs):
        t = time.perf_counter()
        d = detail_design(data.space, row)
        detail_s = time.perf_counter() - t
        t = time.perf_counter()
        detail_design(data.space, row, compiler_gap=True)
        gap_s = time.perf_counter() - t
        t = time.perf_counter()
        figures.roofline_png(d, Path(tempfile.mkdtemp()) / "roofline.png")
        layers = sum(len(w.layers) for w in d.workloads)
        print(f"trial {row.number}: detail {detail_s:.2f} s ({layers} layers), again with the compiler gap "
              f"{gap_s:.2f} s (mapper results cached, naive compiler not), "
              f"roofline PNG {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    path = build_report(run_dir, designs=args.designs)
    print(f"whole report ({args.designs} designs, mapper cache warm, {path.stat().st_size / 1e6:.1f} MB): "
          f"{time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
