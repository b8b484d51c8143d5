"""Pareto filter against a brute-force definition of dominance."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.dse.pareto import pareto_mask


def _brute(values, maximize):
    v = [[-x if mx else x for x, mx in zip(row, maximize)] for row in values]
    keep = []
    for i, a in enumerate(v):
        dominated = any(all(b[k] <= a[k] for k in range(len(a))) and any(b[k] < a[k] for k in range(len(a)))
                        for j, b in enumerate(v) if j != i)
        keep.append(not dominated)
    return keep


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=25),
       st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_matches_brute_force(rows, maximize):
    values = np.array(rows, dtype=float)
    assert pareto_mask(values, maximize).tolist() == _brute(rows, maximize)


def test_two_objective_example():
    values = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [2, 2]], dtype=float)
    assert pareto_mask(values, (False, False)).tolist() == [True, True, False, True, True]
