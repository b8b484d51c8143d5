"""The per-node walk: which ONNX operators are skipped, folded, or converted, and by which converter.

:func:`_dispatch` imports one node: constants, shape arithmetic and data movement produce
nothing; ``HANDLERS`` maps an operator type to its converter (the MAC converters live in
:mod:`codesign.interop.onnx_conv` and :mod:`codesign.interop.onnx_matmul`; folding, vector,
pooling and generic operators are here).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from codesign.errors import CodesignError
from codesign.interop.onnx_conv import _conv, _conv_transpose
from codesign.interop.onnx_graph import Entry, _attrs, _Context
from codesign.interop.onnx_matmul import _gemm, _matmul
from codesign.interop.onnx_windows import _spatial_rank, _window_keys, _windows

if TYPE_CHECKING:
    from onnx import NodeProto

DATA_MOVEMENT = frozenset({
    "Reshape", "Flatten", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Identity", "Constant", "Shape", "Size",
    "Dropout", "Cast", "CastLike", "Slice", "Expand", "Split", "Pad", "Tile", "DepthToSpace", "SpaceToDepth",
})
PASS_THROUGH = frozenset({"Identity", "Dropout"})   # a MAC layer's output stays its output through these
VECTOR_OPS = {
    "Relu": "relu", "Clip": "relu", "Gelu": "gelu", "Sigmoid": "sigmoid", "Add": "add", "Sub": "add", "Mul": "mul",
    "Div": "mul", "Softmax": "softmax", "LayerNormalization": "layernorm", "RMSNormalization": "rmsnorm",
}
FUSABLE = frozenset({"relu", "gelu", "sigmoid"})    # applied to a MAC layer's output on the fly
FOLDABLE = frozenset({"conv2d", "linear"})          # a following BatchNormalization / bias Add folds into these
GENERIC_OP = "add"                                   # cost class of operators codesign does not model


# ---------------------------------------------------------------------------------------------
# the walk

def _dispatch(ctx: _Context, node: NodeProto) -> None:
    """Import one node: skip constants and data movement, else call the op's handler."""
    if node.op_type in ("Shape", "Size") or all(i in ctx.static for i in node.input if i):
        ctx.static.update(node.output)
        return
    if node.domain in ("", "ai.onnx") and _moves_data(ctx, node):
        if node.op_type in PASS_THROUGH and node.input[0] in ctx.producer:
            ctx.producer[node.output[0]] = ctx.producer[node.input[0]]
        return
    handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    (handler or _generic)(ctx, node)


def _moves_data(ctx: _Context, node: NodeProto) -> bool:
    """Pure data movement: reshapes, copies, and ``Gather`` with constant indices (a slice)."""
    if node.op_type == "Gather":
        return len(node.input) > 1 and node.input[1] in ctx.static
    return node.op_type in DATA_MOVEMENT


# ---------------------------------------------------------------------------------------------
# folding and vector operators

def _foldable(ctx: _Context, value: str) -> Entry | None:
    """The conv2d/linear entry whose output ``value`` is, if only one node reads it."""
    entry = ctx.producer.get(value)
    if entry is not None and entry["op"] in FOLDABLE and ctx.consumers[value] == 1:
        return entry
    return None


def _batchnorm(ctx: _Context, node: NodeProto) -> None:
    """``BatchNormalization``: folded into the conv2d/linear before it, else a ``mul``."""
    entry = _foldable(ctx, node.input[0])
    if entry is None:
        _vector(ctx, node, "mul")
    else:
        ctx.producer[node.output[0]] = entry


def _out_features(entry: Entry) -> int:
    """Output channels (conv2d) or features (linear) of a MAC entry."""
    return int(entry["K"] if entry["op"] == "conv2d" else entry["out"])


def _add(ctx: _Context, node: NodeProto) -> None:
    """``Add``: a constant bias after a bias-less conv2d/linear folds into it, else an ``add``."""
    for x, b in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        entry = _foldable(ctx, x)
        if entry is not None and "bias" not in entry and "count" not in entry and b in ctx.static \
                and b in ctx.shapes and math.prod(ctx.shapes[b]) == _out_features(entry):
            entry["bias"] = 1
            ctx.producer[node.output[0]] = entry
            return
    _vector(ctx, node, "add")


def _vector(ctx: _Context, node: NodeProto, op: str) -> None:
    """An element-wise vector op over the node's output; fused when it reads a MAC layer's output."""
    elements = math.prod(ctx.shape(node, node.output[0]))
    entry: Entry = {"name": node.name, "op": op, "elements": ctx.per_sample(node, elements, "the output elements")}
    if op in FUSABLE and node.input[0] in ctx.producer:
        entry["fused"] = True
    ctx.layers.append(entry)


def _pool(ctx: _Context, node: NodeProto, op: str) -> None:
    """``MaxPool``/``AveragePool`` over X[N, C, H, W] -> ``maxpool``/``avgpool``."""
    xs, out = ctx.shape(node, node.input[0]), ctx.shape(node, node.output[0])
    _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    if "kernel_shape" not in a:
        raise CodesignError("pooling needs the kernel_shape attribute", ctx.at(node))
    if any(d != 1 for d in a.get("dilations", [])):
        raise CodesignError(f"pooling with dilations {list(a['dilations'])} is not supported: model-file pooling "
                            "windows are dense", ctx.at(node))
    h, w = _windows(ctx, node, a, xs[2:], a["kernel_shape"], out[2:], dilated=False)
    ctx.layers.append({"name": node.name, "op": op, "C": xs[1], **_window_keys(h, w, dilation=False)})


def _global_pool(ctx: _Context, node: NodeProto) -> None:
    """``GlobalAveragePool``/``GlobalMaxPool`` over X[N, C, H, W] -> ``globalavgpool``."""
    xs = ctx.shape(node, node.input[0])
    n = _spatial_rank(ctx, node, xs)
    h, w = (1, xs[2]) if n == 1 else xs[2:]
    ctx.layers.append({"name": node.name, "op": "globalavgpool", "C": xs[1], "H": h, "W": w})


def _generic(ctx: _Context, node: NodeProto) -> None:
    """An operator codesign does not model: an ``add`` per output element, listed in a warning."""
    if not node.output or node.output[0] not in ctx.shapes:
        raise CodesignError(f"operator {node.op_type!r} is not modelled by codesign, and ONNX shape inference could "
                            "not infer its output shape, so its cost is unknown; simplify the model (e.g. onnxsim) "
                            "or replace the operator", ctx.at(node))
    ctx.generic[node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"] += 1
    _vector(ctx, node, GENERIC_OP)


def _generic_warning(generic: Counter[str]) -> list[str]:
    """One warning listing every operator type imported as a generic element-wise op."""
    if not generic:
        return []
    listed = ", ".join(f"{op} ({n})" for op, n in sorted(generic.items()))
    return [f"{sum(generic.values())} node(s) of operator types codesign does not model were imported as generic "
            f"element-wise '{GENERIC_OP}' ops (1 operation per output element): {listed}"]


HANDLERS: dict[str, Callable[[_Context, NodeProto], None]] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _batchnorm, "Add": _add,
    "MaxPool": partial(_pool, op="maxpool"), "AveragePool": partial(_pool, op="avgpool"),
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    **{op: partial(_vector, op=kind) for op, kind in VECTOR_OPS.items() if op not in ("Add",)},
}
