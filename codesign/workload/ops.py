"""Builders from a model file's layer entry (op + shape) to the IR.

MAC operators (:class:`~codesign.workload.ir.Layer`):

- ``conv2d``: C, K, H, W, R, S, stride, pad, dilation, groups, bias. ``stride``/``dilation``
  take an int or ``[h, w]``; ``pad`` an int, ``[h, w]`` or ``[top, left, bottom, right]``
  (ONNX order). Depthwise is ``groups == C == K``.
- ``linear``: in, out, tokens, bias (weights shared by all ``tokens x batch`` rows).
- ``matmul``: activation x activation, e.g. attention: M, N, K, heads, kv_heads (grouped-query
  attention: the B operand is shared by ``heads / kv_heads`` query heads).

Vector operators (:class:`~codesign.workload.ir.VectorOp`): ``relu``, ``gelu``, ``silu``,
``sigmoid``, ``add``, ``mul``, ``softmax``, ``layernorm``, ``rmsnorm`` over ``elements``;
``maxpool`` / ``avgpool`` over a C, H, W input with window R, S; ``globalavgpool`` over C, H, W.
Operations per element are estimates (documented in docs/workloads.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codesign.workload.ir import Layer, Tensor, VectorOp

Shape = dict[str, Any]


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError(f"{name} takes one integer or [h, w], got {list(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _pads(v: Any) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from an int, [h, w] or [top, left, bottom, right]."""
    if isinstance(v, (list, tuple)):
        if len(v) == 2:
            return int(v[0]), int(v[1]), int(v[0]), int(v[1])
        if len(v) == 4:
            return int(v[0]), int(v[1]), int(v[2]), int(v[3])
        raise ValueError(f"pad takes an integer, [h, w] or [top, left, bottom, right], got {list(v)}")
    return int(v), int(v), int(v), int(v)


