"""The ZigZag benchmark's hardware and the mapping translation both ways (no ZigZag install needed).

Expected values come from ZigZag 3.9.1's ``zigzag/inputs/hardware/tpu_like.yaml`` (costs per
access of a port's widest word, quoted in ``benchmarks/zigzag_tpu_like.yaml``), from ZigZag's
per-operand memory hierarchy semantics (a loop sits in the tile of the memory that holds the
operand at or above its level; Mei et al., IEEE TC 2021, Sec. 3) and, for a translated
mapping's costs, from closed forms of Timeloop's counting (Parashar et al., ISPASS 2019: a
tile is the bounding box of its projection, kept across loops that do not index it).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from codesign import api
from codesign.cost.analytical import evaluate
from codesign.errors import CodesignError
from codesign.flow import map_named_layer
from codesign.interop.zigzag_mapping import (
    CONV_DIMS,
    from_zigzag,
    to_zigzag_temporal,
    zigzag_dims,
    zigzag_layer,
)
from codesign.spec.params import resolve_design

ROOT = Path(__file__).resolve().parents[1]
GEMM = "encoder.attention.output.dense"


@pytest.fixture(scope="module")
def tpu():
    space = api.load_space(ROOT / "benchmarks" / "zigzag_tpu_like.yaml")
    return space, resolve_design(space, {})


def test_energy_overrides_are_zigzags_costs_per_byte(tpu) -> None:
    space, design = tpu
    acc = map_named_layer(space, design, space.base_dir, "layer4.0.downsample").accelerator
    # tpu_like.yaml: dram 700/750 pJ per 64 b; sram_2MB 416.16/378.4 pJ per 2048 b; rf_128B 0.095 per 8 b;
    # rf_2B 0.021 per 16 b; MAC 0.04 pJ
    expected = [(700 + 750) / 2 / 8, (416.16 + 378.4) / 2 / 256, 0.095 / 1, 0.021 / 2]
    assert [lv.access_pj_per_byte for lv in acc.levels] == pytest.approx(expected, rel=1e-12)
    assert acc.mac_pj == 0.04
    assert [lv.holds for lv in acc.levels] == [frozenset({"weights", "inputs", "outputs"}),
                                               frozenset({"inputs", "outputs"}), frozenset({"weights"}),
                                               frozenset({"outputs"})]


def test_overridden_energies_reach_the_cost_model(tpu) -> None:
    """Energy = words x bytes per word x pJ per byte per level + MACs x 0.04 pJ (closed form)."""
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "layer4.0.downsample")
    layer, acc, mapping = mapped.layer, mapped.accelerator, mapped.result.mapping
    cost = evaluate(layer, acc, mapping.to_nest())
    widths = acc.layer_bytes(layer.tensors)
    total = layer.macs * 0.04
    for lv, level in enumerate(acc.levels):
        words = [int(cost.accesses.reads[0, lv, t] + cost.accesses.fills[0, lv, t] + cost.accesses.updates[0, lv, t])
                 for t in range(3)]
        nbytes = sum(w * b for w, b in zip(words, widths))
        if lv == 0:                 # final outputs leave the chip at operand width (1 B, not 4 B)
            nbytes -= math.prod(layer.bounds[d] for d in (0, 1, 2, 4, 5)) * 3
        total += nbytes * int(cost.level_instances[0, lv]) * level.access_pj_per_byte
    assert cost.energy_pj[0] == pytest.approx(total, rel=1e-12)


def test_loops_go_to_the_memory_holding_each_operand(tpu) -> None:
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "layer2.0.conv1")
    layer, acc, mapping = mapped.layer, mapped.accelerator, mapped.result.mapping
    loops = to_zigzag_temporal(layer, acc, mapping)
    # per operand, ZigZag's memories innermost first: W rf_128B, dram; I sram_2MB, dram; O rf_4B, sram_2MB, dram
    assert [len(loops[op]) for op in "WIO"] == [2, 2, 3]
    names = {v: k for k, v in CONV_DIMS.items()}

    def product(levels: list, dim: str) -> int:
        return math.prod(f for level in levels for d, f in level if d == dim)

    d = {n: i for i, n in enumerate(mapping.dims)}
    t = mapping.temporal
    for op in "WIO":
        for dim in ("K", "C", "OY", "OX", "FY", "FX"):   # every operand sees the whole temporal nest
            assert product(loops[op], dim) == math.prod(t[lv][d[names[dim]]] for lv in range(4))
    for dim in ("K", "C", "OY", "OX", "FY", "FX"):
        i = d[names[dim]]
        assert product(loops["W"][:1], dim) == t[2][i] * t[3][i]            # rf_128B: its loops and rf_4B's
        assert product(loops["I"][:1], dim) == t[1][i] * t[2][i] * t[3][i]  # sram: everything below dram
        assert product(loops["O"][:1], dim) == t[3][i]                      # rf_4B: its own loops
        assert product(loops["O"][1:2], dim) == t[1][i] * t[2][i]           # sram: its loops and rf_128B's


def test_workload_entry_follows_zigzags_schema(tpu) -> None:
    space, design = tpu
    layer = map_named_layer(space, design, space.base_dir, "layer2.0.conv1").layer       # 3x3, stride 2
    entry = zigzag_layer(layer)
    assert entry["dimension_relations"] == ["ix=2*ox+1*fx", "iy=2*oy+1*fy"]
    assert dict(zip(entry["loop_dims"], entry["loop_sizes"])) == {"B": 1, "K": 128, "C": 64, "OY": 28, "OX": 28,
                                                                   "FY": 3, "FX": 3}
    gemm = map_named_layer(space, design, space.base_dir, GEMM).layer
    entry = zigzag_layer(gemm)
    assert dict(zip(entry["loop_dims"], entry["loop_sizes"])) == {"B": 128, "K": 768, "C": 768}


# ZigZag 3.9.1 LOMA's best mapping of layer4.0.downsample on tpu_like (EDP), as its CostModelEvaluation
# lists it (temporal_mapping.mapping_dic_origin: per operand, memories innermost first, loops innermost first)
DOWNSAMPLE = {"O": [[("C", 2), ("C", 4)], [("OY", 7), ("OX", 7), ("K", 4), ("K", 4)], []],
              "W": [[("C", 2), ("C", 4), ("OY", 7), ("OX", 7), ("K", 4), ("K", 4)], []],
              "I": [[("C", 2), ("C", 4), ("OY", 7), ("OX", 7), ("K", 4), ("K", 4)], []]}
KC = {"D1": {"K": 32}, "D2": {"C": 32}}


def _active(mapping, lv: int) -> list[str]:
    return [mapping.dims[d] for d in mapping.order[lv] if mapping.temporal[lv][d] > 1]


def test_zigzag_mapping_becomes_codesign_levels_and_costs_by_closed_form(tpu) -> None:
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "layer4.0.downsample")   # K512 C256 P7 Q7, 1x1 stride 2
    layer, acc = mapped.layer, mapped.accelerator
    got = from_zigzag(layer, acc, DOWNSAMPLE, KC)
    m, d = got.mapping, {n: i for i, n in enumerate(layer.dims)}
    assert got.notes == ()
    # O's rf_4B tile ends after C2 C4; W's rf_128B tile after all six loops; I and O's SRAM tiles too
    assert [m.temporal[3][d[x]] for x in "CKPQ"] == [8, 1, 1, 1]
    assert [m.temporal[2][d[x]] for x in "CKPQ"] == [1, 16, 7, 7]
    assert all(f == 1 for lv in (0, 1) for f in m.temporal[lv])
    assert _active(m, 2) == ["P", "Q", "K"]                       # OY innermost, as in ZigZag's order
    assert (m.rows[d["C"]], m.cols[d["K"]]) == (32, 32)          # D2 unrolls C (rows), D1 unrolls K (columns)
    cost = evaluate(layer, acc, m.to_nest())
    reads, fills, updates = (a[0] for a in (cost.accesses.reads, cost.accesses.fills, cost.accesses.updates))
    # DRAM: every weight once (no loop above a PE's K16 x C8 tile); the inputs once as the SRAM's tile, the
    # bounding box of 7 stride-2 outputs: 2 * (7 - 1) + 1 = 13 rows and columns x 256 channels; outputs once
    assert reads[0, 0] == 512 * 256 and reads[0, 1] == 13 * 13 * 256 and updates[0, 2] == 7 * 7 * 512
    assert fills[2, 0] == 16 * 8                                  # each PE's weight register filled once
    # latency: DRAM-bound, 131072 + 43264 B + 25088 final outputs at 1 B, at 8 B/cycle (compute: 6272 steps)
    assert cost.compute_cycles[0] == 7 * 7 * 16 * 8
    assert cost.cycles[0] == (512 * 256 + 13 * 13 * 256 + 7 * 7 * 512) / 8
    assert bool(cost.fits[0])


def test_zigzag_padding_unrolling_pads_the_codesign_mapping(tpu) -> None:
    """ZigZag unrolls K 32 over fc's 1000 output channels with 32 temporal steps: 1024, padded."""
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "fc")          # N1000 x K512 (ZigZag: K1000, C512)
    layer, acc = mapped.layer, mapped.accelerator
    fc = {"O": [[("C", 2), ("C", 4), ("C", 2)], [("K", 4), ("K", 4), ("K", 2)], []],       # ZigZag 3.9.1's best
          "W": [[("C", 2), ("C", 4), ("C", 2), ("K", 4)], [("K", 4), ("K", 2)]],
          "I": [[("C", 2), ("C", 4), ("C", 2), ("K", 4), ("K", 4), ("K", 2)], []]}
    m = from_zigzag(layer, acc, fc, KC).mapping
    d = {n: i for i, n in enumerate(layer.dims)}
    assert (m.temporal[3][d["K"]], m.temporal[2][d["N"]], m.temporal[1][d["N"]]) == (16, 4, 8)
    assert (m.rows[d["K"]], m.cols[d["N"]]) == (32, 32)
    assert dict(zip(m.dims, m.bounds())) == {"B": 1, "G": 1, "H": 1, "M": 1, "N": 1024, "K": 512}
    cost = evaluate(layer, acc, m.to_nest())
    assert cost.accesses.reads[0, 0, 0] == 1024 * 512                # padded weights, each once
    assert cost.accesses.reads[0, 0, 1] == 512                       # the input vector once


