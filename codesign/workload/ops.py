"""Builders from a model file's layer entry (op + shape) to an IR :class:`Layer`.

Supported ops: ``conv2d`` (with ``groups``: depthwise when groups == channels), ``linear``
(fully connected over ``tokens`` rows), ``matmul`` (activation x activation, e.g. attention,
with ``heads`` as the batched dimension). Pooling, normalization and element-wise ops carry no
MACs and are not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from codesign.workload.ir import Layer, Tensor


def conv2d(name: str, a: dict[str, int], batch: int, count: int) -> Layer:
    """2-D convolution. Keys: C, K, H, W (input size), R, S, stride, pad, dilation, groups, bias.

    Dimensions N, G, K, C, P, Q, R, S with K and C per group:
    Weights[G,K,C,R,S], Inputs[N,G,C,sP+dR,sQ+dS], Outputs[N,G,K,P,Q].
    """
    groups = a.get("groups", 1)
    if a["C"] % groups or a["K"] % groups:
        raise ValueError(f"C={a['C']} and K={a['K']} must be divisible by groups={groups}")
    R, S = a.get("R", 1), a.get("S", a.get("R", 1))
    stride, dil, pad = a.get("stride", 1), a.get("dilation", 1), a.get("pad", 0)
    H, W = a["H"], a.get("W", a["H"])
    P = (H + 2 * pad - dil * (R - 1) - 1) // stride + 1
    Q = (W + 2 * pad - dil * (S - 1) - 1) // stride + 1
    if P < 1 or Q < 1:
        raise ValueError(f"the kernel {R}x{S} does not fit the {H}x{W} input")
    N, G, K, C = batch, groups, a["K"] // groups, a["C"] // groups
    dims = ("N", "G", "K", "C", "P", "Q", "R", "S")
    n, g, k, c, p, q, r, s = range(8)
    tensors = (
        Tensor("Weights", "weights", (((g, 1),), ((k, 1),), ((c, 1),), ((r, 1),), ((s, 1),))),
        Tensor("Inputs", "inputs", (((n, 1),), ((g, 1),), ((c, 1),), ((p, stride), (r, dil)), ((q, stride), (s, dil)))),
        Tensor("Outputs", "outputs", (((n, 1),), ((g, 1),), ((k, 1),), ((p, 1),), ((q, 1),))),
    )
    params = G * K * C * R * S + (a["K"] if a.get("bias", 0) else 0)
    return Layer(name, "conv2d", dims, (N, G, K, C, P, Q, R, S), tensors, count, params)


def _gemm(name: str, op: str, G: int, M: int, N: int, K: int, count: int, params: int) -> Layer:
    dims = ("G", "M", "N", "K")
    g, m, n, k = range(4)
    tensors = (
        Tensor("B", "weights", (((g, 1),), ((k, 1),), ((n, 1),))),
        Tensor("A", "inputs", (((g, 1),), ((m, 1),), ((k, 1),))),
        Tensor("Z", "outputs", (((g, 1),), ((m, 1),), ((n, 1),))),
    )
    return Layer(name, op, dims, (G, M, N, K), tensors, count, params)


def linear(name: str, a: dict[str, int], batch: int, count: int) -> Layer:
    """Fully connected: Z[M,N] = A[M,K] x B[K,N] with M = tokens x batch. Keys: in, out, tokens, bias."""
    M = a.get("tokens", 1) * batch
    params = a["in"] * a["out"] + (a["out"] if a.get("bias", 0) else 0)
    return _gemm(name, "linear", 1, M, a["out"], a["in"], count, params)


def matmul(name: str, a: dict[str, int], batch: int, count: int) -> Layer:
    """Activation x activation (attention): per head G, Z[M,N] = A[M,K] x B[K,N]. Keys: M, N, K, heads."""
    return _gemm(name, "matmul", a.get("heads", 1) * batch, a["M"], a["N"], a["K"], count, 0)


OPS: dict[str, Callable[[str, dict[str, int], int, int], Layer]] = {
    "conv2d": conv2d, "linear": linear, "matmul": matmul,
}
OP_KEYS: dict[str, tuple[str, ...]] = {
    "conv2d": ("C", "K", "H", "W", "R", "S", "stride", "pad", "dilation", "groups", "bias"),
    "linear": ("in", "out", "tokens", "bias"),
    "matmul": ("M", "N", "K", "heads"),
}
OP_REQUIRED: dict[str, tuple[str, ...]] = {"conv2d": ("C", "K", "H"), "linear": ("in", "out"), "matmul": ("M", "N", "K")}

