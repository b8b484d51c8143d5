"""The searchable parameters of a space: names, domains, and resolving a design's values.

Parameter names are key paths with memory levels named, not numbered:
``hardware.clock``, ``hardware.array.rows``, ``hardware.memory.GLB.size``,
``schedule.objective``. A *design* is a value for every parameter (fixed ones included).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from codesign.errors import CodesignError, did_you_mean
from codesign.spec.domains import Choice, Domain, Fixed, Range, parse_domain
from codesign.spec.loader import locate
from codesign.spec.vocabulary import (
    DATAFLOWS, DRAM_TYPES, MAPPER_MODES, MAPPER_OBJECTIVES, PRECISIONS, SPATIAL_DIMS, STATIONARY_TENSORS,
    canonical_classes,
)
from codesign.spec.space import Space
from codesign.units import format_quantity

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
        **({"hardware.array.vector_lanes": hw.array.vector_lanes} if hw.array.vector_lanes is not None else {}),
        "hardware.array.dataflow": hw.array.dataflow,
    }
    for level in hw.memory:
        for key in _LEVEL_PARAMS:
            value = getattr(level, key)
            if value is not None:
                out[f"hardware.memory.{level.name}.{key}"] = value
    for key in SCHEDULE_PARAMS:
        out[f"schedule.{key}"] = getattr(space.schedule, key)
    return out


SCHEDULE_PARAMS = ("objective", "candidates", "mode", "stationary", "spatial_rows", "spatial_cols")
_WORDS = {"precision": PRECISIONS, "dataflow": DATAFLOWS, "dram_type": DRAM_TYPES, "objective": MAPPER_OBJECTIVES,
          "mode": MAPPER_MODES, "stationary": STATIONARY_TENSORS, "spatial_rows": SPATIAL_DIMS, "spatial_cols": SPATIAL_DIMS}
_KINDS = {"clock": ("frequency", False), "technology": ("node", False), "size": ("size", True),
          "bandwidth": ("bandwidth", False), "rows": ("count", True), "cols": ("count", True),
          "macs_per_pe": ("count", True), "vector_lanes": ("count", True), "bytes_per_cycle": ("count", True), "candidates": ("count", True)}


def parse_value(name: str, text: Any, space: Space | None = None) -> Any:
    """Parse a command-line value for parameter ``name`` (units allowed: ``256KiB``, ``800MHz``).

    Given the ``space``, ``name`` must be one of its parameters and the value must lie in its domain.
    """
    import yaml

    where = f"--set {name}={text}"
    if space is not None:
        _check_name(name, space, where)
    leaf = name.rsplit(".", 1)[-1]
    try:
        raw = yaml.safe_load(text) if text.strip() else text
        if leaf in _WORDS:
            domain = parse_domain(canonical_classes(raw), None, False, _WORDS[leaf])
        else:
            kind, integer = _KINDS[leaf]
            domain = parse_domain(raw, kind, integer)
    except KeyError:
        raise CodesignError(f"unknown parameter {name!r}; parameters are key paths such as hardware.array.rows, "
                            "hardware.memory.<level>.size, schedule.objective", where) from None
    except (ValueError, yaml.YAMLError) as exc:
        note = f"; {_allows(name, space)}" if space is not None else ""
        raise CodesignError(f"{exc}{note}", where) from None
    if not isinstance(domain, Fixed):
        raise CodesignError("give one value, not a domain ({choice: ...} or {min: ..., max: ...})", where)
    if space is not None and not in_domain(domain.value, all_domains(space)[name]):
        raise CodesignError(_outside(text, name, space), where)
    return domain.value


def _check_name(name: str, space: Space, where: str) -> None:
    """Raise unless ``name`` is a parameter of ``space``."""
    domains = all_domains(space)
    if name not in domains:
        of = f" of {space._source}" if space._source else ""
        raise CodesignError(f"unknown parameter {name!r}{of}{did_you_mean(name, domains)}; parameters: {', '.join(domains)}", where)


def _outside(text: Any, name: str, space: Space) -> str:
    """Message for a value of ``name`` outside its domain in ``space``: where the domain is and what it allows."""
    return f"{text} is outside the domain: {_allows(name, space)}"


def _allows(name: str, space: Space) -> str:
    """What the space allows for ``name``: ``tiny.yaml:10 hardware.array.rows allows a power of two in 4, 8, 16``."""
    at = param_location(space, name) or name
    domain, kind = all_domains(space)[name], param_kind(name)
    if isinstance(domain, Fixed):
        return f"{at} allows only {format_value(domain.value, kind)} (edit the space file to search it)"
    return f"{at} allows {describe_domain(domain, kind)}"


def param_kind(name: str) -> str | None:
    """The unit kind of parameter ``name`` (``size``, ``frequency``, ...), ``None`` for words."""
    return _KINDS.get(name.rsplit(".", 1)[-1], (None, False))[0]


def param_location(space: Space, name: str) -> str:
    """``file:line key.path`` of parameter ``name`` in its space file, ``""`` if the space has no file."""
    if space._source is None:
        return ""
    return locate(space._source, space._lines, key_path(name, space))


def format_value(value: Any, kind: str | None) -> str:
    """A value as written in a space file: ``22nm``, ``64KiB``, ``800MHz``, ``16``, ``weight_stationary``."""
    if kind in (None, "count") or isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if kind == "node":
        return f"{value:g}nm"
    return format_quantity(value, kind)  # type: ignore[arg-type]


def search_domains(space: Space) -> dict[str, Domain]:
    """Only the parameters that are searched (not fixed); conditional ones last, so a parameter's
    condition names parameters that come before it."""
    searched = {k: d for k, d in all_domains(space).items() if not isinstance(d, Fixed)}
    return dict(sorted(searched.items(), key=lambda kv: bool(kv[1].when)))


@dataclass(frozen=True)
class Condition:
    """Part of a conditional parameter's ``when``: ``parent`` takes one of ``values`` (base units)."""

    parent: str
    values: tuple[Any, ...]


