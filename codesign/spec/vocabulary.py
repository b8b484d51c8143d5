"""Words the space language accepts, in one place (messages list them as 'allowed')."""

from __future__ import annotations

DATAFLOWS = ("weight_stationary", "output_stationary", "input_stationary", "row_stationary", "flexible")
PRECISIONS = ("int8", "int16", "fp16", "bf16", "fp32")
DRAM_TYPES = ("LPDDR4", "LPDDR4X", "LPDDR5", "LPDDR5X", "DDR4", "DDR5", "HBM2", "HBM2E", "HBM3")
TENSORS = ("weights", "inputs", "outputs")
MEMORY_KINDS = ("dram", "sram", "regfile")
SAMPLERS = ("auto", "tpe", "nsga2", "random", "gp", "qmc", "grid")
_BASE_OBJECTIVES = ("energy", "latency", "edp")
# a lexicographic pair "first,second": the best first metric, ties broken by the second
MAPPER_OBJECTIVES = _BASE_OBJECTIVES + tuple(f"{a},{b}" for a in _BASE_OBJECTIVES for b in _BASE_OBJECTIVES if a != b)
MAPPER_MODES = ("auto", "fixed")
STATIONARY_TENSORS = ("any", "weights", "inputs", "outputs")
DIM_CLASSES = ("reduction", "outch", "outpix", "group")
# "dataflow" (the array's own) or dimension classes joined by "+", in DIM_CLASSES order
SPATIAL_DIMS = ("dataflow",) + tuple("+".join(c for i, c in enumerate(DIM_CLASSES) if mask >> i & 1)
                                     for mask in range(1, 2 ** len(DIM_CLASSES)))


def canonical_classes(value: object) -> object:
    """``outch+reduction`` as ``reduction+outch`` (the :data:`SPATIAL_DIMS` spelling); other values unchanged."""
    if isinstance(value, str) and "+" in value:
        parts = [p.strip() for p in value.split("+")]
        if set(parts) <= set(DIM_CLASSES) and len(set(parts)) == len(parts):
            return "+".join(c for c in DIM_CLASSES if c in parts)
    if isinstance(value, dict) and isinstance(value.get("choice"), list):
        return {**value, "choice": [canonical_classes(v) for v in value["choice"]]}
    return value

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
