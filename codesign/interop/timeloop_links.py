"""Refuse mappings for which Timeloop would forward data between neighbouring instances.

Timeloop's default model (``gEnableLinkTransfers``; NVlabs/timeloop ``nest-analysis.cpp``,
``ComputeNetworkLinkTransfers``) lets a spatial child take the data it needs at one iteration
from a mesh neighbour that needed exactly that data at the previous iteration, instead of
reading it from the parent. codesign's cost core does not model these link transfers, so the
bridge refuses a mapping where one could occur, instead of reporting different numbers.

A transfer needs a child tile to move, between consecutive sampled iterations, by the offset
between two mesh neighbours (children are placed on the mesh by their linear spatial index,
row-major with the row as wide as the wider of the X fanout and the X loops, as Timeloop
does). The check is conservative: any such translation of any tensor refuses the mapping.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from codesign.cost.accesses import coefficient_matrix
from codesign.cost.nest import NestBatch
from codesign.errors import CodesignError
from codesign.interop.timeloop import Architecture, Doc
from codesign.interop.timeloop_problem import Mapping, SpatialLoops
from codesign.workload.ir import Tensor


def _tile_translations(nest: NestBatch, step: np.ndarray, coef: np.ndarray, child: int) -> set[tuple[int, ...]]:
    """Non-zero translations of the tile of level ``child`` between consecutive sampled
    iterations of the temporal loops above it: ``v_k - sum of v inside k`` (mapping 0)."""
    out, inner = set(), np.zeros(coef.shape[0], dtype=np.int64)
    for level in range(child - 1, -1, -1):
        for pos in range(nest.temporal.shape[2]):
            d = int(nest.perm[0, level, pos])
            if nest.temporal[0, level, d] > 1:
                v = coef[:, d] * int(step[0, level, d])
                u = tuple(int(x) for x in v - inner)
                if any(u):
                    out.add(u)
                inner = inner + v
    return out


def _neighbour_offsets(loops: SpatialLoops, coef: np.ndarray, steps: dict[int, int], row: int) -> set[tuple[int, ...]]:
    """Offsets (tensor coordinates) from a child to each of its mesh neighbours."""
    sizes = [f for _, f, _ in loops.loops]
    logical = math.prod(sizes)
    offset, position = {}, {}
    for idx in itertools.product(*(range(f) for f in reversed(sizes))):       # outermost loop first
        linear, off = 0, np.zeros(coef.shape[0], dtype=np.int64)
        for (d, f, _), i in zip(reversed(loops.loops), idx):
            linear = linear * f + i
            off = off + coef[:, d] * steps[d] * i
        offset[linear] = off
        position[linear] = (linear % row, linear // row)
    index = {pos: lin for lin, pos in position.items() if lin < logical}
    out = set()
    for lin, (h, v) in position.items():
        for nb in ((h - 1, v), (h + 1, v), (h, v - 1), (h, v + 1)):
            if nb in index:
                diff = tuple(int(x) for x in offset[index[nb]] - offset[lin])
                if any(diff):
                    out.add(diff)
    return out


def check_link_transfers(doc: Doc, arch: Architecture, tensors: tuple[Tensor, ...], mapping: Mapping,
                         step: np.ndarray) -> None:
    """Raise :class:`CodesignError` (at the spatial directive) if Timeloop could use link transfers."""
    nest = mapping.nest
    L, D = len(arch.levels), nest.temporal.shape[2]
    children = list(arch.levels[1:]) + [arch.compute]
    for s, loops in enumerate(mapping.spatial):
        if not loops.loops:
            continue
        child_level = nest.fanout_at[s]
        owner, child = arch.levels[loops.level], children[loops.level]
        logical_x = math.prod(f for _, f, x in loops.loops if x)
        row = max(child.mesh_x // owner.mesh_x, logical_x)
        inside = np.prod(nest.temporal[0, child_level:, :], axis=0) if child_level < L else np.ones(D, dtype=np.int64)
        for s2, at2 in enumerate(nest.fanout_at):
            if at2 > child_level:
                inside = inside * nest.spatial[0, s2, :]
        steps = {d: int(inside[d]) for d in range(D)}
        for tensor in tensors:
            coef = coefficient_matrix(tensor, D)
            moves = _tile_translations(nest, step, coef, child_level)
            shared = moves & _neighbour_offsets(loops, coef, steps, row)
            if shared:
                raise CodesignError(
                    f"Timeloop would forward {tensor.name} between neighbouring {child.name} instances (link transfers: "
                    f"the tile moves by {sorted(shared)[0]}, the offset between mesh neighbours); codesign does not model "
                    "link transfers, so this mapping cannot be evaluated exactly", doc.where(loops.path))
