"""Operand addresses and the order in which the array asks for them (SCALE-Sim's demand matrices).

The operand matrices of a layer (SCALE-Sim ``scalesim/compute/operand_matrix.py``):

- IFMAP ``I[i, j]``: OFMAP pixel ``i`` (row-major), window element ``j`` (filter row, filter
  column, channel; channel fastest); the word ``((y + fy) * ifmap_w + (x + fx)) * C + ch`` of the
  IFMAP, or -1 (no request) where a window hangs over the edge;
- filter ``F[j, k] = k * window + j``; OFMAP ``O[i, k] = i * num_filters + k``.

A fold's demand is a skewed (or, for the stationary operand, flipped) block of one operand
matrix; every fold occupies ``L`` consecutive cycles (:mod:`codesign.sim.folds`), folds run
column-fold-major. In a cycle the requests go by array column (or row) index. A stream lists
every valid request as (cycle, address) in that order: what the SRAM sees.

The prefetch order (``USER`` bandwidth only) is the order in which an SRAM fills from DRAM:
the operand matrix fold by fold, rolled out along anti-diagonals for skewed operands
(SCALE-Sim's ``create_*_prefetch_mat``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from codesign.sim.array import SystolicArray
from codesign.sim.folds import Folding
from codesign.sim.layer import ConvLayer

Addr = Callable[[np.ndarray, np.ndarray], np.ndarray]
_CHUNK = 1 << 20
"""Requests built per step (bounds the temporaries)."""


@dataclass(frozen=True)
class Stream:
    """Valid requests of one operand in issue order: demand-matrix row (cycle) and word address."""

    rows: np.ndarray
    addrs: np.ndarray


def ifmap_address(layer: ConvLayer) -> Addr:
    """``I[i, j]`` as a vectorized function (-1 outside the matrix or the IFMAP)."""
    m, k, ow, c = layer.ofmap_px, layer.window, layer.ofmap_w, layer.channels

    def addr(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        oy, ox = np.divmod(i, ow)
        y, x = oy * layer.stride_h, ox * layer.stride_w
        fy, rest = np.divmod(j, layer.filter_w * c)
        fx, ch = np.divmod(rest, c)
        ok = (i < m) & (j < k) & (y + fy < layer.ifmap_h) & (x + fx < layer.ifmap_w)
        return np.where(ok, ((y + fy) * layer.ifmap_w + x + fx) * c + ch, -1)
    return addr


def filter_address(layer: ConvLayer) -> Addr:
    """``F[j, k]`` (-1 outside the matrix)."""
    k_, n = layer.window, layer.num_filters
    return lambda j, k: np.where((j < k_) & (k < n), k * k_ + j, -1)


def ofmap_address(layer: ConvLayer) -> Addr:
    """``O[i, k]`` (-1 outside the matrix)."""
    m, n = layer.ofmap_px, layer.num_filters
    return lambda i, k: np.where((i < m) & (k < n), i * n + k, -1)


def _fold_stream(f: Folding, a_n: int, c_n: int, local_row: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 address: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                 dtype: type) -> Stream:
    """Requests of all folds: element (a, c) of fold (fr, fc) is issued in the fold's cycle
    ``local_row(a, c)`` at array column/row ``c`` with word ``address(fr, fc, a, c)``; built a
    few folds at a time and stored as ``dtype``."""
    a, c = np.meshgrid(np.arange(a_n), np.arange(c_n), indexing="ij")
    lr = local_row(a, c).ravel()
    order = np.lexsort((c.ravel(), lr))
    a, c, lr = a.ravel()[order], c.ravel()[order], lr[order]
    rows_out, addrs_out = [], []
    step = max(1, _CHUNK // len(lr))
    for first in range(0, int(f.folds), step):
        fidx = np.arange(first, min(int(f.folds), first + step))
        fc, fr = np.divmod(fidx, int(f.row_folds))
        addrs = address(fr[:, None], fc[:, None], a[None, :], c[None, :])
        valid = addrs >= 0
        rows_out.append((fidx[:, None] * int(f.fold_cycles) + lr[None, :])[valid].astype(dtype))
        addrs_out.append(addrs[valid].astype(dtype))
    return Stream(np.concatenate(rows_out), np.concatenate(addrs_out))


def demand_streams(layer: ConvLayer, array: SystolicArray, f: Folding) -> tuple[Stream, Stream, Stream]:
    """(IFMAP reads, filter reads, OFMAP writes) of the layer in issue order."""
    I, F, O = ifmap_address(layer), filter_address(layer), ofmap_address(layer)
    H, W, T = array.rows, array.cols, int(f.t)
    largest = max(int(f.demand_rows), layer.ifmap_h * layer.ifmap_w * layer.channels,
                  layer.window * layer.num_filters, layer.ofmap_px * layer.num_filters)
    dtype = np.int32 if largest < 2**31 else np.int64
    skew = lambda base: (lambda a, c: base + a + c)  # noqa: E731 - operand a enters column c at a + c
    flip = lambda a, c: H - 1 - a  # noqa: E731 - a stationary block loads bottom row first
    if array.dataflow == "os":
        return (_fold_stream(f, T, H, skew(0), lambda fr, fc, t, c: I(fr * H + c, t), dtype),
                _fold_stream(f, T, W, skew(0), lambda fr, fc, t, c: F(t, fc * W + c), dtype),
                _fold_stream(f, H, W, lambda r, c: T + H - 2 - r + c, lambda fr, fc, r, c: O(fr * H + r, fc * W + c),
                             dtype))
    if array.dataflow == "ws":
        return (_fold_stream(f, T, H, skew(H), lambda fr, fc, t, c: I(t, fr * H + c), dtype),
                _fold_stream(f, H, W, flip, lambda fr, fc, r, c: F(fr * H + r, fc * W + c), dtype),
                _fold_stream(f, T, W, skew(2 * H - 1), lambda fr, fc, t, c: O(t, fc * W + c), dtype))
    return (_fold_stream(f, H, W, flip, lambda fr, fc, r, c: I(fc * W + c, fr * H + r), dtype),
            _fold_stream(f, T, H, skew(H), lambda fr, fc, t, c: F(fr * H + c, t), dtype),
            _fold_stream(f, T, W, skew(2 * H - 1), lambda fr, fc, t, c: O(fc * W + c, t), dtype))


def _stacked(blocks: int, a_n: int, c_n: int, diagonal: bool) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of a ``blocks*a_n x c_n`` matrix in row-major or anti-diagonal roll-out order
    (diagonal ``d = row + col`` ascending, then column ascending)."""
    rows = blocks * a_n
    if not diagonal:
        r, c = np.divmod(np.arange(rows * c_n), c_n)
        return r, c
    d, c = np.meshgrid(np.arange(rows + c_n - 1), np.arange(c_n), indexing="ij")
    r = d - c
    ok = (r >= 0) & (r < rows)
    return r[ok], c[ok]


