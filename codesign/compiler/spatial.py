"""Spatial unrolling: which dimensions the PE rows, PE columns and MAC lanes may take, and by how much.

The dataflow says which *classes* of dimensions each array axis unrolls (weight-stationary:
reduction dims on rows, output channels on columns, as in a TPU-style array; output-
stationary: output pixels on rows; input-stationary: reduction on rows, output pixels on
columns; row-stationary: filter/reduction dims on rows, output pixels on columns, after
Eyeriss; flexible: anything). A policy may narrow an axis further (``spatial_rows``,
``spatial_cols``). A PE's MAC lanes unroll reduction or group dimensions.

Every dimension goes to at most one axis. A factor ``f`` of a dimension of bound ``b`` leaves
``ceil(b / f)`` temporal iterations; only the smallest ``f`` for each such quotient is a
candidate (a larger one pads more for the same loop count).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from codesign.compiler.policy import SchedulePolicy
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

AXIS_CLASSES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "weight_stationary": (("reduction",), ("outch", "group")),
    "output_stationary": (("outpix",), ("outch", "group", "outpix")),
    "input_stationary": (("reduction", "group"), ("outpix",)),
    "row_stationary": (("reduction",), ("outpix",)),
    "flexible": (("reduction", "outch", "outpix", "group"), ("reduction", "outch", "outpix", "group")),
}
LANE_CLASSES = ("reduction", "group")


def dim_classes(layer: Layer) -> tuple[str, ...]:
    """Class of every dimension by which tensors it indexes (weights, inputs, outputs)."""
    rel = [t.relevant(len(layer.dims)) for t in layer.tensors]
    out = []
    for d in range(len(layer.dims)):
        w, i, o = rel[0][d], rel[1][d], rel[2][d]
        out.append("group" if (w and i and o) else "reduction" if (w and i) else
                   "outch" if (w and o) else "outpix" if (i and o) else "other")
    return tuple(out)


def axis_dims(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> tuple[tuple[int, ...], ...]:
    """Dimensions (bound > 1) that rows, cols and lanes may unroll under the dataflow and the policy."""
    classes = dim_classes(layer)
    rows_cls, cols_cls = AXIS_CLASSES[acc.dataflow]
    wanted = []
    for allowed, knob in ((rows_cls, policy.spatial_rows), (cols_cls, policy.spatial_cols), (LANE_CLASSES, "dataflow")):
        narrowed = set(allowed) if knob == "dataflow" else set(allowed) & set(knob.split("+"))
        wanted.append(tuple(d for d, c in enumerate(classes) if c in narrowed and layer.bounds[d] > 1))
    return tuple(wanted)


@functools.lru_cache(maxsize=4096)
def unroll_factors(bound: int, size: int) -> tuple[int, ...]:
    """Spatial factors > 1 worth trying for a dimension of ``bound`` on an axis of ``size``:
    the smallest factor for each loop count ``ceil(bound / f)``."""
    quotients = {-(-bound // f) for f in range(2, min(bound, size) + 1)}
    return tuple(sorted({-(-bound // q) for q in quotients}))


def axis_options(bounds: tuple[int, ...], dims: tuple[int, ...], size: int, max_dims: int) -> np.ndarray:
    """Every unrolling of one axis ``[n, D]``: factors on at most ``max_dims`` of ``dims``, product <= ``size``."""
    opts: list[tuple[int, ...]] = [(1,) * len(bounds)]
    for d in dims:
        grown = []
        for o in opts:
            if sum(x > 1 for x in o) >= max_dims:
                continue
            for f in unroll_factors(bounds[d], size // math.prod(o)):
                grown.append(o[:d] + (f,) + o[d + 1:])
        opts += grown
    return np.array(opts, dtype=np.int64)


def spatial_options(layer: Layer, acc: Accelerator, policy: SchedulePolicy, max_dims: int = 8,
                    per_axis: int | None = None) -> np.ndarray:
    """Spatial choices ``[S, 3, D]`` (rows, cols, lanes factors), highest utilization first.

    ``per_axis`` keeps, of each axis, only that many options (best per-axis utilization first)
    and no unrolling (so that the axes can always be combined) before combining; ``None``
    keeps all (the exhaustive mapping space).
    """
    sizes = (acc.rows, acc.cols, acc.macs_per_pe)
    axes = [_kept_options(layer.bounds, dims, size, max_dims, per_axis)
            for dims, size in zip(axis_dims(layer, acc, policy), sizes)]
    r, c, ln = (np.arange(len(a)) for a in axes)
    ri, ci, li = (x.ravel() for x in np.meshgrid(r, c, ln, indexing="ij"))
    rows, cols, lanes = axes[0][ri], axes[1][ci], axes[2][li]
    used = (rows > 1).astype(int) + (cols > 1) + (lanes > 1)
    ok = np.all(used <= 1, axis=1)
    combos = np.stack([rows[ok], cols[ok], lanes[ok]], axis=1)
    util = utilization(layer.bounds, combos, acc.num_macs)
    return combos[np.argsort(-util, kind="stable")]


@functools.lru_cache(maxsize=4096)
def _kept_options(bounds: tuple[int, ...], dims: tuple[int, ...], size: int, max_dims: int,
                  per_axis: int | None) -> np.ndarray:
    """:func:`axis_options`, of which ``per_axis`` (if given) are kept: the best utilized, the best
    of every set of unrolled dimensions, and no unrolling. Axes that may unroll the same
    dimensions (``flexible``, ``output_stationary``) combine only options on disjoint dimensions;
    keeping each set's best means the best combination of the whole space is always among the
    combinations (its axes' options are at least matched by their sets' bests). Cached
    (read-only): a search meets the same layers on arrays of the same sizes again and again."""
    opts = axis_options(bounds, dims, size, max_dims)
    if per_axis is not None and len(opts) > per_axis:
        best = np.argsort(-_axis_utilization(bounds, opts), kind="stable")
        _, first = np.unique(opts[best] > 1, axis=0, return_index=True)        # each set's best
        opts = opts[np.union1d(np.union1d(best[:per_axis], best[first]), [0])]  # option 0: no unrolling
    opts.setflags(write=False)
    return opts


def _axis_utilization(bounds: tuple[int, ...], opts: np.ndarray) -> np.ndarray:
    b = np.array(bounds, dtype=np.int64)
    return np.prod(b / -(-b // opts), axis=1)


def utilization(bounds: tuple[int, ...], combos: np.ndarray, num_macs: int) -> np.ndarray:
    """Real MACs over padded MAC slots for spatial choices ``[S, 3, D]``."""
    b = np.array(bounds, dtype=np.int64)
    steps = np.prod(-(-b // np.prod(combos, axis=1)), axis=1)
    return float(np.prod(b)) / (steps * num_macs)


def clear_cache() -> None:
    """Forget the cached axis options."""
    _kept_options.cache_clear()
