"""Schedule knobs in the space language: each fixed or a search domain, validated with file:line
messages, and turned into the mapper's :class:`SchedulePolicy` by the flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from codesign.cli import app
from codesign.compiler.policy import SchedulePolicy
from codesign.errors import CodesignError
from codesign.spec.domains import Choice
from codesign.flow import policy_of
from codesign.spec.loader import load_space
from codesign.spec.params import all_domains, grid_values, parse_value, resolve_design, search_domains

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny.yaml"
KNOBS = """schedule:
  objective: {choice: [edp, "latency,energy"]}   # quoted: a flow list splits at commas
  candidates: 200
  mode: {choice: [auto, fixed]}
  stationary: outputs
  spatial_rows: group+reduction
  spatial_cols: dataflow
"""


def write(tmp_path: Path, schedule: str) -> Path:
    text = TINY.read_text()
    start = text.index("schedule:")
    end = text.index("objectives:")
    (tmp_path / "tiny_model.yaml").write_text((DATA / "tiny_model.yaml").read_text())
    path = tmp_path / "space.yaml"
    path.write_text(text[:start] + schedule + text[end:])
    return path


def test_knobs_are_parameters_fixed_or_searched(tmp_path: Path) -> None:
    space = load_space(write(tmp_path, KNOBS))
    domains = all_domains(space)
    for knob in ("objective", "candidates", "mode", "stationary", "spatial_rows", "spatial_cols"):
        assert f"schedule.{knob}" in domains
    searched = search_domains(space)
    assert grid_values(searched["schedule.mode"]) == ["auto", "fixed"]
    assert grid_values(searched["schedule.objective"]) == ["edp", "latency,energy"]
    assert "schedule.stationary" not in searched
    values = any_design(space)
    values.update({"schedule.mode": "fixed", "schedule.objective": "latency,energy"})
    policy = policy_of(resolve_design(space, values), space)
    assert policy == SchedulePolicy(objective="latency,energy", candidates=200, mode="fixed", stationary="outputs",
                                    spatial_rows="reduction+group", spatial_cols="dataflow")


def any_design(space) -> dict:
    """One value for every searched parameter (the lowest)."""
    return {name: d.options[0] if isinstance(d, Choice) else (d.values()[0] if d.scale == "pow2" else d.low)
            for name, d in search_domains(space).items()}


def test_defaults_search_with_the_mapper(tmp_path: Path) -> None:
    space = load_space(write(tmp_path, "schedule:\n  objective: energy\n"))
    design = resolve_design(space, any_design(space))
    assert policy_of(design, space) == SchedulePolicy(objective="energy", candidates=800)


@pytest.mark.parametrize("line, where, says", [
    ("  stationary: weight\n", ":19 schedule.stationary", "did you mean 'weights'"),
    ("  mode: {choice: [auto, naive]}\n", ":19 schedule.mode", "use one of: auto, fixed"),
    ("  spatial_rows: reduction+pixels\n", ":19 schedule.spatial_rows", "reduction+outpix"),
    ("  objective: latency,latency\n", ":19 schedule.objective", "did you mean 'latency,energy'"),
])
def test_bad_knobs_say_where_and_what(tmp_path: Path, line: str, where: str, says: str) -> None:
    path = write(tmp_path, "schedule:\n  candidates: 100\n" + line)
    with pytest.raises(CodesignError) as err:
        load_space(path)
    assert where in str(err.value) and says in str(err.value)


def test_set_accepts_a_lexicographic_objective(tmp_path: Path) -> None:
    space = load_space(write(tmp_path, KNOBS))
    assert parse_value("schedule.objective", "latency,energy", space) == "latency,energy"
    with pytest.raises(CodesignError, match="outside the domain"):
        parse_value("schedule.objective", "energy", space)


def test_schema_lists_the_knobs() -> None:
    out = CliRunner().invoke(app, ["schema"])
    assert out.exit_code == 0
    for word in ('"mode"', '"stationary"', '"spatial_rows"', '"latency,energy"', '"reduction+group"'):
        assert word in out.stdout
