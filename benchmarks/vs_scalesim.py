"""codesign's systolic simulator against SCALE-Sim 3.0.0 on the same config and topology files.

SCALE-Sim runs in its own virtual environment (``benchmarks/.venv-scalesim``, created on first
use with ``pip install scalesim==3.0.0 "numpy<2"``; it crashes under numpy 2) inside one worker
process, so its timings exclude interpreter start-up. For every case (array shape x dataflow x
layer x DRAM interface) both tools read the same ``.cfg`` and topology CSV (codesign through
``codesign.interop.scalesim``); the table shows both tools' compute cycles, total cycles and run
times (CPU seconds of the simulation call, file reading included), whether every other reported
number (stalls, total incl. prefetch, utilizations, SRAM/DRAM accesses per operand) is
identical, and a summary.

DRAM interfaces: ``CALC`` (64 KiB SRAMs, bandwidth sized by SCALE-Sim, no stalls) and ``USER``
(4/4/2 KiB SRAMs, 4 words/cycle per operand: the operands do not fit and the array stalls).

Usage::

    python benchmarks/vs_scalesim.py             # 3 arrays x 3 dataflows x 6 layers x 2 interfaces
    python benchmarks/vs_scalesim.py --quick     # 2 arrays x 3 dataflows x 2 layers x 2 interfaces
    python benchmarks/vs_scalesim.py --write-reference tests/data/scalesim   # the tests' reference data
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from _peer_venv import peer_python  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-scalesim"
SCALESIM = "scalesim==3.0.0"

# name, IFMAP h, IFMAP w, filter h, filter w, channels, filters, stride  |  name, M, N, K
LAYERS: dict[str, tuple] = {
    "conv3x3": ("conv", "conv3x3", 16, 16, 3, 3, 16, 32, 1),
    "conv3x3_s2": ("conv", "conv3x3_s2", 16, 16, 3, 3, 8, 24, 2),
    "pointwise": ("conv", "pointwise", 14, 14, 1, 1, 32, 64, 1),
    "gemm_square": ("gemm", "gemm_square", 64, 64, 64),
    "gemm_tall": ("gemm", "gemm_tall", 256, 24, 40),
    "gemm_wide": ("gemm", "gemm_wide", 20, 200, 96),
}
ARRAYS = ((8, 8), (32, 32), (16, 64))
INTERFACES = {"CALC": ((64, 64, 64), 10), "USER": ((4, 4, 2), 4)}

WORKER = r'''
import json, shutil, sys, time
from pathlib import Path
from scalesim.scale_sim import scalesim
for job in json.load(open(sys.argv[1])):
    out = Path(job["dir"]) / "out"
    shutil.rmtree(out, ignore_errors=True)
    start = time.process_time()
    sim = scalesim(save_disk_space=True, verbose=False, config=job["cfg"], topology=job["topo"],
                   layout=job["layout"], input_type_gemm=job["gemm"])
    sim.run_scale(top_path=str(out))
    seconds = time.process_time() - start
    run = out / job["run_name"]
    print(json.dumps({"seconds": seconds, "compute": (run / "COMPUTE_REPORT.csv").read_text(),
                      "detail": (run / "DETAILED_ACCESS_REPORT.csv").read_text()}), flush=True)
'''


@dataclass(frozen=True)
class Case:
    """One comparison: array shape, dataflow, DRAM interface and the layers of one topology."""

    rows: int
    cols: int
    dataflow: str
    interface: str
    layers: tuple[tuple, ...]

    @property
    def gemm(self) -> bool:
        return self.layers[0][0] == "gemm"

    @property
    def name(self) -> str:
        return f"{self.rows}x{self.cols}_{self.dataflow}_{self.interface}_{self.layers[0][1]}"


def config_text(case: Case) -> str:
    """A complete SCALE-Sim 3.0.0 config (its shipped ``configs/scale.cfg`` layout)."""
    (ifmap_kb, filter_kb, ofmap_kb), bw = INTERFACES[case.interface]
    return f"""[general]
run_name = {case.name}

