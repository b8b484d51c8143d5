"""docs/space-reference.md is generated from the pydantic models (docs/gen_space_reference.py)
and must match them: a field added, renamed or re-described without regenerating fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from codesign.spec.space import Space

DOCS = Path(__file__).resolve().parents[1] / "docs"
WRITTEN_AS_TEXT = ("Objective", "Constraint", "SamplerSpec")   # models a space file writes as one string (or name)


def generator():
    spec = importlib.util.spec_from_file_location("gen_space_reference", DOCS / "gen_space_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_is_up_to_date():
    assert (DOCS / "space-reference.md").read_text() == generator().render(), \
        "docs/space-reference.md is stale: run python docs/gen_space_reference.py"


def test_every_field_of_every_model_is_listed():
    # independent of the generator's traversal: walk the models' own field lists
    text = (DOCS / "space-reference.md").read_text()
    models = [Space]
    seen = set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        assert f"## {model.__name__}\n" in text
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in text, f"{model.__name__}.{name}"
            for arg in getattr(field.annotation, "__args__", ()) + (field.annotation,):
                inner = getattr(arg, "__args__", (arg,))
                models += [t for t in inner if isinstance(t, type) and hasattr(t, "model_fields") and t.__name__ not in WRITTEN_AS_TEXT]
    assert {m.__name__ for m in seen} >= {"Space", "WorkloadSpec", "HardwareSpec", "ArraySpec", "MemoryLevelSpec",
                                          "ScheduleSpec", "SearchSpec"}
