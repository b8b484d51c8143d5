"""Build a concrete :class:`Accelerator` from a space and one design (parameter values)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level
from codesign.spec.space import Space


def build_accelerator(space: Space, design: dict[str, Any]) -> Accelerator:
    """The accelerator of ``design`` (a full parameter dict, see :mod:`codesign.spec.params`)."""
    clock = float(design["hardware.clock"])
    node = float(design["hardware.technology"])
    precision = str(design["hardware.precision"])
    levels = []
    for lv in space.hardware.memory:
        key = f"hardware.memory.{lv.name}."
        levels.append(make_level(
            name=lv.name, kind=lv.kind, shared=lv.resolved_scope == "shared",
            size_bytes=design.get(key + "size"), bandwidth_bytes_per_s=design.get(key + "bandwidth"),
            bytes_per_cycle=design.get(key + "bytes_per_cycle"), holds=lv.holds,
            double_buffered=lv.double_buffered, dram_type=design.get(key + "dram_type"),
            clock_hz=clock, node_nm=node,
        ))
        if lv.access_energy is not None:
            levels[-1] = replace(levels[-1], access_pj_per_byte=lv.access_energy)
    rows, cols = int(design["hardware.array.rows"]), int(design["hardware.array.cols"])
    dataflow = str(design["hardware.array.dataflow"])
    # energy per MAC = the MAC unit (the space's mac_energy replaces the table's) + the dataflow's
    # reconfigurable interconnect (0 for a fixed dataflow), so the cost core sees one number
    mac_pj = (space.hardware.array.mac_energy or tech.mac_energy_pj(precision, node)) \
        + tech.interconnect_pj_per_mac(dataflow, rows * cols, precision, node)
    return Accelerator(
        rows=rows, cols=cols, macs_per_pe=int(design["hardware.array.macs_per_pe"]), dataflow=dataflow,
        precision=precision, clock_hz=clock, node_nm=node, levels=tuple(levels), mac_pj=mac_pj,
        vector_lanes=int(design.get("hardware.array.vector_lanes") or design["hardware.array.cols"]),
    )
