"""The naive compiler (``mode: fixed``): what a simple fixed-function toolchain would emit.

- **Spatial**: the dataflow's default unroll, one dimension per axis: rows, then columns,
  then MAC lanes each take the allowed dimension with the best utilization of that axis
  (ties: the first in the layer's dimension order).
- **Order**: one fixed loop order at every level, the layer's dimension order with the last
  dimension innermost (a conv's S, a GEMM's K), or the ``stationary`` tensor's order if the
  policy names one.
- **Tiles**: greedy, innermost level first: each dimension in loop order (innermost first)
  takes the largest factor of what is left that keeps the level's tiles within its capacity;
  the outermost level takes the rest.

Comparing it with ``mode: auto`` on the same hardware measures the compiler gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codesign.compiler.orders import irrelevance
from codesign.compiler.policy import SchedulePolicy
from codesign.compiler.spatial import axis_dims, unroll_factors
from codesign.compiler.candidates import greedy_tiles
from codesign.compiler.memo import remember_many, structure_key
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


def default_unroll(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> np.ndarray:
    """``[3, D]`` rows, cols and lanes factors: one dimension per axis, best axis utilization."""
    D = len(layer.dims)
    axes = np.ones((3, D), dtype=np.int64)
    used: set[int] = set()
    for axis, (dims, size) in enumerate(zip(axis_dims(layer, acc, policy), (acc.rows, acc.cols, acc.macs_per_pe))):
        best, best_util = None, 1.0 / size
        for d in dims:
            if d in used:
                continue
            f = max(unroll_factors(layer.bounds[d], size), default=1)
            util = layer.bounds[d] / -(-layer.bounds[d] // f) / size
            if util > best_util + 1e-12:
                best, best_util = (d, f), util
        if best is not None:
            axes[axis, best[0]] = best[1]
            used.add(best[0])
    return axes


def fixed_order(layer: Layer, policy: SchedulePolicy) -> np.ndarray:
    """``[D]`` the naive loop order (innermost first)."""
    D = len(layer.dims)
    order = np.arange(D - 1, -1, -1)
    if policy.stationary == "any":
        return order
    irr = irrelevance(layer)[ROLES.index(policy.stationary)]  # type: ignore[arg-type]
    return order[np.argsort(~irr[order], kind="stable")]


def naive_mapping(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(temporal [L, D], perm [L, D], axes [3, D])`` of the naive compiler's mapping.

    The tiles may still overflow a level when even factor 1 does not fit (the caller checks).
    Read-only arrays, remembered per :func:`codesign.compiler.memo.structure_key`.
    """
    return naive_mappings((layer,), acc, policy)[0]


def naive_mappings(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`naive_mapping` of each layer; the tiles not remembered yet are chosen in one
    :func:`~codesign.compiler.candidates.greedy_tiles` call per loop structure."""

    def compute(js: list[int]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        axes = np.stack([default_unroll(layers[j], acc, policy) for j in js])
        order = fixed_order(layers[js[0]], policy)
        bounds = np.array([layers[j].bounds for j in js], dtype=np.int64)
        temporal = greedy_tiles(layers[js[0]], acc, axes, order, bounds)
        return [(t.copy(), np.broadcast_to(order, t.shape).copy(), ax.copy()) for t, ax in zip(temporal, axes)]

    return remember_many([("naive",) + structure_key(layer, acc, policy) for layer in layers], layers, compute)
