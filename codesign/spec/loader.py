"""Load a space file: YAML with line numbers, duplicate keys rejected, errors as file:line key.path.

Every problem becomes one :class:`~codesign.errors.CodesignError` whose ``where`` is
``file:line key.path`` and whose ``what`` says what was found and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from codesign.errors import CodesignError, did_you_mean
from codesign.spec.space import Space

Lines = dict[tuple, int]


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """Parse ``path``; return the data and the line (1-based) of every key path. Duplicate keys are errors."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CodesignError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodesignError(f"cannot read the file: {exc}", str(path)) from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """Parse YAML ``text`` (``source`` names it in messages)."""
    loader = yaml.SafeLoader(text)
    lines: Lines = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise CodesignError("the file is empty; a space needs name, workloads, hardware and objectives", source)

        def build(n: yaml.Node, path: tuple) -> Any:
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                out: dict[Any, Any] = {}
                for k, v in n.value:
                    key = loader.construct_object(k, deep=True)
                    if isinstance(key, (list, dict)):
                        raise CodesignError("a key must be a plain word", f"{source}:{k.start_mark.line + 1}")
                    if key in out:
                        where = f"{source}:{k.start_mark.line + 1} {_dotted(path + (key,))}"
                        raise CodesignError(f"duplicate key {key!r} (first at line {lines[path + (key,)]}); each key may appear once", where)
                    lines[path + (key,)] = k.start_mark.line + 1
                    out[key] = build(v, path + (key,))
                return out
            if isinstance(n, yaml.SequenceNode):
                return [build(v, path + (i,)) for i, v in enumerate(n.value)]
            return loader.construct_object(n, deep=True)

        return build(node, ()), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise CodesignError(f"not valid YAML: {exc.problem or exc}", f"{source}{line}") from None
    except yaml.YAMLError as exc:
        raise CodesignError(f"not valid YAML: {exc}", source) from None
    finally:
        loader.dispose()


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def locate(source: str, lines: Lines, path: tuple) -> str:
    """``file:line key.path`` for ``path`` (the nearest enclosing key that has a line)."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return f"{source}:{lines[path[:cut]]} {_dotted(path)}".rstrip()
    return f"{source} {_dotted(path)}".rstrip()


def _allowed_keys(model: type[BaseModel], path: tuple) -> list[str] | None:
    """Field names of the model at ``path`` inside ``model`` (for 'unknown key' messages)."""
    current: Any = model
    for p in path:
        if isinstance(p, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or p not in fields:
            return None
        ann = fields[p].annotation
        current = _model_in(ann)
        if current is None:
            return None
    return list(getattr(current, "model_fields", {}) or [])


def _model_in(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validation_error(exc: ValidationError, source: str, lines: Lines, model: type[BaseModel] = Space) -> CodesignError:
    """Turn pydantic's first error into a :class:`CodesignError` at file:line key.path."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1]) or []
        what = f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), allowed)}; allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        what = f"required key {loc[-1]!r} is missing"
    elif kind == "literal_error":
        what = f"{err.get('input')!r} is not allowed; {msg.lower()}"
        expected = (err.get("ctx") or {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        what += did_you_mean(str(err.get("input")), options)
    else:
        what = msg
    extra = f" (found {err.get('input')!r})" if kind in ("int_type", "float_type", "int_parsing", "float_parsing", "bool_type", "bool_parsing", "string_type") else ""
    return CodesignError(what + extra, locate(source, lines, loc))


def load_space(path: str | Path) -> Space:
    """Read and validate a space file; raise :class:`CodesignError` naming file, line and key path."""
    from codesign.spec.checks import check_space

    path = Path(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise CodesignError("a space file is a mapping with name, workloads, hardware, objectives, ...", f"{path}:1")
    try:
        space = Space.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(path), lines) from None
    space._base = path.resolve().parent
    check_space(space, path, lines)
    return space
