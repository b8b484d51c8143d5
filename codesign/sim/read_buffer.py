"""Double-buffered IFMAP and filter SRAMs: DRAM fills and the stalls they cause.

Half the SRAM (``active``) serves the array while the other half (``prefetch``) fills; both
models follow SCALE-Sim 3.0.0 (``scalesim/memory/read_buffer_estimate_bw.py`` and
``read_buffer.py``) at the granularity of its events, not of single words.

``CALC`` (:class:`CalcReadBuffer`): no stalls. The demanded words are grouped, in demand order,
into sets of ``floor(words / 100)`` new words; 50 sets (half the SRAM) make an epoch, and a word
is fetched from DRAM when it is not yet in the current epoch. DRAM reads = distinct words per
epoch, summed. The fills are timed backwards from the first request at 10 words/cycle.

``USER`` (:class:`UserReadBuffer`): the SRAM fills in prefetch order (:mod:`codesign.sim.operands`)
at ``bw`` words/cycle. The valid words of that order form lines of ``ceil(words / 100)``; the
active half holds ``A`` consecutive lines (cyclically), the prefetch half ``P``. Before cycle 0
the active half is loaded (``ceil(active / bw)`` rows of ``bw`` words, ending in cycle -1). A
request for a word in none of the active lines moves the window by ``P`` lines and fetches
``ceil(prefetch / bw) * bw`` words, which arrive ``ceil(prefetch / bw) + 1`` cycles after the
previous fill ended. The array then waits ``p`` = arrival - (request cycle + offset) cycles
(``offset`` starts at the 1-cycle hit latency); SCALE-Sim adds ``p`` to the offset and, when
``p > 0``, adds it again — the doubled stall is kept, as is the earlier-than-hit completion
when ``p < 0``, because they are what SCALE-Sim reports.
"""

from __future__ import annotations

import math

import numpy as np

from codesign.sim.operands import Stream

HIT_LATENCY = 1
"""Cycles from request to data for a word already in the SRAM."""

SETS_PER_SRAM = 100
"""SCALE-Sim divides an SRAM into 100 sets (or lines), half active and half prefetching."""


def _distinct_per_epoch(addrs: np.ndarray, cap: int) -> tuple[int, bool]:
    """Words fetched when each epoch holds ``cap`` distinct words: (total, first epoch filled)."""
    distinct = np.unique(addrs)
    if len(distinct) < cap:
        return len(distinct), False
    total, pos, size = 0, 0, max(4 * cap, 1 << 16)
    seen = np.empty(0, dtype=addrs.dtype)
    while pos < len(addrs):
        chunk = addrs[pos:pos + size]
        words, first = np.unique(chunk, return_index=True)
        new = ~np.isin(words, seen, assume_unique=True)
        firsts = np.sort(first[new])
        room = cap - len(seen)
        if len(firsts) < room:
            seen = np.union1d(seen, words[new])
            total += len(firsts)
            pos += len(chunk)
        else:
            total += room
            pos += int(firsts[room - 1]) + 1
            seen = np.empty(0, dtype=addrs.dtype)
    return total, True