def conditions(space: Space) -> dict[str, tuple[Condition, ...]]:
    """The conditional parameters of ``space`` and their conditions (all must hold), checked.

    A condition names a searched, unconditional parameter with listable values (a choice or a
    pow2 range) and values of its domain; so conditions never chain and cannot form a cycle.
    Raises :class:`CodesignError` at ``file:line <parameter>.when.<parent>``.
    """
    domains = all_domains(space)
    out: dict[str, tuple[Condition, ...]] = {}
    for name, domain in domains.items():
        if isinstance(domain, Fixed) or not domain.when:
            continue
        parts = []
        for parent, raw_values in domain.when:
            where = _key_location(space, (*key_path(name, space), "when", parent))
            parent_domain = domains.get(parent)
            problem = _parent_problem(parent, parent_domain, name, space)
            if problem:
                raise CodesignError(problem, where)
            values = tuple(_seed_value(parent, raw, space, where) for raw in raw_values)
            if len(set(values)) != len(values):
                raise CodesignError(f"lists a value of {parent} twice", where)
            parts.append(Condition(parent, values))
        out[name] = tuple(parts)
    return out


def _parent_problem(parent: str, domain: Domain | None, name: str, space: Space) -> str:
    """Why ``parent`` cannot be named in the condition of ``name`` (``""`` if it can)."""
    candidates = [k for k, d in all_domains(space).items()
                  if k != name and _listable(d) and not d.when]  # type: ignore[union-attr]
    usable = f"; conditions name searched choice (or pow2) parameters: {', '.join(candidates) or 'none in this space'}"
    if parent == name:
        return f"{name} cannot depend on itself" + usable
    if domain is None:
        return f"unknown parameter {parent!r}{did_you_mean(parent, candidates)}" + usable
    kind = param_kind(parent)
    if isinstance(domain, Fixed):
        return f"{parent} is fixed ({format_value(domain.value, kind)}); a condition needs a searched parameter" + usable
    if not _listable(domain):
        return f"{parent} is a {describe_domain(domain, kind)}; a condition needs a parameter whose values can be listed" + usable
    if domain.when:
        return (f"{parent} is itself conditional; a condition names an unconditional parameter "
                "(conditions do not chain)" + usable)
    return ""


def _listable(domain: Domain) -> bool:
    return isinstance(domain, Choice) or (isinstance(domain, Range) and domain.scale == "pow2")


def applies(conds: tuple[Condition, ...], values: dict[str, Any]) -> bool:
    """Whether every condition holds for the parameter ``values`` of a design."""
    return all(c.parent in values and values[c.parent] in c.values for c in conds)


def describe_condition(conds: tuple[Condition, ...]) -> str:
    """``hardware.array.dataflow is flexible or row_stationary``."""
    return " and ".join(f"{c.parent} is {' or '.join(format_value(v, param_kind(c.parent)) for v in c.values)}"
                        for c in conds)


def _key_location(space: Space, key: tuple) -> str:
    """``file:line key.path`` (without a file: the key path alone)."""
    if space._source is None:
        return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in key).replace(".[", "[")
    return locate(space._source, space._lines, key)


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
        _check_name(unknown[0], space, "")
    conds = conditions(space)
    design: dict[str, Any] = {}
    for name, domain in sorted(domains.items(), key=lambda kv: kv[0] in conds):   # parents first
        if name in conds and not applies(conds[name], design):
            if name in values:
                raise CodesignError(f"parameter {name} is searched only when {describe_condition(conds[name])}; "
                                    f"this design has {_values_of(conds[name], design)}: leave {name} out",
                                    param_location(space, name))
            design[name] = domain.default  # type: ignore[union-attr]
        elif name in values:
            value = values[name]
            if not in_domain(value, domain):
                raise CodesignError(_outside(repr(value), name, space), param_location(space, name))
            design[name] = value
        elif isinstance(domain, Fixed):
            design[name] = domain.value
        else:
            kind = param_kind(name)
            raise CodesignError(f"parameter {name} is searched ({describe_domain(domain, kind)}); give it a value "
                                f"(on the command line: --set {name}={format_value(_example(domain), kind)})",
                                param_location(space, name))
    return {name: design[name] for name in domains}


