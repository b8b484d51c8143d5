"""Write a study's results to its run directory: space.yaml, trials.csv, pareto.csv, pareto.json, summary.md.

The files are rewritten while a search runs; each is written to a temporary file beside it and
renamed over the old one, so a reader (or a second worker writing the same run directory)
always sees a whole file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from collections import Counter
from pathlib import Path

import optuna
import yaml

from codesign.report.tables import TrialRow, flat, objective_labels, pareto_rows, trial_counts, trial_rows
from codesign.spec.params import format_value, param_kind
from codesign.spec.space import Space


def write_outputs(study: optuna.Study, space: Space, run_dir: Path, space_text: str, sampler: str,
                  seed: int | None, fidelity: str = "analytical") -> list[TrialRow]:
    """Write every output file (``sampler``, ``seed`` and ``fidelity`` as the run used them); return the Pareto rows."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "space.yaml", space_text)
    rows = trial_rows(study, space)
    front = pareto_rows(rows, space)
    _csv(run_dir / "trials.csv", [flat(r, space) for r in rows], space, rows)
    _csv(run_dir / "pareto.csv", [flat(r, space) for r in front], space, rows)
    sims = simulated_records(study)
    write_atomic(run_dir / "pareto.json", json.dumps([{**_json(r), **({"simulated": sims[r.number]} if r.number in sims else {})}
                                                      for r in front], indent=2, default=float))
    text = summary_markdown(study.study_name, space, rows, front, sampler, seed, fidelity)
    write_atomic(run_dir / "summary.md", text + simulated_markdown(front, sims))
    return front


def simulated_records(study: optuna.Study) -> dict[int, dict]:
    """Simulator records by trial number: a ``simulated`` fidelity trial's own (``result.simulated``),
    else the ``auto`` fidelity's study attribute (:func:`codesign.dse.runner.simulate_front`)."""
    from optuna.trial import TrialState

    from codesign.dse.runner import SIMULATED_ATTR

    out = {int(k[len(SIMULATED_ATTR):]): v for k, v in study.user_attrs.items() if k.startswith(SIMULATED_ATTR)}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        record = (t.user_attrs.get("result") or {}).get("simulated")
        if record:
            out[t.number] = record
    return out


def simulated_markdown(front: list[TrialRow], sims: dict[int, dict]) -> str:
    """The front's analytical and simulated latency per workload, the gap and the layer with the largest gap."""
    rows = [(r.number, name, w) for r in front if r.number in sims for name, w in sims[r.number]["workloads"].items()]
    if not rows:
        return ""
    lines = ["## Simulated latency of the Pareto front", "",
             "Tile-program simulator (docs/simulator.md) against the analytical model; gap = simulated / analytical - 1.",
             "", "| # | workload | analytical [ms] | simulated [ms] | gap | largest layer gap |", "|---|---|---|---|---|---|"]
    for number, name, w in rows:
        worst = max(w["layers"], key=lambda lr: lr["gap"], default=None)
        worst_text = f"{worst['layer']} {worst['gap']:+.1%}" if worst else "-"
        lines.append(f"| {number} | {name} | {w['analytical_latency_s'] * 1e3:.4g} | {w['simulated_latency_s'] * 1e3:.4g} "
                     f"| {w['gap']:+.1%} | {worst_text} |")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by a file holding ``text`` in one rename (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("x", newline="") as fh:   # created with the usual permissions (umask), unlike mkstemp
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _csv(path: Path, records: list[dict], space: Space, rows: list[TrialRow]) -> None:
    columns: list[str] = []
    for rec in records or [flat(r, space) for r in rows[:1]]:
        for k in rec:
            if k not in columns:
                columns.append(k)
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(records)
    write_atomic(path, buf.getvalue())


def _json(r: TrialRow) -> dict:
    return {"number": r.number, "params": r.params, "objectives": r.objectives, "metrics": r.metrics,
            "per_workload": r.per_workload, "constraints": r.constraints, "area_breakdown_mm2": r.area_mm2}


def summary_markdown(study: str, space: Space, rows: list[TrialRow], front: list[TrialRow], sampler: str,
                     seed: int | None, fidelity: str = "analytical") -> str:
    labels = objective_labels(space)
    lines = [f"# Study `{study}`", "", space.description.strip(), "",
             f"- trials: {trial_counts(rows)}",
             f"- sampler: {sampler}, " + ("unseeded" if seed is None else f"seed {seed}"),
             f"- fidelity: {FIDELITY_TEXT.get(fidelity, fidelity)}",
             "- objectives: " + ", ".join(f"{o.direction} {lb}" for o, lb in zip(space.objectives, labels)),
             "- constraints: " + (", ".join(c.text for c in space.constraints) or "none"), ""]
    lines += [f"## Pareto front ({len(front)} designs)", ""]
    if front:
        params = list(dict.fromkeys(p for r in front for p in r.params))   # conditional ones appear in some rows
        head = ["#", *labels, *(w.label + " util" for w in space.workloads), *params]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for r in front:
            cells = [str(r.number), *(f"{r.objectives[lb]:.4g}" for lb in labels),
                     *(f"{r.per_workload.get(w.label, {}).get('utilization', float('nan')):.1%}" for w in space.workloads),
                     *(format_value(r.params[p], param_kind(p)) if p in r.params else "" for p in params)]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "Utilization is achieved MACs/s over the array's peak: how far each workload sits "
                  "from its compute roofline."]
    else:
        lines.append("No feasible design yet.")
    reasons = Counter(_reason_class(r.reason) for r in rows if r.reason)
    if reasons:
        lines += ["", "## Why designs were rejected", "", "| reason | trials |", "|---|---|"]
        lines += [f"| {k} | {n} |" for k, n in reasons.most_common(10)]
    lines += ["", "## Space as run", "", "```yaml", yaml.safe_dump(space.model_dump(mode="json"), sort_keys=False).strip(), "```", ""]
    return "\n".join(lines)


FIDELITY_TEXT = {"analytical": "analytical (objective values from the analytical model)",
                 "simulated": "simulated (objective latency from the tile-level simulator)",
                 "auto": "auto (analytical search; the Pareto front re-evaluated by the simulator, below)"}


def _reason_class(reason: str) -> str:
    if reason.startswith("violates: "):
        return reason
    if reason.startswith("dominated by trial"):
        return "pruned: dominated by a feasible trial before it was fully mapped"
    return reason.split(":")[0] + ": " + reason.split(":", 2)[-1].strip()[:80] if ":" in reason else reason

