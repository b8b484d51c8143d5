"""Systolic-array timing of one layer for output-, weight- and input-stationary dataflows.

The model is SCALE-Sim's (Samajdar et al., "A Systematic Methodology for Characterizing
Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020; semantics of the public code,
scalesim-project/SCALE-Sim 3.0.0), rewritten: closed forms for everything that does not depend
on memory (:mod:`codesign.sim.folds`), an event-driven replay of the double-buffered SRAMs for
stalls and DRAM traffic (:mod:`codesign.sim.scratchpad`). docs/simulator.md describes it.

>>> from codesign.sim import ConvLayer, SystolicArray, simulate
>>> t = simulate(ConvLayer("c1", 8, 8, 3, 3, 4, 8), SystolicArray(8, 8, "os"))
>>> t.compute_cycles, t.stall_cycles
(249, 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.sim.array import SystolicArray
from codesign.sim.folds import compute_cycles, compute_utilization, fold, mapping_efficiency, sram_accesses
from codesign.sim.layer import ConvLayer
from codesign.sim.scratchpad import run_memory


@dataclass(frozen=True)
class OperandWords:
    """Words per operand."""

    ifmap: int
    filter: int
    ofmap: int


@dataclass(frozen=True)
class LayerTiming:
    """One layer on one array, in SCALE-Sim's COMPUTE_REPORT and DETAILED_ACCESS_REPORT terms.

    Cycles are array clock cycles, utilizations percent, accesses words. SRAM reads of IFMAP and
    filter and SRAM writes of the OFMAP are SCALE-Sim's counts (the array's side); the SRAM
    writes of IFMAP and filter are their DRAM fills and the OFMAP's SRAM reads its DRAM drain.
    """

    name: str
    compute_cycles: int
    """Total cycles without the memory stalls (SCALE-Sim: Total Cycles - Stall Cycles)."""
    stall_cycles: int
    total_cycles: int
    """Cycles until the last OFMAP word is written to the SRAM, stalls included."""
    total_cycles_incl_prefetch: int
    """From the first DRAM read (before the array starts) to the last DRAM write."""
    compute_util: float
    """Mean over folds of MACs / (PEs x fold cycles), percent."""
    mapping_efficiency: float
    """Mean over folds of PEs mapped / PEs, percent."""
    overall_util: float
    """MACs / (PEs x total cycles), percent (total cycles taken as at least 1)."""
    sram_reads: OperandWords
    sram_writes: OperandWords
    dram_reads: OperandWords
    dram_writes: OperandWords


def simulate(layer: ConvLayer, array: SystolicArray) -> LayerTiming:
    """Time ``layer`` on ``array``: compute cycles, stalls, utilizations and accesses per operand."""
    f = fold(array.dataflow, layer.ofmap_px, layer.num_filters, layer.window, array.rows, array.cols)
    mem = run_memory(layer, array, f)
    ifmap_sram, filter_sram, ofmap_sram = (int(x) for x in sram_accesses(array.dataflow, f))
    pes = array.rows * array.cols
    return LayerTiming(
        name=layer.name,
        compute_cycles=mem.total_cycles - mem.stall_cycles,
        stall_cycles=mem.stall_cycles,
        total_cycles=mem.total_cycles,
        total_cycles_incl_prefetch=mem.dram_write_stop - mem.dram_read_start,
        compute_util=100.0 * float(compute_utilization(array.dataflow, f)),
        mapping_efficiency=100.0 * float(mapping_efficiency(f)),
        overall_util=100.0 * layer.macs / (max(mem.total_cycles, 1) * pes),
        sram_reads=OperandWords(ifmap_sram, filter_sram, mem.dram_ofmap_writes),
        sram_writes=OperandWords(mem.dram_ifmap_reads, mem.dram_filter_reads, ofmap_sram),
        dram_reads=OperandWords(mem.dram_ifmap_reads, mem.dram_filter_reads, 0),
        dram_writes=OperandWords(0, 0, mem.dram_ofmap_writes),
    )


def stall_free_cycles(dataflow: str, m: np.ndarray | int, n: np.ndarray | int, k: np.ndarray | int,
                      rows: np.ndarray | int, cols: np.ndarray | int) -> np.ndarray | int:
    """Compute cycles of GEMMs ``[m, k] x [k, n]`` on ``rows x cols`` arrays, broadcast over arrays.

    Equal to :attr:`LayerTiming.compute_cycles` whenever the last cycle does not stall on a read
    (always, in SCALE-Sim's demand patterns); use it to sweep many layers or array shapes at once.
    """
    return compute_cycles(fold(dataflow, m, n, k, rows, cols))
