"""Event simulation of a tile program (:mod:`codesign.sim.program`) on the accelerator's DMA,
DRAM channel, buffer slots and array (:class:`codesign.sim.timing.Timing`). Times are integer cycles.

Resources and order:

- **DRAM channel**: one transfer at a time, in a fixed issue order: the loads of the first
  ``slots`` steps, then after each step's compute its store (if any) followed by every load its
  freed slot (and, for a load of partial sums, that step's stores) now allows. A transfer starts
  when it is ready, the channel is free and one of the ``dma_engines`` is free; it keeps the
  channel for its bytes (whole bursts / bytes per cycle) and its engine until it completes,
  ``dram_latency_cycles`` later.
- **buffer slots**: load ``j`` is ready when step ``j - slots`` has computed and its store has
  completed (conservative: the write's DRAM latency holds the slot too).
  A load of partial sums also waits for every store issued before it (a DMA fence).
- **array**: compute ``i`` starts when load ``i`` is done and compute ``i - 1`` has ended, and
  lasts the tile's compute cycles plus the array's fill and drain.

The latency is the last compute's or store's end. With a fixed order every time is a max-plus
expression of the durations, so the latency never decreases when a duration grows (bandwidth,
latency, compute) or an engine is taken away. The number of slots changes the issue order
itself: 2 slots are never slower than 1, but a third slot can (rarely) delay a store behind an
earlier prefetch and lengthen the schedule by a few cycles.

**Compression**: the steps form nested loops (:attr:`TileProgram.factors`). Where consecutive
sub-blocks of a loop are identical, they are simulated one by one until the simulator's state,
relative to the last compute's end, repeats; the repeating period is then skipped as many times
as fit (all times advance by the period's duration), keeping the last sub-blocks for the
transition to what follows. The result equals the step-by-step simulation exactly
(:func:`simulate` with ``compress=False``), which the tests check.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from codesign.sim.program import TileProgram
from codesign.sim.timing import Timing


@dataclass(frozen=True)
class SimResult:
    """Outcome of simulating one program (cycles, bytes)."""

    cycles: int                    # latency: end of the last compute or store
    compute_cycles: int            # sum of the tiles' compute cycles (fill and drain included)
    fill_drain_cycles: int         # of which fill and drain
    dram_busy_cycles: int          # cycles the DRAM channel moves data
    load_bytes: float
    store_bytes: float
    tiles: int
    steps_simulated: int           # steps stepped through (the rest were extrapolated)

    @property
    def bound_cycles(self) -> int:
        """max(compute, DRAM channel): the program's own roofline, a lower bound of ``cycles``."""
        return max(self.compute_cycles, self.dram_busy_cycles)


@dataclass(frozen=True)
class _Ops:
    compute: list[int]             # cycles per step (fill and drain included)
    load: list[int]                # channel cycles of load i (-1: nothing to load)
    store: list[int]               # channel cycles of store i (-1: no store)
    prev_store: list[int]          # step whose store a partial-sum load needs (-1: none)


def _ops(program: TileProgram, timing: Timing, slots: int) -> tuple[_Ops, np.ndarray]:
    """Per-step durations as Python ints, and their signature id per step (steps with equal
    signatures behave alike: same durations, same distance to the store a load reads back)."""
    bpc = timing.dram_bytes_per_cycle
    burst = timing.burst_bytes
    bursts = np.where(program.loads > 0, np.ceil(program.loads / burst - 1e-9), 0).sum(axis=1)
    sbursts = np.where(program.stores > 0, np.ceil(program.stores / burst - 1e-9), 0)

    def cycles(b: np.ndarray) -> np.ndarray:
        busy = np.zeros(b.shape, dtype=np.int64) if bpc is None else np.ceil(b * burst / bpc - 1e-9).astype(np.int64)
        return np.where(b > 0, busy, -1)

    load, store = cycles(bursts), cycles(sbursts)
    compute = program.compute_cycles + timing.fill_drain_cycles * (program.mac_steps > 0)
    steps = np.arange(program.n)
    distance = np.where(program.prev_store >= 0, np.minimum(steps - program.prev_store, slots + 1), 0)
    sig = _row_ids(np.stack([compute, load, store, distance], axis=1))
    return _Ops(compute.tolist(), load.tolist(), store.tolist(), program.prev_store.tolist()), sig


