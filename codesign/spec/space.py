"""The space language: pydantic models for a codesign space file.

Strict: unknown keys are rejected, values are validated and normalized to base units at the
boundary (see :mod:`codesign.spec.domains`). Loading with file/line error messages lives in
:mod:`codesign.spec.loader`.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Literal

from pathlib import Path

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr, WithJsonSchema, field_validator

from codesign.errors import did_you_mean, one_of
from codesign.spec.domains import Choice, Fixed, Range, parse_domain
from codesign.spec.vocabulary import (
    DATAFLOWS, DRAM_TYPES, MAPPER_MODES, MAPPER_OBJECTIVES, MEMORY_KINDS, METRICS, PRECISIONS, SAMPLERS,
    SPATIAL_DIMS, STATIONARY_TENSORS, TENSORS, canonical_classes,
)
from codesign.units import UnitError, parse_quantity


def _domain_schema(description: str, scalar: dict[str, Any]) -> dict[str, Any]:
    word = {"type": ["number", "string"]}
    condition = {"when": {"type": "object", "minProperties": 1, "description": "Search this parameter only where "
                          "these searched parameters take these values: {parameter: value or [values]}.",
                          "additionalProperties": {"anyOf": [word, {"type": "array", "minItems": 1, "items": word}]}},
                 "default": {**scalar, "description": "The value where 'when' does not hold."}}
    return {
        "description": description,
        "anyOf": [
            scalar,
            {"type": "object", "properties": {"choice": {"type": "array", "minItems": 1, "items": scalar}, **condition},
             "required": ["choice"], "additionalProperties": False, "dependentRequired": {"when": ["default"]}},
            {"type": "object", "properties": {"min": scalar, "max": scalar,
                                              "scale": {"enum": ["linear", "log", "pow2"]}, "step": scalar, **condition},
             "required": ["min", "max"], "additionalProperties": False, "dependentRequired": {"when": ["default"]}},
        ],
    }


def _condition(d: Choice | Range) -> dict[str, Any]:
    if not d.when:
        return {}
    return {"when": {name: list(values) for name, values in d.when}, "default": d.default}


def _serialize(d: Any) -> Any:
    if isinstance(d, Fixed):
        return d.value
    if isinstance(d, Choice):
        return {"choice": list(d.options), **_condition(d)}
    if isinstance(d, Range):
        out: dict[str, Any] = {"min": d.low, "max": d.high, "scale": d.scale}
        if d.step is not None:
            out["step"] = d.step
        return {**out, **_condition(d)}
    return d


def param(kind: str | None, integer: bool, description: str, allowed: tuple[str, ...] | None = None) -> Any:
    """A field type holding a fixed value or a search domain of quantities of ``kind``."""
    scalar: dict[str, Any] = {"enum": list(allowed)} if allowed else {"type": ["number", "string"]}
    return Annotated[
        Any,
        BeforeValidator(partial(parse_domain, kind=kind, integer=integer, allowed=allowed)),
        PlainSerializer(_serialize),
        WithJsonSchema(_domain_schema(description, scalar)),
    ]


Count = param("count", True, "An integer, fixed or a domain.")
Size = param("size", True, "A size in bytes: 64KiB, 4MiB, 512B; fixed or a domain.")
Bandwidth = param("bandwidth", False, "A bandwidth in bytes/s: 25.6GB/s; fixed or a domain.")
Frequency = param("frequency", False, "A clock frequency: 1GHz, 800MHz; fixed or a domain.")
Node = param("node", False, "A technology node: 22nm, 28nm; fixed or a domain.")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class WorkloadSpec(Strict):
    """One model to evaluate every design on."""

    model: str = Field(description="A model in models/ (name) or a path to a model YAML file.")
    name: str | None = Field(None, description="Name used in constraints and reports; default: the model's name.")
    batch: int = Field(1, ge=1, description="Batch size (inferences per run).")
    seq_len: int | None = Field(None, ge=1, description="Sequence length in tokens, for sequence models.")
    params: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict, description="Overrides of the model's params symbols, e.g. {kv_len: 8192, image: 320}.")
    weight: float = Field(1.0, gt=0, description="Weight of this workload when objectives aggregate over workloads.")

    @property
    def label(self) -> str:
        return self.name or self.model.rsplit("/", 1)[-1].removesuffix(".yaml")


class ArraySpec(Strict):
    """The compute array: rows x cols processing elements (PEs), each with macs_per_pe MAC units."""

    rows: Count = Field(description="PE rows.")
    cols: Count = Field(description="PE columns.")
    macs_per_pe: Count = Field(Fixed(1), description="MAC units per PE (a dot-product lane vector over a reduction dimension).")
    vector_lanes: Count | None = Field(None, description="Lanes of the vector unit for non-MAC operators (activations, pooling, softmax, norms), operations per cycle; default: one per PE column.")
    dataflow: param(None, False, "Spatial dataflow of the array.", DATAFLOWS) = Field(  # type: ignore[valid-type]
        description="Which loop dimensions the rows and columns unroll: " + ", ".join(DATAFLOWS) + ".")
    mac_energy: float | None = Field(None, gt=0, description="Energy per multiply-accumulate in pJ, overriding the technology tables.")


class MemoryLevelSpec(Strict):
    """One memory level; the list in a space runs from the outermost (DRAM) to the innermost."""

    name: str = Field(description="Unique level name, e.g. DRAM, GLB, PE_RF.")
    kind: Literal["dram", "sram", "regfile"] = Field(description="Technology of the level: " + ", ".join(MEMORY_KINDS) + ".")
    scope: Literal["shared", "per_pe"] | None = Field(None, description="shared (one instance) or per_pe (one per PE); default: per_pe for regfile, shared otherwise.")
    size: Size | None = Field(None, description="Capacity in bytes (required except for dram).")
    bandwidth: Bandwidth | None = Field(None, description="Bandwidth in bytes/s per instance (e.g. 25.6GB/s).")
    bytes_per_cycle: Count | None = Field(None, description="Bandwidth in bytes per clock cycle per instance (alternative to bandwidth).")
    holds: tuple[Literal["weights", "inputs", "outputs"], ...] = Field(TENSORS, description="Tensors this level stores; others bypass it.")
    double_buffered: bool = Field(True, description="Whether transfers overlap compute (halves usable capacity).")
    dram_type: param(None, False, "DRAM technology (energy per bit).", DRAM_TYPES) | None = Field(  # type: ignore[valid-type]
        None, description="DRAM technology, for kind: dram: " + ", ".join(DRAM_TYPES) + ".")
    access_energy: float | None = Field(None, gt=0, description="Energy per byte read, written or updated, in pJ, overriding the technology tables (e.g. to model a peer tool's accelerator).")

    @property
    def resolved_scope(self) -> str:
        return self.scope or ("per_pe" if self.kind == "regfile" else "shared")


class HardwareSpec(Strict):
    """The accelerator template; every value may be a search domain."""

    precision: param(None, False, "Operand precision.", PRECISIONS) = Field(Fixed("int8"), description="Operand precision: " + ", ".join(PRECISIONS) + ".")  # type: ignore[valid-type]
    technology: Node = Field(description="Process node, 7nm to 65nm (energy and area scale with it).")
    clock: Frequency = Field(description="Clock frequency, e.g. 1GHz or {min: 200MHz, max: 1GHz, scale: log}.")
    array: ArraySpec
    memory: tuple[MemoryLevelSpec, ...] = Field(min_length=2, description="Memory levels, outermost (DRAM) first.")


class ScheduleSpec(Strict):
    """Compiler knobs: how the mapper chooses a mapping per layer."""

    objective: param(None, False, "What the mapper minimizes per layer.", MAPPER_OBJECTIVES) = Field(Fixed("edp"), description="Per-layer mapper objective: energy, latency, edp, or a lexicographic pair such as latency,energy (lowest latency, then lowest energy among ties).")  # type: ignore[valid-type]
    candidates: Count = Field(Fixed(800), description="Most mappings the mapper costs per layer with the cost model (it ranks many more by lower bounds first; more: closer to optimal, slower trials).")
    mode: param(None, False, "auto or fixed.", MAPPER_MODES) = Field(Fixed("auto"), description="auto: search the mapping space; fixed: emulate a naive compiler (one fixed loop order, greedy largest tiles innermost level first, the dataflow's default unroll) to measure the compiler gap on the same hardware.")  # type: ignore[valid-type]
    stationary: param(None, False, "Loop-order constraint.", STATIONARY_TENSORS) = Field(Fixed("any"), description="Loop-order constraint: any, or the tensor (weights, inputs, outputs) every level keeps resident (its irrelevant loops innermost).")  # type: ignore[valid-type]
    spatial_rows: param(None, False, "Dimension classes PE rows may unroll.", SPATIAL_DIMS) = Field(Fixed("dataflow"), description="What PE rows may unroll: dataflow (what the array's dataflow allows) or dimension classes joined by + (reduction, outch, outpix, group) that narrow it, e.g. reduction+group.")  # type: ignore[valid-type]
    spatial_cols: param(None, False, "Dimension classes PE columns may unroll.", SPATIAL_DIMS) = Field(Fixed("dataflow"), description="What PE columns may unroll; as spatial_rows.")  # type: ignore[valid-type]
    seed: int = Field(0, description="Kept for reproducible studies; the mapper is deterministic.")

    @field_validator("spatial_rows", "spatial_cols", mode="before")
    @classmethod
    def _class_order(cls, v: Any) -> Any:
        return canonical_classes(v)


_OBJ = re.compile(r"^\s*(minimize|maximize)\s+([a-z_]+)\s*(?:\[\s*([^\]]+?)\s*\])?\s*$")
_CON = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^)]+?)\s*\))?\s*(<=|>=)\s*(.+?)\s*$")


class Objective(Strict):
    """``minimize latency`` / ``maximize throughput``, optionally ``[ms]`` for the display unit."""

    direction: Literal["minimize", "maximize"]
    metric: str
    unit: str


class Constraint(Strict):
    """``metric[(workload)] <= value``: e.g. ``area <= 4mm2``, ``latency(resnet18) <= 10ms``."""

    metric: str
    workload: str | None
    op: Literal["<=", ">="]
    limit: float
    text: str


def parse_objective(raw: Any) -> Objective:
    if isinstance(raw, Objective):
        return raw
    m = _OBJ.match(raw) if isinstance(raw, str) else None
    if not m:
        raise ValueError(f"{raw!r} is not an objective; write 'minimize <metric>' or 'maximize <metric>' with a metric among {', '.join(METRICS)}")
    direction, metric, unit = m.groups()
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use {one_of(METRICS)}{did_you_mean(metric, METRICS)}")
    default_unit = METRICS[metric][1]
    if unit is not None:
        _check_display_unit(metric, unit)
    return Objective(direction=direction, metric=metric, unit=unit or default_unit)


def _check_display_unit(metric: str, unit: str) -> None:
    """Raise ``ValueError`` unless ``[unit]`` can show ``metric`` (a unit of its kind, or its default unit)."""
    kind, default_unit, _, _ = METRICS[metric]
    if unit == default_unit:
        return
    allowed = f"write [{default_unit}] or leave the unit out" if default_unit else "leave the unit out"
    if kind == "number":
        raise ValueError(f"{metric} has no unit to choose; {allowed}")
    try:
        parse_quantity("1" + unit, kind)  # type: ignore[arg-type]
    except UnitError:
        raise ValueError(f"[{unit}] is not a unit of {kind} for {metric}; {allowed}") from None


def parse_constraint(raw: Any) -> Constraint:
    if isinstance(raw, Constraint):
        return raw
    m = _CON.match(raw) if isinstance(raw, str) else None
    if not m:
        raise ValueError(f"{raw!r} is not a constraint; write '<metric> <= <value>' or '<metric>(<workload>) <= <value>', e.g. 'area <= 4mm2'")
    metric, workload, op, value = m.groups()
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} in constraint {raw!r}; use {one_of(METRICS)}{did_you_mean(metric, METRICS)}")
    kind = METRICS[metric][0]
    try:
        limit = float(parse_quantity(value, kind))  # type: ignore[arg-type]
    except UnitError as exc:
        raise ValueError(f"in constraint {raw!r}: {exc}") from None
    return Constraint(metric=metric, workload=workload, op=op, limit=limit, text=raw.strip())


class SamplerSpec(Strict):
    """A sampler and its options: a codesign name (``tpe``: codesign's settings, options override
    them) or an optuna sampler class (``TPESampler``: optuna's defaults plus the options).
    Checked against optuna in :mod:`codesign.dse.sampler_options` when the space is loaded."""

    name: str = Field(description="A codesign sampler (" + ", ".join(SAMPLERS) + ") or an optuna sampler class "
                                  "(TPESampler, NSGAIISampler, NSGAIIISampler, RandomSampler, QMCSampler, GPSampler, ...).")
    options: dict[str, Any] = Field(default_factory=dict, description="Keyword arguments of the sampler's constructor "
                                    "(JSON values); seed is set by codesign (search.seed).")


def _sampler_form(raw: Any) -> Any:
    return {"name": raw} if isinstance(raw, str) else raw


def _sampler_dump(s: SamplerSpec) -> Any:
    return {"name": s.name, "options": s.options} if s.options else s.name


_SAMPLER_SCHEMA = {"description": "Sampler: a name (" + ", ".join(SAMPLERS) + ", or an optuna sampler class such as "
                   "TPESampler) or {name: ..., options: {...}} with the constructor's keyword arguments.",
                   "anyOf": [{"type": "string"},
                             {"type": "object", "properties": {"name": {"type": "string"}, "options": {"type": "object"}},
                              "required": ["name"], "additionalProperties": False}]}
Sampler = Annotated[SamplerSpec, BeforeValidator(_sampler_form), PlainSerializer(_sampler_dump),
                    WithJsonSchema(_SAMPLER_SCHEMA)]


class SearchSpec(Strict):
    """How optuna explores the space."""

    sampler: Sampler = Field(SamplerSpec(name="auto"), description="Sampler: " + ", ".join(SAMPLERS) + ", an optuna sampler class, or {name: ..., options: {...}}.")
    trials: int = Field(100, ge=1, description="Total trials the study should hold (rerunning resumes up to this).")
    timeout: Annotated[float | None, BeforeValidator(lambda v: None if v is None else parse_quantity(v, "time"))] = Field(None, description="Wall-clock limit per run, e.g. 10min, 30s.")
    seed: int | None = Field(0, description="Sampler seed (same seed, same trials).")
    storage: str | None = Field(None, description="optuna storage URL; default: a journal file under runs/<study>/.")
    study: str | None = Field(None, description="Study name; default: the space's name.")
    jobs: int = Field(1, ge=1, description="Worker processes on this machine.")
    fidelity: Literal["analytical", "simulated", "auto"] = Field("analytical", description="Latency model: analytical (every trial), simulated (every trial re-timed by the tile-program simulator), auto (analytical search, then the Pareto front simulated; both kept).")
    prune: bool = Field(True, description="Give up a design as soon as its best reachable objective values (mapped layers plus lower bounds on the rest) are dominated by a feasible trial: recorded as PRUNED with the reason; the feasible Pareto front is unchanged. Not with fidelity: simulated.")
    seed_designs: tuple[dict[str, Annotated[Any, WithJsonSchema({"type": ["number", "string"]})]], ...] = Field(
        (), description="Designs to evaluate first, before sampling: {parameter: value} mappings with parameter "
                        "names as for --set (hardware.array.rows, hardware.memory.GLB.size) and values with "
                        "units (64KiB, 800MHz); parameters left out are sampled. Each is run once per study.")


class Space(Strict):
    """A whole codesign space file."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Study name (letters, digits, _ . -).")
    description: str = ""
    workloads: tuple[WorkloadSpec, ...] = Field(min_length=1)
    hardware: HardwareSpec
    schedule: ScheduleSpec = ScheduleSpec()
    objectives: tuple[Annotated[Objective, BeforeValidator(parse_objective), WithJsonSchema(
        {"type": "string", "pattern": _OBJ.pattern, "description": "'minimize <metric> [unit]' or 'maximize <metric>'; metrics: " + ", ".join(METRICS)})], ...] = Field(min_length=1)
    constraints: tuple[Annotated[Constraint, BeforeValidator(parse_constraint), WithJsonSchema(
        {"type": "string", "pattern": _CON.pattern, "description": "'<metric>[(<workload>)] <= <value with unit>', e.g. 'area <= 4mm2'"})], ...] = ()
    search: SearchSpec = SearchSpec()
    _base: Path | None = PrivateAttr(None)
    _source: str | None = PrivateAttr(None)
    _lines: dict[tuple, int] = PrivateAttr(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Directory that relative model paths are resolved against (the space file's folder)."""
        return self._base or Path.cwd()

    @field_validator("objectives")
    @classmethod
    def _distinct_objectives(cls, v: tuple[Objective, ...]) -> tuple[Objective, ...]:
        seen = [o.metric for o in v]
        dup = {m for m in seen if seen.count(m) > 1}
        if dup:
            raise ValueError(f"objective {sorted(dup)[0]!r} is listed twice")
        return v
