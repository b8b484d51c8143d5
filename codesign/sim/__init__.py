"""Systolic-array simulator: SCALE-Sim's timing and memory model for OS, WS and IS dataflows.

:func:`simulate` times one layer (:class:`ConvLayer`, or :func:`gemm`) on one
:class:`SystolicArray`; :func:`stall_free_cycles` gives the compute cycles of many GEMMs or
array shapes at once. See docs/simulator.md.
"""

from __future__ import annotations

from codesign.sim.array import DATAFLOWS, SystolicArray
from codesign.sim.layer import ConvLayer, from_ir, gemm
from codesign.sim.systolic import LayerTiming, OperandWords, simulate, stall_free_cycles

__all__ = ["DATAFLOWS", "ConvLayer", "LayerTiming", "OperandWords", "SystolicArray", "from_ir", "gemm",
           "simulate", "stall_free_cycles"]
