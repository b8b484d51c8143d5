"""Technology tables: energy per operation and per access, area per component, by node.

Reference node is 45 nm. Sources (numbers are read from the publications; where a value is
interpolated or assumed the table says so):

- [H14] M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
  Fig. 1.1.9: 45 nm, 0.9 V. Energy: 8-bit add 0.03 pJ, 32-bit add 0.1 pJ, 8-bit mult 0.2 pJ,
  32-bit mult 3.1 pJ, 16-bit FP add 0.4 pJ / mult 1.1 pJ, 32-bit FP add 0.9 pJ / mult 3.7 pJ;
  SRAM read of 64 bits: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ; DRAM 1.3-2.6 nJ per 64 bits.
  Area: 8-bit add 36 um², 32-bit add 137 um², 8-bit mult 282 um², 32-bit mult 3495 um²,
  16-bit FP add 1360 um² / mult 1640 um², 32-bit FP add 4184 um² / mult 7700 um².
- [M07] K. Mistry et al., "A 45nm logic technology ...", IEDM 2007: 6T SRAM cell 0.346 um².
- [OC17] M. O'Connor et al., "Fine-Grained DRAM", MICRO 2017: HBM2 3.9 pJ/bit, GDDR5 14 pJ/bit
  (access + I/O energy).
- [SB17] A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS device
  performance from 180 nm to 7 nm", Integration 2017: energy and area scaling between nodes
  (the factors below are rounded from its tables; between listed nodes we interpolate log-log).
- [C7] CACTI 7.0 (HewlettPackard/cacti, as shipped in hwcomponents-cacti 1.0.40, rebuilt
  from its sources), run here at 45 nm, RAM, 1 read/write port, 1 bank, capacities 16 KiB to
  4 MiB and access widths 32 to 512 bits: read energy per access grows as ``width^0.61``
  (least squares in log space through each capacity's 64-bit point; rms residual a factor
  1.24). Its 64-bit values (16 KiB 11.6 pJ, 64 KiB 25.9 pJ, 1 MiB 93.5 pJ) agree with [H14].
- DRAM supply voltages: DDR4 1.2 V (JEDEC JESD79-4), DDR5 1.1 V VDD/VDDQ (JEDEC JESD79-5,
  July 2020); HBM2 1.2 V, HBM2E 1.1 V VDD (cited in "A 0.95pJ/b 5.12Gb/s/pin Charge-Recycling
  IOs ...", IEEE A-SSCC 2022); HBM3 1.1 V and 0.4 V low-swing host interface (JEDEC JESD238
  announcement, January 2022). [S21] Samsung, LPDDR5X announcement (November 2021): ~20% less
  power than LPDDR5.
- Reconfigurable PE-array interconnect (the ``flexible`` dataflow), see ``INTERCONNECT`` below:
  [Q20] E. Qin et al., "SIGMA: A Sparse and Irregular GEMM Accelerator with Flexible
  Interconnects for DNN Training", HPCA 2020 (28 nm; 65.10 mm2, 22.33 W), compared with a
  TPU-like systolic engine with the same number of multipliers (128 x 128 = 16384) at the same
  frequency: 38% more area, power almost twice (6x effective TFLOPS at 3x effective TFLOPS/W:
  2.0x the power); figures as summarized in A. Reid's RelatedWork notes (qin:hpca:2020).
  [T24] J. Tong et al., "FEATHER: A Reconfigurable Accelerator with Data Reordering Support for
  Low-Cost On-Chip Dataflow Switching", ISCA 2024, Fig. 14, post-place-and-route area at 256
  PEs (maeri-project/FEATHER, results_generation.py, figure_14): fixed-dataflow SIMBA-like
  array 407,997 um2 (MACs 243,297 + local memory 140,513 + controller 24,187); FEATHER adds a
  BIRRD reduction/reorder network (17,685 um2) and NEST forwarding (5,168 um2): +5.6%; BIRRD
  is 3.3% of the die's power. SIGMA-256 in the same flow: distribution network 508,929 um2 +
  reduction network 332,837 um2, 2.43x the fixed array's total area.
  [B65] Benes network (V. Benes, 1965), [Q20]'s distribution network: 2^r ports through
  2r - 1 levels of 2^(r-1) 2x2 switches (C. Chang, R. Melhem, "Arbitrary Size Benes
  Networks", which extend it to any N; R. Kannan, IEEE Trans. Computers 2005: N(2 log N - 1)
  control bits).
"""

