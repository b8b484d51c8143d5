"""codesign's mapper against ZigZag 3.9.1's (LOMA) on the same layers and hardware, each mapping costed in both models.

The hardware is ZigZag's example accelerator ``tpu_like`` (``zigzag/inputs/hardware/tpu_like.yaml``:
32 x 32 MACs unrolling K x C, a 128 B weight register and an output register per MAC, a 2 MiB
SRAM for inputs and outputs, DRAM), written as the codesign space ``benchmarks/zigzag_tpu_like.yaml``
with ZigZag's energies per byte and per MAC (``access_energy``, ``mac_energy``). Precision is
int8 with 32-bit partial sums in both tools (ZigZag's ``operand_precision`` W 8, I 8, O 32,
O_final 8), so ZigZag's 2-byte output register is widened to 4 bytes (same energy per byte).

Per layer both tools search with the EDP objective (codesign ``schedule.objective: edp``; ZigZag
``opt="EDP"``, LOMA with ``lpf_limit=6``, the shipped K32 x C32 spatial mapping). Both tools'
mappings are costed in both models (:mod:`codesign.interop.zigzag_mapping` translates either way):

1. in codesign's model (dynamic energy, no leakage): codesign's mapping and ZigZag's best
   mapping translated to a codesign ``Mapping``; verdict "codesign's EDP <= ZigZag's" -- where
   it fails, codesign's mapper missed a mapping its own model prefers (a mapper gap);
2. in ZigZag's model (``latency_total2``, ``energy_total``): codesign's mapping (loops assigned to
   ZigZag's memories per operand, the unrolling as ZigZag's spatial mapping) and ZigZag's best;
   verdict again "codesign's EDP <= ZigZag's". As a check, ZigZag's fixed-mapping path replays
   ZigZag's own best mapping and must reproduce its search's costs;
3. latency parts: ZigZag's temporal loop cycles, stalls, initial loading and final write-back
   for both mappings, beside codesign's analytical cycles and the tile-program simulator's
   (:func:`codesign.sim.fidelity.simulate_layer`: DMA transfers on one DRAM channel, array
   fill and drain per tile);
4. run times (CPU seconds per layer: codesign's mapper, cold; ZigZag's whole per-layer search).

What the two models count differently: latency: ZigZag = temporal loop cycles + the worst port
stall + initial loading + final write-back, and a register whose tile does not fit twice stalls
the MACs while it is refilled; codesign = max(compute, each double-buffered level's bytes /
bandwidth), and a level without a bandwidth (the registers here) costs no time. Energy: ZigZag
charges read and write costs separately and rounds each transfer up to a port's minimum width
(64 bits for DRAM/SRAM); codesign charges the mean of the two per byte. Tiles: codesign counts a
tile as the bounding box of its projection (Timeloop's semantics: a stride-2 1x1 conv's input
tile over 7 outputs spans 13 rows) and pads traffic with the unrolling; ZigZag does neither.
Capacity: codesign double-buffers DRAM and the SRAM (1 MiB usable of 2 MiB); ZigZag does not.

ZigZag runs in its own virtual environment (``benchmarks/.venv-zigzag``, created on first use:
``pip install zigzag-dse==3.9.1 six``; 3.9.1 imports six without declaring it) inside one
worker process. Its results (costs, latency parts and best mappings) are cached in
``benchmarks/vs_zigzag.cache.json`` keyed by the exact inputs; ``--refresh`` recomputes them.

Usage::

    python benchmarks/vs_zigzag.py              # ResNet-18's 11 unique convs + fc, one BERT GEMM
    python benchmarks/vs_zigzag.py --quick      # 3 layers
    python benchmarks/vs_zigzag.py --refresh    # rerun ZigZag instead of using the cache
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.interop.zigzag_mapping import (
    from_zigzag,
    loops_from_json,
    memories,
    to_zigzag_spatial,
    to_zigzag_temporal,
    zigzag_layer,
)

from _peer_venv import peer_python  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-zigzag"
ZIGZAG = "zigzag-dse==3.9.1"
SPACE = HERE / "zigzag_tpu_like.yaml"
CACHE = HERE / "vs_zigzag.cache.json"

RESNET = ["conv1", "layer1.0.conv1", "layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample", "layer3.0.conv1",
          "layer3.0.conv2", "layer3.0.downsample", "layer4.0.conv1", "layer4.0.conv2", "layer4.0.downsample", "fc"]
GEMM = "encoder.attention.output.dense"                       # BERT-base, 128 tokens: 128 x 768 x 768
QUICK = ["layer2.0.conv1", "layer4.0.downsample", GEMM]

WORKER = r'''
import json, logging, sys, time, yaml
from importlib.resources import files
logging.disable(logging.CRITICAL)
from zigzag.api import get_hardware_performance_zigzag
from zigzag.datatypes import LayerDim, LayerOperand
from zigzag.mapping.temporal_mapping import TemporalMapping, TemporalMappingType
from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
from zigzag.stages.main import MainStage
from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
from zigzag.stages.parser.workload_parser import WorkloadParserStage
from zigzag.stages.stage import Stage
from zigzag.stages.workload_iterator import WorkloadStage

class FixedTemporalStage(Stage):
    """Hand one given temporal mapping to the cost model (instead of LOMA's search)."""
    def __init__(self, list_of_callables, *, layer, loops, **kwargs):
        super().__init__(list_of_callables, **kwargs)
        self.layer, self.loops = layer, loops
    def run(self):
        tm = {LayerOperand(op): [[(LayerDim(d), f) for d, f in level] for level in levels]
              for op, levels in self.loops.items()}
        kwargs = dict(self.kwargs, layer=self.layer,
                      temporal_mapping=TemporalMapping(tm, self.layer, TemporalMappingType.UNEVEN))
        yield from self.list_of_callables[0](self.list_of_callables[1:], **kwargs).run()

def size(f):
    return int(f) if float(f).is_integer() else float(f)

def costs(cme, seconds):
    """Energy, latency (latency_total2) and its parts: temporal loop cycles, stalls, initial loading, final write-back."""
    return {"energy_pJ": cme.energy_total, "cycles": cme.latency_total2, "seconds": seconds,
            "parts": {"loops": cme.ideal_temporal_cycle, "stall": cme.stall_slack_comb,
                      "onload": cme.latency_total1 - cme.latency_total0, "offload": cme.latency_total2 - cme.latency_total1}}

def links_obj(cme):
    """layer operand -> the memory operand its memories are listed under."""
    return {op: next(k for k in cme.mem_hierarchy_dict if str(k) == mem) for op, mem in links.items()}

def fixed_costs(workload, spatial, loops):
    """ZigZag's cost model on one given spatial and temporal mapping."""
    mapping = write(f"{tmp}/fixed.yaml", [{"name": "default", "spatial_mapping": spatial, "memory_operand_links": links}])
    start = time.process_time()
    try:
        cme, _ = MainStage([WorkloadParserStage, AcceleratorParserStage, WorkloadStage, SpatialMappingGeneratorStage,
                            FixedTemporalStage, CostModelStage], accelerator=accelerator, workload=workload,
                           mapping=mapping, loops=loops, access_same_data_considered_as_no_access=True,
                           nb_mappings_generated=1, enable_mix_spatial_mapping_generation=True).run()[0]
        return costs(cme, time.process_time() - start)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}

