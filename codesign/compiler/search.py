"""Best-first search over tilings with lower-bound pruning, then loop-order refinement.

For one (squeezed) layer on one accelerator:

1. **Spatial choices**: a shortlist (:mod:`codesign.compiler.shortlist`), each with a lower
   bound that holds for all its tilings, visited best bound first. A choice is tiled only when
   the search reaches its bound and the bound can still beat the best mapping costed so far
   (the best-bound choice first, alone: its best pairs give an early incumbent).
2. **Tilings**: the capacity-fitting, dominance-pruned tilings of the choices being tiled
   (:mod:`codesign.compiler.candidates`), remembered across accelerators with the same
   capacities (:mod:`codesign.compiler.memo`).
3. **Bounds**: every (tiling, per-level stationarity combination) pair gets a lower bound on
   energy and latency (:mod:`codesign.compiler.bounds`); pairs are visited best bound first,
   none past the bound of a choice not tiled yet.
4. **Batches**: visited pairs are costed (:func:`codesign.compiler.costed.cost_many`, the cost core
   with every mapping's usage remembered) with their stationarity orders
   (:mod:`codesign.compiler.orders`), in batches that double in size. A pair whose bound cannot
   beat the best mapping so far is skipped; the search ends when no pair or choice is left
   that can (the result is then the best of the whole candidate set) or the budget
   (``policy.candidates`` costed mappings) is spent.
5. **Refinement**: for the best few tilings, every order of each level's active loops -- unless
   the search ended with no pair, costed or not, whose bounds can beat the best mapping (a
   pair's bounds hold for every order of its combination), and the naive mapping is not among
   those tilings.

The naive compiler's mapping (:mod:`codesign.compiler.naive`) is costed in the first batch, so
the search never returns anything worse. Nothing is random: same inputs, same mapping.

A design's layers are searched together (:func:`search_many`): each search is a generator that
yields the tiling (:class:`Tile`) and costing (:class:`Cost`) it needs, and each round the
requests of every search are answered with one kernel call per loop structure, since a kernel's
cost is mostly per call. Which layers are searched together changes no result.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import numpy as np

from codesign.compiler.bounds import Traffic, best_bounds, combination_bounds
from codesign.compiler.costed import cost_many
from codesign.compiler.mapspace import Chunk, stationary_mask
from codesign.compiler.memo import concat_traffic, tilings_many
from codesign.compiler.naive import naive_mappings
from codesign.compiler.orders import allowed_combinations, level_permutations, role_combinations, stationary_orders
from codesign.compiler.policy import TIE_TOLERANCE, SchedulePolicy, metric, objective_keys, ranking
from codesign.compiler.shortlist import choice_traffic_many, spatial_shortlist
from codesign.cost.analytical import CostBatch
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

MAX_TILINGS = 3000        # tilings whose stationarity combinations are bounded one by one
FIRST_BATCH = 256         # mappings costed in the first batch (then doubling)
PROBE = 64                # pairs of the best-bound spatial choice in the first batch, whatever the others' bounds
REFINE_TILINGS = 3        # tilings whose loop orders are refined exhaustively
REFINE_SHARE = 0.25       # of the budget kept for refinement


@dataclass
class Found:
    """Every costed batch of one search, and which mapping wins."""

    objective: str
    chunks: list[Chunk] = field(default_factory=list)
    costs: list[CostBatch] = field(default_factory=list)
    best_p: float = np.inf
    best_s: float = np.inf

    @property
    def evaluated(self) -> int:
        return sum(c.size for c in self.chunks)

    def add(self, chunk: Chunk, cost: CostBatch) -> None:
        self.chunks.append(chunk)
        self.costs.append(cost)
        if cost.fits.any():
            first, second = objective_keys(self.objective)
            i = int(ranking(cost.energy_pj, cost.cycles, self.objective, cost.fits)[0])
            p = float(metric(cost.energy_pj[i], cost.cycles[i], first))
            s = float(metric(cost.energy_pj[i], cost.cycles[i], second))
            if p < self.best_p * (1 - TIE_TOLERANCE) or (p <= self.best_p * (1 + TIE_TOLERANCE) and s < self.best_s):
                self.best_p, self.best_s = p, s

    def cannot_win(self, p_bound: np.ndarray, s_bound: np.ndarray) -> np.ndarray:
        """Whether tilings with these bounds can neither beat nor tie-and-beat the best so far."""
        tol = TIE_TOLERANCE * self.best_p
        return (p_bound > self.best_p + tol) | ((p_bound >= self.best_p - tol) & (s_bound >= self.best_s))

    def best(self) -> tuple[int, int]:
        """(batch, row) of the best legal mapping; raises ``LookupError`` if none fits."""
        energy = np.concatenate([c.energy_pj for c in self.costs])
        cycles = np.concatenate([c.cycles for c in self.costs])
        legal = np.concatenate([c.fits for c in self.costs])
        if not legal.any():
            raise LookupError("no legal mapping")
        i = int(ranking(energy, cycles, self.objective, legal)[0])
        sizes = np.cumsum([0] + [c.size for c in self.chunks])
        b = int(np.searchsorted(sizes, i, side="right") - 1)
        return b, i - int(sizes[b])


@dataclass(frozen=True)
class Tile:
    """A search's request: the candidate tilings of spatial choices ``spatial[S, 3, D]`` and their
    traffic bounds (answered with :func:`codesign.compiler.memo.tilings_many`)."""

    spatial: np.ndarray


@dataclass(frozen=True)
class Cost:
    """A search's request: the costs of a batch of mappings (answered with
    :func:`codesign.compiler.costed.cost_many`)."""

    chunk: Chunk


Steps = Generator["Tile | Cost", object, Found]
"""One layer's search as a generator: it yields each kernel call it needs and is sent the answer."""