def _window_out(size: int, pad: int, kernel: int, stride: int, dilation: int, axis: str) -> int:
    out = (size + pad - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError(f"the kernel ({kernel} with dilation {dilation}) does not fit the input {axis} of {size} (+{pad} padding)")
    return out


def conv2d(name: str, a: Shape, batch: int, count: int, bits: int | None = None) -> Layer:
    """2-D convolution: dims N, G, K, C, P, Q, R, S with K and C per group.

    Weights[G,K,C,R,S], Inputs[N,G,C,sh*P+dh*R,sw*Q+dw*S], Outputs[N,G,K,P,Q].
    """
    groups = a.get("groups", 1)
    if a["C"] % groups or a["K"] % groups:
        raise ValueError(f"C={a['C']} and K={a['K']} must be divisible by groups={groups}")
    R = a.get("R", 1)
    S = a.get("S", R)
    sh, sw = _pair(a.get("stride", 1), "stride")
    dh, dw = _pair(a.get("dilation", 1), "dilation")
    top, left, bottom, right = _pads(a.get("pad", 0))
    H = a["H"]
    W = a.get("W", H)
    P = _window_out(H, top + bottom, R, sh, dh, "height")
    Q = _window_out(W, left + right, S, sw, dw, "width")
    N, G, K, C = batch, groups, a["K"] // groups, a["C"] // groups
    dims = ("N", "G", "K", "C", "P", "Q", "R", "S")
    n, g, k, c, p, q, r, s = range(8)
    tensors = (
        Tensor("Weights", "weights", (((g, 1),), ((k, 1),), ((c, 1),), ((r, 1),), ((s, 1),)), bits),
        Tensor("Inputs", "inputs", (((n, 1),), ((g, 1),), ((c, 1),), ((p, sh), (r, dh)), ((q, sw), (s, dw)))),
        Tensor("Outputs", "outputs", (((n, 1),), ((g, 1),), ((k, 1),), ((p, 1),), ((q, 1),))),
    )
    params = G * K * C * R * S + (a["K"] if a.get("bias", 0) else 0)
    return Layer(name, "conv2d", dims, (N, G, K, C, P, Q, R, S), tensors, count, params)


def _gemm(name: str, op: str, B: int, G: int, H: int, M: int, N: int, K: int, count: int, params: int,
          bits: int | None) -> Layer:
    """Z[B,G,H,M,N] = A[B,G,H,M,K] x W[B,G,K,N]: the W operand is shared across the H heads of a group."""
    dims = ("B", "G", "H", "M", "N", "K")
    b, g, h, m, n, k = range(6)
    tensors = (
        Tensor("W", "weights", (((b, 1),), ((g, 1),), ((k, 1),), ((n, 1),)), bits),
        Tensor("A", "inputs", (((b, 1),), ((g, 1),), ((h, 1),), ((m, 1),), ((k, 1),))),
        Tensor("Z", "outputs", (((b, 1),), ((g, 1),), ((h, 1),), ((m, 1),), ((n, 1),))),
    )
    return Layer(name, op, dims, (B, G, H, M, N, K), tensors, count, params)


def linear(name: str, a: Shape, batch: int, count: int, bits: int | None = None) -> Layer:
    """Fully connected: Z[M,N] = A[M,K] x W[K,N] with M = tokens x batch rows."""
    params = a["in"] * a["out"] + (a["out"] if a.get("bias", 0) else 0)
    return _gemm(name, "linear", 1, 1, 1, a.get("tokens", 1) * batch, a["out"], a["in"], count, params, bits)


def matmul(name: str, a: Shape, batch: int, count: int, bits: int | None = None) -> Layer:
    """Batched activation x activation per head; ``kv_heads`` < ``heads`` is grouped-query attention."""
    heads = a.get("heads", 1)
    kv = a.get("kv_heads", heads)
    if heads % kv:
        raise ValueError(f"heads={heads} must be a multiple of kv_heads={kv}")
    return _gemm(name, "matmul", batch, kv, heads // kv, a["M"], a["N"], a["K"], count, 0, bits)


# vector ops: (ops per output element, inputs read per output element) -- estimates, see docs/workloads.md
ELEMENTWISE: dict[str, tuple[float, float]] = {
    "relu": (1, 1), "gelu": (8, 1), "silu": (4, 1), "sigmoid": (4, 1), "add": (1, 2), "mul": (1, 2),
    "softmax": (5, 1), "layernorm": (8, 1), "rmsnorm": (5, 1),
}


def elementwise(op: str) -> Callable[..., VectorOp]:
    def build(name: str, a: Shape, batch: int, count: int, bits: int | None = None) -> VectorOp:
        ops, reads = ELEMENTWISE[op]
        n = a["elements"] * batch
        return VectorOp(name, op, n, ops, int(n * reads), count, bool(a.get("fused", 0)), bits)
    build.__doc__ = f"{op}: {ELEMENTWISE[op][0]} operation(s) per element."
    return build


def pool(op: str) -> Callable[..., VectorOp]:
    def build(name: str, a: Shape, batch: int, count: int, bits: int | None = None) -> VectorOp:
        C, H = a["C"], a["H"]
        W = a.get("W", H)
        if op == "globalavgpool":
            return VectorOp(name, op, C * batch, H * W, C * H * W * batch, count, False, bits)
        R = a.get("R", 1)
        S = a.get("S", R)
        sh, sw = _pair(a.get("stride", 1), "stride")
        top, left, bottom, right = _pads(a.get("pad", 0))
        P = _window_out(H, top + bottom, R, sh, 1, "height")
        Q = _window_out(W, left + right, S, sw, 1, "width")
        return VectorOp(name, op, C * P * Q * batch, R * S, C * H * W * batch, count, False, bits)
    build.__doc__ = f"{op} over a C x H x W input."
    return build


OPS: dict[str, Callable[..., Layer | VectorOp]] = {
    "conv2d": conv2d, "linear": linear, "matmul": matmul,
    **{op: elementwise(op) for op in ELEMENTWISE},
    **{op: pool(op) for op in ("maxpool", "avgpool", "globalavgpool")},
}
_CONV = ("C", "K", "H", "W", "R", "S", "stride", "pad", "dilation", "groups", "bias")
OP_KEYS: dict[str, tuple[str, ...]] = {
    "conv2d": _CONV, "linear": ("in", "out", "tokens", "bias"), "matmul": ("M", "N", "K", "heads", "kv_heads"),
    **{op: ("elements", "fused") for op in ELEMENTWISE},
    "maxpool": ("C", "H", "W", "R", "S", "stride", "pad"), "avgpool": ("C", "H", "W", "R", "S", "stride", "pad"),
    "globalavgpool": ("C", "H", "W"),
}
OP_REQUIRED: dict[str, tuple[str, ...]] = {
    "conv2d": ("C", "K", "H"), "linear": ("in", "out"), "matmul": ("M", "N", "K"),
    **{op: ("elements",) for op in ELEMENTWISE},
    "maxpool": ("C", "H", "R"), "avgpool": ("C", "H", "R"), "globalavgpool": ("C", "H"),
}
MAC_OPS = ("conv2d", "linear", "matmul")