def prefetch_order(layer: ConvLayer, array: SystolicArray, f: Folding, operand: str) -> tuple[np.ndarray, int]:
    """(valid words in DRAM-fill order, length of the prefetch matrix including its -1 padding)."""
    I, F = ifmap_address(layer), filter_address(layer)
    H, W, T, K = array.rows, array.cols, int(f.t), layer.window
    rf, cf = int(f.row_folds), int(f.col_folds)
    table = {  # (blocks, block rows, columns, anti-diagonal roll-out, P[b*rows + a, c])
        ("os", "ifmap"): (rf, T, H, True, lambda b, a, c: I(b * H + c, a)),
        ("os", "filter"): (cf, T, W, True, lambda b, a, c: F(a, b * W + c)),
        ("ws", "ifmap"): (rf, T, H, True, lambda b, a, c: I(a, b * H + c)),
        ("ws", "filter"): (cf, K, W, False, lambda b, a, c: F(a, b * W + c)),
        ("is", "ifmap"): (cf, K, W, False, lambda b, a, c: I(b * W + c, a)),
        ("is", "filter"): (rf, T, H, True, lambda b, a, c: F(b * H + c, a)),
    }
    blocks, a_n, c_n, diagonal, address = table[(array.dataflow, operand)]
    r, c = _stacked(blocks, a_n, c_n, diagonal)
    b, a = np.divmod(r, a_n)
    addrs = address(b, a, c)
    return addrs[addrs >= 0].astype(np.int64), blocks * a_n * c_n
