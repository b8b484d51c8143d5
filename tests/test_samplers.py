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


def _proposals(build, monkeypatch, caches: tuple[str, ...], n: int = 40) -> list[dict]:
    """The params a per-trial-seeded sampler proposes on a 3-objective toy study (a conditional
    knob ``k`` exists only when ``mode`` is ``b``), with ``caches`` carried across trials."""
    import optuna

    from codesign.dse import sampling

    monkeypatch.setattr(sampling, "SEARCH_SPACE_CACHES", caches)
    sampler = sampling.TrialSeededSampler(build, 3)
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    kept = set()
    for _ in range(n):
        t = study.ask()
        x, y = t.suggest_float("x", 0.0, 1.0), t.suggest_int("y", 1, 9)
        mode = t.suggest_categorical("mode", ["a", "b"])
        k = t.suggest_float("k", 1.0, 4.0) if mode == "b" else 0.0
        study.tell(t, [x + k, (y - 3) ** 2 + x, y * (1.0 - x)])
        kept |= {id(getattr(sampler._inner, c)) for c in caches if hasattr(sampler._inner, c)}
    assert len(kept) <= len(caches)      # every rebuilt sampler used the first one's calculators
    return [t.params for t in study.trials]


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("group", [False, True])
def test_kept_search_space_cache_proposes_what_a_fresh_one_does(monkeypatch, group):
    """Rebuilding TPE per trial with the first sampler's search-space calculators (incremental)
    proposes exactly the designs that rebuilding it with fresh ones (computed from every trial)
    does, with and without conditional groups."""
    import optuna

    from codesign.dse.sampling import SEARCH_SPACE_CACHES

    def build(seed):
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=group, n_startup_trials=8)

    kept = _proposals(build, monkeypatch, SEARCH_SPACE_CACHES)
    fresh = _proposals(build, monkeypatch, ())
    assert kept == fresh
    assert len({tuple(sorted(p.items())) for p in kept}) == len(kept)   # a real stream, not a constant
