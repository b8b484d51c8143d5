"""The three SRAMs together: run a layer's demand through them and add up the stalls.

SCALE-Sim 3.0.0 (``scalesim/memory/double_buffered_scratchpad_mem.py``) issues demand row ``i``
in cycle ``i + stalls so far``; each SRAM answers, and the row adds the largest of the IFMAP and
filter stalls (answer - cycle - hit latency) and the OFMAP stall (answer - cycle). Only rows
with a miss, a drain start or a full OFMAP buffer can stall, so this loop jumps from event to
event instead of walking every cycle; the answers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.sim.array import SystolicArray
from codesign.sim.folds import Folding
from codesign.sim.layer import ConvLayer
from codesign.sim.operands import demand_streams, prefetch_order
from codesign.sim.read_buffer import CalcReadBuffer, UserReadBuffer
from codesign.sim.write_buffer import WriteBuffer


@dataclass(frozen=True)
class MemoryRun:
    """What the SRAMs saw: cycles (the last OFMAP write's), stalls and DRAM traffic (words)."""

    total_cycles: int
    stall_cycles: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    dram_read_start: int
    """Cycle of the first DRAM read (negative: before the array starts)."""
    dram_write_stop: int
    """Cycle of the last DRAM write."""


def run_memory(layer: ConvLayer, array: SystolicArray, f: Folding) -> MemoryRun:
    """Replay the layer's SRAM demand (SCALE-Sim's memory model) and return cycles and DRAM traffic."""
    ifmap, filt, ofmap = demand_streams(layer, array, f)
    (ibw, fbw), words = array.read_bw, array.sram_words
    if array.bandwidth == "CALC":
        reads = [CalcReadBuffer(ifmap, words(array.ifmap_sram_kb), ibw),
                 CalcReadBuffer(filt, words(array.filter_sram_kb), fbw)]
    else:
        reads = [UserReadBuffer(s, *prefetch_order(layer, array, f, name), words(kb), bw)
                 for s, name, kb, bw in ((ifmap, "ifmap", array.ifmap_sram_kb, ibw),
                                         (filt, "filter", array.filter_sram_kb, fbw))]
    out = WriteBuffer(ofmap, words(array.ofmap_sram_kb), array.write_bw)
    last = int(f.demand_rows) - 1
    stall, row = 0, 0
    while True:
        row = int(min(reads[0].next_event_row(), reads[1].next_event_row(), out.next_event_row(row, stall), last))
        out.take_rows_before(row)
        cycle = row + stall
        read_stall = max(buf.service_row(row, cycle) for buf in reads)
        write_stall = out.service_row(row, cycle)
        stall += max(read_stall, write_stall)
        if row == last:
            break
        row += 1
    total = cycle + write_stall
    out.finish(total)
    return MemoryRun(total, stall, reads[0].dram_reads, reads[1].dram_reads, out.dram_writes,
                     min(reads[0].dram_start, reads[1].dram_start), out.dram_stop)