[architecture_presets]
ArrayHeight:    {case.rows}
ArrayWidth:     {case.cols}
IfmapSramSzkB:   {ifmap_kb}
FilterSramSzkB:  {filter_kb}
OfmapSramSzkB:   {ofmap_kb}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : {bw}
Dataflow : {case.dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bw}
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bw}
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {case.interface}
UseRamulatorTrace: False
"""


def write_inputs(case: Case, directory: Path) -> dict:
    """Write the case's config, topology and (required, unused) layout CSV; return the worker job."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg, topo, layout = directory / f"{case.name}.cfg", directory / f"{case.name}.csv", directory / "layout.csv"
    cfg.write_text(config_text(case))
    head = "Layer name, M, N, K," if case.gemm else \
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
    topo.write_text(head + "\n" + "".join(", ".join(map(str, layer[1:])) + ",\n" for layer in case.layers))
    layout.write_text("Layer name, factors and orders (unused without custom layouts),\n" +
                      "".join(f"{layer[1]}, 1, 1, 1, 1, 1, 1, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 7,\n"
                              for layer in case.layers))
    return {"dir": str(directory), "cfg": str(cfg), "topo": str(topo), "layout": str(layout),
            "gemm": case.gemm, "run_name": case.name}


def scalesim_python() -> Path:
    """The venv's interpreter, creating the venv and installing SCALE-Sim 3.0.0 when needed."""
    return peer_python(VENV, [SCALESIM, "numpy<2"], "import importlib.metadata as m; assert m.version('scalesim') == '3.0.0'")


