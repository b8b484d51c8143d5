"""codesign mappings and ZigZag's (zigzag-dse 3.x) mappings, both ways, for one layer.

ZigZag (Mei et al., IEEE TC 2021) writes a temporal mapping per *operand* (``W``, ``I``, ``O``):
for each memory that holds the operand, innermost first, the loops ``(dimension, size)``
inside that memory's tile, innermost first. Every operand lists the same loop sequence, cut
at its own memories. A codesign :class:`~codesign.compiler.mapping.Mapping` cuts one loop
sequence per *level*: the loops of level ``l`` lie inside the tile of every operand that
level holds, and a bypassed level's loops belong to the tile of the nearest holding level
above it.

- :func:`to_zigzag_temporal` / :func:`to_zigzag_spatial`: a codesign mapping in ZigZag's
  terms (exact whenever the mapping does not pad and uses no MAC lanes);
- :func:`from_zigzag`: ZigZag's mapping as a codesign mapping, exact when ZigZag cuts every
  operand a level holds at the same loop (a codesign level has one tile boundary) and the
  boundaries nest the way codesign's levels do; several loops of one dimension in a level are
  merged into one, which is exact when nothing lies between them (otherwise noted).

ZigZag's spatial mapping unrolls ``D1`` (codesign's PE columns) and ``D2`` (rows). ZigZag pads
a dimension an unrolling does not divide (``K 32`` over 1000 channels: 32 temporal steps of 32),
and so does the codesign mapping (padded bounds 1024). Dimension names: a conv's ``N K C P Q R
S`` are ZigZag's ``B K C OY OX FY FX``; a GEMM ``Z[m][n] += A[m][k] W[k][n]`` is ZigZag's
``O[b][k] += I[b][c] W[k][c]`` (M, N, K -> B, K, C).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from codesign.compiler.mapping import Mapping, MappingError, check_mapping
from codesign.errors import CodesignError
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

CONV_DIMS = {"N": "B", "K": "K", "C": "C", "P": "OY", "Q": "OX", "R": "FY", "S": "FX"}
GEMM_DIMS = {"M": "B", "N": "K", "K": "C"}
OPERANDS = {"weights": "W", "inputs": "I", "outputs": "O"}

Loops = list[list[tuple[str, int]]]           # per memory (innermost first): loops innermost first


def zigzag_dims(layer: Layer) -> dict[str, str]:
    """codesign dimension -> ZigZag loop dimension; an error for dimensions ZigZag has no name for here."""
    table = CONV_DIMS if layer.op == "conv2d" else GEMM_DIMS
    for d, b in zip(layer.dims, layer.bounds):
        if d not in table and b > 1:
            raise CodesignError(f"dimension {d}={b} has no ZigZag counterpart here (groups, batch of GEMMs)", layer.name)
    return table


def zigzag_layer(layer: Layer) -> dict[str, Any]:
    """The layer in ZigZag's workload YAML schema (one entry, id 0), at int8 with 32-bit partial sums."""
    dims = zigzag_dims(layer)
    bound = dict(zip(layer.dims, layer.bounds))
    common = {"id": 0, "name": layer.name, "operand_precision": {"W": 8, "I": 8, "O": 32, "O_final": 8},
              "operand_source": {"I": 0}}
    if layer.op == "conv2d":
        ranks = layer.tensor("inputs").ranks
        (p, sh), (r, dh) = ranks[3]
        (q, sw), (s, dw) = ranks[4]
        assert (layer.dims[p], layer.dims[r], layer.dims[q], layer.dims[s]) == ("P", "R", "Q", "S")
        return {**common, "operator_type": "Conv", "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
                "dimension_relations": [f"ix={sw}*ox+{dw}*fx", f"iy={sh}*oy+{dh}*fy"],
                "loop_dims": [dims[d] for d in CONV_DIMS], "loop_sizes": [bound[d] for d in CONV_DIMS]}
    return {**common, "operator_type": "Gemm", "equation": "O[b][k]+=W[k][c]*I[b][c]",
            "loop_dims": [dims[d] for d in GEMM_DIMS], "loop_sizes": [bound[d] for d in GEMM_DIMS]}


def memories(acc: Accelerator) -> dict[str, list[str]]:
    """Per ZigZag operand, the names of the levels holding it, innermost first (ZigZag's hierarchy)."""
    return {op: [lv.name for lv in reversed(acc.levels) if role in lv.holds] for role, op in OPERANDS.items()}


def to_zigzag_temporal(layer: Layer, acc: Accelerator, mapping: Mapping) -> dict[str, Loops]:
    """codesign's temporal loops assigned to ZigZag's memories, per operand, innermost memory first."""
    dims = zigzag_dims(layer)
    out = {}
    for role, op in OPERANDS.items():
        holding = [lv for lv, level in enumerate(acc.levels) if role in level.holds]
        loops: dict[int, list[tuple[str, int]]] = {h: [] for h in holding}
        for lv in range(len(acc.levels) - 1, -1, -1):
            owner = max(h for h in holding if h <= lv)
            loops[owner] += [(dims[mapping.dims[d]], int(mapping.temporal[lv][d]))
                             for d in mapping.order[lv] if mapping.temporal[lv][d] > 1]
        out[op] = [loops[h] for h in sorted(holding, reverse=True)]
    return out