@pytest.mark.parametrize("name", ["layer3.0.conv2", "layer2.0.conv1", GEMM])
def test_round_trip_codesign_zigzag_codesign(tpu, name: str) -> None:
    """codesign's own mapping, written in ZigZag's terms and read back, is the same mapping."""
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, name)
    layer, acc, m = mapped.layer, mapped.accelerator, mapped.result.mapping
    table = {v: k for k, v in zigzag_dims(layer).items()}
    spatial = {axis: {z: f for z, k in table.items() for dim, f in zip(m.dims, factors) if dim == k and f > 1}
               for axis, factors in (("D1", m.cols), ("D2", m.rows))}
    back = from_zigzag(layer, acc, to_zigzag_temporal(layer, acc, m), spatial).mapping
    assert back.temporal == m.temporal and back.rows == m.rows and back.cols == m.cols
    assert all(_active(back, lv) == _active(m, lv) for lv in range(len(acc.levels)))


def test_cuts_codesign_cannot_express_are_refused(tpu) -> None:
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "layer4.0.downsample")
    layer, acc = mapped.layer, mapped.accelerator
    split = dict(DOWNSAMPLE, O=[[("C", 2), ("C", 4)], [("OY", 7), ("OX", 7)], [("K", 4), ("K", 4)]])
    with pytest.raises(CodesignError, match="sram_2MB holds I and O, which ZigZag cuts at different loops"):
        from_zigzag(layer, acc, split, KC)
    wider = dict(DOWNSAMPLE, O=[[("C", 2), ("C", 4), ("OY", 7)], [("OX", 7), ("K", 4), ("K", 4)], []],
                 W=[[("C", 2), ("C", 4)], [("OY", 7), ("OX", 7), ("K", 4), ("K", 4)]])
    with pytest.raises(CodesignError, match="the tile of rf_128B ends inside the tile of rf_4B"):
        from_zigzag(layer, acc, wider, KC)
    other = dict(DOWNSAMPLE, I=[[("C", 8), ("OY", 7), ("OX", 7), ("K", 16)], []])
    with pytest.raises(CodesignError, match="another loop sequence"):
        from_zigzag(layer, acc, other, KC)


def test_split_loops_of_one_dimension_are_merged_and_noted(tpu) -> None:
    space, design = tpu
    mapped = map_named_layer(space, design, space.base_dir, "layer4.0.downsample")
    layer, acc = mapped.layer, mapped.accelerator
    loops = [("C", 2), ("C", 4), ("K", 4), ("OY", 7), ("K", 4), ("OX", 7)]
    got = from_zigzag(layer, acc, {"O": [loops[:2], loops[2:], []], "W": [loops, []], "I": [loops, []]}, KC)
    d = {n: i for i, n in enumerate(layer.dims)}
    assert got.mapping.temporal[2][d["K"]] == 16 and _active(got.mapping, 2) == ["K", "P", "Q"]
    assert got.notes == ("rf_128B: the loops over K are not adjacent; merged at the innermost",)