class CalcReadBuffer:
    """SCALE-Sim's CALC-mode read SRAM: DRAM reads and fill start cycle; never stalls."""

    def __init__(self, stream: Stream, words: int, bw: int) -> None:
        self.stream = stream
        per_set = words // SETS_PER_SRAM
        self.per_set, self.bw = per_set, bw
        half = SETS_PER_SRAM // 2
        self.dram_reads, self.first_epoch_full = _distinct_per_epoch(stream.addrs, half * per_set)
        self.first_cycle: int | None = None

    def next_event_row(self) -> float:
        """The first request's row, until its cycle is known (it times the fills)."""
        if self.first_cycle is None and len(self.stream.rows):
            return int(self.stream.rows[0])
        return math.inf

    def service_row(self, row: int, cycle: int) -> int:
        """Serve the requests of ``row`` issued in ``cycle``; return the stall (always 0)."""
        if self.first_cycle is None and len(self.stream.rows) and row == self.stream.rows[0]:
            self.first_cycle = cycle
        return 0

    @property
    def dram_start(self) -> int:
        """Cycle of the first DRAM read (negative: before the array starts)."""
        if self.first_epoch_full:
            return (self.first_cycle or 0) - math.ceil(SETS_PER_SRAM // 2 * self.per_set / self.bw)
        sets = math.ceil(self.dram_reads / self.per_set) if self.dram_reads else 0
        return -math.ceil(sets * self.per_set / self.bw)


class UserReadBuffer:
    """SCALE-Sim's USER-mode read SRAM: a window of active lines that moves on misses."""

    def __init__(self, stream: Stream, fill_order: np.ndarray, fill_len: int, words: int, bw: int) -> None:
        self.stream, self.bw = stream, bw
        active = math.ceil(words * 0.5)
        prefetch = words - active
        per_line = math.ceil(words / SETS_PER_SRAM)
        self.lines = len(fill_order) // per_line + 1
        self.active_lines = min(math.ceil(active / per_line), self.lines)
        self.prefetch_lines = min(math.ceil(prefetch / per_line), self.lines - self.active_lines)
        first_rows = min(math.ceil(active / bw), math.ceil(fill_len / bw))
        self.fill_rows = math.ceil(prefetch / bw)
        self.dram_reads = first_rows * bw
        self.dram_start = -first_rows
        self.last_fill = -1
        self.start = 0
        self.pos = 0
        self.always_hit = self.active_lines == self.lines
        if not self.always_hit:
            line = np.arange(len(fill_order), dtype=np.int64) // per_line
            self.keys = np.sort(fill_order.astype(np.int64) * self.lines + line)
        self._next = len(stream.addrs) if self.always_hit else self._first_miss(0)

    def _hits(self, a: np.ndarray) -> np.ndarray:
        """Which words ``a`` lie in an active line (lines ``start .. start+A-1``, cyclically)."""
        n, s, end = self.lines, self.start, self.start + self.active_lines
        a = a.astype(np.int64)
        q = a * n + s
        k = np.minimum(np.searchsorted(self.keys, q), len(self.keys) - 1)
        cand = self.keys[k]
        hit = (cand >= q) & (cand // n == a) & (cand % n < end)
        if end > n:
            k0 = np.minimum(np.searchsorted(self.keys, a * n), len(self.keys) - 1)
            first = self.keys[k0]
            hit |= (first // n == a) & (first % n < end - n)
        return hit

    def _first_miss(self, pos: int) -> int:
        """Index of the first request at or after ``pos`` that misses the active lines."""
        addrs, size = self.stream.addrs, 1024
        while pos < len(addrs):
            hit = self._hits(addrs[pos:pos + size])
            if not hit.all():
                return pos + int(np.argmin(hit))
            pos += len(hit)
            size *= 2
        return len(addrs)

    def next_event_row(self) -> float:
        """Row of the next miss under the current window."""
        return int(self.stream.rows[self._next]) if self._next < len(self.stream.rows) else math.inf

    def _fill(self) -> None:
        self.start = (self.start + self.prefetch_lines) % self.lines
        self.last_fill += self.fill_rows + 1
        self.dram_reads += self.fill_rows * self.bw

    def service_row(self, row: int, cycle: int) -> int:
        """Serve the requests of ``row`` issued in ``cycle``; return SCALE-Sim's stall for it."""
        offset = HIT_LATENCY
        rows, addrs = self.stream.rows, self.stream.addrs
        while self._next < len(rows) and rows[self._next] == row:
            word = addrs[self._next:self._next + 1]
            while not self._hits(word)[0]:
                self._fill()
                p = self.last_fill - (cycle + offset)
                offset += 2 * p if p > 0 else p
            self._next = self._first_miss(self._next + 1)
        return offset - HIT_LATENCY
