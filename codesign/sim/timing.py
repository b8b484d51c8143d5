"""Timing parameters of the tile-program simulator, derived from the accelerator (no YAML keys).

The DRAM channel moves one transfer at a time at the DRAM level's bandwidth (bytes per
cycle; ``None`` = unbounded); every transfer is rounded up to whole bursts and completes an
access latency after it starts; ``dma_engines`` transfers may be outstanding at once (their
latencies overlap, their bytes do not). The systolic array pays a fill and drain per tile.

Access latency per DRAM type is the row-miss time tRP + tRCD + read latency (precharge,
activate, column read), in ns, from these sources:

- LPDDR4-3200 (also LPDDR4X): tRPpb 18 ns, tRCD 18 ns, RL 28 nCK at 1600 MHz = 17.5 ns
  (JEDEC JESD209-4 defaults as listed by NXP's S32 Design Studio DDR tool, "Timing
  parameters": RL 28 nCK, tRPpb 18 ns; tRCD 18 ns as in the LPDDR3/LPDDR2 tables of the same
  family, e.g. TI's JESD209-2 timings and Ramulator's LPDDR3 configuration).
- LPDDR5/LPDDR5X: taken equal to LPDDR4 (same core timings, tRCD = tRPpb = 18 ns; assumed).
- DDR4-3200AA (22-22-22): 3 x 13.75 ns (JEDEC JESD79-4 speed bins).
- DDR5-4800B (40-39-39 at 2400 MHz): 16.67 + 16.25 + 16.25 ns (JEDEC JESD79-5 speed bins).
- HBM2 (and HBM2E, HBM3, assumed): nRP = nRCD = nCL = 7 at tCK 2 ns, 3 x 14 ns
  (Ramulator's HBM speed table, Kim et al., IEEE CAL 2015).

Burst bytes are burst length x channel width: LPDDR4/4X/5/5X BL16 x 16 bit = 32 B; DDR4 BL8 x
64 bit = 64 B; DDR5 BL16 x 32-bit subchannel = 64 B; HBM2/2E BL4 x 64-bit pseudo-channel and
HBM3 BL8 x 32 bit = 32 B. Memory-controller, PHY and on-chip network latency are not included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codesign.hardware.accelerator import Accelerator

DRAM_LATENCY_NS = {
    "LPDDR4": 18 + 18 + 17.5, "LPDDR4X": 18 + 18 + 17.5, "LPDDR5": 18 + 18 + 17.5, "LPDDR5X": 18 + 18 + 17.5,
    "DDR4": 3 * 13.75, "DDR5": 40 / 2.4 + 16.25 + 16.25,
    "HBM2": 3 * 14.0, "HBM2E": 3 * 14.0, "HBM3": 3 * 14.0,
}
DRAM_BURST_BYTES = {"LPDDR4": 32, "LPDDR4X": 32, "LPDDR5": 32, "LPDDR5X": 32, "DDR4": 64, "DDR5": 64,
                    "HBM2": 32, "HBM2E": 32, "HBM3": 32}
DEFAULT_DRAM = "LPDDR4"            # as hardware.accelerator.make_level's energy default
DMA_ENGINES = 2                    # assumed: one transfer in flight per direction


@dataclass(frozen=True)
class Timing:
    """What the simulator needs beyond the tile program (cycles of the accelerator's clock)."""

    dram_bytes_per_cycle: float | None   # DRAM channel bandwidth (None: unbounded)
    dram_latency_cycles: int = 0         # from a transfer's start to its last byte, beyond the bytes' time
    burst_bytes: int = 1                 # transfers move whole bursts
    dma_engines: int = 1                 # transfers outstanding at once
    fill_drain_cycles: int = 0           # array fill + drain paid by every tile

    def __post_init__(self) -> None:
        if self.dram_bytes_per_cycle is not None and not self.dram_bytes_per_cycle > 0:
            raise ValueError(f"dram_bytes_per_cycle must be > 0, got {self.dram_bytes_per_cycle}")
        if self.dram_latency_cycles < 0 or self.burst_bytes < 1 or self.dma_engines < 1 or self.fill_drain_cycles < 0:
            raise ValueError(f"bad timing: {self}")

    def transfer_cycles(self, tensor_bytes: tuple[float, ...] | list[float]) -> int:
        """Cycles the channel is busy moving one transfer of these per-tensor byte counts (bursts)."""
        bursts = sum(math.ceil(b / self.burst_bytes - 1e-9) for b in tensor_bytes if b > 0)
        if self.dram_bytes_per_cycle is None:
            return 0
        return math.ceil(bursts * self.burst_bytes / self.dram_bytes_per_cycle - 1e-9)


def fill_drain_cycles(acc: Accelerator) -> int:
    """Cycles one tile spends filling and draining the array (SCALE-Sim fold overhead, :mod:`codesign.sim.folds`).

    Output stationary: ``H + W - 2`` (operand skew across the rows, then the columns);
    weight and input stationary: ``2H + W - 2`` (H more to load the stationary operand).
    Row-stationary and flexible arrays are charged the output-stationary skew (assumed).
    """
    h, w = acc.rows, acc.cols
    if acc.dataflow in ("weight_stationary", "input_stationary"):
        return 2 * h + w - 2
    return h + w - 2


def dram_timing(acc: Accelerator, dram_type: str | None = None) -> Timing:
    """Default :class:`Timing` of ``acc`` with DRAM technology ``dram_type`` (default LPDDR4)."""
    kind = dram_type or DEFAULT_DRAM
    level = acc.levels[0]
    latency = math.ceil(DRAM_LATENCY_NS[kind] * 1e-9 * acc.clock_hz - 1e-9)
    return Timing(dram_bytes_per_cycle=level.bytes_per_cycle or None, dram_latency_cycles=latency,
                  burst_bytes=DRAM_BURST_BYTES[kind], dma_engines=DMA_ENGINES, fill_drain_cycles=fill_drain_cycles(acc))
