"""SCALE-Sim's own inputs: its ``.cfg`` config and topology CSV, onto :mod:`codesign.sim` types.

The config (SCALE-Sim 3.0.0, ``scalesim/scale_config.py``; keys are case-insensitive):

- ``[general] run_name``;
- ``[architecture_presets]`` ArrayHeight, ArrayWidth, IfmapSramSzkB, FilterSramSzkB,
  OfmapSramSzkB (KiB), Dataflow (os, ws, is), Bandwidth (words/cycle; with USER the OFMAP
  drain uses the first value, as SCALE-Sim does); IfmapOffset, FilterOffset, OfmapOffset,
  MemoryBanks, ReadRequestBuffer, WriteRequestBuffer are read and do not change the timing;
- ``[layout]`` (optional; SCALE-Sim's defaults otherwise) IfmapSRAMBankBandwidth and
  FilterSRAMBankBandwidth are the DRAM fill bandwidths with USER (SCALE-Sim 3.0.0 wires them
  so); the bank counts and ports matter only to custom layouts, which must stay off (SCALE-Sim
  also asserts, with USER, that each bank bandwidth is a multiple of its bank count; codesign
  does not need that);
- ``[sparsity]`` (optional) SparsitySupport must be false;
- ``[run_presets]`` InterfaceBandwidth CALC or USER; UseRamulatorTrace must be False;
- ``[network_presets] TopologyCsvLoc`` is ignored (the topology is an argument).

The topology CSV has a header line, then one layer per line: ``name, IFMAP height, IFMAP
width, filter height, filter width, channels, num filters, stride,`` (convolutions) or ``name,
M, N, K,`` (``gemm=True``, SCALE-Sim's ``-i gemm``), an optional ``N:M`` sparsity field that
must be ``1:1``, and an optional trailing comma. A convolution whose name contains ``DP`` is
depthwise: SCALE-Sim runs it as one single-channel layer per channel, ``<name>Channel_<i>``.

Anything else is a :class:`~codesign.errors.CodesignError` naming the file, line and key.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from codesign.errors import CodesignError, did_you_mean, one_of
from codesign.sim import ConvLayer, LayerTiming, SystolicArray, gemm, simulate
from codesign.sim.array import BandwidthMode, Dataflow

_KEYS: dict[str, tuple[str, ...]] = {
    "general": ("run_name",),
    "architecture_presets": ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
                             "IfmapOffset", "FilterOffset", "OfmapOffset", "Bandwidth", "Dataflow", "MemoryBanks",
                             "ReadRequestBuffer", "WriteRequestBuffer"),
    "layout": ("IfmapCustomLayout", "FilterCustomLayout", "IfmapSRAMBankBandwidth", "IfmapSRAMBankNum",
               "IfmapSRAMBankPort", "FilterSRAMBankBandwidth", "FilterSRAMBankNum", "FilterSRAMBankPort"),
    "sparsity": ("SparsitySupport", "SparseRep", "OptimizedMapping", "BlockSize", "RandomNumberGeneratorSeed"),
    "run_presets": ("InterfaceBandwidth", "UseRamulatorTrace"),
    "network_presets": ("TopologyCsvLoc",),
}
_OFF = {"SparsitySupport": "sparse filters", "IfmapCustomLayout": "custom IFMAP layouts",
        "FilterCustomLayout": "custom filter layouts", "UseRamulatorTrace": "Ramulator DRAM traces"}
_CONV_COLUMNS = ("IFMAP height", "IFMAP width", "filter height", "filter width", "channels", "num filters", "stride")
_GEMM_COLUMNS = ("M", "N", "K")


@dataclass(frozen=True)
class ScaleSimRun:
    """A config and topology read: the run's name, the array and the layers in order."""

    run_name: str
    array: SystolicArray
    layers: tuple[ConvLayer, ...]


