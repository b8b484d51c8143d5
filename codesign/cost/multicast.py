"""Distinct spatial children (multicast and spatial reduction), partitions, per chunk.

Semantics of :func:`codesign.cost.accesses.distinct_children` and ``partition_words``:
children of the fanouts between a parent and a child level that need the same coordinates
share one parent access. Per fanout group (the fanouts directly above one level) and rank,
the children's offsets are ``sum_k u_k i_k`` (``u_k = coef x fanout step``, ``0 <= i_k < n_k``)
and their distinct values are counted exactly: with at most one factor ``n_k > 1`` that is
the product of the factors; with two, ``a b - max(0, a - v/g) max(0, b - u/g)`` (``g =
gcd(u, v)``); with more, by enumerating the distinct sums. Mappings are routed to the cheapest exact
form that applies to them. Along a *simple* rank (one dimension) the fanouts of a group unroll
the same dimension with nested steps (an outer fanout's step includes the inner fanouts'
factors), so every child is distinct along it: the count is the product of the factors.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from codesign.cost.chunk import Chunk
from codesign.cost.tensor_chunk import TensorChunk


def fanout_steps(ch: Chunk, dims: Iterable[int] | None = None) -> list[dict[int, np.ndarray]]:
    """Per fanout and dimension (``dims``, default all) ``[m]``: the step of its spatial loops
    (product of the factors inside it), as ``steps[s][d]``.

    Inside a fanout are all temporal loops of the levels below it, the fanouts of lower levels
    and, among fanouts directly above the same level, those listed after it (lower index outer).
    """
    L, D, _ = ch.temporal.shape
    wanted = range(D) if dims is None else sorted(set(dims))
    steps = []
    for s, at in enumerate(ch.fanout_at):
        inside = [ch.temporal[level] for level in range(at, L)]
        inside += [ch.spatial[s2] for s2, at2 in enumerate(ch.fanout_at) if at2 > at or (at2 == at and s2 > s)]
        per_dim = {}
        for d in wanted:
            step = np.ones_like(ch.temporal[0, 0]) if not inside else inside[0][d]
            for factors in inside[1:]:
                step = step * factors[d]
            per_dim[d] = step
        steps.append(per_dim)
    return steps


def _two_terms(u: np.ndarray, a: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distinct values of ``u i + v j`` (``0 <= i < a``, ``0 <= j < b``, ``u, v > 0``)."""
    g = np.gcd(u, v)
    return a * b - np.maximum(0, a - v // g) * np.maximum(0, b - u // g)


def _enumerated(terms: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Distinct values of ``sum_k u_k i_k``, one term at a time: the distinct sums so far are kept
    per mapping (padded with a value above every sum), so memory grows with the number of
    distinct values, not with the product of the ``n_k``."""
    m = len(terms[0][0])
    pad = sum(u * (n - 1) for u, n in terms).max() + 1            # above every sum
    sums = np.zeros((m, 1), dtype=terms[0][0].dtype)
    for u, n in terms:
        i = np.arange(int(n.max()), dtype=np.int64)
        grown = sums[:, :, None] + (u[:, None] * i)[:, None, :]                      # [m, len, n_max]
        valid = (sums != pad)[:, :, None] & (i < n[:, None])[:, None, :]
        grown = np.where(valid, grown, pad).reshape(m, -1)
        grown.sort(axis=1)
        grown[:, 1:][grown[:, 1:] == grown[:, :-1]] = pad
        grown.sort(axis=1)
        sums = grown[:, :int((grown != pad).sum(axis=1).max())]
    return (sums != pad).sum(axis=1)


def distinct_sums(terms: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Number of distinct values of ``sum_k u_k i_k``, ``0 <= i_k < n_k``, per mapping. ``[m]``."""
    product = terms[0][1]
    for _, n in terms[1:]:
        product = product * n
    if len(terms) == 1:
        return product
    many = (terms[0][1] > 1).astype(np.int8)
    for _, n in terms[1:]:
        many += n > 1
    count = product                                 # a new array: updated in place below
    two = np.flatnonzero(many == 2)
    if len(two):
        (u1, a1), (u2, a2) = _first_two_active([(u[two], n[two]) for u, n in terms])
        count[two] = _two_terms(u1, a1, u2, a2)
    more = np.flatnonzero(many > 2)
    if len(more):
        count[more] = _enumerated([(u[more], n[more]) for u, n in terms])
    return count


def _first_two_active(terms: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first and second terms with ``n > 1`` of each mapping (every mapping has two).

    Terms stacked ``[T, k]``; the first and second are the smallest and largest index of a term
    with ``n > 1`` (reductions across rows): a constant number of numpy calls (the mappings
    with two factors on a rank are few; the call count is what costs).
    """
    if len(terms) == 2:
        return terms
    u = np.stack([t[0] for t in terms])
    n = np.stack([t[1] for t in terms])
    live = n > 1
    index = np.arange(len(terms))[:, None]
    column = np.arange(n.shape[1])
    first = np.where(live, index, len(terms)).min(axis=0)
    second = np.where(live, index, -1).max(axis=0)
    return [(u[first, column], n[first, column]), (u[second, column], n[second, column])]


def group_products(ch: Chunk, group: list[int]) -> np.ndarray:
    """Per dimension ``[D, m]``: the product of the spatial factors of the fanouts in ``group``."""
    out = ch.spatial[group[0]]
    for s in group[1:]:
        out = out * ch.spatial[s]
    return out


def distinct_children(tc: TensorChunk, steps: list[np.ndarray], products: dict[int, np.ndarray], parent: int,
                      child: int) -> np.ndarray | None:
    """Distinct tiles of the tensor among the spatial children of one parent instance (``None``: 1). ``[m]``.

    ``steps``: :func:`fanout_steps` (at least of the window ranks' dimensions); ``products[at]``:
    :func:`group_products` of the fanouts directly above level ``at``.
    """
    tab, ch = tc.tab, tc.ch
    count = None
    for at in sorted({at for at in ch.fanout_at if parent < at <= child}):
        group = [s for s, a in enumerate(ch.fanout_at) if a == at]
        for r in tc.simple:
            d = tab.terms[r][0][0]
            count = products[at][d] if count is None else count * products[at][d]
        for r in tab.window:
            terms = [(steps[s][d] * c if c != 1 else steps[s][d], ch.spatial[s, d])
                     for s in group for d, c in tab.terms[r]]
            sums = distinct_sums(terms)
            count = sums if count is None else count * sums
    return count


def partition_words(tc: TensorChunk, level: int) -> np.ndarray:
    """Timeloop's partition of the tensor at one instance of ``level`` (words). ``[m]``.

    Level 0 holds the whole tensor; at each fanout group directly above a level ``a <= level``
    the partition is scaled (integer arithmetic, as Timeloop's ``ComputePartitionSizes``) by the
    tile words of ``a`` over the words of the group's union of tiles.
    """
    ch, tab = tc.ch, tc.tab
    words = tc.tile(0)
    for at in sorted({at for at in ch.fanout_at if 0 < at <= level}):
        group = [s for s, a in enumerate(ch.fanout_at) if a == at]
        union = None                           # words of the union: rank extents of extent x spread
        for r in tc.simple + tab.window:       # (ranks along dimensions of bound 1 have extent 1)
            extent = None
            for d, c in tab.terms[r]:
                spread = ch.extent[at, d]
                for s in group:
                    spread = spread * ch.spatial[s, d]
                term = spread - 1 if c == 1 else (spread - 1) * c
                extent = term + 1 if extent is None else extent + term
            union = extent if union is None else union * extent
        if union is not None:                  # int64: words x tile can exceed int32's headroom
            words = words.astype(np.int64) * tc.tile(at) // union
    return words


__all__ = ["distinct_children", "distinct_sums", "fanout_steps", "group_products", "partition_words"]
