"""Convolution converters: ONNX ``Conv`` and ``ConvTranspose`` to model-file ``conv2d`` entries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.interop.onnx_graph import Entry, Shape, _attrs, _Context, _emit, _has_input
from codesign.interop.onnx_windows import _spatial_rank, _Window, _window_keys, _windows

if TYPE_CHECKING:
    from onnx import NodeProto


def _conv(ctx: _Context, node: NodeProto) -> None:
    """``Conv``: X[N, C, H, W] * W[K, C/group, R, S] -> ``conv2d``."""
    xs, ws = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    group = int(a.get("group", 1))
    C, K = xs[1], ws[0]
    if C % group or K % group:
        raise CodesignError(f"group={group} must divide the input channels (C={C}) and the output channels (K={K})",
                            ctx.at(node))
    if ws[1] * group != C:
        raise CodesignError(f"the weight has {ws[1]} input channels per group, but C/group = {C}/{group} = "
                            f"{C // group}", ctx.at(node))
    out = ctx.shape(node, node.output[0])
    h, w = _windows(ctx, node, a, xs[2:], ws[2:], out[2:], dilated=True)
    entry: Entry = {"name": node.name, "op": "conv2d", "C": C, "K": K, **_window_keys(h, w, dilation=True)}
    if group != 1:
        entry["groups"] = group
    if _has_input(node, 2):
        entry["bias"] = 1
    _emit(ctx, node, entry, mac=True)


def _conv_transpose(ctx: _Context, node: NodeProto) -> None:
    """``ConvTranspose``: X[N, C, H, W] with W[C, K/group, R, S] -> the ``conv2d`` that computes the same."""
    xs, ws = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    n = _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    group = int(a.get("group", 1))
    C, K = xs[1], ws[1] * group
    if C % group:
        raise CodesignError(f"group={group} must divide the input channels (C={C})", ctx.at(node))
    kernel = [int(k) for k in a.get("kernel_shape", ws[2:])]
    strides = [int(s) for s in a.get("strides", [1] * n)]
    dilations = [int(d) for d in a.get("dilations", [1] * n)]
    out = ctx.shape(node, node.output[0])
    if all(s == 1 for s in strides):
        keys, k_out = _transpose_as_conv(ctx, node, a, xs[2:], kernel, dilations, out[2:]), K
    elif kernel == strides and not any(a.get("pads", [])) and set(dilations) == {1} \
            and all(o == s * k for o, s, k in zip(out[2:], xs[2:], strides)):
        keys, k_out = _transpose_as_pointwise(ctx, node, xs[2:], strides), K * math.prod(strides)
    else:
        raise CodesignError(f"ConvTranspose with strides {strides} and kernel {kernel} has no conv2d equivalent (a "
                            "direct convolution would count the inserted zeros); supported: stride 1, or kernel == "
                            "stride without padding", ctx.at(node))
    entry: Entry = {"name": node.name, "op": "conv2d", "C": C, "K": k_out, **keys}
    if group != 1:
        entry["groups"] = group
    if _has_input(node, 2) and k_out == K:
        entry["bias"] = 1
    _emit(ctx, node, entry, mac=True)


def _transpose_as_conv(ctx: _Context, node: NodeProto, a: Mapping[str, Any], sizes: Shape, kernel: list[int],
                       dilations: list[int], outs: Shape) -> Entry:
    """Stride-1 transposed convolution = direct convolution padded by dilation·(kernel-1) - pad."""
    n = len(sizes)
    begins = list(a.get("pads", [0] * 2 * n))[:n]
    windows = []
    for size, k, d, b, o in zip(sizes, kernel, dilations, begins, outs):
        total = o - size + d * (k - 1)
        if total < 0:
            raise CodesignError(f"output size {o} is smaller than a valid convolution allows", ctx.at(node))
        begin = min(total, max(0, d * (k - 1) - int(b)))
        windows.append(_Window(size, k, 1, d, begin, total - begin))
    if n == 1:
        windows.insert(0, _Window(1, 1, 1, 1, 0, 0))
    return _window_keys(windows[0], windows[1], dilation=True)


def _transpose_as_pointwise(ctx: _Context, node: NodeProto, sizes: Shape, strides: list[int]) -> Entry:
    """Kernel == stride, no padding: each input pixel writes its own output block (a 1x1 conv2d's H, W, R, S)."""
    H, W = (1, sizes[0]) if len(sizes) == 1 else sizes
    if _has_input(node, 2):
        ctx.notes.append(f"{ctx.at(node)}: imported as a 1x1 conv2d with {math.prod(strides)}x the output channels; "
                         "its bias is not counted as parameters")
    return {"H": H, "W": W, "R": 1, "S": 1}
