"""Search domains: every hardware and schedule value is fixed or a domain.

In a space file a value is written as

- a fixed value: ``64KiB``, ``16``, ``weight_stationary``;
- a categorical choice: ``{choice: [16, 32, 64]}``;
- an integer range: ``{min: 8, max: 64, scale: linear | log | pow2, step: 1}``;
- a float range: ``{min: 200MHz, max: 1GHz, scale: linear | log}``;
- a conditional domain: any choice or range with ``when: {<parameter>: <value or list>}`` and
  ``default: <value>``: searched only in designs where every named (searched, categorical)
  parameter takes one of the listed values, ``default`` elsewhere (checked against the space
  in :func:`codesign.spec.params.conditions`).

Values with units are normalized to base units (see :mod:`codesign.units`). Domains are
frozen dataclasses; :func:`parse_domain` turns the YAML value into one, raising
``ValueError`` with a message that says what is allowed (pydantic adds the key path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from codesign.errors import did_you_mean, one_of
from codesign.units import Kind, UnitError, describe_kind, format_quantity, parse_quantity

Scale = Literal["linear", "log", "pow2"]


@dataclass(frozen=True)
class Fixed:
    """A value that is not searched."""

    value: Any


When = tuple[tuple[str, tuple[Any, ...]], ...]
"""A domain's condition as written: ``((parameter, (value, ...)), ...)``, values not yet parsed."""


@dataclass(frozen=True)
class Choice:
    """A categorical domain: one of ``options`` (already normalized to base units).

    ``when`` (empty: always searched) and ``default`` make it conditional, see :func:`parse_domain`.
    """

    options: tuple[Any, ...]
    when: When = ()
    default: Any = None


@dataclass(frozen=True)
class Range:
    """A numeric domain ``[low, high]`` in base units; ``integer`` ranges may use ``pow2``."""

    low: float
    high: float
    scale: Scale
    integer: bool
    step: float | None = None
    when: When = ()
    default: Any = None

    def values(self) -> tuple[int, ...]:
        """The powers of two in ``[low, high]`` (only for ``scale == "pow2"``)."""
        lo, hi = math.ceil(math.log2(self.low)), math.floor(math.log2(self.high))
        return tuple(2**e for e in range(lo, hi + 1))


Domain = Fixed | Choice | Range


def parse_domain(raw: Any, kind: Kind | None, integer: bool, allowed: tuple[str, ...] | None = None) -> Domain:
    """Read one YAML value as a :data:`Domain` of quantities of ``kind``.

    ``allowed`` lists the legal words for an enumerated value (dataflows, precisions, ...);
    ``kind`` is the unit family for numbers (``None`` for enumerations).
    """
    if isinstance(raw, (Fixed, Choice, Range)):
        return raw
    if isinstance(raw, dict) and ("when" in raw or "default" in raw):
        return _conditional(raw, kind, integer, allowed)
    if isinstance(raw, dict):
        keys = set(raw)
        if "choice" in keys:
            extra = keys - {"choice"}
            if extra:
                raise ValueError(f"a choice takes only the key 'choice', not {sorted(extra)}")
            options = raw["choice"]
            if not isinstance(options, list) or not options:
                raise ValueError("'choice' needs a non-empty list of options, e.g. {choice: [16, 32, 64]}")
            values = tuple(_scalar(o, kind, integer, allowed) for o in options)
            if len(set(values)) != len(values):
                raise ValueError(f"'choice' lists an option twice: {options}")
            return Choice(values)
        if "min" in keys or "max" in keys:
            if allowed is not None:
                raise ValueError(f"this value is a word, not a number; write it fixed or as {{choice: [...]}} of {one_of(allowed)}")
            extra = keys - {"min", "max", "scale", "step"}
            if extra:
                raise ValueError(f"unknown key(s) {sorted(extra)} in a range; a range has min, max, scale (linear, log{', pow2' if integer else ''}), step")
            if "min" not in keys or "max" not in keys:
                raise ValueError("a range needs both 'min' and 'max', e.g. {min: 8, max: 64}")
            scale = raw.get("scale", "linear")
            scales = ("linear", "log", "pow2") if integer else ("linear", "log")
            if scale not in scales:
                raise ValueError(f"scale {scale!r} is not allowed here; use {one_of(scales)}{did_you_mean(scale, scales)}")
            low, high = _scalar(raw["min"], kind, integer, None), _scalar(raw["max"], kind, integer, None)
            if low > high:
                raise ValueError(f"min ({raw['min']}) is greater than max ({raw['max']}); swap them")
            if scale in ("log", "pow2") and low <= 0:
                raise ValueError(f"a {scale} range needs min > 0, got {raw['min']}")
            step = raw.get("step")
            if step is not None:
                if scale != "linear":
                    raise ValueError("'step' is only allowed with scale: linear")
                step = _scalar(step, kind, integer, None)
                if step <= 0:
                    raise ValueError(f"step must be positive, got {raw['step']}")
            rng = Range(low, high, scale, integer, step)
            if scale == "pow2" and not rng.values():
                raise ValueError(f"no power of two lies between {raw['min']} and {raw['max']}; "
                                 f"widen the range to include one, e.g. {_pow2_hint(low, high, kind)}")
            return rng
        raise ValueError("a domain is {choice: [...]} or {min: ..., max: ..., scale: ...}; "
                         f"got keys {sorted(keys)}")
    if isinstance(raw, list):
        raise ValueError(f"a bare list is ambiguous; write {{choice: {raw}}} to search over these values")
    return Fixed(_scalar(raw, kind, integer, allowed))


