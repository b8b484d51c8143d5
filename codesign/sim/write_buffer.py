"""The double-buffered OFMAP SRAM: drains to DRAM and the stalls of a full buffer.

SCALE-Sim 3.0.0's model (``scalesim/memory/write_buffer.py``), processed event by event:

- each OFMAP write takes one word of free space and goes into the current line of ``bw`` words;
- when no drain is running and more than ``drain = words - ceil(words / 2)`` words are held, the
  open line is closed (short) and a drain of up to ``ceil(drain / bw)`` lines starts in the
  current cycle, one line per cycle; it frees ``bw`` words per line except the last, which
  frees its real word count (so a short line in the middle of a drain counts as full, as in
  SCALE-Sim);
- while a drain runs, a write that leaves no free space stalls the array until the drain ends;
- after the last write everything left drains, drain after drain, from that cycle on.

Words are counted, never stored: a line is full unless it was closed early.
"""

from __future__ import annotations

import math

import numpy as np

from codesign.sim.operands import Stream


class WriteBuffer:
    """OFMAP SRAM of ``words`` words draining ``bw`` words/cycle to DRAM."""

    def __init__(self, stream: Stream, words: int, bw: int) -> None:
        self.rows = stream.rows
        self.total, self.bw = words, bw
        self.drain = words - math.ceil(words * 0.5)
        self.lines_per_drain = math.ceil(self.drain / bw)
        self.free = words
        self.drain_end = 0
        self.stored = 0          # writes taken so far (index into ``rows``)
        self.open_words = 0      # words in the open line
        self.lines = 0           # closed lines
        self.short: dict[int, int] = {}
        self.next_line = 0       # first line not yet drained
        self.dram_writes = 0
        self.dram_start: int | None = None
        self.dram_stop = 0

    def _take(self, k: int) -> None:
        self.free -= k
        self.stored += k
        full, self.open_words = divmod(self.open_words + k, self.bw)
        self.lines += full

    def _start_drain(self, cycle: int) -> int:
        if self.open_words:
            self.short[self.lines] = self.open_words
            self.lines += 1
            self.open_words = 0
        end = min(self.next_line + self.lines_per_drain, self.lines)
        n = end - self.next_line
        words = n * self.bw - (self.bw - self.short.get(end - 1, self.bw))
        self.dram_writes += words
        self.free += words
        self.next_line = end
        self.dram_start = cycle if self.dram_start is None else min(self.dram_start, cycle)
        self.dram_stop = max(self.dram_stop, cycle + n - 1)
        return cycle + n - 1

    def _count_before(self, row: float) -> int:
        """Writes issued in rows before ``row`` (the query takes the rows' dtype: no array copy)."""
        if not len(self.rows) or row > self.rows[-1]:
            return len(self.rows)
        return int(np.searchsorted(self.rows, self.rows.dtype.type(row), side="left"))

    def next_event_row(self, row: int, stall: int) -> float:
        """First row at or after ``row`` in which a write starts a drain or stalls, when row ``r``
        is issued in cycle ``r + stall``."""
        n = len(self.rows)
        done = max(row, self.drain_end - stall)         # first row issued after the running drain
        full = self.stored + max(self.free, 1) - 1      # the write that would fill the buffer
        if full < n and self.rows[full] < done:
            return int(self.rows[full])
        first = max(self._count_before(done), self.stored)
        free = self.free - (first - self.stored)
        trigger = first + max(free - (self.total - self.drain) + 1, 1) - 1
        return int(self.rows[trigger]) if trigger < n else math.inf

    def take_rows_before(self, row: int) -> None:
        """Take the writes of the rows before ``row`` (no event among them)."""
        self._take(self._count_before(row) - self.stored)

    def service_row(self, row: int, cycle: int) -> int:
        """Take the writes of ``row`` issued in ``cycle``; return the stall (cycles)."""
        left = self._count_before(row + 1) - self.stored
        now = cycle
        while left > 0:
            if now < self.drain_end:
                m = max(self.free, 1)
                if m > left:
                    self._take(left)
                    break
                self._take(m)
                now = self.drain_end
            else:
                m = max(self.free - (self.total - self.drain) + 1, 1)
                if m > left:
                    self._take(left)
                    break
                self._take(m)
                self.drain_end = self._start_drain(now)
            left -= m
        return now - cycle

    def finish(self, cycle: int) -> None:
        """Drain everything left, drain after drain, starting in ``cycle`` (the last write's)."""
        if self.open_words:
            self.short[self.lines] = self.open_words
            self.lines += 1
            self.open_words = 0
        while self.next_line < self.lines:
            cycle = self._start_drain(cycle) + 1
