"""Sliding-window geometry of convolution and pooling: padding, output size, model-file keys.

All values are in elements of one spatial axis. A 1-D window (N, C, W) becomes a 2-D one with
height 1, and the keys written to the model file are ``H, W, R, S`` plus the non-default
``stride``, ``pad`` and ``dilation``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError
from codesign.interop.onnx_graph import Entry, Shape, _Context

if TYPE_CHECKING:
    from onnx import NodeProto


@dataclass(frozen=True)
class _Window:
    """A sliding window along one spatial axis; all values in elements of that axis."""

    size: int
    kernel: int
    stride: int
    dilation: int
    begin: int
    end: int


def _spatial_rank(ctx: _Context, node: NodeProto, shape: Shape) -> int:
    """Spatial axes of an N, C, spatial... tensor: 1 or 2, else a CodesignError."""
    if len(shape) not in (3, 4):
        raise CodesignError(f"input of rank {len(shape)} {list(shape)}: only 1-D and 2-D (N, C, [H,] W) "
                            f"{node.op_type} maps to conv2d and pooling", ctx.at(node))
    return len(shape) - 2


def _pads(a: Mapping[str, Any], sizes: Shape, kernel: list[int], strides: list[int],
          dilations: list[int]) -> tuple[list[int], list[int]]:
    """Begin and end padding per spatial axis, in elements, from ``pads`` or ``auto_pad``."""
    n = len(sizes)
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        pads = list(a.get("pads", [0] * 2 * n))
        return pads[:n], pads[n:]
    if mode == "VALID":
        return [0] * n, [0] * n
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        total = max(0, (math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins, ends


def _fit_end(ctx: _Context, node: NodeProto, w: _Window, extent: int, out: int) -> _Window:
    """``w`` with the end padding that makes ``floor((size + pads - extent) / stride) + 1 == out``.

    ``extent`` is the window's span in elements. The attribute padding is kept when it already
    gives the inferred size ``out``; ``ceil_mode`` pooling gets the extra padding it implies.
    """
    if (w.size + w.begin + w.end - extent) // w.stride + 1 == out:
        return w
    end = w.stride * (out - 1) + extent - w.size - w.begin
    if end < 0:
        raise CodesignError(f"the inferred output size {out} does not follow from input {w.size}, window "
                            f"{extent}, stride {w.stride} and padding {w.begin}+{w.end}", ctx.at(node))
    return _Window(w.size, w.kernel, w.stride, w.dilation, w.begin, end)


def _windows(ctx: _Context, node: NodeProto, a: Mapping[str, Any], sizes: Shape, kernel: Iterable[int],
             outs: Shape, dilated: bool) -> tuple[_Window, _Window]:
    """The (height, width) windows of a 1-D or 2-D convolution/pooling; 1-D gets height 1."""
    n = len(sizes)
    kernel = [int(k) for k in a.get("kernel_shape", kernel)]
    strides = [int(s) for s in a.get("strides", [1] * n)]
    dilations = [int(d) for d in a.get("dilations", [1] * n)]
    begins, ends = _pads(a, sizes, kernel, strides, dilations)
    windows = []
    for i in range(n):
        w = _Window(sizes[i], kernel[i], strides[i], dilations[i], begins[i], ends[i])
        extent = dilations[i] * (kernel[i] - 1) + 1 if dilated else kernel[i]
        windows.append(_fit_end(ctx, node, w, extent, outs[i]))
    if n == 1:
        windows.insert(0, _Window(1, 1, 1, 1, 0, 0))
    return windows[0], windows[1]


def _compact(h: int, w: int) -> int | list[int]:
    """One integer when both axes agree, else ``[h, w]``."""
    return h if h == w else [h, w]


def _window_keys(h: _Window, w: _Window, dilation: bool) -> Entry:
    """H, W, R, S and the non-default stride, pad (one value, [h, w] or [top, left, bottom, right]) and dilation."""
    keys: Entry = {"H": h.size, "W": w.size, "R": h.kernel, "S": w.kernel}
    stride = _compact(h.stride, w.stride)
    if stride != 1:
        keys["stride"] = stride
    pads = [h.begin, w.begin, h.end, w.end]
    if any(pads):
        keys["pad"] = pads[0] if len(set(pads)) == 1 else pads[:2] if pads[:2] == pads[2:] else pads
    if dilation and _compact(h.dilation, w.dilation) != 1:
        keys["dilation"] = _compact(h.dilation, w.dilation)
    return keys
