"""int64 headroom: a mapping whose access counts could exceed 2^61 is refused, not wrapped.

Every integer the counting kernels form is bounded, per mapping, by one of

- ``blow_t x prod_d T_d^(occ_td)``: a tile times the loop iterations outside it times the
  distinct children of a fanout group (reads, updates, fills, deltas, the reset refetches,
  the enumerated multicast sums); ``T_d`` is dimension d's padded bound (all its temporal and
  spatial factors), ``blow_t = prod_r sum_d coef[r, d]`` bounds how much larger a window
  rank's extent is than the product of its dimensions' extents, ``occ_td`` is the number of
  ranks of tensor t dimension d appears in (at least 1);
- ``tile_0 x max_a tile_a`` for an output tensor with fanouts directly above levels ``a > 0``:
  Timeloop's partition of an output is ``words x tile_a // union`` with ``words <= tile_0``.

The bounds are evaluated in float64 (relative error 1e-16, far inside the margin) and
compared with :data:`HEADROOM` = 2^61: every product stays below 2^62, and the sum of a level's
reads, fills and updates of one tensor (three counts) below int64's 2^63.

The same argument scaled by 2^-32 makes int32 exact below :data:`HEADROOM32` = 2^29. A chunk
whose first bound, for an upper bound of its largest padded bounds (formed in float32 with a
rounding margin, :func:`codesign.cost.chunk.make_chunk`), is below it is counted in int32
(:func:`narrow_ok`): AVX2 has no 64-bit integer multiply, so int32 products run ~8x faster
and every pass moves half the bytes. The second bound is not part of that test: Timeloop's
partition is always formed in int64 (:func:`codesign.cost.multicast.partition_words`), where
it is below ``HEADROOM32^2 = 2^58``; an int32 chunk's counts are stored into int64 results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codesign.cost.tables import TensorTable, rank_extent
from codesign.errors import CodesignError

if TYPE_CHECKING:
    from codesign.cost.chunk import Chunk

HEADROOM = float(1 << 61)
HEADROOM32 = float(1 << 29)


class CountOverflowError(CodesignError, OverflowError):
    """Access counts of a mapping would not fit int64 with the required headroom."""


def count_bound(tabs: list[TensorTable], totals: np.ndarray, extent: np.ndarray, fanout_at: tuple[int, ...]
                ) -> np.ndarray:
    """Upper bound of every integer the kernels form, for padded bounds ``totals [D, ...]`` and
    tile extents ``extent [L, D, ...]`` (per mapping, or the chunk's maxima). ``[...]`` float64."""
    bound = moved_bound(tabs, totals)
    groups = sorted({at for at in fanout_at if 0 < at < np.shape(extent)[0]})
    for tab in tabs:
        if tab.is_output and groups:
            by_dim = np.swapaxes(np.asarray(extent, dtype=np.float64), 0, 1)      # [D, L, ...]
            tiles = np.ones_like(by_dim[0])
            for r in tab.ranks:
                tiles = tiles * rank_extent(tab.terms[r], by_dim)
            bound = np.maximum(bound, tiles[0] * np.max(tiles[groups], axis=0))
    return bound


def moved_bound(tabs: list[TensorTable], totals: np.ndarray) -> np.ndarray:
    """The first bound of :func:`count_bound` (every integer but an output's partition), for padded
    bounds ``totals [D, ...]``. ``[...]`` float64."""
    T = np.asarray(totals, dtype=np.float64)
    iterations = np.prod(T, axis=0)
    bound = np.zeros_like(iterations)
    for tab in tabs:
        moved = iterations * float(tab.blow)
        for d, occurrences in tab.shared_dims:
            moved = moved * T[d] ** (occurrences - 1)
        bound = np.maximum(bound, moved)
    return bound


def narrow_ok(tabs: list[TensorTable], totals_max: np.ndarray) -> bool:
    """Whether a chunk whose padded bounds are at most ``totals_max [D]`` (float64, exact or
    rounded up) can be counted exactly in int32: its :func:`moved_bound` is below :data:`HEADROOM32`."""
    return float(moved_bound(tabs, totals_max)) < HEADROOM32


def check_headroom(tabs: list[TensorTable], ch: Chunk, rows: slice | None = None) -> None:
    """Raise :class:`CountOverflowError` if a mapping of the chunk could exceed :data:`HEADROOM`.

    ``rows`` (the chunk's mappings in the batch) names the mapping in the message. The bound
    of the chunk's largest padded bounds and extents is checked first (one number); only if it
    fails are the mappings checked one by one.
    """
    if not ch.size:
        return
    quick = count_bound(tabs, ch.totals.max(axis=1), ch.extent.max(axis=2), ch.fanout_at)
    if float(quick) < HEADROOM:
        return
    bound = count_bound(tabs, ch.totals, ch.extent, ch.fanout_at)
    worst = int(np.argmax(bound))
    if bound[worst] >= HEADROOM:
        index = worst + ((rows.start or 0) if rows is not None else 0)
        padded = [int(x) for x in np.asarray(ch.totals)[:, worst]]
        raise CountOverflowError(
            f"mapping {index}: access counts could reach {bound[worst]:.3g} words (padded loop bounds "
            f"{padded}), beyond the 2^61 = {HEADROOM:.3g} up to which int64 counts are exact; split the layer (e.g. a "
            "smaller batch or sequence) or count with dtype=object (Python integers)")


__all__ = ["HEADROOM", "HEADROOM32", "CountOverflowError", "check_headroom", "count_bound", "moved_bound", "narrow_ok"]
