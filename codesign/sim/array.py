"""The simulated hardware: an H x W systolic array, three double-buffered SRAMs and a DRAM interface.

This is SCALE-Sim's machine (``[architecture_presets]`` and ``[run_presets]`` of its config):

- ``rows x cols`` PEs (SCALE-Sim's ArrayHeight x ArrayWidth), one MAC per PE per cycle;
- a ``dataflow``: ``"os"`` (output-), ``"ws"`` (weight-) or ``"is"`` (input-stationary);
- an IFMAP, a filter and an OFMAP SRAM of ``*_sram_kb`` KiB each, half of it serving the
  array while the other half fills from (or drains to) DRAM;
- ``word_bytes`` per word (SCALE-Sim 3.0.0 fixes it at 1, so an SRAM holds KiB x 1024 words);
- the DRAM interface: ``"CALC"`` sizes it so nothing stalls (reads modelled at 10 words/cycle
  per operand, writes at ``cols`` words/cycle, as SCALE-Sim does), ``"USER"`` fixes the
  words/cycle: ``ifmap_dram_bw`` and ``filter_dram_bw`` for the two read SRAMs (SCALE-Sim 3.0.0
  takes them from ``[layout] IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth``) and
  ``ofmap_dram_bw`` for the OFMAP drain (its ``Bandwidth``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dataflow = Literal["os", "ws", "is"]
BandwidthMode = Literal["CALC", "USER"]
DATAFLOWS: tuple[Dataflow, ...] = ("os", "ws", "is")

CALC_READ_BW = 10
"""Words/cycle SCALE-Sim's CALC mode assumes for IFMAP and filter fills ("arbitrary", its comment says)."""


@dataclass(frozen=True)
class SystolicArray:
    """A systolic accelerator as SCALE-Sim models it; sizes in KiB, bandwidths in words/cycle."""

    rows: int
    cols: int
    dataflow: Dataflow = "os"
    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    word_bytes: int = 1
    bandwidth: BandwidthMode = "CALC"
    ifmap_dram_bw: int = 10
    filter_dram_bw: int = 10
    ofmap_dram_bw: int = 10

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        if self.bandwidth not in ("CALC", "USER"):
            raise ValueError(f"bandwidth must be CALC or USER, got {self.bandwidth!r}")
        for field in ("rows", "cols", "ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "word_bytes",
                      "ifmap_dram_bw", "filter_dram_bw", "ofmap_dram_bw"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"{field} must be a positive integer, got {getattr(self, field)}")

    def sram_words(self, kb: int) -> int:
        """Words an SRAM of ``kb`` KiB holds."""
        return kb * 1024 // self.word_bytes

    @property
    def read_bw(self) -> tuple[int, int]:
        """DRAM fill bandwidth of the IFMAP and filter SRAMs, words/cycle."""
        if self.bandwidth == "CALC":
            return CALC_READ_BW, CALC_READ_BW
        return self.ifmap_dram_bw, self.filter_dram_bw

    @property
    def write_bw(self) -> int:
        """DRAM drain bandwidth of the OFMAP SRAM, words/cycle."""
        return self.cols if self.bandwidth == "CALC" else self.ofmap_dram_bw
