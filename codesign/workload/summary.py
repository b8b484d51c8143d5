"""Per-layer facts of a workload for ``codesign models``: MACs, bytes per tensor, arithmetic intensity."""

from __future__ import annotations

from typing import Any

from codesign.hardware.technology import ACCUMULATOR_BYTES, OPERAND_BYTES
from codesign.workload.ir import Layer, Workload


def tensor_bytes(layer: Layer, precision: str) -> dict[str, float]:
    """Bytes of each tensor at ``precision`` (outputs at operand width; per-tensor ``bits`` win)."""
    out = {}
    for t in layer.tensors:
        width = t.bits / 8 if t.bits else OPERAND_BYTES[precision]
        out[t.role] = t.size(layer.bounds) * width
    return out


def layer_record(layer: Layer, precision: str) -> dict[str, Any]:
    """One layer as the stable JSON record: name, op, dims, macs, count, bytes, intensity."""
    sizes = tensor_bytes(layer, precision)
    total = sum(sizes.values())
    return {"name": layer.name, "op": layer.op, "dims": dict(zip(layer.dims, layer.bounds)), "macs": layer.macs,
            "count": layer.count, "params": layer.params, "bytes": sizes,
            "intensity_macs_per_byte": layer.macs / total if total else 0.0}


def workload_record(w: Workload, precision: str = "int8") -> dict[str, Any]:
    """The whole workload as JSON-ready data (stable keys: name, total_macs, total_params, layers)."""
    return {
        "name": w.model, "family": w.family, "source": w.source, "batch": w.batch, "params": dict(w.symbols),
        "precision": precision, "accumulator_bytes": ACCUMULATOR_BYTES[precision],
        "total_macs": w.total_macs, "total_params": w.total_params,
        "total_vector_ops": sum(v.ops * v.count for v in w.vector_ops),
        "layers": [layer_record(layer, precision) for layer in w.layers],
        "vector_ops": [{"name": v.name, "op": v.op, "elements": v.elements, "ops": v.ops, "count": v.count,
                        "fused": v.fused} for v in w.vector_ops],
    }