def _values_of(conds: tuple[Condition, ...], design: dict[str, Any]) -> str:
    return ", ".join(f"{c.parent}={format_value(design.get(c.parent), param_kind(c.parent))}" for c in conds)


def _example(domain: Choice | Range) -> Any:
    """One value of a searched domain, to show how to give it."""
    if isinstance(domain, Choice):
        return domain.options[0]
    return domain.values()[0] if domain.scale == "pow2" else domain.low


def describe_domain(domain: Domain, kind: str | None = None) -> str:
    """``domain`` in words; given the parameter's unit ``kind``, values carry units (``one of 22nm, 28nm``)."""
    def show(value: Any) -> str:
        return format_value(value, kind) if kind else str(value)

    if isinstance(domain, Fixed):
        return f"fixed {show(domain.value) if kind else repr(domain.value)}"
    if isinstance(domain, Choice):
        return "one of " + ", ".join(map(show, domain.options))
    if domain.scale == "pow2":
        return "a power of two in " + ", ".join(map(show, domain.values()))
    low, high = (show(domain.low), show(domain.high)) if kind else (f"{domain.low:g}", f"{domain.high:g}")
    return f"{domain.scale} range [{low}, {high}]"


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
    """Number of distinct designs (``inf`` if some domain is continuous).

    A conditional parameter multiplies only the designs where its condition holds: the count
    sums, over every combination of the parameters conditions name, the product of the sizes
    of the other parameters that apply there.
    """
    domains = search_domains(space)
    try:
        sizes = {name: len(grid_values(d)) for name, d in domains.items()}
    except ValueError:
        return math.inf
    conds = conditions(space)
    parents = sorted({c.parent for cs in conds.values() for c in cs})
    total = 0.0
    for combo in itertools.product(*(grid_values(domains[p]) for p in parents)):
        design = dict(zip(parents, combo))
        total += math.prod(float(n) for name, n in sizes.items()
                           if name not in design and (name not in conds or applies(conds[name], design)))
    return total


def seed_designs(space: Space) -> list[dict[str, Any]]:
    """The space's ``search.seed_designs``, values parsed (units allowed, as with ``--set``) and
    checked against the domains; each design keeps only its searched parameters.

    Raises :class:`CodesignError` at ``file:line search.seed_designs[i].<parameter>``.
    """
    designs = []
    domains = all_domains(space)
    for i, raw in enumerate(space.search.seed_designs):
        design: dict[str, Any] = {}
        for name, text in raw.items():
            where = _seed_location(space, (i, name))
            if name not in domains:
                of = f" of {space._source}" if space._source else ""
                raise CodesignError(f"unknown parameter {name!r}{of}{did_you_mean(name, domains)}; "
                                    f"parameters: {', '.join(domains)}", where)
            value = _seed_value(name, text, space, where)
            if not isinstance(domains[name], Fixed):
                design[name] = value
        if not design:
            raise CodesignError("a seed design needs a value for at least one searched parameter, e.g. "
                                f"{{{next(iter(search_domains(space)), 'hardware.array.rows')}: ...}}",
                                _seed_location(space, (i,)))
        for name, conds in conditions(space).items():
            if name in design and not applies(conds, design):
                wrong = tuple(c for c in conds if c.parent in design)
                missing = [c.parent for c in conds if c.parent not in design]
                why = (f"this seed has {_values_of(wrong, design)}" if not applies(wrong, design) else
                       f"give {' and '.join(missing)} in this seed too")
                raise CodesignError(f"{name} is searched only when {describe_condition(conds)}; {why}, "
                                    f"or leave {name} out", _seed_location(space, (i, name)))
        designs.append(design)
    return designs


def _seed_location(space: Space, path: tuple) -> str:
    """``file:line search.seed_designs[i].name`` (without a file: the key path alone)."""
    return _key_location(space, ("search", "seed_designs", *path))


def _seed_value(name: str, raw: Any, space: Space, where: str) -> Any:
    """One seed-design value of parameter ``name`` in base units, inside its domain."""
    leaf = name.rsplit(".", 1)[-1]
    try:
        if leaf in _WORDS:
            domain = parse_domain(canonical_classes(raw), None, False, _WORDS[leaf])
        else:
            kind, integer = _KINDS[leaf]
            domain = parse_domain(raw, kind, integer)
    except ValueError as exc:
        raise CodesignError(f"{exc}; {_allows(name, space)}", where) from None
    if not isinstance(domain, Fixed):
        raise CodesignError("give one value, not a domain ({choice: ...} or {min: ..., max: ...})", where)
    if not in_domain(domain.value, all_domains(space)[name]):
        raise CodesignError(_outside(raw, name, space), where)
    return domain.value
