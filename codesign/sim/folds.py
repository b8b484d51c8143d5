"""Folding a GEMM onto the array: closed forms for cycles, utilization and SRAM accesses.

The GEMM ``[M, K] x [K, N]`` (M = OFMAP pixels, K = window, N = filters) is spread over the
array as SCALE-Sim does (``scalesim/compute/systolic_compute_{os,ws,is}.py`` in
scalesim-project/SCALE-Sim, version 3.0.0): one operand dimension ``Sr`` along the H rows, one
``Sc`` along the W columns, and ``T`` streamed in time,

====  ==========  ==========  ========  ====================  =========================
flow  Sr (rows)   Sc (cols)   T (time)  fold cycles L         fold cycles for util
====  ==========  ==========  ========  ====================  =========================
os    M           N           K         T + H + W - 2         T + H + W - 2
ws    K           N           M         2H + W + T - 2        2H + 2W + T - 3
is    K           M           N         2H + W + T - 2        2H + 2W + T - 3
====  ==========  ==========  ========  ====================  =========================

in ``ceil(Sr/H) x ceil(Sc/W)`` folds run one after another, each draining before the next fills.
Derivation of L (cycles of one fold, SCALE-Sim's demand-matrix rows):

- OS: operand ``k`` enters PE row ``r`` at cycle ``k + r`` (skew), so the last operand reaches
  the last row at ``T + H - 2`` and the last column ``W - 1`` cycles later; W - 1 idle cycles
  follow in the operand streams to let the outputs leave: ``T + H + W - 2`` rows in all.
- WS: H cycles load the weights (one row of the fold per cycle), then the T input rows stream
  through with an H-row skew and W - 1 cycles of drain: ``H + (T + W - 1) + (H - 1)``.
- IS: the same with inputs stationary and filters streamed.

All folds take L cycles, so a layer's demand lasts ``R = folds x L`` cycles; SCALE-Sim counts
the stall-free run as ``R - 1`` cycles (its last OFMAP write is issued in cycle ``R - 1``).
(The SCALE-Sim paper's single-fold estimate ``2Sr + Sc + T - 2`` also spends H cycles shifting
the OS outputs out of the array; SCALE-Sim 3.0.0 overlaps that with the skew, so its OS folds
take ``T + H + W - 2``; WS and IS folds take the paper's ``2H + W + T - 2``.)

Every function takes integers or numpy arrays (broadcast together), so one call evaluates many
layers or array shapes at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Int = int | np.ndarray


@dataclass(frozen=True)
class Folding:
    """A GEMM's folds on an H x W array (integers or arrays); see the module table."""

    sr: Int
    sc: Int
    t: Int
    rows: Int
    cols: Int
    row_folds: Int
    col_folds: Int
    fold_cycles: Int

    @property
    def folds(self) -> Int:
        """Folds in all (run one after another)."""
        return self.row_folds * self.col_folds

    @property
    def demand_rows(self) -> Int:
        """Cycles of SCALE-Sim's demand matrices: folds x fold cycles."""
        return self.folds * self.fold_cycles


def _ceil_div(a: Int, b: Int) -> Int:
    return -(-a // b)


def fold(dataflow: str, m: Int, n: Int, k: Int, rows: Int, cols: Int) -> Folding:
    """Fold the GEMM ``[m, k] x [k, n]`` onto a ``rows x cols`` array for ``dataflow`` (os, ws, is)."""
    if dataflow == "os":
        sr, sc, t = m, n, k
        cycles = t + rows + cols - 2
    elif dataflow == "ws":
        sr, sc, t = k, n, m
        cycles = 2 * rows + cols + t - 2
    elif dataflow == "is":
        sr, sc, t = k, m, n
        cycles = 2 * rows + cols + t - 2
    else:
        raise ValueError(f"dataflow must be os, ws or is, got {dataflow!r}")
    return Folding(sr, sc, t, rows, cols, _ceil_div(sr, rows), _ceil_div(sc, cols), cycles)


def compute_cycles(f: Folding) -> Int:
    """Stall-free cycles of the layer as SCALE-Sim reports them: ``folds x L - 1``."""
    return f.demand_rows - 1


def mapping_efficiency(f: Folding) -> np.ndarray | float:
    """Mean over folds of the fraction of PEs mapped, in [0, 1]: ``Sr Sc / (folds H W)``."""
    return f.sr * f.sc / (f.folds * f.rows * f.cols)


def compute_utilization(dataflow: str, f: Folding) -> np.ndarray | float:
    """Mean over folds of MACs / (PEs x fold cycles), in [0, 1], with SCALE-Sim's fold cycles.

    SCALE-Sim divides by ``T + H + W - 2`` cycles per fold for OS and ``2H + 2W + T - 3`` for WS
    and IS (one more skew than the fold really takes); both are kept, so the numbers match.
    """
    span = f.fold_cycles if dataflow == "os" else 2 * f.rows + 2 * f.cols + f.t - 3
    return f.sr * f.sc * f.t / (f.folds * f.rows * f.cols * span)


def sram_accesses(dataflow: str, f: Folding) -> tuple[Int, Int, Int]:
    """(IFMAP reads, filter reads, OFMAP writes) in words, as SCALE-Sim counts them.

    A streamed operand is read once per fold it feeds (``T`` per mapped row or column), a
    stationary one once; partial sums of WS and IS are written once per row fold. Reads include
    the IFMAP positions of a window hanging over the edge (SCALE-Sim counts the whole operand
    matrix), and OS adds SCALE-Sim's ``H + W`` extra OFMAP writes per fold.
    """
    if dataflow == "os":
        return (f.col_folds * f.t * f.sr, f.row_folds * f.t * f.sc,
                f.sr * f.sc + f.folds * (f.rows + f.cols))
    if dataflow == "ws":
        return f.col_folds * f.t * f.sr, f.sr * f.sc, f.row_folds * f.t * f.sc
    return f.sr * f.sc, f.col_folds * f.t * f.sr, f.row_folds * f.t * f.sc
