"""A codesign accelerator, layer and mapping as Timeloop v0.4 inputs: spec, ERT and mapping files.

``codesign map ... --timeloop-dir DIR`` writes, for the chosen mapping of one layer:

- ``DIR/spec.yaml``: the architecture tree and the problem in the form the Timeloop binary
  reads (timeloopfe's ``parsed-processed-input.yaml``: one ``subtree`` whose ``local`` list runs
  outer to inner; shared levels ``X[1..1]``, per-PE levels and the MACs ``X[1..rows*cols]``
  with ``meshX`` = columns (x MAC lanes for the MACs) and ``meshY`` = rows);
- ``DIR/ERT.yaml``: the energy reference table (``read``/``write``/``update`` per word of each
  level, ``compute`` per MAC, ``leak`` 0);
- ``DIR/mapping.yaml``: the mapping (:mod:`codesign.interop.timeloop_mapping`).

Names are Timeloop's: a convolution's dimensions are ``C M R S N P Q`` (codesign's ``K`` is
Timeloop's ``M``) plus ``G``, with the coefficients ``Wstride``/``Wdilation`` (``P``, ``R``) and
``Hstride``/``Hdilation`` (``Q``, ``S``). The problem's bounds are the mapping's padded bounds
(Timeloop needs exact factorizations), so a padded mapping's MAC count, and MAC energy, are
the padded ones.

The files reproduce codesign's own evaluation exactly (``codesign timeloop-model DIR/spec.yaml
--ert DIR/ERT.yaml --mapping DIR/mapping.yaml``) when Timeloop's model can say the same thing;
otherwise :func:`timeloop_inputs` raises :class:`CodesignError` naming what differs:

- every tensor must have the same word width (Timeloop charges one energy per access of a level
  for every tensor; codesign's partial sums are accumulator-wide);
- a level that is not double-buffered adds its transfer time to compute in codesign; Timeloop
  overlaps every transfer, so such a level must have unbounded bandwidth.

Word counts: a level's capacity is ``size / word bytes`` words (``multiple_buffering: 2`` when
double-buffered) and its bandwidth ``bytes per cycle / word bytes`` words per cycle, shared by
reads and writes (codesign charges a level's reads, fills and updates to one port).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from codesign.compiler.mapping import Mapping
from codesign.errors import CodesignError
from codesign.hardware.accelerator import Accelerator
from codesign.interop.timeloop_mapping import timeloop_directives
from codesign.workload.ir import Layer

CONV_NAMES = {"K": "M"}
CONV_COEFFICIENTS = {"P": "Wstride", "R": "Wdilation", "Q": "Hstride", "S": "Hdilation"}
CLASSES = {"dram": "DRAM", "sram": "SRAM", "regfile": "regfile"}


def timeloop_names(layer: Layer) -> dict[str, str]:
    """codesign dimension name -> Timeloop's (a convolution's ``K`` is ``M``; others unchanged)."""
    rename = CONV_NAMES if layer.op == "conv2d" else {}
    return {d: rename.get(d, d) for d in layer.dims}


def word_bytes(layer: Layer, acc: Accelerator) -> float:
    """The one word width (bytes) of every tensor, or an error naming the widths when they differ."""
    widths = acc.layer_bytes(layer.tensors)
    if len(set(widths)) != 1:
        shown = ", ".join(f"{t.name} {w:g} B" for t, w in zip(layer.tensors, widths))
        raise CodesignError(f"Timeloop charges one energy per word access for every tensor of a level, but this "
                            f"design's words differ ({shown}; partial sums are accumulator-wide); use a precision "
                            "whose operands and accumulators have the same width (fp32) to export the spec",
                            "--timeloop-dir")
    return widths[0]


def _check_levels(acc: Accelerator) -> None:
    for level in acc.levels:
        if not level.double_buffered and level.bytes_per_cycle is not None:
            raise CodesignError(f"level {level.name} is not double-buffered and has a bandwidth: codesign adds its "
                                "transfer time to compute, Timeloop overlaps all transfers; make it double-buffered "
                                "or drop its bandwidth to export the spec", "--timeloop-dir")
    per_pe = [lv.shared for lv in acc.levels[acc.first_per_pe_level:]]
    if any(per_pe):
        raise CodesignError("a shared level below a per-PE level has no Timeloop architecture tree", "--timeloop-dir")


def _storage(acc: Accelerator, lv: int, wb: float) -> dict[str, Any]:
    level = acc.levels[lv]
    pes = lv >= acc.first_per_pe_level
    attrs: dict[str, Any] = {"datawidth": int(8 * wb), "block_size": 1, "cluster_size": 1,
                             "multiple_buffering": 2 if level.double_buffered else 1, "min_utilization": 0,
                             "meshX": acc.cols if pes else 1, "meshY": acc.rows if pes else 1}
    if level.size_bytes is not None:
        attrs["entries"] = int(level.size_bytes // wb)
    if level.bytes_per_cycle is not None:
        attrs["shared_bandwidth"] = level.bytes_per_cycle / wb
    n = acc.num_pes if pes else 1
    return {"name": f"{level.name}[1..{n}]", "class": CLASSES[level.kind], "attributes": attrs}


def architecture(acc: Accelerator, wb: float) -> dict[str, Any]:
    """The architecture tree (Timeloop v0.4, flattened: one subtree, components outer to inner)."""
    local = [_storage(acc, lv, wb) for lv in range(len(acc.levels))]
    local.append({"name": f"MAC[1..{acc.num_macs}]", "class": "intmac" if acc.precision.startswith("int") else "fpmac",
                  "attributes": {"datawidth": int(8 * wb), "meshX": acc.cols * acc.macs_per_pe, "meshY": acc.rows}})
    return {"version": "0.4", "subtree": [{"name": "system", "attributes": {"version": "0.4"}, "local": local}]}


def problem(layer: Layer, mapping: Mapping) -> dict[str, Any]:
    """The problem: shape (dimensions, coefficients, data spaces) and instance at the padded bounds."""
    names = timeloop_names(layer)
    dims = [names[d] for d in layer.dims]
    coefficients: dict[str, int] = {}
    spaces = []
    for tensor in layer.tensors:
        ranks = []
        for rank in tensor.ranks:
            terms = []
            for d, c in rank:
                if c == 1 and len(rank) == 1:
                    terms.append([dims[d]])
                    continue
                coef = CONV_COEFFICIENTS.get(layer.dims[d]) if layer.op == "conv2d" else None
                coef = coef or f"{dims[d]}coef"
                if coefficients.setdefault(coef, c) != c:
                    raise CodesignError(f"dimension {layer.dims[d]} of {layer.name} has two coefficients", "--timeloop-dir")
                terms.append([dims[d], coef])
            ranks.append(terms)
        spaces.append({"name": tensor.name, "projection": ranks, "read_write": tensor.role == "outputs"})
    instance: dict[str, Any] = dict(zip(dims, (int(b) for b in mapping.bounds())))
    instance.update(coefficients)
    return {"version": "0.4", "shape": {"name": layer.name or layer.op, "dimensions": dims,
                                        "coefficients": [{"name": k, "default": 1} for k in coefficients],
                                        "data_spaces": spaces},
            "instance": instance}


def ert(acc: Accelerator, wb: float) -> dict[str, Any]:
    """The energy reference table: pJ per word read/written/updated per level, pJ per MAC, no leakage."""
    tables = []
    for lv, level in enumerate(acc.levels):
        n = acc.num_pes if lv >= acc.first_per_pe_level else 1
        e = level.access_pj_per_byte * wb
        tables.append({"name": f"system.{level.name}[1..{n}]",
                       "actions": [{"name": a, "arguments": {}, "energy": e} for a in ("read", "write", "update")]
                       + [{"name": "leak", "arguments": {}, "energy": 0.0}]})
    tables.append({"name": f"system.MAC[1..{acc.num_macs}]",
                   "actions": [{"name": "compute", "arguments": {}, "energy": acc.mac_pj},
                               {"name": "leak", "arguments": {}, "energy": 0.0}]})
    return {"ERT": {"version": "0.4", "tables": tables}}


def timeloop_inputs(layer: Layer, acc: Accelerator, mapping: Mapping) -> dict[str, dict[str, Any]]:
    """``{"spec.yaml": ..., "ERT.yaml": ..., "mapping.yaml": ...}`` for ``mapping`` of ``layer`` on ``acc``."""
    wb = word_bytes(layer, acc)
    _check_levels(acc)
    names = timeloop_names(layer)
    return {"spec.yaml": {"architecture": architecture(acc, wb), "problem": problem(layer, mapping)},
            "ERT.yaml": ert(acc, wb),
            "mapping.yaml": {"mapping": timeloop_directives(layer, acc, mapping, names)}}


def write_timeloop_dir(directory: Path, layer: Layer, acc: Accelerator, mapping: Mapping) -> list[Path]:
    """Write the spec, ERT and mapping of :func:`timeloop_inputs` into ``directory``; return the paths."""
    files = timeloop_inputs(layer, acc, mapping)
    padded = {d: (b, p) for d, b, p in zip(layer.dims, layer.bounds, mapping.bounds()) if p != b}
    header = f"# codesign: layer {layer.name} ({layer.describe()}), Timeloop v0.4 input\n"
    if padded:
        header += ("# the mapping pads " + ", ".join(f"{d} {b} -> {p}" for d, (b, p) in padded.items())
                   + f": the problem has the padded bounds ({math.prod(mapping.bounds())} MACs, {layer.macs} real)\n")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        out = []
        for name, data in files.items():
            path = directory / name
            path.write_text(header + yaml.safe_dump(data, sort_keys=False))
            out.append(path)
    except OSError as exc:
        raise CodesignError(f"cannot write the Timeloop files: {exc.strerror}", str(directory)) from None
    return out
