"""Operator IR: a layer is a loop nest over named dimensions; tensors are projections.

A tensor's rank (one coordinate axis) is an affine sum of dimensions, e.g. the input row of
a strided convolution is ``stride*P + dilation*R``: ``((P, stride), (R, dilation))``. This is
the einsum/affine form Timeloop uses, so one cost model serves convolutions, depthwise
convolutions, GEMMs and attention alike.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Literal

Role = Literal["weights", "inputs", "outputs"]
ROLES: tuple[Role, ...] = ("weights", "inputs", "outputs")


@dataclass(frozen=True)
class Tensor:
    """A tensor of a layer: its role and one affine projection per rank (dim index, coefficient).

    ``bits`` overrides the accelerator's precision for this tensor (e.g. 4-bit weights).
    """

    name: str
    role: Role
    ranks: tuple[tuple[tuple[int, int], ...], ...]
    bits: int | None = None

    def relevant(self, n_dims: int) -> tuple[bool, ...]:
        """Which dimensions index this tensor."""
        used = {d for rank in self.ranks for d, _ in rank}
        return tuple(i in used for i in range(n_dims))

    def size(self, bounds: tuple[int, ...]) -> int:
        """Number of elements (words) the tensor holds for loop bounds ``bounds``."""
        return math.prod(1 + sum(c * (bounds[d] - 1) for d, c in rank) for rank in self.ranks)


@dataclass(frozen=True)
class Layer:
    """One operator instance: a perfect loop nest of multiply-accumulates.

    ``dims`` names the loop dimensions, ``bounds`` their trip counts; ``tensors`` are the
    weights, inputs and outputs (in that order); ``count`` is how many times the identical
    layer occurs in the model (identical layers are evaluated once).
    """

    name: str
    op: str
    dims: tuple[str, ...]
    bounds: tuple[int, ...]
    tensors: tuple[Tensor, Tensor, Tensor]
    count: int = 1
    params: int = 0

    def __hash__(self) -> int:
        # the mapper's memo keys hash a layer thousands of times per design: hash the fields once
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.name, self.op, self.dims, self.bounds, self.tensors, self.count, self.params))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}   # string hashes differ per process

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one occurrence."""
        return math.prod(self.bounds)

    @property
    def key(self) -> tuple:
        """Identity for deduplication: same op, loop bounds and projections."""
        return (self.op, self.dims, self.bounds, self.tensors)

    @property
    def structure(self) -> tuple:
        """The loop structure: number of dimensions and each tensor's role, projections and
        precision. Layers with the same structure differ only in bounds, count and name; the
        mapper's traffic bounds and the cost core's usage counting depend on a layer only
        through it, so such layers share one kernel call (:func:`codesign.compiler.search.search_many`)."""
        return (len(self.dims), tuple((t.role, t.ranks, t.bits) for t in self.tensors))

    def tensor(self, role: Role) -> Tensor:
        return self.tensors[ROLES.index(role)]

    def describe(self) -> str:
        return f"{self.op} " + " ".join(f"{d}={b}" for d, b in zip(self.dims, self.bounds) if b > 1)

    def canonical(self) -> "Layer":
        """The same computation without name and count: identical layers compare equal."""
        return Layer("", self.op, self.dims, self.bounds, self.tensors, 1, self.params)


@dataclass(frozen=True)
class VectorOp:
    """A non-MAC operator (activation, element-wise, pooling, softmax, normalization).

    Costed on the accelerator's vector unit by its element counts: ``elements`` outputs, each
    needing ``ops_per_element`` vector operations and reading ``inputs_per_element`` input
    elements on average. ``fused`` ops are applied to their producer's output on the fly and
    move no data to or from DRAM.
    """

    name: str
    op: str
    elements: int
    ops_per_element: float
    input_elements: int
    count: int = 1
    fused: bool = False
    bits: int | None = None

    @property
    def ops(self) -> float:
        """Vector operations of one occurrence."""
        return self.elements * self.ops_per_element

    @property
    def key(self) -> tuple:
        return (self.op, self.elements, self.ops_per_element, self.input_elements, self.fused, self.bits)

    def describe(self) -> str:
        return f"{self.op} {self.elements} elements" + (" (fused)" if self.fused else "")


@dataclass(frozen=True)
class Workload:
    """A model at a given batch size / sequence length: its unique layers with counts."""

    name: str
    model: str
    layers: tuple[Layer, ...]
    weight: float = 1.0
    batch: int = 1
    vector_ops: tuple[VectorOp, ...] = ()
    family: str = ""
    source: str = ""
    symbols: tuple[tuple[str, int], ...] = ()   # the model's params after overrides

    @functools.cached_property
    def total_macs(self) -> int:
        """MACs of one inference (computed once: a search's pruning asks before every layer)."""
        return sum(layer.macs * layer.count for layer in self.layers)

    @property
    def total_params(self) -> int:
        return sum(layer.params * layer.count for layer in self.layers)


def deduplicate(layers: list[Layer] | list[VectorOp]) -> tuple:
    """Merge identical layers (same ``key``) into one with the summed count, first name kept."""
    merged: dict[tuple, Layer | VectorOp] = {}
    for layer in layers:
        if layer.key in merged:
            first = merged[layer.key]
            merged[layer.key] = replace(first, count=first.count + layer.count)
        else:
            merged[layer.key] = layer
    return tuple(merged.values())