class _Config:
    """A parsed config with located, typed look-ups."""

    def __init__(self, path: Path) -> None:
        self.path, self.text = path, path.read_text()
        self.parser = configparser.ConfigParser(interpolation=None, strict=True)
        try:
            self.parser.read_string(self.text, source=str(path))
        except configparser.Error as exc:
            raise CodesignError(f"not a SCALE-Sim config: {exc.message.splitlines()[0]}", str(path)) from None
        canon = {s: {k.lower(): k for k in keys} for s, keys in _KEYS.items()}
        for section in self.parser.sections():
            if section not in canon:
                raise CodesignError(f"unknown section [{section}]{did_you_mean(section, canon)}; {one_of(canon)}",
                                    self.where(section))
            for key in self.parser[section]:
                if key not in canon[section]:
                    hint = did_you_mean(key, canon[section])
                    for low, name in canon[section].items():
                        hint = hint.replace(f"'{low}'", f"'{name}'")
                    raise CodesignError(f"unknown key{hint}; [{section}] takes {one_of(_KEYS[section])}",
                                        self.where(key, section))

    def where(self, key: str, section: str | None = None) -> str:
        """``file:line [section] key`` of a key (or a section header)."""
        pattern = rf"^\s*\[({re.escape(key)})\]" if section is None else rf"^\s*({re.escape(key)})\s*[:=]"
        for line, text in enumerate(self.text.splitlines(), 1):
            if m := re.match(pattern, text, re.I):
                place, key = f"{self.path}:{line}", m.group(1)
                break
        else:
            place = str(self.path)
        return place if section is None else f"{place} [{section}] {key}"

    def get(self, section: str, key: str, default: str | None = None) -> str:
        if self.parser.has_option(section, key):
            return self.parser.get(section, key).strip()
        if default is None:
            raise CodesignError(f"missing key [{section}] {key}", str(self.path))
        return default

    def integer(self, section: str, key: str, default: int | None = None, minimum: int = 1) -> int:
        text = self.get(section, key, None if default is None else str(default))
        if not re.fullmatch(r"[+-]?\d+", text) or int(text) < minimum:
            raise CodesignError(f"expected an integer >= {minimum}, got {text!r}", self.where(key, section))
        return int(text)

    def flag(self, section: str, key: str) -> bool:
        text = self.get(section, key, "false")
        if text.lower() not in configparser.ConfigParser.BOOLEAN_STATES:
            raise CodesignError(f"expected True or False, got {text!r}", self.where(key, section))
        return configparser.ConfigParser.BOOLEAN_STATES[text.lower()]


def read_config(path: Path) -> tuple[str, SystolicArray]:
    """The run name and the array of a SCALE-Sim config file."""
    cfg = _Config(path)
    arch = "architecture_presets"
    for section, key in (("sparsity", "SparsitySupport"), ("layout", "IfmapCustomLayout"),
                         ("layout", "FilterCustomLayout"), ("run_presets", "UseRamulatorTrace")):
        if cfg.flag(section, key):
            raise CodesignError(f"{_OFF[key]} are not supported; set it to False", cfg.where(key, section))
    dataflow = cfg.get(arch, "Dataflow")
    if dataflow not in ("os", "ws", "is"):
        raise CodesignError(f"unknown dataflow {dataflow!r}; {one_of(('os', 'ws', 'is'))}", cfg.where("Dataflow", arch))
    mode = cfg.get("run_presets", "InterfaceBandwidth")
    if mode not in ("CALC", "USER"):
        raise CodesignError(f"expected CALC or USER, got {mode!r}", cfg.where("InterfaceBandwidth", "run_presets"))
    for key in ("IfmapOffset", "FilterOffset", "OfmapOffset", "MemoryBanks", "ReadRequestBuffer", "WriteRequestBuffer"):
        cfg.integer(arch, key, 0, minimum=0)
    for key in ("IfmapSRAMBankNum", "IfmapSRAMBankPort", "FilterSRAMBankNum", "FilterSRAMBankPort"):
        cfg.integer("layout", key, 1)
    drain = 10
    if mode == "USER":
        text = cfg.get(arch, "Bandwidth")
        if not all(re.fullmatch(r"\s*\d+\s*", v) and int(v) > 0 for v in text.split(",")):
            raise CodesignError(f"expected words/cycle (integers > 0, comma-separated), got {text!r}",
                                cfg.where("Bandwidth", arch))
        drain = int(text.split(",")[0])
    array = SystolicArray(
        rows=cfg.integer(arch, "ArrayHeight"), cols=cfg.integer(arch, "ArrayWidth"), dataflow=cast(Dataflow, dataflow),
        ifmap_sram_kb=cfg.integer(arch, "IfmapSramSzkB"), filter_sram_kb=cfg.integer(arch, "FilterSramSzkB"),
        ofmap_sram_kb=cfg.integer(arch, "OfmapSramSzkB"), bandwidth=cast(BandwidthMode, mode),
        ifmap_dram_bw=cfg.integer("layout", "IfmapSRAMBankBandwidth", 10),
        filter_dram_bw=cfg.integer("layout", "FilterSRAMBankBandwidth", 10), ofmap_dram_bw=drain)
    return cfg.get("general", "run_name"), array


