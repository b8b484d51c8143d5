"""A concrete accelerator: the hardware one trial builds from its sampled parameters.

Frozen dataclasses, base units in names: bytes, Hz, pJ, mm², W. The cost core reads the
per-level arrays (:meth:`Accelerator.level_array`); the search layer only builds it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from codesign.hardware import technology as tech
from codesign.workload.ir import ROLES


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the hierarchy (outermost first). ``None`` size/bandwidth means unbounded."""

    name: str
    kind: str                      # dram | sram | regfile
    shared: bool                   # one instance (True) or one per PE (False)
    size_bytes: int | None
    bytes_per_cycle: float | None  # per instance
    holds: frozenset[str]
    double_buffered: bool
    access_pj_per_byte: float      # read = write = update energy per byte
    area_mm2: float                # per instance


@dataclass(frozen=True)
class Accelerator:
    """Compute array + memory hierarchy + clock/precision/node, with derived costs."""

    rows: int
    cols: int
    macs_per_pe: int
    dataflow: str
    precision: str
    clock_hz: float
    node_nm: float
    levels: tuple[MemoryLevel, ...]
    mac_pj: float
    vector_lanes: int = 0          # vector-unit operations per cycle (0: one per PE column)

    @property
    def num_pes(self) -> int:
        return self.rows * self.cols

    @property
    def num_macs(self) -> int:
        return self.rows * self.cols * self.macs_per_pe

    @property
    def role_bytes(self) -> tuple[float, float, float]:
        """Bytes per word of (weights, inputs, outputs); outputs are accumulator-wide partial sums."""
        b = tech.OPERAND_BYTES[self.precision]
        return (b, b, tech.ACCUMULATOR_BYTES[self.precision])

    def layer_bytes(self, tensors: tuple) -> tuple[float, float, float]:
        """:attr:`role_bytes` with per-tensor precision overrides (``Tensor.bits``) applied."""
        default = self.role_bytes
        return tuple(t.bits / 8 if t.bits else default[i] for i, t in enumerate(tensors))  # type: ignore[return-value]

    @property
    def lanes(self) -> int:
        """Vector-unit operations per cycle."""
        return self.vector_lanes or self.cols

    @property
    def vector_op_pj(self) -> float:
        return tech.vector_op_energy_pj(self.precision, self.node_nm)

    @property
    def operand_bytes(self) -> int:
        return tech.OPERAND_BYTES[self.precision]

    @property
    def first_per_pe_level(self) -> int:
        """Index of the first per-PE level: the array fanout sits directly above it."""
        for i, level in enumerate(self.levels):
            if not level.shared:
                return i
        return len(self.levels)

    @property
    def capacity_key(self) -> tuple:
        """What tile fitting and byte traffic depend on, and nothing else: the precision and, per
        level, capacity (bytes), sharing, tensors held and double buffering. Two accelerators with
        equal keys have the same legal tilings and move the same bytes for every mapping; they
        differ only in what a byte or a cycle costs (energies, bandwidths, clock)."""
        return (self.precision, tuple((lv.shared, lv.size_bytes, lv.holds, lv.double_buffered) for lv in self.levels))

    @property
    def traffic_key(self) -> tuple:
        """:attr:`capacity_key` without the capacities: what a mapping's byte traffic depends on
        (which tilings fit is the capacities' part)."""
        return (self.precision, tuple((lv.shared, lv.holds, lv.double_buffered) for lv in self.levels))

    def keeps(self, role: str) -> tuple[bool, ...]:
        return tuple(role in level.holds for level in self.levels)

    @property
    def interconnect_pj_per_mac(self) -> float:
        """Energy of the dataflow's reconfigurable interconnect per MAC in pJ (0 for a fixed
        dataflow). :func:`codesign.hardware.build.build_accelerator` adds it to ``mac_pj``."""
        return tech.interconnect_pj_per_mac(self.dataflow, self.num_pes, self.precision, self.node_nm)

    @property
    def area_breakdown_mm2(self) -> dict[str, float]:
        """On-chip area by component (DRAM and its PHY are off-chip/excluded). ``network`` is the
        fixed array's links (a fraction of MACs + PE buffers) plus, for a flexible dataflow, its
        reconfigurable interconnect (a fraction of the whole fixed PE array)."""
        pe_mem = sum(lv.area_mm2 for lv in self.levels if not lv.shared) * self.num_pes
        macs = tech.mac_area_mm2(self.precision, self.node_nm) * self.num_macs
        shared = sum(lv.area_mm2 for lv in self.levels if lv.shared)
        fixed_network = tech.NETWORK_AREA_FRACTION * (macs + pe_mem)
        extra = tech.interconnect_area_overhead(self.dataflow, self.num_pes) * (macs + pe_mem + fixed_network)
        return {"macs": macs, "pe_buffers": pe_mem, "shared_buffers": shared, "network": fixed_network + extra}

    @functools.cached_property
    def area_mm2(self) -> float:
        """On-chip area (computed once: a search's pruning asks for it before every layer)."""
        return sum(self.area_breakdown_mm2.values())

    @property
    def leakage_w(self) -> float:
        return tech.LEAKAGE_W_PER_MM2 * self.area_mm2

    @property
    def peak_macs_per_s(self) -> float:
        return self.num_macs * self.clock_hz


def make_level(name: str, kind: str, shared: bool, size_bytes: int | None, bandwidth_bytes_per_s: float | None,
               bytes_per_cycle: float | None, holds: tuple[str, ...], double_buffered: bool,
               dram_type: str | None, clock_hz: float, node_nm: float) -> MemoryLevel:
    """Build a level, deriving per-byte access energy and area from the technology tables."""
    if kind == "dram":
        energy, area = tech.dram_pj_per_byte(dram_type or "LPDDR4"), 0.0
    else:
        assert size_bytes is not None
        energy = tech.sram_pj_per_byte(size_bytes, node_nm)
        area = tech.sram_area_mm2(size_bytes, node_nm, regfile=(kind == "regfile"))
    bpc = bytes_per_cycle if bytes_per_cycle is not None else (
        bandwidth_bytes_per_s / clock_hz if bandwidth_bytes_per_s is not None else None)
    return MemoryLevel(name, kind, shared, size_bytes, bpc, frozenset(r for r in ROLES if r in holds),
                       double_buffered, energy, area)
