"""The refinement's loop orders (:func:`codesign.compiler.orders.level_permutations`) against a
brute force over every order of a level's loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from codesign.compiler.orders import MAX_LEVEL_PERMUTATIONS, level_permutations


def _brute(perm: np.ndarray, temporal: np.ndarray, level: int, irrelevant: np.ndarray | None) -> set[tuple]:
    """Every order of ``level``'s dims that keeps the inactive ones (factor 1) after the active ones
    in their given order, the other levels as given and, with ``irrelevant``, those dims innermost."""
    D = perm.shape[1]
    inactive = [int(d) for d in perm[level] if temporal[level, d] == 1]
    out = set()
    for order in itertools.permutations(range(D)):
        if list(order[D - len(inactive):]) != inactive:
            continue
        if irrelevant is not None:
            flags = [bool(irrelevant[d]) for d in order[:D - len(inactive)]]
            if flags != sorted(flags, reverse=True):
                continue
        full = perm.copy()
        full[level] = order
        out.add(full.tobytes())
    return out


@pytest.mark.parametrize("seed", range(40))
def test_every_order_of_the_active_loops_once(seed):
    rng = np.random.default_rng(seed)
    L, D = int(rng.integers(2, 4)), int(rng.integers(2, 6))     # at most 5! = 120 orders
    perm = np.stack([rng.permutation(D) for _ in range(L)]).astype(np.int64)
    temporal = rng.choice([1, 2, 3], size=(L, D))
    temporal[:, rng.integers(0, D)] = 2                      # at least one active loop per level
    irrelevant = None if seed % 2 else rng.random(D) < 0.4
    level = int(rng.integers(0, L))
    got = level_permutations(perm, temporal, level, irrelevant)
    assert got.shape[1:] == perm.shape
    keys = [g.tobytes() for g in got]
    assert len(set(keys)) == len(keys)                       # no order twice
    assert set(keys) == _brute(perm, temporal, level, irrelevant)
    assert (np.delete(got, level, axis=1) == np.delete(perm, level, axis=0)).all()


def test_six_active_loops_permute_the_innermost_five():
    """6! = 720 orders exceed the budget of 120: the innermost five loops are permuted, the sixth stays outermost."""
    D = 7
    perm = np.array([[6, 5, 4, 3, 2, 1, 0], list(range(D))], dtype=np.int64)
    temporal = np.array([[2, 2, 2, 2, 2, 2, 1], [1] * D])       # dim 6 inactive at level 0
    got = level_permutations(perm, temporal, 0, None)
    assert MAX_LEVEL_PERMUTATIONS == 120 and len(got) == 120 and len({g.tobytes() for g in got}) == 120
    assert (got[:, 0, 5] == 0).all() and (got[:, 0, 6] == 6).all()   # perm[0] active order is 5,4,3,2,1,0
    assert {tuple(sorted(g[0, :5])) for g in got} == {(1, 2, 3, 4, 5)}
    assert (got[:, 1] == perm[1]).all()