def read_topology(path: Path, gemm_rows: bool = False) -> tuple[ConvLayer, ...]:
    """The layers of a SCALE-Sim topology CSV (convolution rows, or M, N, K rows with ``gemm_rows``)."""
    columns = _GEMM_COLUMNS if gemm_rows else _CONV_COLUMNS
    layers: list[ConvLayer] = []
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines[1:], 2):
        fields = [f.strip() for f in line.split(",")]
        if fields and fields[-1] == "":
            fields.pop()
        if not fields:
            continue
        where = f"{path}:{number}"
        if len(fields) == len(columns) + 2:
            if fields[-1].replace(" ", "") != "1:1":
                raise CodesignError(f"sparsity {fields[-1]!r} is not supported (only 1:1, dense)", where)
            fields.pop()
        if len(fields) != len(columns) + 1:
            raise CodesignError(f"expected {len(columns) + 1} fields (name, {', '.join(columns)}), "
                                f"got {len(fields)}", where)
        name, values = fields[0], []
        for column, text in zip(columns, fields[1:]):
            if not text.isdigit() or int(text) < 1:
                raise CodesignError(f"{column}: expected an integer >= 1, got {text!r}", where)
            values.append(int(text))
        try:
            if gemm_rows:
                layers.append(gemm(name, *values))
            elif "DP" in name:
                layers += [ConvLayer(f"{name}Channel_{c}", *values[:4], 1, *values[5:6], values[6], values[6])
                           for c in range(values[4])]
            else:
                layers.append(ConvLayer(name, *values[:6], values[6], values[6]))
        except ValueError as exc:
            raise CodesignError(str(exc), where) from None
    if not layers:
        raise CodesignError("no layers (the first line is the header)", str(path))
    return tuple(layers)


def load(config: Path, topology: Path, gemm_rows: bool = False) -> ScaleSimRun:
    """Read a SCALE-Sim config and topology."""
    for p in (config, topology):
        if not p.is_file():
            raise CodesignError("no such file", str(p))
    name, array = read_config(config)
    return ScaleSimRun(name, array, read_topology(topology, gemm_rows))


def run(config: Path, topology: Path, gemm_rows: bool = False) -> tuple[ScaleSimRun, list[LayerTiming]]:
    """Read the inputs and time every layer with :func:`codesign.sim.simulate`."""
    spec = load(config, topology, gemm_rows)
    return spec, [simulate(layer, spec.array) for layer in spec.layers]


def to_json(spec: ScaleSimRun, timings: list[LayerTiming]) -> dict[str, Any]:
    """``{"run_name", "layers": [...]}`` with every :class:`~codesign.sim.LayerTiming` field."""
    return {"run_name": spec.run_name, "layers": [asdict(t) for t in timings]}


def summary_lines(spec: ScaleSimRun, timings: list[LayerTiming]) -> list[str]:
    """A COMPUTE_REPORT-like table, one line per layer."""
    a = spec.array
    head = (f"{spec.run_name}: {a.rows}x{a.cols} {a.dataflow.upper()}, SRAM {a.ifmap_sram_kb}/{a.filter_sram_kb}/"
            f"{a.ofmap_sram_kb} KiB, {a.bandwidth} bandwidth")
    rows = [f"{'layer':<20} {'compute':>10} {'stall':>10} {'total':>10} {'incl.prefetch':>13} {'util%':>7} {'map.eff%':>8}"]
    rows += [f"{t.name:<20} {t.compute_cycles:>10} {t.stall_cycles:>10} {t.total_cycles:>10} "
             f"{t.total_cycles_incl_prefetch:>13} {t.compute_util:>7.2f} {t.mapping_efficiency:>8.2f}" for t in timings]
    return [head, *rows]