def _conditional(raw: dict, kind: Kind | None, integer: bool, allowed: tuple[str, ...] | None) -> Choice | Range:
    """A choice or range with ``when: {parameter: value | [values]}`` and ``default: value``."""
    rest = {k: v for k, v in raw.items() if k not in ("when", "default")}
    if "when" not in raw:
        raise ValueError("'default' belongs to a conditional domain; add when: {<parameter>: <values>} "
                         "or write the value fixed")
    if "default" not in raw:
        raise ValueError("a conditional domain needs 'default': the value the parameter takes where "
                         "'when' does not hold")
    when = raw["when"]
    if not isinstance(when, dict) or not when:
        raise ValueError("'when' maps searched parameters to the values the domain applies for, "
                         "e.g. when: {hardware.array.dataflow: [flexible]}")
    parsed: list[tuple[str, tuple[Any, ...]]] = []
    for name, values in when.items():
        values = tuple(values) if isinstance(values, list) else (values,)
        if not values or any(isinstance(v, (dict, list)) for v in values):
            raise ValueError(f"when: {name}: give a value or a non-empty list of values, got {when[name]!r}")
        parsed.append((str(name), values))
    domain = parse_domain(rest, kind, integer, allowed) if rest else None
    if not isinstance(domain, (Choice, Range)):
        raise ValueError("'when' needs a searched domain: {choice: [...], when: ..., default: ...} or "
                         "{min: ..., max: ..., when: ..., default: ...}")
    default = _scalar(raw["default"], kind, integer, allowed)
    return replace(domain, when=tuple(parsed), default=default)


def _scalar(raw: Any, kind: Kind | None, integer: bool, allowed: tuple[str, ...] | None) -> Any:
    if allowed is not None:
        if not isinstance(raw, str) or raw not in allowed:
            raise ValueError(f"{raw!r} is not allowed; use {one_of(allowed)}{did_you_mean(str(raw), allowed)}")
        return raw
    assert kind is not None
    try:
        value = parse_quantity(raw, kind)
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    if integer:
        if float(value) != int(value):
            raise ValueError(f"expected a whole number, got {raw!r}")
        value = int(value)
    if value < 0:
        raise ValueError(f"must not be negative, got {raw!r}; expected {describe_kind(kind)}")
    return value


def _pow2_hint(low: float, high: float, kind: Kind | None) -> str:
    """A pow2 range around ``[low, high]`` that holds powers of two, written as in a space file."""
    lo, hi = 2 ** math.floor(math.log2(low)), 2 ** math.ceil(math.log2(high))
    show = (lambda v: format_quantity(v, "size")) if kind == "size" else str
    return f"{{min: {show(lo)}, max: {show(hi)}, scale: pow2}}"