class _State:
    """The simulator's state between steps; one :meth:`step` per program step."""

    def __init__(self, ops: _Ops, n: int, slots: int, timing: Timing) -> None:
        self.ops, self.n, self.K = ops, n, slots
        self.lat, self.E = timing.dram_latency_cycles, timing.dma_engines
        self.i = 0                                   # next step
        self.ce = 0                                  # end of the last compute
        self.ch = 0                                  # channel free
        self.last_store = 0                          # completion of the last store issued
        self.eng: deque[int] = deque(maxlen=self.E)  # completions of the last E transfers
        self.free: deque[int] = deque([0] * slots, maxlen=slots)  # slot free times of steps i-K..i-1
        self.done: deque[int] = deque()              # load completions of steps i.. (issued)
        self.next_load = 0
        self.stepped = 0
        self._issue_loads()

    def _transfer(self, ready: int, busy: int) -> int:
        start = max(ready, self.ch)
        if len(self.eng) == self.E:
            start = max(start, self.eng[0])
        self.ch = start + busy
        end = start + busy + self.lat
        self.eng.append(end)
        return end

    def _issue_loads(self) -> None:
        """Issue, in order, every load whose slot and partial sums are now known (see module doc)."""
        ops = self.ops
        while self.next_load < self.n and self.next_load < self.i + self.K:
            j = self.next_load
            if ops.prev_store[j] >= self.i:          # its partial sums are stored by a later step
                break
            ready = self.free[j - self.i]            # slot free of step j - K
            if ops.prev_store[j] >= 0:
                ready = max(ready, self.last_store)
            self.done.append(self._transfer(ready, ops.load[j]) if ops.load[j] >= 0 else ready)
            self.next_load += 1

    def step(self) -> None:
        i, ops = self.i, self.ops
        self.ce = max(self.ce, self.done.popleft()) + ops.compute[i]
        free = self.ce
        if ops.store[i] >= 0:
            self.last_store = free = self._transfer(self.ce, ops.store[i])   # the slot waits for the write
        self.free.append(free)
        self.i += 1
        self.stepped += 1
        self._issue_loads()

    @property
    def end(self) -> int:
        return max(self.ce, self.last_store)

    def key(self) -> tuple:
        """The state relative to the last compute's end, after clamping times that can no longer matter.

        Every later ready time is at least ``floor`` (a compute end or a slot free time), so a
        channel, engine or store time below it acts as ``floor``, and a load completion below the
        last compute's end acts as that end; clamping changes no result.
        """
        floor = min(self.ce, *self.free)
        self.ch = max(self.ch, floor)
        self.last_store = max(self.last_store, floor)
        self.eng = deque((max(e, floor) for e in self.eng), maxlen=self.E)
        self.done = deque(max(d, self.ce) for d in self.done)
        c = self.ce
        return (self.ch - c, self.last_store - c, self.next_load - self.i, len(self.eng),
                *(e - c for e in self.eng), *(f - c for f in self.free), *(d - c for d in self.done))

    def shift(self, cycles: int, steps: int) -> None:
        """Advance every time by ``cycles`` and every step index by ``steps``."""
        self.ce += cycles
        self.ch += cycles
        self.last_store += cycles
        self.eng = deque((e + cycles for e in self.eng), maxlen=self.E)
        self.free = deque((f + cycles for f in self.free), maxlen=self.K)
        self.done = deque(d + cycles for d in self.done)
        self.i += steps
        self.next_load += steps


def _row_ids(rows: np.ndarray) -> np.ndarray:
    """Ids of the rows of an int matrix ``[m, w]``: equal rows, equal ids (exact; 1-D uniques only)."""
    ids = np.zeros(rows.shape[0], dtype=np.int64)
    for col in rows.T:
        _, col_ids = np.unique(col, return_inverse=True)
        _, ids = np.unique(ids * (int(col_ids.max(initial=0)) + 1) + col_ids.reshape(-1), return_inverse=True)
        ids = ids.reshape(-1)
    return ids


class _Blocks:
    """Signatures of the program's nested blocks: ``sig[k][b]`` for block ``b`` of depth ``k``
    (a block's id is the id of its sequence of sub-block ids, innermost depth first)."""

    def __init__(self, factors: tuple[int, ...], step_sig: np.ndarray) -> None:
        self.factors = factors
        self.size = [int(np.prod(factors[k:], dtype=np.int64)) for k in range(len(factors) + 1)]
        self.sig: list[np.ndarray] = [step_sig]
        for k in reversed(range(len(factors))):
            self.sig.insert(0, _row_ids(self.sig[0].reshape(-1, factors[k])))


def _run(st: _State, blocks: _Blocks, depth: int) -> None:
    """Simulate the block of ``depth`` that starts at step ``st.i``."""
    if depth == len(blocks.factors):
        st.step()
        return
    size = blocks.size[depth + 1]
    sig = blocks.sig[depth + 1]
    base = st.i // size
    f = blocks.factors[depth]
    margin = -(-st.K // size) + 1        # sub-blocks kept at a run's end: their loads reach past it
    j = 0
    while j < f:
        end = j + 1
        while end < f and sig[base + end] == sig[base + j]:
            end += 1
        seen: dict[tuple, tuple[int, int]] = {}
        while j < end:
            _run(st, blocks, depth + 1)
            j += 1
            if end - j <= margin:
                continue
            key = st.key()
            if key not in seen:
                seen[key] = (j, st.ce)
                continue
            j0, ce0 = seen.pop(key)
            period = j - j0
            repeats = (end - j - margin) // period
            if repeats > 0:
                st.shift(repeats * (st.ce - ce0), repeats * period * size)
                j += repeats * period
            seen.clear()


def simulate(program: TileProgram, timing: Timing, slots: int | None = None, compress: bool = True) -> SimResult:
    """Simulate ``program`` with ``timing`` (``slots`` overrides the program's buffer slots)."""
    slots = slots or program.slots
    ops, step_sig = _ops(program, timing, slots)
    n = program.n
    st = _State(ops, n, slots, timing)
    if compress:
        _run(st, _Blocks(program.factors, step_sig), 0)
    else:
        while st.i < n:
            st.step()
    assert st.i == n, (st.i, n)
    compute = np.asarray(ops.compute, dtype=np.int64)
    busy = sum(c for c in ops.load if c > 0) + sum(c for c in ops.store if c > 0)
    tiles = int((program.mac_steps > 0).sum())
    return SimResult(cycles=st.end, compute_cycles=int(compute.sum()), fill_drain_cycles=tiles * timing.fill_drain_cycles,
                     dram_busy_cycles=int(busy), load_bytes=float(program.loads.sum()),
                     store_bytes=float(program.stores.sum()), tiles=tiles, steps_simulated=st.stepped)
