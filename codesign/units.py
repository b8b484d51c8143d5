"""Quantities written the way people write them, normalized to base units.

Base units inside codesign: bytes, bytes/s, Hz, seconds, joules, watts, mm² (area is the one
non-SI base: accelerator areas are read in mm²), and nanometres for technology nodes.
Binary prefixes (KiB, MiB, GiB) are powers of 1024; decimal prefixes (KB, MB, GB, k, M, G)
are powers of 1000, as in JEDEC bandwidth figures (LPDDR4-3200 x32 = 12.8 GB/s).

>>> parse_quantity("64KiB", "size")
65536
>>> parse_quantity("1.2GHz", "frequency")
1200000000.0
>>> parse_quantity("25.6GB/s", "bandwidth")
25600000000.0
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["size", "bandwidth", "frequency", "time", "energy", "power", "area", "node", "count", "number"]

_PREFIX = {
    "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3, "Ti": 1024.0**4,
    "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15,
}

# unit symbol -> (kind, factor to base unit)
_UNITS: dict[str, tuple[str, float]] = {
    "B": ("size", 1.0), "b": ("size", 1 / 8), "bit": ("size", 1 / 8),
    "B/s": ("bandwidth", 1.0), "b/s": ("bandwidth", 1 / 8), "bps": ("bandwidth", 1 / 8),
    "Hz": ("frequency", 1.0),
    "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
    "J": ("energy", 1.0),
    "W": ("power", 1.0),
    "mm2": ("area", 1.0), "mm^2": ("area", 1.0), "mm²": ("area", 1.0), "um2": ("area", 1e-6),
    "um^2": ("area", 1e-6), "µm2": ("area", 1e-6), "µm²": ("area", 1e-6),
}
_BASE = {"size": "B", "bandwidth": "B/s", "frequency": "Hz", "time": "s", "energy": "J",
         "power": "W", "area": "mm2", "node": "nm"}
_EXAMPLES = {"size": "64KiB, 4MiB, 512B", "bandwidth": "25.6GB/s, 12.8GB/s", "frequency": "1GHz, 800MHz",
             "time": "10ms, 2.5us", "energy": "1.2mJ, 40pJ", "power": "2W, 500mW", "area": "4mm2",
             "node": "22nm, 28nm", "count": "an integer like 16", "number": "a number like 0.5"}

_QTY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ²^/0-9]*)\s*$")


class UnitError(ValueError):
    """A value that is not a quantity of the expected kind; the message says what is allowed."""


def _split_unit(unit: str) -> tuple[str, float] | None:
    if unit in _UNITS:
        return _UNITS[unit]
    for plen in (2, 1):
        prefix, rest = unit[:plen], unit[plen:]
        if prefix in _PREFIX and rest in _UNITS:
            kind, factor = _UNITS[rest]
            return kind, factor * _PREFIX[prefix]
    return None


def parse_quantity(value: object, kind: Kind) -> float | int:
    """Parse ``value`` (a number or a string like ``"64KiB"``) as a quantity of ``kind``.

    Plain numbers are taken in the base unit of ``kind``. Sizes and counts come back as
    ``int``; everything else as ``float``. Raises :class:`UnitError` naming the allowed form.
    """
    if isinstance(value, bool):
        raise UnitError(f"expected {describe_kind(kind)}, got {value!r}")
    if kind in ("count",):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UnitError(f"expected an integer, got {value!r}")
    if isinstance(value, (int, float)):
        number, factor = float(value), 1.0
    elif isinstance(value, str):
        m = _QTY.match(value)
        if not m:
            raise UnitError(f"cannot read {value!r} as {describe_kind(kind)}")
        number, unit = float(m.group(1)), m.group(2)
        if kind == "node":
            if unit not in ("", "nm"):
                raise UnitError(f"unknown unit {unit!r} in {value!r}; expected {describe_kind(kind)}")
            factor = 1.0
        elif kind == "number":
            if unit:
                raise UnitError(f"expected a plain number, got {value!r}")
            factor = 1.0
        elif unit == "":
            factor = 1.0
        else:
            parsed = _split_unit(unit)
            if parsed is None:
                raise UnitError(f"unknown unit {unit!r} in {value!r}; expected {describe_kind(kind)}")
            ukind, factor = parsed
            if ukind != kind:
                raise UnitError(f"{value!r} is a {ukind}, but {describe_kind(kind)} is expected here")
    else:
        raise UnitError(f"expected {describe_kind(kind)}, got {value!r}")
    result = number * factor
    if kind == "size":
        if abs(result - round(result)) > 1e-9 * max(1.0, abs(result)):
            raise UnitError(f"{value!r} is not a whole number of bytes")
        return int(round(result))
    return result


def describe_kind(kind: str) -> str:
    """What a value of ``kind`` looks like, for messages: ``a size in B (e.g. 64KiB, 4MiB, 512B)``."""
    base = _BASE.get(kind)
    unit = f" in {base}" if base else ""
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind}{unit} (e.g. {_EXAMPLES[kind]})"


def format_quantity(value: float, kind: Kind) -> str:
    """Human-readable form of a base-unit value: ``format_quantity(65536, "size") == "64KiB"``."""
    if kind == "size":
        for unit, f in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if value >= f and value % f == 0:
                return f"{int(value // f)}{unit}"
        return f"{int(value)}B"
    base = _BASE.get(kind, "")
    if kind == "area":
        return f"{value:.3g}mm2"
    for prefix, f in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("u", 1e-6), ("n", 1e-9), ("p", 1e-12)):
        if abs(value) >= f or f == 1e-12:
            return f"{value / f:.4g}{prefix}{base}"
    return f"{value}{base}"
