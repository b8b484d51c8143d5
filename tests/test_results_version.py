""":data:`codesign.flow.RESULTS_VERSION` names the results codesign gives a design.

A study refuses to resume under another version (``tests/test_study_signature.py``), so a change
that alters any design's mappings, cycles or energies must raise the version. This test holds a
fingerprint of each version's results on a few fixed designs (every layer's cycles and energy, and
the designs' metrics, to 6 significant digits) and fails when the results change and the version
does not. It checks that contract, not that the results are right (the other tests do that).

When it fails after an intended change of results: raise ``RESULTS_VERSION`` and add the new
fingerprint the failure prints under it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import codesign
from codesign.flow import RESULTS_VERSION

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"

FINGERPRINTS = {
    1: "5d5aa75f02eca4c2",      # every release up to the one that introduced the version (first three designs)
    2: "144fd3c3c097e756",      # tiling-free bounds count every level's compulsory traffic (shortlist order);
                                # recomputed at dd72670 with the fourth design (first three: b8c7ee03e6592513)
    3: "508f9c0bf6a74033",      # sliding-window tensors' tiling bounds follow the cost core's resets (pair order)
}

DESIGNS = [
    ("tiny", {"hardware.technology": 22.0, "hardware.clock": 5e8, "hardware.array.rows": 8, "hardware.array.cols": 8,
              "hardware.array.dataflow": "weight_stationary", "hardware.memory.DRAM.bandwidth": 12.8e9,
              "hardware.memory.GLB.size": 32768, "hardware.memory.RF.size": 64}),
    ("tiny", {"hardware.technology": 28.0, "hardware.clock": 9e8, "hardware.array.rows": 16, "hardware.array.cols": 4,
              "hardware.array.dataflow": "output_stationary", "hardware.memory.DRAM.bandwidth": 25.6e9,
              "hardware.memory.GLB.size": 8192, "hardware.memory.RF.size": 16}),
    ("edge", {"hardware.technology": 22.0, "hardware.clock": 6e8, "hardware.array.rows": 16, "hardware.array.cols": 32,
              "hardware.array.dataflow": "flexible", "hardware.memory.DRAM.dram_type": "LPDDR5",
              "hardware.memory.DRAM.bandwidth": 25.6e9, "hardware.memory.GLB.size": 262144,
              "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": 64, "schedule.objective": "edp"}),
    ("edge", {"hardware.technology": 28.0, "hardware.clock": 5e8, "hardware.array.rows": 64, "hardware.array.cols": 32,
              "hardware.array.dataflow": "row_stationary", "hardware.memory.DRAM.dram_type": "LPDDR5",
              "hardware.memory.DRAM.bandwidth": 12.8e9, "hardware.memory.GLB.size": 131072,
              "hardware.memory.GLB.bytes_per_cycle": 64, "hardware.memory.PE_RF.size": 32, "schedule.objective": "energy"}),
]


def _space(name: str) -> codesign.Space:
    if name == "edge":
        return codesign.load_space(ROOT / "spaces" / "edge.yaml")
    return codesign.load_space(DATA / "tiny.yaml")


def fingerprint() -> str:
    record = []
    for name, params in DESIGNS:
        result = codesign.evaluate(_space(name), params)
        record.append({k: f"{result.metrics[k]:.6g}" for k in ("latency", "energy", "area", "power")})
        record.append([(layer.layer.name, f"{layer.cycles:.6g}", f"{layer.energy_pj:.6g}")
                       for w in result.workloads for layer in w.layers])
    return hashlib.sha256(json.dumps(record).encode()).hexdigest()[:16]


def test_the_results_version_names_these_results() -> None:
    got = fingerprint()
    assert RESULTS_VERSION in FINGERPRINTS, f"record version {RESULTS_VERSION}'s fingerprint: {got}"
    assert got == FINGERPRINTS[RESULTS_VERSION], (
        f"the results changed (fingerprint {got}, version {RESULTS_VERSION} has {FINGERPRINTS[RESULTS_VERSION]}): "
        "raise codesign.flow.RESULTS_VERSION and record the new fingerprint under it")
