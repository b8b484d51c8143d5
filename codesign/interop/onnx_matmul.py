"""Matrix-multiply converters: ONNX ``Gemm`` and ``MatMul`` to ``linear`` or ``matmul`` entries.

An operand that is constant (a weight) makes a ``linear`` layer; two activations make a
``matmul``, with ``heads`` the product of the batch dimensions and ``kv_heads`` for an operand
broadcast over some of them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from codesign.interop.onnx_graph import Entry, Shape, _attrs, _Context, _emit, _has_input

if TYPE_CHECKING:
    from onnx import NodeProto


def _linear(ctx: _Context, node: NodeProto, k_in: int, n_out: int, rows: int, count: int = 1) -> Entry:
    """A ``linear`` entry: ``rows`` activation rows (batch included) of ``k_in`` -> ``n_out`` features."""
    entry: Entry = {"name": node.name, "op": "linear", "in": k_in, "out": n_out,
                    "tokens": ctx.per_sample(node, rows, "the activation's rows")}
    if count != 1:
        entry["count"] = count
    return entry


def _split_batch(ctx: _Context, node: NodeProto, heads: int, kv: int, m: int) -> tuple[int, int, int]:
    """Per-sample (heads, kv_heads, M): the batch divides the heads, else the rows M."""
    if ctx.batch == 1:
        return heads, kv, m
    if heads % ctx.batch == 0:
        h = heads // ctx.batch
        k = kv // ctx.batch if kv % ctx.batch == 0 else kv
        return h, (k if h % k == 0 else h), m
    return heads, kv, ctx.per_sample(node, m, "the rows M")


def _act_matmul(ctx: _Context, node: NodeProto, a_heads: int, b_heads: int, heads: int,
                m: int, n: int, k: int) -> Entry:
    """Activation x activation: ``matmul`` with the operand shared across heads as the B (K/V) side."""
    kv = heads
    if b_heads < heads == a_heads:
        kv = b_heads
    elif a_heads < heads == b_heads:
        m, n, kv = n, m, a_heads
    heads, kv, m = _split_batch(ctx, node, heads, kv, m)
    entry: Entry = {"name": node.name, "op": "matmul", "M": m, "N": n, "K": k, "heads": heads}
    if kv != heads:
        entry["kv_heads"] = kv
    return entry


def _gemm(ctx: _Context, node: NodeProto) -> None:
    """``Gemm``: Y = op(A) op(B) (+ C), ``op`` transposing when ``transA``/``transB``."""
    a = _attrs(node)
    sa, sb = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    m, k = (sa[1], sa[0]) if a.get("transA", 0) else sa
    n = sb[0] if a.get("transB", 0) else sb[1]
    if node.input[1] in ctx.static:
        entry = _linear(ctx, node, k, n, m)
    elif node.input[0] in ctx.static:
        entry = _linear(ctx, node, k, m, n)
    else:
        entry = _act_matmul(ctx, node, 1, 1, 1, m, n, k)
    _emit(ctx, node, entry, mac=True)
    if _has_input(node, 2):
        _gemm_bias(ctx, node, entry, m * n)


def _gemm_bias(ctx: _Context, node: NodeProto, entry: Entry, elements: int) -> None:
    """Gemm's C: a constant is the linear layer's bias, an activation an ``add`` of ``elements``."""
    if node.input[2] in ctx.static and entry["op"] == "linear":
        entry["bias"] = 1
        return
    ctx.layers.append({"name": f"{node.name}.bias", "op": "add",
                       "elements": ctx.per_sample(node, elements, "the output elements")})


def _matmul_operands(sa: Shape, sb: Shape) -> tuple[Shape, Shape, int, int, int]:
    """NumPy matmul operands: (A batch dims, B batch dims, M, K, N), 1-D operands promoted."""
    a = sa if len(sa) > 1 else (1, *sa)
    b = sb if len(sb) > 1 else (*sb, 1)
    return a[:-2], b[:-2], a[-2], a[-1], b[-1]


def _broadcast(x: Shape, y: Shape) -> Shape:
    """NumPy broadcast of two batch shapes."""
    rank = max(len(x), len(y))
    x, y = (1,) * (rank - len(x)) + x, (1,) * (rank - len(y)) + y
    return tuple(max(i, j) for i, j in zip(x, y))


def _matmul(ctx: _Context, node: NodeProto) -> None:
    """``MatMul``: ``linear`` when an operand is constant (per-slice weights counted), else ``matmul``."""
    ba, bb, m, k, n = _matmul_operands(ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1]))
    heads = math.prod(_broadcast(ba, bb))
    if node.input[1] in ctx.static:
        entry = _linear(ctx, node, k, n, heads * m // math.prod(bb), math.prod(bb))
    elif node.input[0] in ctx.static:
        entry = _linear(ctx, node, k, m, heads * n // math.prod(ba), math.prod(ba))
    else:
        entry = _act_matmul(ctx, node, math.prod(ba), math.prod(bb), heads, m, n, k)
    _emit(ctx, node, entry, mac=True)
