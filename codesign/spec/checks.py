"""Checks across fields that pydantic cannot express, each with file:line key.path."""

from __future__ import annotations

from pathlib import Path

from codesign.errors import CodesignError, did_you_mean
from codesign.hardware.technology import NODE_RANGE_NM
from codesign.spec.domains import Choice, Fixed, Range
from codesign.spec.loader import Lines, locate
from codesign.spec.params import conditions, grid_size
from codesign.spec.space import Space
from codesign.spec.vocabulary import SAMPLERS, WORKLOAD_INDEPENDENT
from codesign.workload.zoo import load_model


def check_space(space: Space, path: Path, lines: Lines) -> None:
    """Raise :class:`CodesignError` at the first cross-field problem of ``space``."""
    src = str(path)

    def fail(what: str, key: tuple) -> None:
        raise CodesignError(what, locate(src, lines, key))

    labels = []
    for i, w in enumerate(space.workloads):
        try:
            load_model(w.model, batch=w.batch, seq_len=w.seq_len, base=path.parent, overrides=w.params)
        except CodesignError as exc:
            fail(exc.what if not exc.where else f"{exc.where}: {exc.what}", ("workloads", i, "model"))
        if w.label in labels:
            fail(f"two workloads are named {w.label!r}; give one a distinct 'name'", ("workloads", i))
        labels.append(w.label)

    mem = space.hardware.memory
    names = [lv.name for lv in mem]
    for i, lv in enumerate(mem):
        at = ("hardware", "memory", i)
        if lv.name in names[:i]:
            fail(f"level name {lv.name!r} is used twice (first at hardware.memory[{names.index(lv.name)}]); "
                 "names must be unique", at + ("name",))
        if (lv.kind == "dram") != (i == 0):
            fail(f"the first level must be the dram level, not {lv.kind} level {lv.name}; list levels outermost first: "
                 "dram, then sram, then regfile" if i == 0 else
                 f"only the first (outermost) level may be dram; {lv.name} is level {i}", at + ("kind",))
        if lv.kind != "dram" and lv.size is None:
            fail(f"level {lv.name} needs a size (e.g. size: 64KiB)", at)
        if lv.kind == "dram" and lv.size is not None:
            fail("a dram level has no size (it holds the whole model); remove size", at + ("size",))
        if lv.kind != "dram" and lv.dram_type is not None:
            fail("dram_type is only for the dram level", at + ("dram_type",))
        if lv.bandwidth is not None and lv.bytes_per_cycle is not None:
            fail("give either bandwidth (bytes/s) or bytes_per_cycle, not both", at + ("bytes_per_cycle",))
        if lv.kind == "dram" and set(lv.holds) != {"weights", "inputs", "outputs"}:
            fail("the dram level must hold weights, inputs and outputs", at + ("holds",))
        if not lv.holds:
            fail("a level must hold at least one tensor (weights, inputs, outputs)", at + ("holds",))
        if i > 0 and mem[i - 1].resolved_scope == "per_pe" and lv.resolved_scope == "shared":
            fail(f"shared level {lv.name} is inside a per_pe level; list shared levels before per-PE ones", at + ("scope",))
        if lv.kind == "dram" and lv.resolved_scope != "shared":
            fail("the dram level is shared", at + ("scope",))
        for key in ("size", "bandwidth", "bytes_per_cycle"):
            dom = getattr(lv, key)
            if dom is not None and _minimum(dom) <= 0:
                fail(f"{key} must be positive", at + (key,))

    for key in ("rows", "cols", "macs_per_pe"):
        if _minimum(getattr(space.hardware.array, key)) < 1:
            fail(f"{key} must be at least 1", ("hardware", "array", key))
    if _minimum(space.hardware.clock) <= 0:
        fail("clock must be positive", ("hardware", "clock"))
    lo, hi = NODE_RANGE_NM
    tech = space.hardware.technology
    outside = [n for n in _nodes(tech) if not lo <= n <= hi]
    if outside:
        fail(f"{outside[0]:g}nm is not supported; technology nodes from {lo:g}nm to {hi:g}nm are supported",
             ("hardware", "technology"))
    if _minimum(space.schedule.candidates) < 1:
        fail("candidates must be at least 1", ("schedule", "candidates"))

    for i, c in enumerate(space.constraints):
        at = ("constraints", i)
        if c.workload is not None:
            if c.metric in WORKLOAD_INDEPENDENT:
                fail(f"{c.metric} does not depend on the workload; write '{c.metric} {c.op} ...'", at)
            if c.workload not in labels:
                fail(f"constraint {c.text!r} names workload {c.workload!r}{did_you_mean(c.workload, labels)}; workloads: {', '.join(labels)}", at)
        if c.op == "<=" and c.limit <= 0:
            fail(f"constraint {c.text!r} can never be met: {c.metric} is always positive; give a positive limit", at)
        if c.metric == "utilization" and c.op == ">=" and c.limit > 1:
            fail(f"constraint {c.text!r} can never be met: utilization is at most 1", at)

    conds = conditions(space)   # raises at the first bad 'when'
    sampler = space.search.sampler
    if sampler.name in ("grid", "GridSampler"):
        if conds:
            fail(f"the grid sampler cannot search conditional parameters ({', '.join(conds)}): its grid holds "
                 "every parameter in every design; choose another sampler", ("search", "sampler"))
        if grid_size(space) == float("inf"):
            fail("the grid sampler needs finite domains (choices, pow2 or stepped integer ranges); "
                 "a float or log range has no grid", ("search", "sampler"))
    if sampler.name not in SAMPLERS or sampler.options:
        from codesign.dse.sampler_options import check_sampler   # imports optuna: only when needed

        check_sampler(space)


def _minimum(d: Fixed | Choice | Range) -> float:
    if isinstance(d, Fixed):
        return d.value if isinstance(d.value, (int, float)) else 1
    low = min(d.options) if isinstance(d, Choice) and all(isinstance(o, (int, float)) for o in d.options) else (
        d.low if isinstance(d, Range) else 1)
    return min(low, d.default) if d.when and isinstance(d.default, (int, float)) else low


def _nodes(d: Fixed | Choice | Range) -> tuple[float, ...]:
    """The technology nodes (nm) a domain reaches: its value, its options or its two ends (and a conditional default)."""
    if isinstance(d, Fixed):
        return (d.value,)
    reached = d.options if isinstance(d, Choice) else (d.low, d.high)
    return (*reached, d.default) if d.when else reached
