"""``search.sampler`` naming any optuna sampler with options: checked at load time with
file:line messages, and the options reach the sampler a search uses."""

from __future__ import annotations

import inspect
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

import codesign
from codesign.cli import app
from codesign.dse.sampling import TrialSeededSampler, make_sampler, resolved_sampler_name
from codesign.errors import CodesignError

DATA = Path(__file__).parent / "data"


def space_file(tmp_path: Path, sampler: str, objectives: str = "") -> Path:
    """The tiny space with ``sampler`` written on its own line under ``search``."""
    text = (DATA / "tiny.yaml").read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")
    text = text.replace("  trials: 20\n", f"  trials: 20\n  sampler: {sampler}\n")
    if objectives:
        text = text.replace("  - minimize latency [ms]\n  - minimize energy [mJ]\n", objectives)
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def inner(sampler: optuna.samplers.BaseSampler) -> optuna.samplers.BaseSampler:
    return sampler._inner if isinstance(sampler, TrialSeededSampler) else sampler


def optuna_default(cls: type, name: str) -> object:
    """The default of ``name`` in ``cls.__init__`` (so the tests compare against optuna's own)."""
    return inspect.signature(cls.__init__).parameters[name].default


@pytest.mark.parametrize(("sampler", "key", "message"), [
    ("tpee", "search.sampler", "unknown sampler 'tpee' (did you mean 'tpe'?)"),
    ("tpesampler", "search.sampler", "unknown sampler 'tpesampler' (did you mean 'TPESampler'?)"),
    ("PartialFixedSampler", "search.sampler", "PartialFixedSampler needs Python objects a space file cannot give"),
    ("{name: TPESampler, options: {n_startup_trial: 5}}", "search.sampler.options.n_startup_trial",
     "TPESampler has no option 'n_startup_trial' (did you mean 'n_startup_trials'?)"),
    ("{name: TPESampler, options: {seed: 5}}", "search.sampler.options.seed", "seed is set by codesign: use search.seed"),
    ("{name: tpe, options: {constraints_func: null}}", "search.sampler.options.constraints_func",
     "constraints are set by codesign"),
    ("{name: TPESampler, options: {gamma: 0.25}}", "search.sampler.options.gamma",
     "TPESampler's gamma takes Callable[[int], int] | None (a Python object, which a space file cannot give), not 0.25"),
    ("{name: TPESampler, options: {n_startup_trials: '5'}}", "search.sampler.options.n_startup_trials",
     "TPESampler's n_startup_trials takes int, not '5'"),
    ("{name: TPESampler, options: {n_startup_trials: 2024-01-01}}", "search.sampler.options.n_startup_trials",
     "datetime.date(2024, 1, 1) is a date, not a JSON value"),
    ("{name: nsga2, options: {population_size: 1}}", "search.sampler.options",
     "NSGAIISampler refused the options: ValueError: `population_size` must be greater than or equal to 2"),
    ("{name: QMCSampler, options: {qmc_type: lattice}}", "search.sampler.options", "QMCSampler refused the options"),
    ("{name: auto, options: {n_startup_trials: 5}}", "search.sampler.options", "options need a definite sampler"),
    ("{name: CmaEsSampler}", "search.sampler.name",
     "CmaEsSampler cannot search this space: ValueError: If the study is being used for multi-objective optimization"),
    ("{name: BruteForceSampler}", "search.sampler.name",
     "BruteForceSampler cannot search this space: ValueError: FloatDistribution.step must be given"),
])
def test_bad_sampler_is_reported_at_its_line(tmp_path: Path, sampler: str, key: str, message: str) -> None:
    path = space_file(tmp_path, sampler)
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert message in info.value.what, info.value.what
    assert info.value.where == f"{path}:{line_of(path, 'sampler:')} {key}", info.value.where


def test_validate_reports_a_bad_option_without_a_traceback(tmp_path: Path) -> None:
    path = space_file(tmp_path, "{name: TPESampler, options: {seed: 5}}")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {path}:{line_of(path, 'sampler:')} search.sampler.options.seed: ")