def run_scalesim(jobs: list[dict], workdir: Path) -> list[dict]:
    """Run every job in one SCALE-Sim worker process; return its reports and run times."""
    script, jobfile = workdir / "worker.py", workdir / "jobs.json"
    script.write_text(WORKER)
    jobfile.write_text(json.dumps(jobs))
    proc = subprocess.Popen([str(scalesim_python()), str(script), str(jobfile)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    results = []
    for line in proc.stdout:  # type: ignore[union-attr]
        if not line.startswith("{"):
            continue
        results.append(json.loads(line))
        if sys.stderr.isatty():
            print(f"  SCALE-Sim {len(results)}/{len(jobs)} ({results[-1]['seconds']:.2f} s)", file=sys.stderr, end="\r")
    if proc.wait() != 0 or len(results) != len(jobs):
        raise SystemExit(f"SCALE-Sim worker failed after {len(results)} of {len(jobs)} runs")
    return results


def parse_reports(compute: str, detail: str) -> list[dict]:
    """SCALE-Sim's COMPUTE_REPORT and DETAILED_ACCESS_REPORT rows in codesign's JSON terms."""
    rows = []
    for c, d in zip(compute.strip().splitlines()[1:], detail.strip().splitlines()[1:]):
        c_ = [float(x) for x in c.split(",")[1:-1]]
        d_ = [float(x) for x in d.split(",")[1:-1]]
        rows.append({"total_cycles_incl_prefetch": c_[0], "total_cycles": c_[1], "stall_cycles": c_[2],
                     "compute_cycles": c_[1] - c_[2], "overall_util": c_[3], "mapping_efficiency": c_[4],
                     "compute_util": c_[5], "sram_reads": {"ifmap": d_[2], "filter": d_[5]},
                     "sram_writes": {"ofmap": d_[8]}, "dram_reads": {"ifmap": d_[11], "filter": d_[14]},
                     "dram_writes": {"ofmap": d_[17]}})
    return rows


def differences(ref: dict, ours: dict) -> list[str]:
    """Names of the reported numbers that differ (utilizations: relative 1e-9)."""
    out = []
    for key, value in ref.items():
        if isinstance(value, dict):
            out += [f"{key}.{k}" for k, v in value.items() if v != ours[key][k]]
        elif abs(value - ours[key]) > 1e-9 * max(1.0, abs(value)):
            out.append(key)
    return out


def cases(quick: bool) -> list[Case]:
    arrays = ARRAYS[:2] if quick else ARRAYS
    names = ("conv3x3_s2", "gemm_tall") if quick else tuple(LAYERS)
    return [Case(r, c, df, iface, (LAYERS[name],)) for (r, c) in arrays for df in ("os", "ws", "is")
            for iface in INTERFACES for name in names]


def compare(selected: list[Case]) -> None:
    from codesign.interop.scalesim import run
    run(*map(Path, _warmup()), True)  # import and first-call costs out of the timings
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [write_inputs(case, Path(tmp) / case.name) for case in selected]
        theirs = run_scalesim(jobs, Path(tmp))
        print(f"{'case':<34} {'compute SS':>10} {'compute cs':>10} {'total SS':>9} {'total cs':>9} {'err %':>6} "
              f"{'t SS s':>7} {'t cs ms':>8}  other fields (run times: CPU)")
        exact, worst, t_ss, t_cs, identical = 0, 0.0, 0.0, 0.0, 0
        for case, job, ss in zip(selected, jobs, theirs):
            start = time.process_time()
            _, timings = run(Path(job["cfg"]), Path(job["topo"]), case.gemm)
            seconds = time.process_time() - start
            ref, mine = parse_reports(ss["compute"], ss["detail"])[0], asdict(timings[0])
            err = 100 * abs(mine["total_cycles"] - ref["total_cycles"]) / ref["total_cycles"]
            diff = differences(ref, mine)
            exact += mine["compute_cycles"] == ref["compute_cycles"]
            identical += not diff
            worst, t_ss, t_cs = max(worst, err), t_ss + ss["seconds"], t_cs + seconds
            print(f"{case.name:<34} {ref['compute_cycles']:>10.0f} {mine['compute_cycles']:>10} "
                  f"{ref['total_cycles']:>9.0f} {mine['total_cycles']:>9} {err:>6.2f} {ss['seconds']:>7.2f} "
                  f"{1e3 * seconds:>8.1f}  {'identical' if not diff else 'differ: ' + ', '.join(diff)}")
        n = len(selected)
        print(f"\n{n} cases: compute cycles exact in {exact}/{n}; max total-cycle error {worst:.2f} %; "
              f"all reported numbers identical in {identical}/{n}")
        print(f"run time (CPU): SCALE-Sim {t_ss:.1f} s, codesign {t_cs:.2f} s (SCALE-Sim / codesign = {t_ss / t_cs:.0f}x)")


def _warmup() -> tuple[str, str]:
    tmp = Path(tempfile.mkdtemp())
    job = write_inputs(Case(4, 4, "os", "CALC", (LAYERS["gemm_tall"],)), tmp)
    return job["cfg"], job["topo"]


REFERENCE_CASES = (
    Case(8, 8, "os", "CALC", (LAYERS["conv3x3"], LAYERS["conv3x3_s2"], ("conv", "DP_conv", 10, 10, 3, 3, 3, 4, 1))),
    Case(8, 8, "ws", "USER", (LAYERS["conv3x3_s2"], LAYERS["pointwise"])),
    Case(16, 4, "is", "USER", (LAYERS["gemm_tall"], LAYERS["gemm_wide"])),
    Case(32, 32, "ws", "CALC", (LAYERS["gemm_square"], LAYERS["gemm_wide"])),
)


def write_reference(directory: Path) -> None:
    """Run SCALE-Sim on REFERENCE_CASES; keep its inputs and its report CSVs verbatim."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [write_inputs(case, Path(tmp) / case.name) for case in REFERENCE_CASES]
        theirs = run_scalesim(jobs, Path(tmp))
        for case, job, ss in zip(REFERENCE_CASES, jobs, theirs):
            dest = directory / case.name
            dest.mkdir(parents=True, exist_ok=True)
            for key in ("cfg", "topo"):
                shutil.copy(job[key], dest / Path(job[key]).name)
            (dest / "COMPUTE_REPORT.csv").write_text(ss["compute"])
            (dest / "DETAILED_ACCESS_REPORT.csv").write_text(ss["detail"])
    version = subprocess.run([str(scalesim_python()), "-c", "import numpy, importlib.metadata as m; "
                              "print(m.version('scalesim'), numpy.__version__)"], capture_output=True, text=True)
    print(f"wrote {len(REFERENCE_CASES)} cases to {directory} (scalesim, numpy: {version.stdout.strip()}; "
          f"{datetime.date.today()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller matrix")
    parser.add_argument("--write-reference", type=Path, metavar="DIR", help="write the tests' SCALE-Sim reference data")
    args = parser.parse_args()
    if args.write_reference:
        write_reference(args.write_reference)
    else:
        compare(cases(args.quick))


if __name__ == "__main__":
    main()