def write(path, data):
    with open(path, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path

tmp = sys.argv[2]
acc = yaml.safe_load((files("zigzag") / "inputs/hardware/tpu_like.yaml").read_text())
rf = acc["memories"].pop("rf_2B")         # widened to one 32-bit partial sum, same energy per byte
rf.update(size=32, r_cost=2 * rf["r_cost"], w_cost=2 * rf["w_cost"])
for port in rf["ports"]:
    port.update(bandwidth_min=32, bandwidth_max=32)
acc["memories"] = {k: v for k, v in [("rf_128B", acc["memories"]["rf_128B"]), ("rf_4B", rf),
                                     *[(k, v) for k, v in acc["memories"].items() if k != "rf_128B"]]}
accelerator = write(f"{tmp}/tpu_like_4B.yaml", acc)
links = {"O": "O", "W": "I2", "I": "I1"}
for job in json.load(open(sys.argv[1])):
    workload = write(f"{tmp}/workload.yaml", [job["layer"]])
    out = {"key": job["key"]}
    if job["search"]:
        mapping = write(f"{tmp}/mapping.yaml", [{"name": "default", "spatial_mapping": {"D1": ["K, 32"], "D2": ["C, 32"]},
                                                   "memory_operand_links": links}])
        start = time.process_time()
        _, _, cmes = get_hardware_performance_zigzag(workload, accelerator, mapping, opt="EDP",
                                                     dump_folder=f"{tmp}/out", loma_show_progress_bar=False)
        cme = cmes[0][1][0][0]
        best = {"temporal": {str(op): [[[str(d), size(f)] for d, f in level] for level in levels]
                             for op, levels in cme.temporal_mapping.mapping_dic_origin.items()},
                "spatial": {str(a): {str(d): size(f) for d, f in unroll.items()}
                            for a, unroll in cme.layer.spatial_mapping.items()},
                "memories": {op: [m.name for m in cme.mem_hierarchy_dict[mem]] for op, mem in links_obj(cme).items()}}
        out["search"] = dict(costs(cme, time.process_time() - start), mapping=best)
        # the best mapping again through the fixed-mapping path: checks that path against the search
        out["replay"] = fixed_costs(workload, {a: [f"{d}, {f}" for d, f in u.items()] for a, u in best["spatial"].items()},
                                    best["temporal"])
    if job["loops"] is not None:
        out["fixed"] = fixed_costs(workload, job["spatial"], job["loops"])
    print(json.dumps(out), flush=True)
'''


def zigzag_python() -> Path:
    """The venv's interpreter, creating the venv and installing ZigZag 3.9.1 (and six) when needed."""
    return peer_python(VENV, [ZIGZAG, "six"],
                       "import six, importlib.metadata as m; assert m.version('zigzag-dse') == '3.9.1'")


def run_zigzag(jobs: list[dict], on_result: Any) -> None:
    """Run the jobs in one ZigZag worker process; call ``on_result(row)`` as each one finishes."""
    if not jobs:
        return
    with tempfile.TemporaryDirectory() as tmp:
        script, jobfile = Path(tmp) / "worker.py", Path(tmp) / "jobs.json"
        script.write_text(WORKER)
        jobfile.write_text(json.dumps(jobs))
        proc = subprocess.Popen([str(zigzag_python()), str(script), str(jobfile), tmp], stdout=subprocess.PIPE,
                                text=True, cwd=tmp, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        done = 0
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                on_result(json.loads(line))
                done += 1
                print(f"  ZigZag {done}/{len(jobs)}", file=sys.stderr, end="\r")
        if proc.wait() != 0 or done != len(jobs):
            raise SystemExit(f"ZigZag worker failed after {done} of {len(jobs)} jobs")


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps([ZIGZAG, *parts], sort_keys=True).encode()).hexdigest()[:16]


def codesign_side(names: list[str]) -> list[dict]:
    """Map every layer with codesign: its mapping and costs in codesign's model, the mapping in ZigZag's
    terms, and the simulated cycles of the mapping (:mod:`codesign.sim`: DMA transfers on one DRAM channel)."""
    from codesign import api
    from codesign.flow import map_named_layer
    from codesign.sim.fidelity import design_timing, simulate_layer
    from codesign.spec.params import resolve_design

    space = api.load_space(SPACE)
    design = resolve_design(space, {})
    map_named_layer(space, design, space.base_dir, "layer4.0.downsample")      # imports and caches out of the timings
    rows = []
    for name in names:
        clear_cache()
        start = time.process_time()
        mapped = map_named_layer(space, design, space.base_dir, name)
        seconds = time.process_time() - start
        layer, acc, result = mapped.layer, mapped.accelerator, mapped.result
        timing = design_timing(acc, design)
        row = {"name": name, "mapped": mapped, "layer": zigzag_layer(layer), "seconds": seconds,
               "cs": {"cycles": result.cycles, "energy_pJ": result.energy_pj, "fits": True,
                      "sim_cycles": float(simulate_layer(result, acc, timing).cycles)},
               "timing": timing}
        try:
            row["spatial"], row["loops"] = to_zigzag_spatial(layer, result.mapping), to_zigzag_temporal(layer, acc, result.mapping)
        except CodesignError as exc:
            row["spatial"], row["loops"], row["why"] = None, None, exc.what
        rows.append(row)
    return rows


def clear_cache() -> None:
    """Map every layer cold (no mapper cache), so its CPU time is the whole search."""
    from codesign.compiler.mapper import clear_cache as clear

    clear()


def zigzag_side(rows: list[dict], refresh: bool) -> None:
    """ZigZag's best mapping and costs (``row["zz"]``, its replay ``row["zz_replay"]``) and codesign's mapping
    in ZigZag's model (``row["cs_in_zz"]``), from the cache or a ZigZag worker."""
    cache = {} if refresh or not CACHE.exists() else json.loads(CACHE.read_text())
    jobs = []
    for row in rows:
        row["search_key"] = _key("search", row["layer"])
        row["fixed_key"] = _key("fixed", row["layer"], row["spatial"], row["loops"])
        need_search = "mapping" not in cache.get(row["search_key"], {})
        cached = cache.get(row["fixed_key"], {})
        need_fixed = row["loops"] is not None and "parts" not in cached and "error" not in cached
        if need_search or need_fixed:
            jobs.append({"key": row["name"], "layer": row["layer"], "search": need_search,
                         "spatial": row["spatial"], "loops": row["loops"] if need_fixed else None})
    by_name = {row["name"]: row for row in rows}

    def store(got: dict) -> None:
        row = by_name[got["key"]]
        if "search" in got:
            cache[row["search_key"]] = dict(got["search"], replay=got["replay"])
        if "fixed" in got:
            cache[row["fixed_key"]] = got["fixed"]
        CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True))

    run_zigzag(jobs, store)
    for row in rows:
        row["zz"] = cache[row["search_key"]]
        row["zz_replay"] = row["zz"]["replay"]
        row["cs_in_zz"] = cache.get(row["fixed_key"], {"error": row.get("why", "")}) if row["loops"] is not None \
            else {"error": row.get("why", "")}


def zigzag_in_codesign(row: dict) -> dict:
    """ZigZag's best mapping translated to codesign's terms, costed by codesign's model (and simulated)."""
    from codesign.compiler.mapper import result_from_cost
    from codesign.cost.analytical import evaluate
    from codesign.sim.fidelity import simulate_layer

    mapped = row["mapped"]
    layer, acc = mapped.layer, mapped.accelerator
    best = row["zz"]["mapping"]
    if best["memories"] != memories(acc):
        return {"error": f"ZigZag's memories per operand {best['memories']} are not the space's {memories(acc)}"}
    try:
        translated = from_zigzag(layer, acc, loops_from_json(best["temporal"]), best["spatial"])
    except CodesignError as exc:
        return {"error": exc.what}
    cost = evaluate(layer, acc, translated.mapping.to_nest())
    result = result_from_cost(layer, translated.mapping, acc, cost, 0, 1, int(cost.fits[0]))
    return {"cycles": result.cycles, "energy_pJ": result.energy_pj, "fits": bool(cost.fits[0]),
            "notes": list(translated.notes), "mapping": translated.mapping.describe().replace("\n", "; "),
            "sim_cycles": float(simulate_layer(result, acc, row["timing"]).cycles)}


def _edp(c: dict) -> float:
    return c["cycles"] * c["energy_pJ"]


def _cols(c: dict | None, width: int = 10) -> str:
    if c is None or "error" in c:
        return f"{'n/a':>{width}} {'':>11}"
    return f"{c['cycles']:>{width}.0f} {c['energy_pJ'] / 1e6:>11.3f}"


def _verdict(mine: dict | None, theirs: dict | None) -> tuple[str, float | None]:
    """("yes"/"NO"/"n/a", EDP ratio codesign/ZigZag) for codesign's costs ``mine`` against ``theirs``."""
    if not mine or not theirs or "error" in mine or "error" in theirs:
        return "n/a", None
    r = _edp(mine) / _edp(theirs)
    return ("yes" if r <= 1 + 1e-9 else "NO"), r


def _geomean(xs: list[float]) -> float:
    return math.prod(xs) ** (1 / len(xs)) if xs else float("nan")


def report(rows: list[dict]) -> None:
    """Print the two-sided comparison, the latency parts and the summary."""
    print(f"hardware: ZigZag 3.9.1 tpu_like (rf_2B widened to 4 B) = {SPACE.name}; objective EDP in both tools;"
          f" cached ZigZag results: {CACHE.name}\n")
    print("In codesign's model (dynamic energy; a ZigZag mapping that overflows codesign's double-buffered "
          "capacity is marked *):")
    print(f"{'layer':<32} {'codesign mapping':>22} {'ZigZag mapping':>23} {'EDP cs/ZZ':>9} {'cs<=ZZ':>6}")
    print(f"{'':<32} {'cycles':>10} {'energy uJ':>11} {'cycles':>10} {'energy uJ':>11}")
    tally: dict[str, list] = {"cs": [], "zz": []}
    for row in rows:
        zz = row["zz_in_cs"]
        verdict, r = _verdict(row["cs"], zz)
        flag = "*" if zz and "error" not in zz and not zz["fits"] else " "
        if r is not None:
            tally["cs"].append((verdict == "yes", r))
        why = f"  ({zz['error']})" if "error" in zz else (f"  ({'; '.join(zz['notes'])})" if zz["notes"] else "")
        print(f"{row['name']:<32} {_cols(row['cs'])} {_cols(zz)}{flag} {'' if r is None else f'{r:.3f}':>9} "
              f"{verdict:>6}{why}")
    print("\nIn ZigZag's model (latency_total2, energy_total):")
    print(f"{'layer':<32} {'codesign mapping':>22} {'ZigZag best':>22} {'EDP cs/ZZ':>9} {'cs<=ZZ':>6}")
    print(f"{'':<32} {'cycles':>10} {'energy uJ':>11} {'cycles':>10} {'energy uJ':>11}")
    for row in rows:
        verdict, r = _verdict(row["cs_in_zz"], row["zz"])
        if r is not None:
            tally["zz"].append((verdict == "yes", r))
        why = f"  ({row['cs_in_zz']['error']})" if "error" in row["cs_in_zz"] else ""
        print(f"{row['name']:<32} {_cols(row['cs_in_zz'])} {_cols(row['zz'])} {'' if r is None else f'{r:.3f}':>9} "
              f"{verdict:>6}{why}")
    print("\nLatency (cycles): ZigZag's parts (temporal loops + stalls + initial loading + final write-back) and "
          "codesign's analytical (max(compute, each level's transfers)) and simulated (codesign.sim: tile program, "
          "one DRAM channel, array fill/drain) cycles:")
    print(f"{'layer':<32} {'mapping':<8} {'ZZ loops':>9} {'stall':>8} {'onload':>8} {'offload':>8} {'ZZ total':>9} "
          f"{'cs model':>9} {'cs sim':>9}")
    for row in rows:
        for label, zz_side, cs_side in (("codesign", row["cs_in_zz"], row["cs"]), ("ZigZag", row["zz"], row["zz_in_cs"])):
            parts = zz_side.get("parts") if "error" not in zz_side else None
            zz_cols = (f"{parts['loops']:>9.0f} {parts['stall']:>8.0f} {parts['onload']:>8.0f} {parts['offload']:>8.0f} "
                       f"{zz_side['cycles']:>9.0f}") if parts else f"{'n/a':>9} {'':>8} {'':>8} {'':>8} {'':>9}"
            cs_cols = f"{cs_side['cycles']:>9.0f} {cs_side['sim_cycles']:>9.0f}" if "error" not in cs_side else f"{'n/a':>9}"
            print(f"{row['name'] if label == 'codesign' else '':<32} {label:<8} {zz_cols} {cs_cols}")
    replayed = [r for r in rows if "error" not in r["zz_replay"]]
    same = sum(abs(r["zz_replay"]["cycles"] - r["zz"]["cycles"]) <= 1e-6 * r["zz"]["cycles"]
               and abs(r["zz_replay"]["energy_pJ"] - r["zz"]["energy_pJ"]) <= 1e-6 * r["zz"]["energy_pJ"] for r in replayed)
    print(f"\ncheck: ZigZag's fixed-mapping path replays its own best mapping at its search's costs on "
          f"{same}/{len(rows)} layers")
    for model, name in (("cs", "codesign's"), ("zz", "ZigZag's")):
        held = sum(ok for ok, _ in tally[model])
        print(f"in {name} model: codesign's mapping no worse than ZigZag's (EDP) on {held}/{len(tally[model])} "
              f"comparable layers; geometric mean EDP ratio codesign/ZigZag {_geomean([r for _, r in tally[model]]):.3f}")
    t_zz, t_cs = sum(r["zz"]["seconds"] for r in rows), sum(r["seconds"] for r in rows)
    print(f"run time (CPU, per-layer searches): ZigZag {t_zz:.1f} s, codesign {t_cs:.2f} s "
          f"(ZigZag / codesign = {t_zz / t_cs:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 layers")
    parser.add_argument("--refresh", action="store_true", help="recompute ZigZag's results (ignore the cache)")
    args = parser.parse_args()
    rows = codesign_side(QUICK if args.quick else RESNET + [GEMM])
    zigzag_side(rows, args.refresh)
    for row in rows:
        row["zz_in_cs"] = zigzag_in_codesign(row)
    report(rows)


if __name__ == "__main__":
    main()
