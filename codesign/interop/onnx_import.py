"""ONNX models to codesign model files (the format of ``models/*.yaml``).

:func:`import_onnx` gives every dynamic input dimension (a ``dim_param`` such as ``batch`` or
``seq``) the value the caller supplies, runs ONNX shape inference
(``onnx.shape_inference.infer_shapes`` with data propagation) and walks the graph in
topological order, one model-file entry per computing node:

- ``Conv`` (1-D and 2-D) -> ``conv2d``: rectangular kernels, per-axis stride and dilation,
  ``pad: [top, left, bottom, right]`` from ONNX's ``[h_begin, w_begin, h_end, w_end]`` (one
  value or ``[h, w]`` when symmetric; ``auto_pad`` resolved), ``groups``, ``bias`` when the node
  has a third input. A 1-D
  convolution is a 2-D one with H = R = 1.
- ``ConvTranspose`` -> ``conv2d`` where a direct convolution computes the same outputs with the
  same weights: stride 1 (the equivalent convolution; like any convolution it counts the padded
  border), or kernel == stride without padding (each input pixel writes its own s_h x s_w output
  block: a 1x1 convolution with K·s_h·s_w output channels). Anything else is an error.
- ``Gemm`` (``transA``/``transB`` honoured) and ``MatMul`` with one constant operand -> ``linear``
  (the constant operand is the weight; ``tokens`` = rows of the activation); of two activations
  -> ``matmul`` (``heads`` = product of the batch dimensions; an operand broadcast over some of
  them gives ``kv_heads``).
- ``BatchNormalization`` right after a ``conv2d``/``linear`` is folded into it (no entry; its
  scale and shift are not counted as parameters); elsewhere it is a ``mul`` (per-channel scale
  and shift). An ``Add`` of a constant bias right after a bias-less ``conv2d``/``linear`` becomes
  its ``bias: 1``.
- ``Relu``/``Clip`` (ReLU6), ``Gelu``, ``Sigmoid`` -> ``relu``, ``gelu``, ``sigmoid``, with
  ``fused: true`` when they consume a MAC layer's output directly; ``Add``/``Sub`` -> ``add``,
  ``Mul``/``Div`` -> ``mul``, ``Softmax``, ``LayerNormalization``, ``RMSNormalization`` ->
  ``softmax``, ``layernorm``, ``rmsnorm``; element counts are the inferred output sizes.
- ``MaxPool``/``AveragePool`` -> ``maxpool``/``avgpool`` (``ceil_mode`` expressed as the extra
  bottom/right padding that gives the inferred output size; dilated pooling is an error);
  ``GlobalAveragePool`` and ``GlobalMaxPool`` -> ``globalavgpool``.
- Data movement (``Reshape``, ``Flatten``, ``Transpose``, ``Concat``, ``Squeeze``, ``Unsqueeze``,
  ``Identity``, ``Dropout``, ``Cast``, ``Slice``, ``Expand``, ``Split``, ``Pad``, ``Tile``, ``Gather``
  with constant indices, ...) and every node whose inputs are all constants or shapes
  (``Constant``, ``Shape``, ``Gather`` on shapes, dequantized weights, ...) produce nothing.
- Any other operator becomes a generic ``add`` (one operation per output element) and is
  listed in a warning; when shape inference cannot size its output, that is an error naming it.

Shapes in the written file are per sample: the batch is the input dimension whose name contains
``batch`` (``batch``, ``batch_size``, ...), else the leading axis of the first graph input of
rank two or more (the ONNX/PyTorch convention); every count that contains it is divided by its
value, and the loader multiplies by its own ``batch``.

The work is split over :mod:`~codesign.interop.onnx_graph` (reading, ``--dim`` values, shape
inference, the import context), :mod:`~codesign.interop.onnx_windows` (window geometry),
:mod:`~codesign.interop.onnx_conv` and :mod:`~codesign.interop.onnx_matmul` (MAC operators) and
:mod:`~codesign.interop.onnx_ops` (the per-node walk and the other operators); this module is
the public driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.interop.onnx_graph import (Entry, _check_values, _context, _copy, _infer, _named_batch, _prepare,
                                         _read)
from codesign.interop.onnx_ops import _dispatch, _generic_warning

if TYPE_CHECKING:
    from onnx import ModelProto

__all__ = ["ImportResult", "import_onnx", "parse_dims", "to_yaml", "write_model"]


@dataclass(frozen=True)
class ImportResult:
    """An imported model: the model-file ``document`` (keys of ``models/*.yaml``) and ``warnings``."""

    document: dict[str, Any]
    warnings: tuple[str, ...]


def import_onnx(model: str | Path | ModelProto, *, name: str | None = None,
                dims: Mapping[str, int] | None = None) -> ImportResult:
    """Import an ONNX model (a file path or a ``ModelProto``) as a model-file document.

    ``dims`` gives each dynamic input dimension (``dim_param``) its size in elements, e.g.
    ``{"batch": 1, "seq": 128}``; ``name`` defaults to the file's stem (or the graph's name).
    Raises :class:`CodesignError` for a file that is not ONNX, a dynamic dimension without a
    value, a shape that inference cannot determine, or an operator that cannot be expressed.
    """
    where = str(model) if isinstance(model, (str, Path)) else ""
    _check_values(dims or {}, where)
    proto = _read(Path(model)) if isinstance(model, (str, Path)) else _copy(model)
    named_batch = _named_batch(proto.graph, dims or {})
    _prepare(proto, dict(dims or {}), where)
    inferred = _infer(proto, where)
    ctx = _context(inferred, where, named_batch)
    for node in inferred.graph.node:
        _dispatch(ctx, node)
    if not ctx.layers:
        raise CodesignError("the graph has no operator that computes on its inputs; nothing to import", where)
    default = Path(where).stem if where else (proto.graph.name or "onnx_model")
    doc = _document(name or default, inferred, where, dims or {}, ctx.layers)
    return ImportResult(doc, tuple(ctx.notes + _generic_warning(ctx.generic)))


def parse_dims(items: Iterable[str]) -> dict[str, int]:
    """``["batch=1", "seq=128"]`` (the CLI's ``--dim`` values) to ``{"batch": 1, "seq": 128}``."""
    dims: dict[str, int] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip().isdigit() or int(value) < 1:
            raise CodesignError(f"expected NAME=POSITIVE_INTEGER, got {item!r}, e.g. --dim batch=1 --dim seq=128", "--dim")
        dims[key.strip()] = int(value)
    return dims


def to_yaml(document: Mapping[str, Any]) -> str:
    """A model-file document as YAML text: header keys, then one flow-style line per layer."""
    import yaml

    header = {k: v for k, v in document.items() if k != "layers"}
    lines = ["# Generated by `codesign import` from an ONNX model (shapes per sample; the loader applies batch).\n",
             yaml.safe_dump(header, sort_keys=False, default_flow_style=None, width=1 << 20), "layers:\n"]
    for entry in document["layers"]:
        lines.append(f"- {yaml.safe_dump(entry, sort_keys=False, default_flow_style=True, width=1 << 20).strip()}\n")
    return "".join(lines)


def write_model(result: ImportResult, path: Path) -> None:
    """Write an imported model to ``path`` (creating its directory), replacing any file there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(result.document))
    except OSError as exc:
        raise CodesignError(f"cannot write the model file: {exc}", str(path)) from None


# ---------------------------------------------------------------------------------------------
# the document

def _document(name: str, model: ModelProto, where: str, dims: Mapping[str, int], layers: list[Entry]) -> dict[str, Any]:
    """The model-file document: name, description, source, params and layers."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p) or "unknown producer"
    given = ", ".join(f"{k}={v}" for k, v in dims.items()) or "none"
    origin = f"ONNX model {Path(where).name}" if where else "an in-memory ONNX model"
    return {
        "name": name,
        "description": f"Imported from {origin} with ONNX shape inference (dynamic dimensions: {given}); "
                       "shapes per sample.",
        "source": f"{origin} ({producer}, opset {opset})",
        "params": {},
        "layers": layers,
    }
