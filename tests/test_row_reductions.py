"""The hot paths' reductions along short trailing axes, written out one entry at a time on many
rows (codesign/compiler/tiles.py, bounds.py), equal numpy's reductions bit for bit: integer products
and boolean ors do not depend on their order, and the float sums add in numpy's order.
The references below are the numpy forms these functions replaced."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.compiler.bounds import Traffic, rows_bounds
from codesign.compiler.orders import role_combinations
from codesign.compiler.tiles import any_over, prod_over, tile_words
from codesign.hardware import technology as tech
from codesign.hardware.accelerator import Accelerator, make_level

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("shape", [(5, 1), (40, 3), (7, 4, 6), (0, 5), (3, 0),     # numpy's reductions (few rows)
                                   (3000, 1), (2500, 3), (400, 4, 6)])                # entry by entry
def test_prod_and_any_over_equal_numpy(shape):
    a = RNG.integers(1, 9, size=shape, dtype=np.int64)
    assert np.array_equal(prod_over(a), np.prod(a, axis=-1))
    assert prod_over(a).dtype == np.prod(a, axis=-1).dtype
    dims = np.flatnonzero(RNG.random(shape[-1]) < 0.5)
    assert np.array_equal(prod_over(a, dims), np.prod(np.where(np.isin(np.arange(shape[-1]), dims), a, 1), axis=-1))
    b = RNG.random(shape) < 0.2
    assert np.array_equal(any_over(b), b.any(axis=-1))


@pytest.mark.parametrize("rows", [3, 5000])
def test_prod_over_returns_a_new_array(rows):
    a = np.arange(1, 2 * rows + 1, dtype=np.int64).reshape(rows, 2)
    out = prod_over(a, [1])
    out[:] = 0
    assert a[:3, 1].tolist() == [2, 4, 6]


@pytest.mark.parametrize("coef", [
    np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 2, 1]]),     # a strided window rank
    np.array([[0, 0, 0]]),                                     # a tensor with no ranks
    np.array([[1, 1], [0, 3]]),
])
@pytest.mark.parametrize("rows", [11, 2000])
def test_tile_words_equals_the_matrix_form(coef, rows):
    extent = RNG.integers(1, 30, size=(rows, 4, coef.shape[1]), dtype=np.int64)
    assert np.array_equal(tile_words(coef, extent), np.prod(1 + (extent - 1) @ coef.T, axis=-1))


def three_level_accelerator(double: tuple[bool, ...]) -> Accelerator:
    """DRAM, a GLB and a per-PE register file, each double-buffered as ``double`` says."""
    ALL = ("weights", "inputs", "outputs")
    levels = (make_level("DRAM", "dram", True, None, 2e9, None, ALL, double[0], "LPDDR4", 5e8, 28),
              make_level("GLB", "sram", True, 65536, None, 16, ALL, double[1], None, 5e8, 28),
              make_level("RF", "regfile", False, 256, None, None, ALL, double[2], None, 5e8, 28))
    return Accelerator(8, 8, 1, "flexible", "int8", 5e8, 28, levels, tech.mac_energy_pj("int8", 28))


def rows_bounds_by_reduction(macs, acc, traffic, roles):
    """rows_bounds and _costs as numpy reductions over the level axis (codesign b7b46ba)."""
    L = traffic.base.shape[1]
    moved = traffic.base[:, None, :] + traffic.gain[:, np.arange(L)[None, :], roles, :].sum(axis=2)
    extra = (slice(None), None)
    access_pj = np.array([lv.access_pj_per_byte for lv in acc.levels])
    energy = (moved * traffic.inst[extra] * access_pj).sum(axis=-1) + macs * acc.mac_pj
    level_cycles = moved / np.array([lv.bytes_per_cycle or np.inf for lv in acc.levels])
    db = np.array([lv.double_buffered for lv in acc.levels])
    serial = traffic.steps[extra] + level_cycles[..., ~db].sum(axis=-1)
    overlapped = level_cycles[..., db].max(axis=-1) if db.any() else np.zeros(moved.shape[:-1])
    return energy, np.maximum(serial, overlapped)


@pytest.mark.parametrize("double", [(False, True, True), (False, False, False), (True, True, True)])
def test_rows_bounds_equal_the_reductions_bit_for_bit(double):
    acc = three_level_accelerator(double)
    M, L = 50, 3
    traffic = Traffic(RNG.random((M, L)) * 1e6, -RNG.random((M, L, 3, L)) * 1e5,
                      RNG.integers(1, 10**6, size=M).astype(np.float64), RNG.integers(1, 64, size=(M, L)))
    roles = role_combinations(L, "any")
    energy, cycles = rows_bounds(np.float64(123456.0), acc, traffic, roles)
    ref_energy, ref_cycles = rows_bounds_by_reduction(np.float64(123456.0), acc, traffic, roles)
    assert np.array_equal(energy, ref_energy) and np.array_equal(cycles, ref_cycles)
