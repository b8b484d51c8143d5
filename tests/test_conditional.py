"""Conditional parameters: ``{choice: [...], when: {parent: values}, default: value}`` is searched
only in designs where the condition holds and takes its default elsewhere."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema
import optuna
import pytest
import yaml
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from typer.testing import CliRunner

import codesign
from codesign.cli import app
from codesign.dse.runner import start_trial
from codesign.dse.sampling import distributions, make_sampler
from codesign.errors import CodesignError
from codesign.spec.params import all_domains, applies, conditions, grid_size, grid_values, resolve_design

DATA = Path(__file__).parent / "data"
# The tiny space with a third dataflow and PE-row unrolling searched only for the flexible array
# (a fixed-function array unrolls what its dataflow wires; docs/space.md, Schedule).
COND = "spatial_rows: {choice: [dataflow, reduction, outpix], when: {hardware.array.dataflow: flexible}, default: dataflow}"


def space_file(tmp_path: Path, cond: str = COND, sampler: str = "random", clock: str = "{choice: [400MHz, 800MHz]}",
               extra_schedule: str = "", seeds: str = "") -> Path:
    text = (DATA / "tiny.yaml").read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    text = text.replace("clock: {min: 200MHz, max: 1GHz, scale: log}", f"clock: {clock}")
    text = text.replace("dataflow: {choice: [weight_stationary, output_stationary]}",
                        "dataflow: {choice: [weight_stationary, output_stationary, flexible]}")
    text = text.replace("  candidates: 200\n", f"  candidates: 200\n  {cond}\n{extra_schedule}")
    text = text.replace("  trials: 20\n", f"  trials: 20\n  sampler: {sampler}\n")
    if seeds:
        text += "  seed_designs:\n" + "".join(f"    - {s}\n" for s in seeds.split("\n"))
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_trials_hold_the_parameter_exactly_where_the_condition_holds(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path))
    codesign.search(space, trials=16, runs_dir=tmp_path / "runs")
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "runs" / "tiny" / "journal.log")))
    trials = optuna.load_study(study_name="tiny", storage=storage).get_trials(deepcopy=False)
    assert len(trials) == 16
    flexible = [t.params["hardware.array.dataflow"] == "flexible" for t in trials]
    assert [("schedule.spatial_rows" in t.params) for t in trials] == flexible
    assert 0 < sum(flexible) < 16   # both cases occur (seed 0 of the random sampler)
    assert all(t.params["schedule.spatial_rows"] in ("dataflow", "reduction", "outpix") for t in trials
               if "schedule.spatial_rows" in t.params)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "qmc", "NSGAIIISampler"])
def test_every_sampler_suggests_define_by_run(tmp_path: Path, sampler: str) -> None:
    """Past the random start-up trials too (TPE models the conditional space with group=True)."""
    space = codesign.load_space(space_file(tmp_path, sampler=sampler))
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=make_sampler(space, sampler, 0))
    dists, conds = distributions(space), conditions(space)
    assert list(dists)[-1] == "schedule.spatial_rows"   # conditional parameters come after their parents
    for _ in range(45):
        trial = start_trial(study, dists, conds)
        p = trial.params
        study.tell(trial, [p["hardware.array.rows"] * p["hardware.clock"] / 1e9, 1 / p["hardware.array.cols"]])
    held = [("schedule.spatial_rows" in t.params) == (t.params["hardware.array.dataflow"] == "flexible")
            for t in study.trials]
    assert all(held) and len(held) == 45


def test_resolve_design_takes_the_default_where_the_condition_fails(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path))
    base = {"hardware.technology": 22.0, "hardware.clock": 4e8, "hardware.array.rows": 8, "hardware.array.cols": 8,
            "hardware.memory.DRAM.bandwidth": 12.8e9, "hardware.memory.GLB.size": 65536, "hardware.memory.RF.size": 16}
    ws = resolve_design(space, {**base, "hardware.array.dataflow": "weight_stationary"})
    assert ws["schedule.spatial_rows"] == "dataflow"
    flex = resolve_design(space, {**base, "hardware.array.dataflow": "flexible", "schedule.spatial_rows": "outpix"})
    assert flex["schedule.spatial_rows"] == "outpix"
    assert list(flex) == list(all_domains(space))
    with pytest.raises(CodesignError, match="parameter schedule.spatial_rows is searched only when "
                                            "hardware.array.dataflow is flexible; this design has "
                                            "hardware.array.dataflow=weight_stationary: leave schedule.spatial_rows out"):
        resolve_design(space, {**base, "hardware.array.dataflow": "weight_stationary", "schedule.spatial_rows": "outpix"})
    with pytest.raises(CodesignError, match="parameter schedule.spatial_rows is searched"):
        resolve_design(space, {**base, "hardware.array.dataflow": "flexible"})


def test_the_default_reaches_the_evaluation(tmp_path: Path) -> None:
    """A design without the parameter evaluates as with its default written out."""
    space = codesign.load_space(space_file(tmp_path, cond=COND.replace("default: dataflow", "default: reduction")))
    base = {"hardware.technology": 22.0, "hardware.clock": 4e8, "hardware.array.rows": 8, "hardware.array.cols": 8,
            "hardware.memory.DRAM.bandwidth": 12.8e9, "hardware.memory.GLB.size": 65536, "hardware.memory.RF.size": 16,
            "hardware.array.dataflow": "output_stationary"}
    fixed = codesign.load_space(space_file(tmp_path, cond="spatial_rows: reduction"))
    assert resolve_design(space, base) == resolve_design(fixed, base)
    assert codesign.evaluate(space, base).metrics == codesign.evaluate(fixed, base).metrics


def test_grid_size_counts_each_distinct_design_once(tmp_path: Path) -> None:
    """Against brute force: every combination of the searched domains, resolved (a parameter that
    does not apply takes its default), counted as distinct designs."""
    space = codesign.load_space(space_file(tmp_path))
    domains = {k: d for k, d in all_domains(space).items() if not hasattr(d, "value")}
    distinct = set()
    for combo in itertools.product(*(grid_values(d) for d in domains.values())):
        values = dict(zip(domains, combo))
        if not applies(conditions(space)["schedule.spatial_rows"], values):
            del values["schedule.spatial_rows"]
        distinct.add(tuple(resolve_design(space, values).items()))
    # technology 2 x clock 2 x rows 3 x cols 3 x bandwidth 2 x GLB 6 x RF 2 x (ws 1 + os 1 + flexible 3)
    assert len(distinct) == 2 * 2 * 3 * 3 * 2 * 6 * 2 * 5 == grid_size(space)


def test_validate_lists_the_condition(tmp_path: Path) -> None:
    path = space_file(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "9 searched parameters (1 conditional)" in result.output
    assert ("  schedule.spatial_rows: one of dataflow, reduction, outpix; only when hardware.array.dataflow is "
            "flexible, else dataflow\n") in result.output
    assert "designs in the grid: 4.32e+03" in result.output


def test_the_schema_accepts_conditions_and_the_sampler_forms(tmp_path: Path) -> None:
    schema = json.loads(CliRunner().invoke(app, ["schema"]).output)
    data = yaml.safe_load(space_file(tmp_path, sampler="{name: TPESampler, options: {n_startup_trials: 5}}").read_text())
    jsonschema.validate(data, schema)
    del data["schedule"]["spatial_rows"]["default"]
    with pytest.raises(jsonschema.ValidationError):   # 'when' needs 'default'
        jsonschema.validate(data, schema)


def test_the_dumped_space_keeps_the_condition(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path))
    assert space.model_dump(mode="json")["schedule"]["spatial_rows"] == {
        "choice": ["dataflow", "reduction", "outpix"], "when": {"hardware.array.dataflow": ["flexible"]},
        "default": "dataflow"}


RANGE_COND = "stationary: {choice: [weights, outputs], when: {hardware.clock: 800MHz}, default: any}"


@pytest.mark.parametrize(("cond", "clock", "key", "message"), [
    (COND.replace("hardware.array.dataflow:", "hardware.array.dataflw:"), None,
     "schedule.spatial_rows.when.hardware.array.dataflw",
     "unknown parameter 'hardware.array.dataflw' (did you mean 'hardware.array.dataflow'?)"),
    (COND.replace("dataflow: flexible}", "dataflow: flexibel}"), None,
     "schedule.spatial_rows.when.hardware.array.dataflow", "'flexibel' is not allowed"),
    (COND.replace("dataflow: flexible}", "dataflow: input_stationary}"), None,
     "schedule.spatial_rows.when.hardware.array.dataflow",
     "input_stationary is outside the domain: "),
    (COND.replace("hardware.array.dataflow: flexible", "hardware.precision: int8"), None,
     "schedule.spatial_rows.when.hardware.precision", "hardware.precision is fixed (int8); a condition needs a searched parameter"),
    (RANGE_COND, "{min: 200MHz, max: 1GHz, scale: log}", "schedule.stationary.when.hardware.clock",
     "hardware.clock is a log range [200MHz, 1GHz]; a condition needs a parameter whose values can be listed"),
    (COND.replace("hardware.array.dataflow: flexible", "schedule.spatial_rows: dataflow"), None,
     "schedule.spatial_rows.when.schedule.spatial_rows", "schedule.spatial_rows cannot depend on itself"),
    (COND.replace("dataflow: flexible}", "dataflow: [flexible, flexible]}"), None,
     "schedule.spatial_rows.when.hardware.array.dataflow", "lists a value of hardware.array.dataflow twice"),
    ("spatial_rows: {choice: [dataflow, reduction], when: {hardware.array.dataflow: flexible}}", None,
     "schedule.spatial_rows", "a conditional domain needs 'default'"),
    ("spatial_rows: {choice: [dataflow, reduction], default: dataflow}", None,
     "schedule.spatial_rows", "'default' belongs to a conditional domain"),
    ("spatial_rows: {when: {hardware.array.dataflow: flexible}, default: dataflow}", None,
     "schedule.spatial_rows", "'when' needs a searched domain"),
    (COND.replace("default: dataflow", "default: diagonal"), None, "schedule.spatial_rows", "'diagonal' is not allowed"),
])
def test_bad_condition_is_reported_at_its_line(tmp_path: Path, cond: str, clock: str | None, key: str,
                                               message: str) -> None:
    path = space_file(tmp_path, cond=cond, **({"clock": clock} if clock else {}))
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert message in info.value.what, info.value.what
    assert info.value.where == f"{path}:{line_of(path, cond.split(':')[0] + ': {')} {key}", info.value.where


def test_conditions_do_not_chain(tmp_path: Path) -> None:
    """A condition on a conditional parameter is refused, so no cycle (a needs b needs a) can be written."""
    chained = "  stationary: {choice: [weights, outputs], when: {schedule.spatial_rows: reduction}, default: any}\n"
    path = space_file(tmp_path, extra_schedule=chained)
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert "schedule.spatial_rows is itself conditional" in info.value.what
    assert info.value.where == f"{path}:{line_of(path, 'stationary:')} schedule.stationary.when.schedule.spatial_rows"
    cycle = COND.replace("hardware.array.dataflow: flexible", "schedule.stationary: weights")
    path = space_file(tmp_path, cond=cycle, extra_schedule=chained)
    with pytest.raises(CodesignError, match="is itself conditional"):
        codesign.load_space(path)


def test_grid_sampler_refuses_conditional_parameters(tmp_path: Path) -> None:
    path = space_file(tmp_path, sampler="grid")
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert info.value.what.startswith("the grid sampler cannot search conditional parameters (schedule.spatial_rows)")
    assert info.value.where == f"{path}:{line_of(path, 'sampler: grid')} search.sampler"


@pytest.mark.parametrize(("seed", "message"), [
    ("{hardware.array.dataflow: weight_stationary, schedule.spatial_rows: outpix}",
     "schedule.spatial_rows is searched only when hardware.array.dataflow is flexible; this seed has "
     "hardware.array.dataflow=weight_stationary, or leave schedule.spatial_rows out"),
    ("{schedule.spatial_rows: outpix}",
     "schedule.spatial_rows is searched only when hardware.array.dataflow is flexible; give "
     "hardware.array.dataflow in this seed too, or leave schedule.spatial_rows out"),
])
def test_seed_designs_respect_conditions(tmp_path: Path, seed: str, message: str) -> None:
    path = space_file(tmp_path, seeds=seed)
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert info.value.what == message
    assert info.value.where == f"{path}:{line_of(path, 'spatial_rows: outpix}')} search.seed_designs[0].schedule.spatial_rows"


def test_a_seed_with_the_condition_met_runs_first(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path, seeds="{hardware.array.dataflow: flexible, schedule.spatial_rows: outpix}"))
    result = codesign.search(space, trials=2, runs_dir=tmp_path / "runs")
    first = result.trials[0].params
    assert (first["hardware.array.dataflow"], first["schedule.spatial_rows"]) == ("flexible", "outpix")


def test_validate_checks_and_lists_seed_designs(tmp_path: Path) -> None:
    good = "{hardware.array.dataflow: flexible, schedule.spatial_rows: outpix, hardware.memory.GLB.size: 64KiB}"
    result = CliRunner().invoke(app, ["validate", str(space_file(tmp_path, seeds=good))])
    assert result.exit_code == 0, result.output
    assert ", 1 seed designs\n" in result.output
    assert ("  seed design 0: hardware.array.dataflow=flexible, schedule.spatial_rows=outpix, "
            "hardware.memory.GLB.size=64KiB\n") in result.output
    path = space_file(tmp_path, seeds=good + "\n{hardware.array.rows: 12}")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}:{line_of(path, 'rows: 12')} search.seed_designs[1].hardware.array.rows: "
                                    "12 is outside the domain: ")
