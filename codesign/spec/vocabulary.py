"""Words the space language accepts, in one place (messages list them as 'allowed')."""

from __future__ import annotations

DATAFLOWS = ("weight_stationary", "output_stationary", "input_stationary", "row_stationary", "flexible")
PRECISIONS = ("int8", "int16", "fp16", "bf16", "fp32")
DRAM_TYPES = ("LPDDR4", "LPDDR4X", "LPDDR5", "DDR4", "HBM2")
TENSORS = ("weights", "inputs", "outputs")
MEMORY_KINDS = ("dram", "sram", "regfile")
SAMPLERS = ("auto", "tpe", "nsga2", "random", "gp", "qmc", "grid")
MAPPER_OBJECTIVES = ("energy", "latency", "edp")

# metric -> (unit kind for constraints, default display unit, factor base->display, higher is better)
METRICS: dict[str, tuple[str, str, float, bool]] = {
    "latency": ("time", "ms", 1e3, False),
    "energy": ("energy", "mJ", 1e3, False),
    "edp": ("number", "mJ*ms", 1e6, False),
    "power": ("power", "W", 1.0, False),
    "area": ("area", "mm2", 1.0, False),
    "throughput": ("number", "inf/s", 1.0, True),
    "utilization": ("number", "", 1.0, True),
}
WORKLOAD_INDEPENDENT = ("area",)
