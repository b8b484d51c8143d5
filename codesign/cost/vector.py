"""Cost of non-MAC operators on the accelerator's vector unit.

A vector operator streams its inputs in and its outputs out: through DRAM (unless it is
fused into its producer) and through the first on-chip shared memory. Latency in cycles is
the larger of the vector unit's time (operations / lanes) and each level's transfer time
(bytes / bytes per cycle), as for double-buffered streaming; energy is bytes x energy per
byte at those levels plus operations x energy per vector operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import VectorOp


@dataclass(frozen=True)
class VectorResult:
    """One occurrence of a vector operator (multiply by ``op.count`` for the model)."""

    op: VectorOp
    cycles: float
    compute_cycles: float
    energy_pj: float
    level_bytes: dict[str, float]
    bound: str                      # "vector" or the level whose bandwidth bounds it


def evaluate_vector(op: VectorOp, acc: Accelerator) -> VectorResult:
    """Latency and energy of ``op`` on ``acc``."""
    word = op.bits / 8 if op.bits else acc.operand_bytes
    moved = (op.input_elements + op.elements) * word
    compute = op.ops / acc.lanes
    level_bytes: dict[str, float] = {}
    level_cycles: dict[str, float] = {}
    energy = op.ops * acc.vector_op_pj
    onchip = next((lv for lv in acc.levels[1:] if lv.shared), None)
    for lv in (acc.levels[0], onchip):
        if lv is None or (lv is acc.levels[0] and op.fused):
            continue
        level_bytes[lv.name] = moved
        level_cycles[lv.name] = moved / lv.bytes_per_cycle if lv.bytes_per_cycle else 0.0
        energy += moved * lv.access_pj_per_byte
    slowest = max(level_cycles, key=level_cycles.get, default=None)
    cycles = max([compute, *level_cycles.values()])
    bound = slowest if slowest is not None and level_cycles[slowest] > compute else "vector"
    return VectorResult(op, cycles, compute, energy, level_bytes, bound)
