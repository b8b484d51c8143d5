"""Technology tables: cited anchor values and the monotonic trends they must show."""

import pytest

from codesign.hardware import technology as tech


def test_horowitz_anchor_values_at_45nm():
    # Horowitz ISSCC 2014: 64-bit SRAM reads 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ
    assert tech.sram_pj_per_byte(8 * 1024, 45) * 8 == pytest.approx(10.0)
    assert tech.sram_pj_per_byte(32 * 1024, 45) * 8 == pytest.approx(20.0)
    assert tech.sram_pj_per_byte(1024 * 1024, 45) * 8 == pytest.approx(100.0)
    # int8 MAC = 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ
    assert tech.mac_energy_pj("int8", 45) == pytest.approx(0.3)


def test_bigger_memories_cost_more_per_access_and_area():
    sizes = [64, 1024, 8 * 1024, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024]
    energies = [tech.sram_pj_per_byte(s, 28) for s in sizes]
    areas = [tech.sram_area_mm2(s, 28) for s in sizes]
    assert energies == sorted(energies) and len(set(energies)) == len(energies)
    assert areas == sorted(areas)


def test_smaller_nodes_cost_less():
    nodes = [7, 10, 16, 22, 28, 45, 65]
    for fn in (lambda n: tech.mac_energy_pj("int8", n), lambda n: tech.mac_area_mm2("fp16", n),
               lambda n: tech.sram_pj_per_byte(65536, n), lambda n: tech.sram_area_mm2(65536, n)):
        values = [fn(n) for n in nodes]
        assert values == sorted(values)


def test_wider_precision_costs_more():
    order = ["int8", "int16", "fp16", "fp32"]
    assert [tech.mac_energy_pj(p, 28) for p in order] == sorted(tech.mac_energy_pj(p, 28) for p in order)
    assert [tech.mac_area_mm2(p, 28) for p in order] == sorted(tech.mac_area_mm2(p, 28) for p in order)


def test_dram_costs_more_than_any_sram_access():
    assert min(tech.DRAM_PJ_PER_BIT.values()) * 8 > tech.sram_pj_per_byte(4 * 1024 * 1024, 45)


def test_node_outside_tables_is_rejected():
    with pytest.raises(ValueError, match="outside the tables"):
        tech.node_scaling(3)
