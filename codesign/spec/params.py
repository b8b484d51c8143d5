"""The searchable parameters of a space: names, domains, and resolving a design's values.

Parameter names are key paths with memory levels named, not numbered:
``hardware.clock``, ``hardware.array.rows``, ``hardware.memory.GLB.size``,
``schedule.objective``. A *design* is a value for every parameter (fixed ones included).
"""

from __future__ import annotations

import math
from typing import Any

from codesign.errors import CodesignError, did_you_mean
from codesign.spec.domains import Choice, Domain, Fixed, Range, parse_domain
from codesign.spec.vocabulary import DATAFLOWS, DRAM_TYPES, MAPPER_OBJECTIVES, PRECISIONS
from codesign.spec.space import Space

_LEVEL_PARAMS = ("size", "bandwidth", "bytes_per_cycle", "dram_type")


def all_domains(space: Space) -> dict[str, Domain]:
    """Every hardware and schedule value of ``space`` by parameter name (fixed ones included)."""
    hw = space.hardware
    out: dict[str, Domain] = {
        "hardware.precision": hw.precision,
        "hardware.technology": hw.technology,
        "hardware.clock": hw.clock,
        "hardware.array.rows": hw.array.rows,
        "hardware.array.cols": hw.array.cols,
        "hardware.array.macs_per_pe": hw.array.macs_per_pe,
        "hardware.array.dataflow": hw.array.dataflow,
    }
    for level in hw.memory:
        for key in _LEVEL_PARAMS:
            value = getattr(level, key)
            if value is not None:
                out[f"hardware.memory.{level.name}.{key}"] = value
    out["schedule.objective"] = space.schedule.objective
    out["schedule.candidates"] = space.schedule.candidates
    return out


_WORDS = {"precision": PRECISIONS, "dataflow": DATAFLOWS, "dram_type": DRAM_TYPES, "objective": MAPPER_OBJECTIVES}
_KINDS = {"clock": ("frequency", False), "technology": ("node", False), "size": ("size", True),
          "bandwidth": ("bandwidth", False), "rows": ("count", True), "cols": ("count", True),
          "macs_per_pe": ("count", True), "bytes_per_cycle": ("count", True), "candidates": ("count", True)}


def parse_value(name: str, text: Any) -> Any:
    """Parse a command-line value for parameter ``name`` (units allowed: ``256KiB``, ``800MHz``)."""
    import yaml

    leaf = name.rsplit(".", 1)[-1]
    try:
        text = yaml.safe_load(text) if text.strip() else text
        if leaf in _WORDS:
            return parse_domain(text, None, False, _WORDS[leaf]).value  # type: ignore[union-attr]
        kind, integer = _KINDS[leaf]
        return parse_domain(text, kind, integer).value  # type: ignore[union-attr]
    except KeyError:
        raise CodesignError(f"unknown parameter {name!r}", f"--set {name}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise CodesignError(str(exc), f"--set {name}") from None


def search_domains(space: Space) -> dict[str, Domain]:
    """Only the parameters that are searched (not fixed)."""
    return {k: d for k, d in all_domains(space).items() if not isinstance(d, Fixed)}


def key_path(name: str, space: Space) -> tuple:
    """The YAML key path of parameter ``name`` (memory levels by index), for error locations."""
    parts = name.split(".")
    if parts[:2] == ["hardware", "memory"]:
        index = [lv.name for lv in space.hardware.memory].index(parts[2])
        return ("hardware", "memory", index, *parts[3:])
    return tuple(parts)


def in_domain(value: Any, domain: Domain) -> bool:
    """Whether ``value`` lies in ``domain``."""
    if isinstance(domain, Fixed):
        return value == domain.value
    if isinstance(domain, Choice):
        return value in domain.options
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if domain.scale == "pow2":
        return value in domain.values()
    if domain.integer and float(value) != int(value):
        return False
    return domain.low - 1e-9 * abs(domain.low) <= value <= domain.high * (1 + 1e-9)


def resolve_design(space: Space, values: dict[str, Any]) -> dict[str, Any]:
    """A full design: ``values`` for searched parameters, fixed values for the rest.

    Raises :class:`CodesignError` for an unknown parameter, a missing one, or a value out of
    its domain.
    """
    domains = all_domains(space)
    unknown = [k for k in values if k not in domains]
    if unknown:
        raise CodesignError(f"unknown parameter {unknown[0]!r}{did_you_mean(unknown[0], domains)}; parameters: {', '.join(domains)}")
    design: dict[str, Any] = {}
    for name, domain in domains.items():
        if name in values:
            value = values[name]
            if not in_domain(value, domain):
                raise CodesignError(f"{value!r} is outside the domain of {name} ({describe_domain(domain)})")
            design[name] = value
        elif isinstance(domain, Fixed):
            design[name] = domain.value
        else:
            raise CodesignError(f"parameter {name} is searched ({describe_domain(domain)}); give it a value")
    return design


def describe_domain(domain: Domain) -> str:
    if isinstance(domain, Fixed):
        return f"fixed {domain.value!r}"
    if isinstance(domain, Choice):
        return "one of " + ", ".join(map(str, domain.options))
    if domain.scale == "pow2":
        return "a power of two in " + ", ".join(map(str, domain.values()))
    return f"{domain.scale} range [{domain.low:g}, {domain.high:g}]"


def grid_values(domain: Domain) -> list[Any]:
    """Finite value list of a domain for grid search (float ranges are not gridable)."""
    if isinstance(domain, Fixed):
        return [domain.value]
    if isinstance(domain, Choice):
        return list(domain.options)
    if domain.scale == "pow2":
        return list(domain.values())
    if domain.integer and domain.scale == "linear":
        step = int(domain.step or 1)
        return list(range(int(domain.low), int(domain.high) + 1, step))
    raise ValueError("a float or log range has no finite grid")


def grid_size(space: Space) -> float:
    """Number of designs in the full grid (``inf`` if some domain is continuous)."""
    size = 1.0
    for domain in search_domains(space).values():
        try:
            size *= len(grid_values(domain))
        except ValueError:
            return math.inf
    return size
