"""What a chosen mapping does, as data: loops and tiles per level, traffic and cost per level.

:func:`mapping_record` turns a :class:`~codesign.cost.results.LayerResult` into a JSON-ready
dict (units in key names: words, bytes, cycles, pJ) that ``codesign map`` prints or dumps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from codesign.compiler.mapping import Mapping
from codesign.compiler.tiles import capacity_bytes, coefficients, level_extents, tile_words
from codesign.cost.analytical import evaluate
from codesign.cost.results import LayerResult
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


def mapping_extents(mapping: Mapping) -> np.ndarray:
    """Tile extent per level and dimension ``[L, D]`` (per instance) of ``mapping``."""
    temporal = np.array([mapping.temporal], dtype=np.int64)
    array = np.array([mapping.rows], dtype=np.int64) * np.array([mapping.cols], dtype=np.int64)
    return level_extents(temporal, array, np.array([mapping.lanes], dtype=np.int64), mapping.array_above)[0]


def _factors(dims: tuple[str, ...], values: tuple[int, ...]) -> dict[str, int]:
    return {d: int(v) for d, v in zip(dims, values) if v > 1}


def mapping_record(layer: Layer, acc: Accelerator, result: LayerResult) -> dict[str, Any]:
    """The mapping of ``result`` with its tiles, traffic and costs per level (JSON-ready)."""
    m = result.mapping
    extent = mapping_extents(m)
    role_bytes = acc.layer_bytes(layer.tensors)
    cost = evaluate(layer, acc, m.to_nest())
    acc_counts = cost.accesses
    need = capacity_bytes(layer, acc, extent[None])[0]
    levels = []
    for lv, level in enumerate(acc.levels):
        tiles, traffic = {}, {}
        for r, (role, tensor) in enumerate(zip(ROLES, layer.tensors)):
            if role not in level.holds:
                continue
            words = int(tile_words(coefficients(tensor, len(layer.dims)), extent[lv][None])[0])
            tiles[tensor.name] = {"words": words, "bytes": words * role_bytes[r]}
            traffic[tensor.name] = {"reads_words": int(acc_counts.reads[0, lv, r]),
                                    "fills_words": int(acc_counts.fills[0, lv, r]),
                                    "updates_words": int(acc_counts.updates[0, lv, r])}
        loops = [[m.dims[d], int(m.temporal[lv][d])] for d in reversed(m.order[lv]) if m.temporal[lv][d] > 1]
        levels.append({
            "name": level.name, "instances": int(cost.level_instances[0, lv]),
            "loops": loops, "permutation": "".join(m.dims[d] for d in m.order[lv]),
            "tiles": tiles, "used_bytes": float(need[lv]), "capacity_bytes": level.size_bytes,
            "double_buffered": level.double_buffered, "traffic_per_instance": traffic,
            "transfer_cycles": result.level_cycles[level.name], "energy_pJ": result.level_energy_pj[level.name],
        })
    return {
        "layer": layer.name, "op": layer.op, "dims": dict(zip(layer.dims, layer.bounds)), "macs": layer.macs,
        "padded_dims": dict(zip(m.dims, m.bounds())),
        "spatial": {"above_level": acc.levels[m.array_above].name if m.array_above < len(acc.levels) else "MACs",
                    "rows": _factors(m.dims, m.rows), "cols": _factors(m.dims, m.cols),
                    "lanes": _factors(m.dims, m.lanes)},
        "levels": levels,
        "cycles": result.cycles, "compute_cycles": result.compute_cycles, "bound": result.bound,
        "utilization": result.utilization, "energy_pJ": result.energy_pj, "mac_energy_pJ": result.mac_energy_pj,
        "mappings_costed": result.candidates, "legal": result.legal,
    }


def _size(nbytes: float) -> str:
    """Bytes as ``512B``, ``36KiB``, ``1.5MiB`` (three significant digits)."""
    for unit, scale in (("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g}{unit}"
    return f"{nbytes:g}B"


def loop_nest_lines(rec: dict[str, Any]) -> list[str]:
    """The loop nest of a mapping record (:func:`mapping_record`), outermost
    level first, in the style of Timeloop's ``map.txt``: each level with its tiles (words and bytes)
    and loops, the spatial loops at the array's fanout, ``<< Compute >>`` at the bottom."""
    lines: list[str] = []
    depth = 0
    spatial = rec["spatial"]
    for lv in rec["levels"]:
        if lv["name"] == spatial["above_level"]:
            depth = _spatial_lines(lines, spatial, ("rows", "cols"), depth)
        tiles = " ".join(f"{name}:{t['words']} ({_size(t['bytes'])})" for name, t in lv["tiles"].items())
        cap = f", {_size(lv['used_bytes'])} of {_size(lv['capacity_bytes'])} used" if lv["capacity_bytes"] else ""
        head = f"{lv['name']} x{lv['instances']} [ {tiles} ]{cap}"
        lines += ["", head, "-" * len(head)]
        for dim, factor in lv["loops"]:
            lines.append(f"{'|  ' * (depth + 1)}for {dim} in [0:{factor})")
            depth += 1
    if spatial["above_level"] == "MACs":
        depth = _spatial_lines(lines, spatial, ("rows", "cols"), depth)
    depth = _spatial_lines(lines, spatial, ("lanes",), depth)
    lines.append(f"{'|  ' * (depth + 1)}<< Compute >>")
    return lines


def _spatial_lines(lines: list[str], spatial: dict[str, Any], axes: tuple[str, ...], depth: int) -> int:
    for axis in axes:
        for dim, factor in spatial[axis].items():
            lines.append(f"{'|  ' * (depth + 1)}for {dim} in [0:{factor}) (spatial {axis})")
            depth += 1
    return depth
