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
    # up to 1 MiB, [H14]'s largest measured SRAM; beyond it the 45 nm SRAM curve is extrapolated
    # and a 4 MiB read (23.8 pJ/B; CACTI 7: 23.6 pJ/B) costs about as much as HBM3 (20.4 pJ/B)
    assert min(tech.DRAM_PJ_PER_BIT.values()) * 8 > tech.sram_pj_per_byte(1024 * 1024, 45)
    older = {k: v for k, v in tech.DRAM_PJ_PER_BIT.items() if k in ("HBM2", "DDR4", "LPDDR4", "LPDDR4X", "LPDDR5")}
    assert min(older.values()) * 8 > tech.sram_pj_per_byte(4 * 1024 * 1024, 45)


def test_node_outside_tables_is_rejected():
    with pytest.raises(ValueError, match="outside the tables"):
        tech.node_scaling(3)


# --------------------------------------------------------------------------------------------
# Access width and the newer DRAM types
# --------------------------------------------------------------------------------------------

WIDTHS = [8, 16, 32, 64, 128, 256, 512, 1024]
CAPACITIES = [256, 8 * 1024, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024]


@pytest.mark.parametrize("node", [7, 28, 45])
@pytest.mark.parametrize("capacity", CAPACITIES)
def test_wider_access_costs_more_per_access_and_less_per_bit(capacity, node):
    per_access = [tech.sram_access_pj(capacity, node, w) for w in WIDTHS]
    per_byte = [tech.sram_pj_per_byte(capacity, node, w) for w in WIDTHS]
    assert all(a < b for a, b in zip(per_access, per_access[1:]))
    assert all(a > b for a, b in zip(per_byte, per_byte[1:]))


@pytest.mark.parametrize("width", WIDTHS)
def test_bigger_memories_cost_more_at_every_width(width):
    energies = [tech.sram_access_pj(c, 28, width) for c in CAPACITIES]
    assert all(a < b for a, b in zip(energies, energies[1:]))


def test_64_bit_default_keeps_the_horowitz_anchors():
    for capacity, pj in ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0)):
        assert tech.sram_access_pj(capacity, 45) == pytest.approx(pj)
        assert tech.sram_access_pj(capacity, 45, 64) == pytest.approx(pj)
        assert tech.sram_pj_per_byte(capacity, 45, 64) == pytest.approx(pj / 8)


def test_width_exponent_is_the_cacti_fit():
    # energy per access ~ width^0.61: the least-squares fit to CACTI 7 at 45 nm over 16 KiB - 4 MiB
    # and 32 - 512 bits (docs/cost-model.md lists the runs)
    assert tech.sram_access_pj(32 * 1024, 45, 256) / tech.sram_access_pj(32 * 1024, 45, 64) == pytest.approx(4 ** 0.61)
    with pytest.raises(ValueError, match="access width"):
        tech.sram_access_pj(1024, 45, 0)


def test_newer_dram_generations_cost_less_per_bit():
    e = tech.DRAM_PJ_PER_BIT
    assert e["DDR5"] < e["DDR4"]
    assert e["LPDDR5X"] < e["LPDDR5"] < e["LPDDR4X"] < e["LPDDR4"]
    assert e["HBM3"] < e["HBM2E"] < e["HBM2"]
    assert e["HBM3"] < e["LPDDR5X"] < e["DDR5"]          # stacked < mobile < DIMM, within a generation
    # the derivations documented in technology.py
    assert e["DDR5"] == pytest.approx(20.0 * (1.1 / 1.2) ** 2)
    assert e["HBM2E"] == pytest.approx(3.9 * (1.1 / 1.2) ** 2)
    assert e["LPDDR5X"] == pytest.approx(0.8 * e["LPDDR5"])


def test_every_dram_type_of_the_space_language_has_an_energy():
    from codesign.spec.vocabulary import DRAM_TYPES

    assert set(DRAM_TYPES) == set(tech.DRAM_PJ_PER_BIT)
    for name in DRAM_TYPES:
        assert tech.dram_pj_per_byte(name) == pytest.approx(8 * tech.DRAM_PJ_PER_BIT[name])
