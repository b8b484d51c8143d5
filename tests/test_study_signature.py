"""A study resumes only from a space that gives its trials the same meaning; otherwise the search
is refused with what changed and a free study name to start afresh with."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

import codesign
from codesign.errors import CodesignError

DATA = Path(__file__).parent / "data"
TINY = (DATA / "tiny.yaml").read_text().replace("model: tiny_model.yaml", f"model: {DATA / 'tiny_model.yaml'}")


def space(tmp_path: Path, *edits: tuple[str, str], name: str = "space.yaml") -> codesign.Space:
    text = TINY
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return codesign.load_space(path)


def refusal(tmp_path: Path, *edits: tuple[str, str]) -> str:
    runs = tmp_path / "runs"
    codesign.search(space(tmp_path), trials=2, runs_dir=runs)
    before = {p.name: p.read_bytes() for p in (runs / "tiny").iterdir() if p.name != "journal.log"}
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path, *edits, name="changed.yaml"), trials=3, runs_dir=runs)
    assert info.value.where == "--study"
    assert {p.name: p.read_bytes() for p in (runs / "tiny").iterdir() if p.name != "journal.log"} == before
    return info.value.what


def test_changed_constraint_is_refused_and_a_new_study_named(tmp_path: Path) -> None:
    what = refusal(tmp_path, ("area <= 0.5mm2", "area <= 0.25mm2"))
    assert what == ("study 'tiny' was made from a different space: different constraints (were area <= 0.5mm2; "
                    "now area <= 0.25mm2). Resume it with the space it was made from, or start a new study "
                    "with --study tiny-2")
    changed = space(tmp_path, ("area <= 0.5mm2", "area <= 0.25mm2"), name="changed.yaml")
    result = codesign.search(changed, trials=2, runs_dir=tmp_path / "runs", study="tiny-2")
    assert result.run_dir == tmp_path / "runs" / "tiny-2" and len(result.trials) == 2


@pytest.mark.parametrize(("edit", "says"), [
    (("candidates: 200", "candidates: 100"), "schedule.candidates fixed at 200, now 100"),
    (("dram_type: LPDDR4", "dram_type: LPDDR5"), "hardware.memory.DRAM.dram_type fixed at LPDDR4, now LPDDR5"),
    (("- minimize energy [mJ]", "- minimize area [mm2]"),
     "different objectives (were minimize latency, minimize energy; now minimize latency, minimize area)"),
    (("RF, kind: regfile, size: {choice: [16B, 64B]}", "RF, kind: regfile, size: 64B"),
     "searched parameters removed: hardware.memory.RF.size"),
    (("  - model: " + str(DATA / "tiny_model.yaml") + "\n", "  - model: " + str(DATA / "tiny_model.yaml") + "\n    batch: 4\n"),
     f"different workloads (were {DATA / 'tiny_model.yaml'}; now {DATA / 'tiny_model.yaml'} batch=4)"),
    (("{name: GLB, kind: sram,", "{name: GLB, kind: sram, access_energy: 0.5,"),
     "different energy overrides (were none; now {'hardware.memory.GLB.access_energy': 0.5})"),
])
def test_what_changed_is_named(tmp_path: Path, edit: tuple[str, str], says: str) -> None:
    assert says in refusal(tmp_path, edit)


def test_a_wider_range_resumes(tmp_path: Path) -> None:
    """Widening a numeric range keeps the trials' meaning, and optuna allows it: the study resumes."""
    runs = tmp_path / "runs"
    codesign.search(space(tmp_path), trials=2, runs_dir=runs)
    wider = space(tmp_path, ("clock: {min: 200MHz, max: 1GHz", "clock: {min: 100MHz, max: 1.2GHz"), name="w.yaml")
    assert len(codesign.search(wider, trials=4, runs_dir=runs).trials) == 4


def test_a_changed_choice_is_refused(tmp_path: Path) -> None:
    """optuna refuses another value set for a categorical parameter within a study
    (``CategoricalDistribution does not support dynamic value space``): refused up front instead."""
    what = refusal(tmp_path, ("rows: {min: 4, max: 16, scale: pow2}", "rows: {min: 4, max: 32, scale: pow2}"))
    assert ("hardware.array.rows was one of 4, 8, 16, now one of 4, 8, 16, 32 (optuna cannot change that within "
            "a study)") in what


def test_the_suggested_name_is_free(tmp_path: Path) -> None:
    (tmp_path / "runs" / "tiny-2").mkdir(parents=True)
    assert refusal(tmp_path, ("area <= 0.5mm2", "area <= 0.25mm2")).endswith("--study tiny-3")


