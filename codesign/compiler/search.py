"""Best-first search over tilings with lower-bound pruning, then loop-order refinement.

For one (squeezed) layer on one accelerator:

1. **Tilings**: for a shortlist of spatial choices (:mod:`codesign.compiler.shortlist`), the
   capacity-fitting, dominance-pruned tilings (:mod:`codesign.compiler.candidates`), remembered
   across accelerators with the same capacities (:mod:`codesign.compiler.memo`).
2. **Bounds**: every (tiling, per-level stationarity combination) pair gets a lower bound on
   energy and latency (:mod:`codesign.compiler.bounds`); pairs are visited best bound first.
3. **Batches**: visited pairs are costed by :func:`codesign.cost.analytical.evaluate` with
   their stationarity orders (:mod:`codesign.compiler.orders`), in batches that double in size.
   A pair whose bound cannot beat the best mapping so far is skipped; the search ends when
   none is left (the result is then the best of the whole candidate set) or the budget
   (``policy.candidates`` costed mappings) is spent. A second pass tiles the shortlist's
   remaining spatial choices whose bound can still win.
4. **Refinement**: for the best few tilings, every order of each level's active loops.

The naive compiler's mapping (:mod:`codesign.compiler.naive`) is costed in the first batch, so
the search never returns anything worse. Nothing is random: same inputs, same mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codesign.compiler.bounds import best_bounds, combination_bounds
from codesign.compiler.mapspace import Chunk, stationary_mask
from codesign.compiler.memo import concat_traffic, tilings
from codesign.compiler.naive import naive_mapping
from codesign.compiler.orders import allowed_combinations, level_permutations, role_combinations, stationary_orders
from codesign.compiler.policy import TIE_TOLERANCE, SchedulePolicy, metric, objective_keys, ranking
from codesign.compiler.shortlist import spatial_shortlist
from codesign.cost.analytical import CostBatch, evaluate
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import Layer

MAX_TILINGS = 3000        # tilings whose stationarity combinations are bounded one by one
FIRST_BATCH = 256         # mappings costed in the first batch (then doubling)
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


def search(layer: Layer, acc: Accelerator, policy: SchedulePolicy) -> Found:
    """Cost candidate mappings of ``layer`` on ``acc`` (see the module docstring)."""
    a = acc.first_per_pe_level
    found = Found(policy.objective)
    temporal, perm, axes = naive_mapping(layer, acc, policy)
    pending: Chunk | None = Chunk(temporal[None], perm[None], axes[None])
    budget = max(1, int(policy.candidates * (1 - REFINE_SHARE)))
    first, later, later_p, later_s = spatial_shortlist(layer, acc, policy)
    pending = _descend(layer, acc, policy, found, first, budget, pending)
    if pending is None:                       # a second pass over the choices a bound cannot rule out
        pending = _descend(layer, acc, policy, found, later[~found.cannot_win(later_p, later_s)], budget, pending)
    if pending is not None:
        found.add(pending, evaluate(layer, acc, pending.nest(a)))
    refine = _refinements(layer, found, policy, len(acc.levels))
    if refine is not None:
        refine = refine.take(slice(0, max(1, policy.candidates - found.evaluated)))
        found.add(refine, evaluate(layer, acc, refine.nest(a)))
    return found


def _descend(layer: Layer, acc: Accelerator, policy: SchedulePolicy, found: Found, spatial: np.ndarray,
             budget: int, pending: Chunk | None) -> Chunk | None:
    """Cost the (tiling, stationarity) pairs of ``spatial[S, 3, D]`` best bound first, in batches,
    while some bound can win and ``budget`` allows. ``pending`` (the naive mapping) joins the first
    batch; returns it if no batch was costed."""
    L, D = len(acc.levels), len(layer.dims)
    parts = [(t, tr, ax) for (t, tr), ax in zip(tilings(layer, acc, spatial), spatial) if len(t)]
    if not parts:
        return pending
    T = np.concatenate([t for t, _, _ in parts])
    AX = np.concatenate([np.broadcast_to(ax, (len(t), 3, D)) for t, _, ax in parts])
    traffic = concat_traffic([tr for _, tr, _ in parts])
    roles = role_combinations(L, policy.stationary)
    first, second = objective_keys(policy.objective)
    if len(T) > MAX_TILINGS:                 # keep the tilings with the best bound over all orders
        e_best, c_best = best_bounds(layer, acc, traffic)
        keep = np.lexsort((np.arange(len(T)), metric(e_best, c_best, second), metric(e_best, c_best, first)))
        keep = np.sort(keep[:MAX_TILINGS])
        T, AX, traffic = T[keep], AX[keep], traffic.take(keep)
    energy, cycles = combination_bounds(layer, acc, traffic, roles)
    allowed = allowed_combinations(layer, policy.stationary, T, roles)
    p_lb = np.where(allowed, metric(energy, cycles, first), np.inf).ravel()
    s_lb = metric(energy, cycles, second).ravel()
    visit = np.lexsort((np.arange(p_lb.size), s_lb, p_lb))
    visit = visit[np.isfinite(p_lb[visit])]
    size, pos = FIRST_BATCH, 0
    while pos < len(visit) and found.evaluated < budget:
        if p_lb[visit[pos]] > found.best_p * (1 + TIE_TOLERANCE):
            break
        take = visit[pos:pos + size]
        pos += len(take)
        take = take[~found.cannot_win(p_lb[take], s_lb[take])]
        if not len(take):
            continue
        tiling, combo = np.divmod(take, len(roles))
        t = T[tiling]
        chunk = Chunk(t, stationary_orders(layer, t, roles[combo]), AX[tiling]).unique()
        chunk = chunk.take(slice(0, budget - found.evaluated))
        if pending is not None:
            chunk, pending = Chunk.concat([pending, chunk]), None
        found.add(chunk, evaluate(layer, acc, chunk.nest(acc.first_per_pe_level)))
        size *= 2
    return pending


def _refinements(layer: Layer, found: Found, policy: SchedulePolicy, L: int) -> Chunk | None:
    """Every order of each non-innermost level's active loops, around the best distinct tilings."""
    legal = np.concatenate([c.fits for c in found.costs])
    if L < 2 or not legal.any():
        return None
    done = Chunk.concat(found.chunks)
    energy = np.concatenate([c.energy_pj for c in found.costs])
    cycles = np.concatenate([c.cycles for c in found.costs])
    ranked = ranking(energy, cycles, policy.objective, legal)[:int(legal.sum())]
    _, first = np.unique(done.keys(with_orders=False)[ranked], return_index=True)
    best = ranked[np.sort(first)[:REFINE_TILINGS]]                 # best mapping of each of the best tilings
    irrelevant = stationary_mask(layer, policy.stationary)
    parts = []
    for i in best:
        for lv in range(L - 1):
            perms = level_permutations(done.perm[i], done.temporal[i], lv, irrelevant)
            n = len(perms)
            parts.append(Chunk(np.repeat(done.temporal[i][None], n, axis=0), perms,
                               np.repeat(np.asarray(done.axes)[i][None], n, axis=0)))
    return Chunk.concat(parts).unique() if parts else None