from __future__ import annotations

import math

# MAC = multiplier + accumulator adder (int: 32-bit accumulate; fp: fp32 accumulate), 45 nm.
# (energy pJ, area um²) per MAC unit. int16 interpolates the multiplier quadratically in width
# between H14's 8- and 32-bit values (assumed); bf16 is taken equal to fp16 (assumed).
MAC_45NM: dict[str, tuple[float, float]] = {
    "int8": (0.2 + 0.1, 282 + 137),          # [H14] 8b mult + 32b add
    "int16": (0.8 + 0.1, 1128 + 137),        # interpolated (16/8)^2 x 8b mult, + 32b add
    "fp16": (1.1 + 0.9, 1640 + 4184),        # [H14] fp16 mult + fp32 add
    "bf16": (1.1 + 0.9, 1640 + 4184),        # assumed equal to fp16
    "fp32": (3.7 + 0.9, 7700 + 4184),        # [H14] fp32 mult + fp32 add
}
OPERAND_BYTES = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}
ACCUMULATOR_BYTES = {"int8": 4, "int16": 4, "fp16": 4, "bf16": 4, "fp32": 4}

# SRAM read energy per 64-bit access at 45 nm [H14]; capacities in bytes.
_SRAM_POINTS = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
SRAM_REFERENCE_BITS = 64              # access width of [H14]'s figures
SRAM_WIDTH_EXPONENT = 0.61            # [C7]: energy per access ~ width^0.61 (fitted, 32-512 bits)
SRAM_CELL_UM2_45NM = 0.346          # [M07]
SRAM_ARRAY_EFFICIENCY = 0.7         # assumed: bit cells are ~70% of macro area (periphery)
REGFILE_BIT_UM2_45NM = 2.0          # assumed: latch/flop-based register file bit incl. ports
NETWORK_AREA_FRACTION = 0.10        # assumed: on-chip network ~10% of PE array area
LEAKAGE_W_PER_MM2 = 0.02            # assumed: static power density of logic + SRAM

# DRAM energy per bit (pJ), not scaled with the logic node. HBM2 from [OC17]; DDR4 from the
# low end of [H14]'s 1.3 nJ per 64 bits (20 pJ/bit); LPDDR4/4X/5 are assumed estimates for
# mobile DRAM (interface + core), ordered by generation. The newer types are derived
# estimates (the voltages and the vendor claim are cited above, the scaling rules assumed):
# dynamic energy ~ V^2 for a supply change (DDR5, HBM2E); for HBM3 one third of the energy
# per bit is taken to be interface energy, which scales with the signal swing (1.2 V -> 0.4 V);
# LPDDR5X takes [S21]'s 20% at face value.
_V2 = (1.1 / 1.2) ** 2
DRAM_PJ_PER_BIT = {
    "HBM2": 3.9, "DDR4": 20.0, "LPDDR4": 6.0, "LPDDR4X": 5.0, "LPDDR5": 4.0,
    "DDR5": 20.0 * _V2,                                           # 16.8
    "LPDDR5X": 4.0 * 0.8,                                         # 3.2
    "HBM2E": 3.9 * _V2,                                           # 3.28
    "HBM3": 3.9 * _V2 * (2 / 3 + (1 / 3) * (0.4 / 1.2)),          # 2.55
}

# node (nm) -> (energy factor, area factor) relative to 45 nm, rounded from [SB17].
_NODE_SCALING = ((7, 0.20, 0.035), (10, 0.25, 0.06), (14, 0.32, 0.11), (16, 0.35, 0.13),
                 (22, 0.45, 0.25), (28, 0.60, 0.39), (32, 0.70, 0.51), (45, 1.0, 1.0),
                 (65, 1.6, 2.1))
