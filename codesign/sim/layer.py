"""Layer shapes as a systolic array sees them: SCALE-Sim's convolution topology rows.

A layer is an IFMAP of ``ifmap_h x ifmap_w x channels`` words convolved with ``num_filters``
filters of ``filter_h x filter_w x channels`` at strides ``stride_h``, ``stride_w``; there is no
padding (pad the IFMAP size instead) and no batch. The array computes it as one GEMM
(SCALE-Sim, Samajdar et al., ISPASS 2020, section III):

- the OFMAP has ``ceil((ifmap_h - filter_h + stride_h) / stride_h)`` rows (likewise columns);
- ``ofmap_px`` = OFMAP rows x columns (the GEMM's M), ``num_filters`` its N and the window
  ``filter_h x filter_w x channels`` its K.

A GEMM ``M x K`` times ``K x N`` is the convolution of an ``M x K`` IFMAP with ``N`` filters of
``1 x K`` (SCALE-Sim's ``-i gemm`` rows), see :func:`gemm`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from codesign.workload.ir import Layer


@dataclass(frozen=True)
class ConvLayer:
    """One layer in SCALE-Sim's topology terms; every size in words (elements), strides in words."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride_h: int = 1
    stride_w: int = 1

    def __post_init__(self) -> None:
        for field in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride_h", "stride_w"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"{field} must be a positive integer, got {getattr(self, field)}")
        if self.filter_h > self.ifmap_h or self.filter_w > self.ifmap_w:
            raise ValueError(f"the {self.filter_h}x{self.filter_w} filter is larger than the "
                             f"{self.ifmap_h}x{self.ifmap_w} IFMAP")

    @property
    def ofmap_h(self) -> int:
        """OFMAP rows (SCALE-Sim rounds up: the last window may hang over the IFMAP edge)."""
        return math.ceil((self.ifmap_h - self.filter_h + self.stride_h) / self.stride_h)

    @property
    def ofmap_w(self) -> int:
        """OFMAP columns."""
        return math.ceil((self.ifmap_w - self.filter_w + self.stride_w) / self.stride_w)

    @property
    def ofmap_px(self) -> int:
        """OFMAP pixels per filter: the GEMM's M."""
        return self.ofmap_h * self.ofmap_w

    @property
    def window(self) -> int:
        """Words in one convolution window: the GEMM's K."""
        return self.filter_h * self.filter_w * self.channels

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return self.ofmap_px * self.num_filters * self.window


def gemm(name: str, m: int, n: int, k: int) -> ConvLayer:
    """The GEMM ``[M, K] x [K, N]`` as SCALE-Sim's ``-i gemm`` maps it: an ``M x K`` IFMAP, N ``1 x K`` filters."""
    return ConvLayer(name, m, k, 1, k, 1, n, 1, 1)


def from_ir(layer: Layer) -> ConvLayer:
    """A codesign conv2d or GEMM layer (:mod:`codesign.workload.ops`) as a :class:`ConvLayer`.

    Convolutions need batch 1, one group and no dilation; their padding is already in the output
    size, so the IFMAP becomes the ``(P-1)*stride + R`` rows (and columns) the windows cover.
    GEMMs (``linear`` with its tokens x batch rows as M, a single-head ``matmul``) map through
    :func:`gemm`. Raises ``ValueError`` for anything else.
    """
    bound = dict(zip(layer.dims, layer.bounds))
    if layer.op == "conv2d":
        if bound["N"] != 1 or bound["G"] != 1:
            raise ValueError(f"{layer.name}: a systolic layer has batch 1 and one group (N={bound['N']}, G={bound['G']})")
        rows, cols = layer.tensor("inputs").ranks[3], layer.tensor("inputs").ranks[4]
        (_, sh), (_, dh) = rows
        (_, sw), (_, dw) = cols
        if dh != 1 or dw != 1:
            raise ValueError(f"{layer.name}: dilated convolutions are not systolic layers here")
        P, Q, R, S = bound["P"], bound["Q"], bound["R"], bound["S"]
        return ConvLayer(layer.name, (P - 1) * sh + R, (Q - 1) * sw + S, R, S, bound["C"], bound["K"], sh, sw)
    if layer.op in ("linear", "matmul"):
        if bound["B"] * bound["G"] * bound["H"] != 1:
            raise ValueError(f"{layer.name}: a batched matmul is several GEMMs; simulate one head")
        return gemm(layer.name, bound["M"], bound["N"], bound["K"])
    raise ValueError(f"{layer.name}: {layer.op} is not a systolic layer (conv2d, linear, matmul)")
