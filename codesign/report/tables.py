"""Study trials as rows: the data behind trials.csv, pareto.csv, pareto.json and the terminal table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from codesign.dse.pareto import pareto_mask
from codesign.spec.params import search_domains
from codesign.spec.space import Space

# aggregated metric -> column name with its base unit
METRIC_COLUMNS = {"latency": "latency_s", "energy": "energy_J", "edp": "edp_Js", "power": "power_W",
                  "area": "area_mm2", "throughput": "throughput_per_s", "utilization": "utilization"}


@dataclass(frozen=True)
class TrialRow:
    """One finished trial, flattened."""

    number: int
    state: str
    feasible: bool
    reason: str
    params: dict[str, Any]
    objectives: dict[str, float]        # objective label -> value in its display unit
    metrics: dict[str, float]           # base units
    per_workload: dict[str, dict[str, float]]
    constraints: dict[str, float]
    area_mm2: dict[str, float]
    same_as: int | None = None          # the earlier trial of the same design whose outcome this one took


def objective_labels(space: Space) -> list[str]:
    return [f"{o.metric} [{o.unit}]" if o.unit else o.metric for o in space.objectives]


def trial_rows(study: optuna.Study, space: Space) -> list[TrialRow]:
    """All finished trials (complete, failed, pruned), in trial-number order."""
    labels = objective_labels(space)
    texts = [c.text for c in space.constraints]
    rows = []
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
    for t in sorted(trials, key=lambda t: t.number):
        rows.append(_row(t, labels, texts))
    return rows


def _row(t: FrozenTrial, labels: list[str], texts: list[str]) -> TrialRow:
    result = t.user_attrs.get("result") or {}
    constraints = {k: float(v) for k, v in (t.constraints or {}).items()}
    complete = t.state == TrialState.COMPLETE
    feasible = complete and all(v <= 0 for v in constraints.values())
    reason = result.get("reason") or t.user_attrs.get("reason", "")
    return TrialRow(
        number=t.number, state=t.state.name, feasible=feasible, reason=reason, params=dict(t.params),
        objectives=dict(zip(labels, t.values)) if complete and t.values else {},
        metrics=result.get("metrics", {}), per_workload=result.get("per_workload", {}),
        constraints=constraints, area_mm2=result.get("area_mm2", {}), same_as=t.user_attrs.get("same_as"),
    )


def trial_counts(rows: list[TrialRow]) -> str:
    """``40 finished (25 complete, 20 feasible, 12 pruned, 3 failed)``."""
    complete = sum(r.state == "COMPLETE" for r in rows)
    pruned = sum(r.state == "PRUNED" for r in rows)
    return (f"{len(rows)} finished ({complete} complete, {sum(r.feasible for r in rows)} feasible, "
            + (f"{pruned} pruned as dominated, " if pruned else "") + f"{len(rows) - complete - pruned} failed)")


def pareto_rows(rows: list[TrialRow], space: Space) -> list[TrialRow]:
    """The feasible Pareto-optimal designs (the first trial of each: a sampler may propose a design
    again), sorted by the first objective."""
    first: dict[tuple, TrialRow] = {}
    for r in rows:
        if r.feasible:
            first.setdefault(tuple(sorted(r.params.items())), r)
    feasible = list(first.values())
    if not feasible:
        return []
    labels = objective_labels(space)
    values = np.array([[r.objectives[lb] for lb in labels] for r in feasible])
    mask = pareto_mask(values, tuple(o.direction == "maximize" for o in space.objectives))
    front = [r for r, keep in zip(feasible, mask) if keep]
    return sorted(front, key=lambda r: (r.objectives[labels[0]], r.number))


def flat(row: TrialRow, space: Space) -> dict[str, Any]:
    """One CSV row: identity, parameters, objectives, metrics (base units), per-workload, constraints.

    Every row has the same columns: a trial interrupted before all its parameters were sampled
    leaves the missing ones empty.
    """
    out: dict[str, Any] = {"number": row.number, "state": row.state, "feasible": row.feasible, "reason": row.reason,
                           "same_as": "" if row.same_as is None else row.same_as}
    for name in search_domains(space):
        out[name] = row.params.get(name, "")
    for label in objective_labels(space):
        out[label] = row.objectives.get(label, "")
    for metric, col in METRIC_COLUMNS.items():
        out[col] = row.metrics.get(metric, "")
    for w in space.workloads:
        m = row.per_workload.get(w.label, {})
        for metric in ("latency", "energy", "utilization"):
            out[f"{w.label}.{METRIC_COLUMNS[metric]}"] = m.get(metric, "")
    for text in (c.text for c in space.constraints):
        out[f"constraint: {text}"] = row.constraints.get(text, "")
    return out