NODE_RANGE_NM = (7.0, 65.0)


def _loglog(x: float, points: tuple[tuple[float, float], ...]) -> float:
    """Piecewise log-log interpolation through ``points``; extrapolates the end segments."""
    xs = [p[0] for p in points]
    i = 1
    while i < len(points) - 1 and x > xs[i]:
        i += 1
    (x0, y0), (x1, y1) = points[i - 1], points[i]
    slope = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (x / x0) ** slope


def node_scaling(node_nm: float) -> tuple[float, float]:
    """(energy factor, area factor) of ``node_nm`` relative to 45 nm [SB17], log-log interpolated."""
    lo, hi = NODE_RANGE_NM
    if not lo <= node_nm <= hi:
        raise ValueError(f"technology node {node_nm:g}nm is outside the tables ({lo:g}nm to {hi:g}nm)")
    energy = _loglog(node_nm, tuple((n, e) for n, e, _ in _NODE_SCALING))
    area = _loglog(node_nm, tuple((n, a) for n, _, a in _NODE_SCALING))
    return energy, area


def sram_access_pj(capacity_bytes: float, node_nm: float, access_bits: int = SRAM_REFERENCE_BITS) -> float:
    """Energy of one read (or write) of ``access_bits`` bits from an SRAM of ``capacity_bytes``, in pJ.

    64-bit access energy from [H14], interpolated log-log in capacity (extrapolated below 8 KB
    and above 1 MB), scaled to the access width by ``(access_bits / 64)^0.61`` [C7] and by node.
    Writes are taken equal to reads.
    """
    if access_bits <= 0:
        raise ValueError(f"access width must be a positive number of bits, got {access_bits}")
    width = (access_bits / SRAM_REFERENCE_BITS) ** SRAM_WIDTH_EXPONENT
    return _loglog(max(capacity_bytes, 1.0), _SRAM_POINTS) * width * node_scaling(node_nm)[0]


def sram_pj_per_byte(capacity_bytes: float, node_nm: float, access_bits: int = SRAM_REFERENCE_BITS) -> float:
    """Read/write energy per byte of an SRAM (or register file) of ``capacity_bytes`` accessed
    ``access_bits`` at a time: :func:`sram_access_pj` / bytes per access."""
    return sram_access_pj(capacity_bytes, node_nm, access_bits) / (access_bits / 8.0)


def sram_area_mm2(capacity_bytes: float, node_nm: float, regfile: bool = False) -> float:
    """Area of an on-chip memory of ``capacity_bytes`` in mm² at ``node_nm``."""
    bit_um2 = REGFILE_BIT_UM2_45NM if regfile else SRAM_CELL_UM2_45NM / SRAM_ARRAY_EFFICIENCY
    return capacity_bytes * 8 * bit_um2 * node_scaling(node_nm)[1] * 1e-6


def mac_energy_pj(precision: str, node_nm: float) -> float:
    """Energy of one multiply-accumulate in pJ."""
    return MAC_45NM[precision][0] * node_scaling(node_nm)[0]


def mac_area_mm2(precision: str, node_nm: float) -> float:
    """Area of one MAC unit in mm²."""
    return MAC_45NM[precision][1] * node_scaling(node_nm)[1] * 1e-6


