"""Tiles and capacity: the integer arithmetic every mapping generator shares.

- :func:`squeeze` drops the loop dimensions of bound 1 (a conv's N and G at batch 1, a
  linear layer's B, G, H): they never carry a loop, and the cost core's work grows with the
  number of dimensions, so the mapper searches the squeezed layer and :func:`expand` puts
  the dimensions back (factor 1) into the :class:`~codesign.compiler.mapping.Mapping`.
- :func:`level_extents` gives each level's tile extent per dimension (temporal factors of the
  level and every level inside it, times the spatial fanouts below it), :func:`tile_words` a
  tensor's tile in words (the bounding box of an affine projection, as the cost core counts
  it), :func:`capacity_bytes` / :func:`fits` whether a batch of tilings fits every level
  (double-buffered levels need twice their tiles), vectorized over candidates.
- :func:`divisors`, :func:`factorizations` and :class:`Lattice` enumerate tile factors.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer, Tensor


@dataclass(frozen=True)
class Squeezed:
    """A layer without its bound-1 dimensions; ``keep[i]`` is the full-layer index of dimension ``i``."""

    layer: Layer
    keep: tuple[int, ...]
    full_dims: int

    def expand(self, values: np.ndarray, fill: int = 1) -> np.ndarray:
        """``values[..., D']`` on the squeezed dimensions as ``[..., D]`` on the full layer's."""
        out = np.full(values.shape[:-1] + (self.full_dims,), fill, dtype=np.int64)
        out[..., list(self.keep)] = values
        return out

    def expand_order(self, perm: np.ndarray) -> np.ndarray:
        """A loop order ``[..., D']`` (innermost first) on the full layer: dropped dims outermost."""
        dropped = [d for d in range(self.full_dims) if d not in self.keep]
        keep = np.array(self.keep, dtype=np.int64)
        tail = np.broadcast_to(np.array(dropped, dtype=np.int64), perm.shape[:-1] + (len(dropped),))
        return np.concatenate([keep[perm], tail], axis=-1)


@functools.lru_cache(maxsize=4096)
def squeeze(layer: Layer) -> Squeezed:
    """``layer`` without dimensions of bound 1 (at least one dimension is kept); cached (a design's
    layer bounds and searches squeeze the same layers again)."""
    keep = tuple(d for d, b in enumerate(layer.bounds) if b > 1) or (0,)
    index = {d: i for i, d in enumerate(keep)}
    tensors = tuple(
        replace(t, ranks=tuple(r for r in (tuple((index[d], c) for d, c in rank if d in index) for rank in t.ranks) if r))
        for t in layer.tensors)
    small = Layer(layer.name, layer.op, tuple(layer.dims[d] for d in keep), tuple(layer.bounds[d] for d in keep),
                  tensors, layer.count, layer.params)  # type: ignore[arg-type]
    return Squeezed(small, keep, len(layer.dims))


@functools.lru_cache(maxsize=4096)
def coefficients(tensor: Tensor, n_dims: int) -> np.ndarray:
    """``C[r, d]``: coefficient of dimension d in rank r of ``tensor`` (stride, dilation or 1); read-only, cached."""
    c = np.zeros((max(1, len(tensor.ranks)), n_dims), dtype=np.int64)
    for r, rank in enumerate(tensor.ranks):
        for d, coef in rank:
            c[r, d] += coef
    c.flags.writeable = False
    return c


ROWS_BY_ENTRY = 512
"""Below this many results (twice as many for :func:`any_over` and :func:`tile_words`, whose numpy
forms cost less), a reduction along a short trailing axis is left to numpy (fewer calls); from it
on, they go entry by entry, several times faster on the thousands of rows a tiling batch has
(``python benchmarks/short_axis.py``)."""


def prod_over(a: np.ndarray, dims: np.ndarray | range | None = None) -> np.ndarray:
    """``np.prod(a[..., dims], axis=-1)`` of an integer array (every dimension when ``dims`` is None),
    on many rows one product per dimension: numpy's reduction along a short trailing axis costs
    several times more, and integer products do not depend on their order. A new array."""
    if a.size < ROWS_BY_ENTRY * max(1, a.shape[-1]):
        return np.prod(a if dims is None else a[..., np.asarray(dims, dtype=np.int64)], axis=-1)
    out = None
    for d in range(a.shape[-1]) if dims is None else dims:
        out = a[..., d].copy() if out is None else out * a[..., d]
    return np.ones(a.shape[:-1], dtype=a.dtype) if out is None else out


def any_over(a: np.ndarray) -> np.ndarray:
    """``a.any(axis=-1)`` of a boolean array, on many rows one ``|`` per entry of the short trailing
    axis (numpy's reduction along it costs several times more)."""
    if a.size < 2 * ROWS_BY_ENTRY * max(1, a.shape[-1]):
        return a.any(axis=-1)
    out = np.zeros(a.shape[:-1], dtype=bool)
    for k in range(a.shape[-1]):
        out |= a[..., k]
    return out


def tile_words(coef: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """Words of a tile with per-dimension ``extent[..., D]``: product over ranks of ``1 + sum c (e - 1)``
    (rank by rank over the few dimensions each names: a matrix product and a reduction along the
    short rank axis cost several times more; on few rows, that form makes fewer calls)."""
    if extent.size < 2 * ROWS_BY_ENTRY * max(1, extent.shape[-1]):
        return np.prod(1 + (extent - 1) @ coef.T, axis=-1)
    words = None
    for row in coef:
        span = None
        for d in np.flatnonzero(row):
            term = extent[..., d] - 1 if row[d] == 1 else (extent[..., d] - 1) * row[d]
            span = term if span is None else span + term
        rank = np.ones(extent.shape[:-1], dtype=extent.dtype) if span is None else span + 1
        words = rank if words is None else words * rank
    return words


def level_extents(temporal: np.ndarray, array: np.ndarray, lanes: np.ndarray, array_above: int) -> np.ndarray:
    """Tile extent per level and dimension ``[M, L, D]`` (per instance: fanouts above a level excluded).

    ``temporal[M, L, D]``; ``array[M, D]`` (rows x cols factors, the fanout directly above level
    ``array_above``); ``lanes[M, D]`` (the fanout above the MACs, inside every level).
    """
    inner = np.cumprod(temporal[:, ::-1, :], axis=1)[:, ::-1, :] * lanes[:, None, :]
    L = temporal.shape[1]
    below_array = (np.arange(L) < array_above)[None, :, None]
    return np.where(below_array, inner * array[:, None, :], inner)


def capacity_bytes(layer: Layer, acc: Accelerator, extent: np.ndarray) -> np.ndarray:
    """Bytes each level needs for its tiles ``[M, L]`` (x2 when double-buffered; 0 for unbounded levels)."""
    role_bytes = acc.layer_bytes(layer.tensors)
    D = extent.shape[-1]
    need = np.zeros(extent.shape[:-1], dtype=np.float64)
    for role, tensor in zip(ROLES, layer.tensors):
        held = np.array([role in lv.holds and lv.size_bytes is not None for lv in acc.levels])
        words = tile_words(coefficients(tensor, D), extent)
        need = need + np.where(held, words * role_bytes[ROLES.index(role)], 0.0)
    double = np.array([2.0 if lv.double_buffered else 1.0 for lv in acc.levels])
    return need * double


def capacity_at(layer: Layer, acc: Accelerator, extent: np.ndarray, lv: int) -> np.ndarray:
    """Bytes level ``lv`` needs for tiles of per-dimension ``extent[..., D]`` (see :func:`capacity_bytes`)."""
    level = acc.levels[lv]
    role_bytes = acc.layer_bytes(layer.tensors)
    need = np.zeros(extent.shape[:-1], dtype=np.float64)
    for r, (role, tensor) in enumerate(zip(ROLES, layer.tensors)):
        if role in level.holds and level.size_bytes is not None:
            need = need + tile_words(coefficients(tensor, extent.shape[-1]), extent) * role_bytes[r]
    return need * (2.0 if level.double_buffered else 1.0)


def level_limits(acc: Accelerator) -> np.ndarray:
    """Capacity in bytes per level (``inf`` for unbounded levels)."""
    return np.array([lv.size_bytes if lv.size_bytes is not None else np.inf for lv in acc.levels], dtype=np.float64)


def fits(layer: Layer, acc: Accelerator, extent: np.ndarray) -> np.ndarray:
    """Whether every level's tiles fit its capacity, ``[M]`` for ``extent[M, L, D]``."""
    return np.all(capacity_bytes(layer, acc, extent) <= level_limits(acc), axis=-1)


@functools.lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    """Divisors of ``n`` in increasing order."""
    small = [f for f in range(1, math.isqrt(n) + 1) if n % f == 0]
    return tuple(sorted(set(small + [n // f for f in small])))


@functools.lru_cache(maxsize=4096)
def factorizations(n: int, parts: int) -> np.ndarray:
    """All ordered ways to write ``n`` as a product of ``parts`` factors, ``[count, parts]``."""
    if parts == 1:
        return np.array([[n]], dtype=np.int64)
    rows = [(f, *rest) for f in divisors(n) for rest in factorizations(n // f, parts - 1)]
    return np.array(rows, dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def multiples(n: int) -> np.ndarray:
    """``[k, k]``: whether divisor ``j`` of ``n`` is a multiple of divisor ``i`` (divisors ascending)."""
    d = np.array(divisors(n), dtype=np.int64)
    return d[None, :] % d[:, None] == 0


@functools.lru_cache(maxsize=4096)
def _prime_digit_steps(n: int) -> tuple[np.ndarray, ...]:
    """Per prime ``p`` of ``n``: for each divisor index ``i``, the index of ``divisor * p`` (or -1)."""
    d = list(divisors(n))
    primes = [f for f in d if f > 1 and all(f % g for g in range(2, math.isqrt(f) + 1))]
    return tuple(np.array([d.index(x * p) if n % (x * p) == 0 else -1 for x in d], dtype=np.int64) for p in primes)


class Lattice:
    """The divisor lattice of a bound vector ``q``: every tile ``c`` with ``c[d] | q[d]``.

    Points are numbered in mixed radix (dimension 0 most significant) over each dimension's
    divisors in increasing order, so moving along a dimension is adding a multiple of its
    stride to the index. Build one with :func:`lattice` (cached per ``q``).
    """

    def __init__(self, q: tuple[int, ...]) -> None:
        self.q = q
        self.divs = [np.array(divisors(x), dtype=np.int64) for x in q]
        self.radix = np.array([len(v) for v in self.divs], dtype=np.int64)
        self.size = int(np.prod(self.radix))
        self.stride = np.concatenate([np.cumprod(self.radix[::-1])[::-1][1:], [1]]).astype(np.int64)
        self.digits = np.indices(tuple(self.radix)).reshape(len(q), -1).T.copy()
        self.points = np.stack([self.divs[d][self.digits[:, d]] for d in range(len(q))], axis=1)

    @functools.cached_property
    def prime_steps(self) -> np.ndarray:
        """``[size, n]``: per dimension and prime ``p`` of ``q[d]``, the index of ``c`` with ``c[d] * p``
        (or -1 when that no longer divides ``q``)."""
        steps = [np.full(self.size, -1, dtype=np.int64)]
        here = np.arange(self.size)
        for d, q in enumerate(self.q):
            for table in _prime_digit_steps(q):
                to = table[self.digits[:, d]]
                steps.append(np.where(to >= 0, here + (to - self.digits[:, d]) * self.stride[d], -1))
        return np.stack(steps, axis=1)

    @functools.cached_property
    def step_dims(self) -> np.ndarray:
        """``[n]``: the dimension each column of :attr:`prime_steps` grows (-1 for the first, empty one)."""
        return np.array([-1] + [d for d, q in enumerate(self.q) for _ in _prime_digit_steps(q)], dtype=np.int64)

    def maximal(self, member: np.ndarray) -> np.ndarray:
        """Members of the down-set ``member[size]`` that no prime step (``c[d] * p``) keeps a member.

        These are the tiles that cannot take one more prime factor from an enclosing level and
        still fit.
        """
        up = self.prime_steps
        return member & ~any_over((up >= 0) & member[np.maximum(up, 0)])

    def grow(self, member: np.ndarray, start: np.ndarray, dims: np.ndarray) -> np.ndarray:
        """From each index ``start[N]``, grow dimensions ``dims`` in turn to their largest multiple
        that keeps a member (``member[size]``); returns the indices reached."""
        cur = start.copy()
        for d in dims:
            digit = self.digits[cur, d]                                          # [N]
            moves = (np.arange(self.radix[d])[None, :] - digit[:, None]) * self.stride[d]
            target = cur[:, None] + moves
            ok = multiples(self.q[d])[digit] & member[np.clip(target, 0, self.size - 1)]
            best = np.where(ok.any(axis=1), self.radix[d] - 1 - np.argmax(ok[:, ::-1], axis=1), digit)
            cur = cur + (best - digit) * self.stride[d]
        return cur


@functools.lru_cache(maxsize=2048)
def lattice(q: tuple[int, ...]) -> Lattice:
    """The (cached) :class:`Lattice` of ``q`` (a design's layers and spatial choices need several
    hundred; designs sharing an array need the same ones again)."""
    return Lattice(q)