def test_options_reach_the_optuna_sampler(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(
        tmp_path, "{name: TPESampler, options: {n_startup_trials: 7, multivariate: true, n_ei_candidates: 5}}"))
    sampler = make_sampler(space, resolved_sampler_name(space, 20), 0)
    tpe = inner(sampler)
    assert isinstance(sampler, TrialSeededSampler) and type(tpe) is optuna.samplers.TPESampler
    assert (tpe._n_startup_trials, tpe._multivariate, tpe._n_ei_candidates) == (7, True, 5)
    # and these differ from optuna's defaults, so the options (not the defaults) were applied
    defaults = [optuna_default(optuna.samplers.TPESampler, k) for k in ("n_startup_trials", "n_ei_candidates")]
    assert defaults == [10, 24]
    # a class name alone means optuna's defaults, not codesign's tpe settings (multivariate, 20 startup trials)
    plain = inner(make_sampler(codesign.load_space(space_file(tmp_path, "TPESampler")), "TPESampler", 0))
    assert (plain._n_startup_trials, plain._multivariate) == (10, optuna_default(optuna.samplers.TPESampler, "multivariate"))
    assert plain._multivariate is not True


def test_options_override_codesign_settings_of_a_short_name(tmp_path: Path) -> None:
    tpe = inner(make_sampler(codesign.load_space(space_file(tmp_path, "{name: tpe, options: {n_startup_trials: 4}}")),
                             "tpe", 0))
    assert (tpe._n_startup_trials, tpe._multivariate) == (4, True)   # multivariate: codesign's tpe setting kept
    nsga = inner(make_sampler(codesign.load_space(space_file(tmp_path, "{name: nsga2, options: {population_size: 8}}")),
                              "nsga2", 0))
    assert type(nsga) is optuna.samplers.NSGAIISampler and nsga._population_size == 8
    # options belong to the space's sampler only: random search on the same space has none
    assert type(inner(make_sampler(codesign.load_space(space_file(tmp_path, "{name: tpe, options: {n_startup_trials: 4}}")),
                                   "random", 0))) is optuna.samplers.RandomSampler


def test_short_names_keep_working_and_dump_as_written(tmp_path: Path) -> None:
    space = codesign.load_space(space_file(tmp_path, "nsga2"))
    assert space.search.sampler.name == "nsga2" and space.search.sampler.options == {}
    assert space.model_dump(mode="json")["search"]["sampler"] == "nsga2"
    with_options = codesign.load_space(space_file(tmp_path, "{name: TPESampler, options: {n_startup_trials: 3}}"))
    assert with_options.model_dump(mode="json")["search"]["sampler"] == {"name": "TPESampler",
                                                                         "options": {"n_startup_trials": 3}}


def test_a_search_with_tpe_options_runs(tmp_path: Path) -> None:
    path = space_file(tmp_path, "{name: TPESampler, options: {n_startup_trials: 3, multivariate: true, constant_liar: false}}")
    result = codesign.search(codesign.load_space(path), trials=6, runs_dir=tmp_path / "runs")
    assert [r.number for r in result.trials] == list(range(6))
    assert all(r.state in ("COMPLETE", "FAIL", "PRUNED") for r in result.trials)
    assert "- sampler: TPESampler, seed 0" in (tmp_path / "runs" / "tiny" / "summary.md").read_text()


def test_an_optuna_class_without_codesign_preset_runs(tmp_path: Path) -> None:
    """NSGA-III has no codesign short name; named by class, with an option, it searches."""
    path = space_file(tmp_path, "{name: NSGAIIISampler, options: {population_size: 4}}")
    space = codesign.load_space(path)
    assert inner(make_sampler(space, "NSGAIIISampler", 0))._population_size == 4
    result = codesign.search(space, trials=5, runs_dir=tmp_path / "runs")
    assert len(result.trials) == 5


def test_a_bad_option_in_block_form_points_at_its_own_line(tmp_path: Path) -> None:
    block = "\n    name: NSGAIISampler\n    options:\n      crossover_prob: 0.8\n      mutation_prob: high"
    path = space_file(tmp_path, block)
    with pytest.raises(CodesignError) as info:
        codesign.load_space(path)
    assert info.value.where == f"{path}:{line_of(path, 'mutation_prob:')} search.sampler.options.mutation_prob"
    assert info.value.what == "NSGAIISampler's mutation_prob takes float | None, not 'high'"