def search(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> Found:
    """Cost candidate mappings of ``layer`` on ``acc`` (see the module docstring)."""
    return search_many((layer,), acc, policy)[0]


def search_many(layers: Sequence[Layer], acc: Accelerator, policy: SchedulePolicy) -> list[Found]:
    """:func:`search` of each layer, the searches advanced in lockstep: each round, the tiling and
    the costing every search asks for are answered together, one kernel call per loop structure
    (:attr:`~codesign.workload.ir.Layer.structure`) instead of one per layer (a kernel's cost is
    mostly per call). Every search's result is the one it gets alone."""
    choice_traffic_many(layers, acc, policy)         # every shortlist's choices, remembered for spatial_shortlist
    steps = [_steps(layer, acc, policy, naive) for layer, naive in zip(layers, naive_mappings(layers, acc, policy))]
    found: list[Found | None] = [None] * len(steps)
    asks: dict[int, Tile | Cost] = {}

    def advance(i: int, answer: object) -> None:
        try:
            asks[i] = steps[i].send(answer)
        except StopIteration as done:
            found[i] = done.value

    for i in range(len(steps)):
        advance(i, None)
    while asks:
        round_, answers = sorted(asks.items()), []
        asks.clear()
        tiles = [(i, r) for i, r in round_ if isinstance(r, Tile)]
        costs = [(i, r) for i, r in round_ if isinstance(r, Cost)]
        if tiles:
            answers += zip([i for i, _ in tiles], tilings_many([(layers[i], r.spatial) for i, r in tiles], acc))
        if costs:
            answers += zip([i for i, _ in costs], cost_many([(layers[i], r.chunk) for i, r in costs], acc))
        for i, answer in sorted(answers, key=lambda ia: ia[0]):
            advance(i, answer)
    return found  # type: ignore[return-value]


def _steps(layer: Layer, acc: Accelerator, policy: SchedulePolicy,
           naive: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Steps:
    """One layer's search (see the module docstring) from the naive compiler's mapping, yielding its
    tiling and costing requests."""
    found = Found(policy.objective)
    temporal, perm, axes = naive
    pending: Chunk | None = Chunk(temporal[None], perm[None], axes[None])
    budget = max(1, int(policy.candidates * (1 - REFINE_SHARE)))
    choices, c_p, c_s = spatial_shortlist(layer, acc, policy)
    pairs = _Pairs(layer, acc, policy)
    tiled, size, probe = 0, FIRST_BATCH, PROBE
    if len(choices):                          # the best-bound choice first: probe it for an incumbent
        pairs.add(choices[:1], (yield Tile(choices[:1])))
        tiled = 1
    exhausted = False
    while found.evaluated < budget:
        limit = c_p[tiled] if tiled < len(choices) else np.inf
        take = pairs.next_batch(size, limit, found, probe)
        if not len(take):                     # tile the choices that come before the best pair left
            if tiled == len(choices):
                exhausted = True
                break
            head = pairs.head(found)
            new = tiled + np.flatnonzero(c_p[tiled:] <= max(head, c_p[tiled]))
            new = new if len(new) else np.array([tiled])         # a NaN bound: tile it anyway
            wanted = choices[new[~found.cannot_win(c_p[new], c_s[new])]]
            if len(wanted):
                pairs.add(wanted, (yield Tile(wanted)))
            tiled = int(new[-1]) + 1
            continue
        chunk = pairs.chunk(take).take(slice(0, budget - found.evaluated))
        chunk = chunk if pending is None else Chunk.concat([pending, chunk])   # the naive mapping joins the first batch
        found.add(chunk, (yield Cost(chunk)))
        pending, probe = None, 0
        size *= 2
    if pending is not None:
        found.add(pending, (yield Cost(pending)))
    targets = _refine_targets(found, policy)
    if targets is None or (exhausted and 0 not in targets[1] and pairs.none_can_win(found)):
        return found        # proven best: no order of a tiling searched can win, nor of the naive one (row 0)
    refine = _refinements(layer, *targets, policy, len(acc.levels))
    if refine is not None:
        refine = refine.take(slice(0, max(1, policy.candidates - found.evaluated)))
        found.add(refine, (yield Cost(refine)))
    return found


class _Pairs:
    """The (tiling, stationarity combination) pairs of the spatial choices tiled so far, with their
    bounds, and which have been visited. Choices are added best bound first as the search needs
    them, so a choice no better than the mappings already costed is never tiled."""

    def __init__(self, layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> None:
        self.layer, self.acc, self.policy = layer, acc, policy
        self.roles = role_combinations(len(acc.levels), policy.stationary)
        self.keys = objective_keys(policy.objective)
        D = len(layer.dims)
        self.T = np.zeros((0, len(acc.levels), D), dtype=np.int64)
        self.AX = np.zeros((0, 3, D), dtype=np.int64)
        self.p = np.zeros(0)
        self.s = np.zeros(0)
        self.left = np.zeros(0, dtype=np.int64)        # unvisited pairs (unordered: visited best bound first)

    def add(self, spatial: np.ndarray, tiled: list[tuple[np.ndarray, Traffic]]) -> None:
        """Put the pairs of spatial choices ``spatial[S, 3, D]`` in the visiting order, given their
        candidate tilings and traffic bounds (:func:`~codesign.compiler.memo.tilings_many`)."""
        parts = [(t, tr, ax) for (t, tr), ax in zip(tiled, spatial) if len(t)]
        if not parts:
            return
        D = len(self.layer.dims)
        T = np.concatenate([t for t, _, _ in parts])
        AX = np.concatenate([np.broadcast_to(ax, (len(t), 3, D)) for t, _, ax in parts])
        traffic = concat_traffic([tr for _, tr, _ in parts])
        first, second = self.keys
        if len(T) > MAX_TILINGS:                 # keep the tilings with the best bound over all orders
            e_best, c_best = best_bounds(self.layer, self.acc, traffic)
            keep = np.lexsort((np.arange(len(T)), metric(e_best, c_best, second), metric(e_best, c_best, first)))
            keep = np.sort(keep[:MAX_TILINGS])
            T, AX, traffic = T[keep], AX[keep], traffic.take(keep)
        energy, cycles = combination_bounds(self.layer, self.acc, traffic, self.roles)
        allowed = allowed_combinations(self.layer, self.policy.stationary, T, self.roles)
        p = np.where(allowed, metric(energy, cycles, first), np.inf).ravel()
        s = metric(energy, cycles, second).ravel()
        offset = len(self.p)
        self.T, self.AX = np.concatenate([self.T, T]), np.concatenate([self.AX, AX])
        self.p, self.s = np.concatenate([self.p, p]), np.concatenate([self.s, s])
        self.left = np.concatenate([self.left, offset + np.flatnonzero(np.isfinite(p))])

    def none_can_win(self, found: Found) -> bool:
        """Whether no pair, visited or not, has bounds that can beat the best mapping found: then no
        loop order of these tilings can (a pair's bounds hold for every order of its combination,
        and every order falls under one)."""
        return bool(found.cannot_win(self.p, self.s).all())

    def head(self, found: Found) -> float:
        """The best bound of an unvisited pair that can still win (``inf`` if none)."""
        self.left = self.left[~found.cannot_win(self.p[self.left], self.s[self.left])]
        return float(self.p[self.left].min()) if len(self.left) else np.inf

    def next_batch(self, size: int, limit: float, found: Found, at_least: int = 0) -> np.ndarray:
        """Up to ``size`` unvisited pairs that can win, best bound first, none with a bound above
        ``limit`` (an untiled choice's bound) but the first ``at_least``; they count as visited."""
        self.left = self.left[~found.cannot_win(self.p[self.left], self.s[self.left])]
        p = self.p[self.left]
        n = min(size, max(at_least, int(np.count_nonzero(~(p > limit)))))       # a NaN limit: every pair
        if n == 0:
            return self.left[:0]
        # the n first in (primary, secondary, pair) order: those at or under the n-th smallest
        # primary bound, sorted (a partial selection instead of keeping every pair sorted)
        near = np.flatnonzero(p <= np.partition(p, n - 1)[n - 1]) if n < len(p) else np.arange(len(p))
        picked = near[np.lexsort((self.left[near], self.s[self.left[near]], p[near]))[:n]]
        take = self.left[picked]
        self.left = np.delete(self.left, picked)
        return take

    def chunk(self, take: np.ndarray) -> Chunk:
        tiling, combo = np.divmod(take, len(self.roles))
        t = self.T[tiling]
        return Chunk(t, stationary_orders(self.layer, t, self.roles[combo]), self.AX[tiling]).unique()


def _refine_targets(found: Found, policy: SchedulePolicy) -> tuple[Chunk, np.ndarray] | None:
    """Every mapping costed, and the rows of the best mapping of each of the best
    :data:`REFINE_TILINGS` distinct tilings (None if none fits)."""
    legal = np.concatenate([c.fits for c in found.costs])
    if not legal.any():
        return None
    done = Chunk.concat(found.chunks)
    energy = np.concatenate([c.energy_pj for c in found.costs])
    cycles = np.concatenate([c.cycles for c in found.costs])
    ranked = ranking(energy, cycles, policy.objective, legal)[:int(legal.sum())]
    _, first = np.unique(done.keys(with_orders=False)[ranked], return_index=True)
    return done, ranked[np.sort(first)[:REFINE_TILINGS]]


def _refinements(layer: Layer, done: Chunk, best: np.ndarray, policy: SchedulePolicy, L: int) -> Chunk | None:
    """Every order of each non-innermost level's active loops, around the mappings ``best`` of ``done``."""
    if L < 2:
        return None
    irrelevant = stationary_mask(layer, policy.stationary)
    parts = []
    for i in best:
        for lv in range(L - 1):
            perms = level_permutations(done.perm[i], done.temporal[i], lv, irrelevant)
            n = len(perms)
            parts.append(Chunk(np.repeat(done.temporal[i][None], n, axis=0), perms,
                               np.repeat(np.asarray(done.axes)[i][None], n, axis=0)))
    return Chunk.concat(parts).unique() if parts else None