def test_a_study_of_an_earlier_codesign_is_refused(tmp_path: Path) -> None:
    """Earlier versions stored only objectives and parameter names (``codesign_signature``), before
    results versions existed: such a study counts as results version 1, whose trials do not compare
    with this codesign's, so it is refused like any other version (and the message also says what
    else differs)."""
    runs = tmp_path / "runs"
    codesign.search(space(tmp_path), trials=2, runs_dir=runs)
    journal = f"journal:{runs / 'tiny' / 'journal.log'}"
    storage = JournalStorage(JournalFileBackend(str(runs / "tiny" / "journal.log")))
    record = optuna.load_study(study_name="tiny", storage=storage).user_attrs["codesign_space"]
    old = json.dumps({"objectives": record["objectives"], "parameters": record["parameters"]}, sort_keys=True)
    version = (f"its trials were computed by codesign's results version 1, this codesign computes version "
               f"{codesign.flow.RESULTS_VERSION}")
    fresh = optuna.create_study(study_name="old", storage=storage, directions=["minimize", "minimize"])
    fresh.set_user_attr("codesign_signature", old)
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path), trials=2, runs_dir=runs, storage=journal, study="old")
    assert info.value.what.startswith("study 'old' cannot be resumed by this codesign: " + version)
    assert "codesign_space" not in optuna.load_study(study_name="old", storage=storage).user_attrs   # left as it was
    other = optuna.create_study(study_name="old2", storage=storage, directions=["minimize", "minimize"])
    other.set_user_attr("codesign_signature", old.replace("hardware.array.cols", "hardware.array.colz"))
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path), trials=2, runs_dir=runs, storage=journal, study="old2")
    assert ("searched parameters added: hardware.array.cols; searched parameters removed: hardware.array.colz"
            in info.value.what) and version in info.value.what


def test_objective_values_from_another_model_are_refused(tmp_path: Path) -> None:
    """Trials told the simulator's latency must not be mixed with the analytical model's: switching
    to ``simulated`` is refused; ``auto`` tells the analytical values, so it resumes."""
    runs = tmp_path / "runs"
    codesign.search(space(tmp_path), trials=2, runs_dir=runs, with_report=False)
    assert len(codesign.search(space(tmp_path), trials=3, runs_dir=runs, fidelity="auto", with_report=False).trials) == 3
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path), trials=4, runs_dir=runs, fidelity="simulated", with_report=False)
    assert ("objective values came from the analytical model, now from the simulated one "
            "(search.fidelity / --fidelity)") in info.value.what


def test_a_study_of_other_results_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A study whose trials another version of the mapper or cost model computed is not resumed:
    old and new trials would not compare. A study recorded before the version existed counts as
    version 1 (version 2 changed the mapper's bounds)."""
    runs = tmp_path / "runs"
    codesign.search(space(tmp_path), trials=2, runs_dir=runs)
    journal = JournalStorage(JournalFileBackend(str(runs / "tiny" / "journal.log")))
    record = optuna.load_study(study_name="tiny", storage=journal).user_attrs["codesign_space"]
    assert record["results_version"] == codesign.flow.RESULTS_VERSION
    monkeypatch.setattr(codesign.dse.storage, "RESULTS_VERSION", codesign.flow.RESULTS_VERSION + 1)
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path), trials=3, runs_dir=runs)
    assert info.value.where == "--study"
    assert info.value.what == (
        f"study 'tiny' cannot be resumed by this codesign: its trials were computed by codesign's results version "
        f"{codesign.flow.RESULTS_VERSION}, this codesign computes version {codesign.flow.RESULTS_VERSION + 1} (the "
        "mapper or the cost model changed; old and new trials would not compare). Resume it with the codesign it "
        "was made with, or start a new study with --study tiny-2")
    monkeypatch.undo()
    assert len(codesign.search(space(tmp_path), trials=3, runs_dir=runs).trials) == 3      # the same version resumes
    study = optuna.load_study(study_name="tiny", storage=journal)
    del record["results_version"]                                     # as a study made before the version existed
    study.set_user_attr("codesign_space", record)
    with pytest.raises(CodesignError) as info:
        codesign.search(space(tmp_path), trials=4, runs_dir=runs)
    assert (f"its trials were computed by codesign's results version 1, this codesign computes version "
            f"{codesign.flow.RESULTS_VERSION}") in info.value.what