def to_zigzag_spatial(layer: Layer, mapping: Mapping) -> dict[str, list[str]]:
    """codesign's PE columns (D1) and rows (D2) as ZigZag's spatial mapping; an error if it pads."""
    dims = zigzag_dims(layer)
    if any(p != b for p, b in zip(mapping.bounds(), layer.bounds)):
        raise CodesignError("the mapping pads a dimension, which ZigZag's fixed mappings cannot express", layer.name)
    if any(v > 1 for v in mapping.lanes):
        raise CodesignError("MAC lanes have no counterpart in ZigZag's spatial mapping here", layer.name)
    axis = {"D1": mapping.cols, "D2": mapping.rows}
    return {a: [f"{dims[d]}, {f}" for d, f in zip(mapping.dims, factors) if f > 1] or ["K, 1"]
            for a, factors in axis.items()}


@dataclass(frozen=True)
class Translated:
    """ZigZag's mapping as a codesign :class:`Mapping`; ``notes``: where the translation is not exact."""

    mapping: Mapping
    notes: tuple[str, ...]


def from_zigzag(layer: Layer, acc: Accelerator, temporal: dict[str, Loops], spatial: dict[str, dict[str, int]]
                ) -> Translated:
    """ZigZag's temporal mapping (per operand, see :data:`Loops`) and spatial mapping (``{"D1": {dim:
    size}, "D2": ...}``) of ``layer`` as a codesign mapping on ``acc`` (see the module docstring).

    Raises :class:`CodesignError` when codesign's levels cannot express the cuts: operands of one
    level cut at different loops, or a level's tile boundary outside the one of a level above it.
    """
    names = {z: d for d, z in zigzag_dims(layer).items()}
    where = f"{layer.name}: ZigZag mapping"
    hierarchy = memories(acc)
    sequence = None
    for op, levels in temporal.items():
        if op not in hierarchy or len(levels) != len(hierarchy[op]):
            raise CodesignError(f"operand {op} has {len(levels)} memories; the accelerator holds it in "
                                f"{', '.join(hierarchy.get(op, [])) or 'none'}", where)
        flat = [(str(d), int(f)) for level in levels for d, f in level]
        if sequence is not None and flat != sequence:
            raise CodesignError(f"operand {op} lists another loop sequence than the others", where)
        sequence = flat
    assert sequence is not None
    for d, _ in sequence:
        if d not in names:
            raise CodesignError(f"loop dimension {d} is not one of {', '.join(names)}", where)
    cut = {}                                 # (operand, memory name) -> loops inside that memory's tile
    for op, levels in temporal.items():
        inside = 0
        for name, level in zip(hierarchy[op], levels):
            inside += len(level)
            cut[op, name] = inside
    L = len(acc.levels)
    bound = [len(sequence)] * (L + 1)
    bound[L] = 0
    for lv in range(L - 1, 0, -1):
        level = acc.levels[lv]
        cuts = {op: cut[op, level.name] for role, op in OPERANDS.items() if role in level.holds}
        if len(set(cuts.values())) > 1:
            raise CodesignError(f"{level.name} holds {' and '.join(cuts)}, which ZigZag cuts at different loops "
                                f"({', '.join(f'{op} after {n}' for op, n in cuts.items())}); a codesign level has "
                                "one tile boundary", where)
        bound[lv] = next(iter(cuts.values())) if cuts else bound[lv + 1]
        if bound[lv] < bound[lv + 1]:
            raise CodesignError(f"the tile of {level.name} ends inside the tile of {acc.levels[lv + 1].name} "
                                f"(after loop {bound[lv]} < {bound[lv + 1]}); codesign's levels nest", where)
    bound[0] = len(sequence)
    D = len(layer.dims)
    index = {d: i for i, d in enumerate(layer.dims)}
    factors = [[1] * D for _ in range(L)]
    orders, notes = [], []
    for lv in range(L):
        loops = sequence[bound[lv + 1]:bound[lv]]
        seen: list[int] = []
        for pos, (z, f) in enumerate(loops):
            d = index[names[z]]
            if d in seen and loops[pos - 1][0] != z:
                notes.append(f"{acc.levels[lv].name}: the loops over {z} are not adjacent; merged at the innermost")
            factors[lv][d] *= f
            if d not in seen:
                seen.append(d)
        orders.append(tuple(seen + [d for d in range(D) if d not in seen]))
    rows, cols = [1] * D, [1] * D
    for axis, target in (("D1", cols), ("D2", rows)):
        for z, f in spatial.get(axis, {}).items():
            if z not in names:
                raise CodesignError(f"spatial dimension {z} is not one of {', '.join(names)}", where)
            target[index[names[z]]] *= int(f)
    mapping = Mapping(dims=layer.dims, level_names=tuple(lv.name for lv in acc.levels),
                      temporal=tuple(tuple(t) for t in factors), order=tuple(orders), rows=tuple(rows),
                      cols=tuple(cols), lanes=(1,) * D, array_above=acc.first_per_pe_level)
    try:
        check_mapping(mapping, layer.bounds, acc.rows, acc.cols, acc.macs_per_pe)
    except MappingError as exc:
        raise CodesignError(str(exc), where) from None
    return Translated(mapping, tuple(notes))


def loops_from_json(data: dict[str, list[list[list[Any]]]]) -> dict[str, Loops]:
    """Per-operand loops as stored in JSON (``[[["C", 2], ...], ...]``) back to tuples."""
    return {op: [[(str(d), math.ceil(f)) for d, f in level] for level in levels] for op, levels in data.items()}


__all__ = ["CONV_DIMS", "GEMM_DIMS", "OPERANDS", "Translated", "from_zigzag", "loops_from_json", "memories",
           "to_zigzag_spatial", "to_zigzag_temporal", "zigzag_dims", "zigzag_layer"]
