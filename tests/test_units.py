"""Unit parsing: values written the way people write them, normalized to base units."""

import pytest

from codesign.units import UnitError, format_quantity, parse_quantity


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("64KiB", "size", 65536), ("4MiB", "size", 4 * 1024**2), ("512B", "size", 512), ("16b", "size", 2),
    ("1KB", "size", 1000), ("1.2GHz", "frequency", 1.2e9), ("800MHz", "frequency", 8e8),
    ("25.6GB/s", "bandwidth", 25.6e9), ("12.8 GB/s", "bandwidth", 12.8e9), ("4mm2", "area", 4.0),
    ("4000um2", "area", 0.004), ("10ms", "time", 0.01), ("2min", "time", 120.0), ("2W", "power", 2.0),
    ("500mW", "power", 0.5), ("40pJ", "energy", 40e-12), ("22nm", "node", 22.0), (1024, "size", 1024),
    (16, "count", 16),
])
def test_parse(text, kind, expected):
    assert parse_quantity(text, kind) == pytest.approx(expected)


@pytest.mark.parametrize(("text", "kind", "fragment"), [
    ("64KB/s", "size", "is a bandwidth"),
    ("1GHz", "size", "is a frequency"),
    ("4mmm", "area", "unknown unit"),
    ("lots", "size", "cannot read"),
    ("1.5B", "size", "whole number of bytes"),
    (True, "size", "expected"),
    ("16", "count", "integer"),
])
def test_rejects_with_reason(text, kind, fragment):
    with pytest.raises(UnitError, match=fragment):
        parse_quantity(text, kind)


def test_format_roundtrip():
    for text in ("64KiB", "4MiB", "512B"):
        assert format_quantity(parse_quantity(text, "size"), "size") == text
    assert format_quantity(1.2e9, "frequency") == "1.2GHz"
