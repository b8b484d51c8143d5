"""Every offered sampler runs a short search on the tiny space and records every trial."""

from pathlib import Path

import pytest

import codesign
from codesign.errors import CodesignError
from codesign.dse.sampling import AUTO_TPE_MAX_TRIALS, resolved_sampler_name

DATA = Path(__file__).parent / "data"


def _space(tmp_path: Path, sampler: str, clock: str = "{min: 200MHz, max: 1GHz, scale: log}"):
    text = (DATA / "tiny.yaml").read_text()
    text = text.replace("clock: {min: 200MHz, max: 1GHz, scale: log}", f"clock: {clock}")
    text = text.replace("  trials: 20\n", f"  trials: 20\n  sampler: {sampler}\n")
    (tmp_path / "tiny_model.yaml").write_text((DATA / "tiny_model.yaml").read_text())
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return codesign.load_space(path)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random", "qmc"])
def test_sampler_runs(tmp_path, sampler):
    space = _space(tmp_path, sampler)
    result = codesign.search(space, trials=8, runs_dir=tmp_path / "runs")
    assert len(result.trials) == 8
    assert all(r.state in ("COMPLETE", "FAIL", "PRUNED") for r in result.trials)
    assert all(r.reason for r in result.trials if r.state == "FAIL")


def test_grid_covers_a_finite_space_without_repeats(tmp_path):
    space = _space(tmp_path, "grid", clock="{choice: [400MHz, 800MHz]}")
    # grid: technology 2 x clock 2 x rows 3 x cols 3 x dataflow 2 x bandwidth 2 x GLB 6 x RF 2
    result = codesign.search(space, trials=12, runs_dir=tmp_path / "runs")
    combos = [tuple(sorted(r.params.items())) for r in result.trials]
    assert len(combos) == 12 and len(set(combos)) == 12


def test_grid_rejects_continuous_space(tmp_path):
    with pytest.raises(CodesignError, match="grid sampler needs finite domains"):
        _space(tmp_path, "grid")


def test_auto_picks_by_budget(tmp_path):
    space = _space(tmp_path, "auto")
    assert resolved_sampler_name(space, 50) == "tpe"
    assert resolved_sampler_name(space, AUTO_TPE_MAX_TRIALS + 1) == "nsga2"