# Interconnect of the PE array, per dataflow: how much a dataflow's network costs beyond the
# fixed array's neighbour links and buses (the NETWORK_AREA_FRACTION above, which every dataflow
# pays). A fixed dataflow (TPU-like systolic, Eyeriss-like row-stationary multicast) pays no
# more: no source here gives a difference between them. ``flexible`` lets the mapper put any
# dimension class on rows and on columns (reduction on both, multicast to any rectangular
# group), which takes a reconfigurable distribution network and reduction network spanning the
# whole array, as in MAERI and SIGMA [Q20]. Its cost per PE is modelled proportional to the
# switch stages an operand crosses, benes_stages(N) = 2*ceil(log2 N) - 1 [B65], calibrated at
# [Q20]'s 16384 PEs (27 stages):
#   array area (MACs + PE buffers + network) x (1 + 0.38 * stages(N) / 27)        [Q20]: +38%
#   energy per MAC + 1.0 x MAC energy x stages(N) / 27                            [Q20]: 2.0x power
# Sources disagree: at 256 PEs (15 stages) this gives +21% area, between FEATHER's +5.6% [T24]
# (a butterfly along one array edge only: spatial reduction across one axis) and SIGMA-256's
# +143% in FEATHER's flow [T24]. [Q20]'s +38% is of the whole accelerator, so as a fraction of
# the PE array it understates (the conservative side); [Q20]'s power ratio is taken as pure
# network energy on top of each MAC (a systolic array's power at full activity is mostly MACs).
FLEXIBLE_AREA_OVERHEAD = 0.38        # [Q20]: area vs a systolic array of the same multipliers
FLEXIBLE_ENERGY_OVERHEAD = 1.0       # [Q20]: power 2.0x at the same frequency and multipliers
FLEXIBLE_REFERENCE_PES = 128 * 128   # [Q20]: the array size of that comparison
INTERCONNECT = {"weight_stationary": "fixed", "output_stationary": "fixed", "input_stationary": "fixed",
                "row_stationary": "fixed", "flexible": "benes"}


def benes_stages(ports: int) -> int:
    """Switch stages of a rearrangeable (Benes) network with ``ports`` inputs: 2*ceil(log2 N) - 1
    [B65]; a single port needs no network (0)."""
    if ports < 1:
        raise ValueError(f"a network needs at least one port, got {ports}")
    return max(2 * (ports - 1).bit_length() - 1, 0)


def _interconnect_scale(dataflow: str, num_pes: int) -> float:
    """Stages of the flexible network relative to [Q20]'s reference array; 0 for a fixed dataflow."""
    if dataflow not in INTERCONNECT:
        raise ValueError(f"unknown dataflow {dataflow!r}; known: {', '.join(INTERCONNECT)}")
    if INTERCONNECT[dataflow] == "fixed":
        return 0.0
    return benes_stages(num_pes) / benes_stages(FLEXIBLE_REFERENCE_PES)


def interconnect_area_overhead(dataflow: str, num_pes: int) -> float:
    """Extra PE-array area of ``dataflow``'s interconnect as a fraction of the same array with a
    fixed dataflow (MACs + PE buffers + the fixed network): 0 for fixed dataflows,
    ``0.38 * stages(N) / 27`` for ``flexible`` [Q20]."""
    return FLEXIBLE_AREA_OVERHEAD * _interconnect_scale(dataflow, num_pes)


def interconnect_pj_per_mac(dataflow: str, num_pes: int, precision: str, node_nm: float) -> float:
    """Energy of ``dataflow``'s reconfigurable interconnect per MAC in pJ (operands distributed
    and partial sums reduced through its switches): 0 for fixed dataflows,
    ``1.0 * MAC energy * stages(N) / 27`` for ``flexible`` [Q20]."""
    return FLEXIBLE_ENERGY_OVERHEAD * _interconnect_scale(dataflow, num_pes) * mac_energy_pj(precision, node_nm)


def vector_op_energy_pj(precision: str, node_nm: float) -> float:
    """One vector-unit operation (add/compare class) in pJ: a 32-bit integer add for integer
    precisions, an fp16 add for fp16/bf16 and an fp32 add for fp32 [H14]."""
    pj = {"int8": 0.1, "int16": 0.1, "fp16": 0.4, "bf16": 0.4, "fp32": 0.9}[precision]
    return pj * node_scaling(node_nm)[0]


def dram_pj_per_byte(dram_type: str) -> float:
    """Energy per byte moved to or from DRAM of ``dram_type``."""
    return DRAM_PJ_PER_BIT[dram_type] * 8.0
