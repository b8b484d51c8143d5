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
    except IsADirectoryError:
        raise CodesignError("is a directory; give the path of a YAML file", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodesignError(f"cannot read the file: {exc}", str(path)) from None
    return parse_yaml(text, str(path))


_EMPTY_SPACE = "the file is empty; a space needs name, workloads, hardware and objectives"


def parse_yaml(text: str, source: str, empty: str = _EMPTY_SPACE) -> tuple[Any, Lines]:
    """Parse YAML ``text`` (``source`` names it in messages; ``empty`` is the message for an empty file)."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, text) from None
    lines: Lines = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise CodesignError(empty, source)

        def build(n: yaml.Node, path: tuple) -> Any:
            lines.setdefault(path, n.start_mark.line + 1)
            if isinstance(n, yaml.MappingNode):
                out: dict[Any, Any] = {}
                for k, v in n.value:
                    key = loader.construct_object(k, deep=True)
                    if not isinstance(key, str):
                        hint = "; YAML reads yes/no/on/off as true/false, so quote the key" if isinstance(key, bool) else ""
                        raise CodesignError(f"a key must be a word, not {key!r}{hint}",
                                            f"{source}:{k.start_mark.line + 1} {_dotted(path)}".rstrip())
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
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source, text) from None
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.YAMLError, source: str, text: str) -> CodesignError:
    """A YAML syntax error in ``text`` at ``file:line``, with what the parser was reading and a hint how to fix it."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[:exc.position].count("\n") + 1
        char = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return CodesignError(f"not valid YAML: the control character {char!r} is not allowed in a YAML file; remove it",
                             f"{source}:{line}")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return CodesignError(f"not valid YAML: {exc}", source)
    mark = exc.problem_mark or exc.context_mark
    where = f"{source}:{mark.line + 1}" if mark else source
    context = f" ({exc.context} at line {exc.context_mark.line + 1})" if exc.context and exc.context_mark else ""
    return CodesignError(f"not valid YAML: {exc.problem or exc}{context}; {_yaml_hint(exc)}", where)


def _yaml_hint(exc: yaml.MarkedYAMLError) -> str:
    """What usually causes a YAML syntax error like ``exc``."""
    problem, context = exc.problem or "", exc.context or ""
    opened = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
    if "'\\t'" in problem:
        return "indent with spaces; YAML does not allow tabs"
    if "flow sequence" in context:
        return f"close the '[' opened{opened} with ']' and separate items with ','"
    if "flow mapping" in context:
        return f"close the '{{' opened{opened} with '}}' and separate entries with ','"
    if "quoted scalar" in context:
        return f"close the quote opened{opened}"
    if "alias" in problem:
        return "quote a value that starts with '*' (a YAML alias), e.g. '*x'"
    if "cannot start any token" in problem:
        return "quote a value that starts with this character"
    if "another document" in problem:
        return "a file holds one YAML document; remove the '---' line"
    if "mapping values are not allowed" in problem:
        return "a key needs its own line (or quote a value that contains ': '); check the indentation"
    return ("check the indentation: the keys of one mapping must line up, "
            "and a nested block must be indented further than its key, with spaces")


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


def _model_at(model: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at key ``path`` inside ``model``."""
    current: Any = model
    for p in path:
        if isinstance(p, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or p not in fields:
            return None
        current = _model_in(fields[p].annotation)
        if current is None:
            return None
    return current


def _allowed_keys(model: type[BaseModel], path: tuple) -> list[str] | None:
    """Field names of the model at ``path`` inside ``model`` (for 'unknown key' messages)."""
    found = _model_at(model, path)
    return list(found.model_fields) if found is not None else None


def _description(model: type[BaseModel], path: tuple) -> str:
    """The documented meaning of the key at ``path`` (its field description), or ``""``."""
    parent = _model_at(model, path[:-1]) if path else None
    field = parent.model_fields.get(path[-1]) if parent is not None and isinstance(path[-1], str) else None
    return (field.description or "").rstrip(".") if field is not None else ""


def _model_in(ann: Any) -> Any:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


_SHOW_INPUT = ("int_type", "float_type", "int_parsing", "float_parsing", "int_from_float", "bool_type", "bool_parsing",
               "string_type", "greater_than", "greater_than_equal", "less_than", "less_than_equal")


def validation_error(exc: ValidationError, source: str, lines: Lines, model: type[BaseModel] = Space) -> CodesignError:
    """Turn pydantic's first error into a :class:`CodesignError` at file:line key.path."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1]) or []
        what = f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), allowed)}; allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        about = _description(model, loc)
        what = f"required key {loc[-1]!r} is missing" + (f": {about[0].lower()}{about[1:]}" if about else "")
    elif kind in ("tuple_type", "list_type"):
        what = f"expected a list (one '- item' per line, or [a, b]), found {err.get('input')!r}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        allowed = _allowed_keys(model, loc) or []
        keys = f" of keys ({', '.join(allowed)})" if allowed else ""
        what = f"expected a mapping{keys}, found {err.get('input')!r}"
    elif kind == "too_short":
        ctx = err.get("ctx") or {}
        least = ctx.get("min_length")
        what = f"needs at least {least} {'entry' if least == 1 else 'entries'}, found {ctx.get('actual_length')}"
    elif kind == "string_pattern_mismatch":
        about = _description(model, loc) or msg
        what = f"{err.get('input')!r} is not allowed; {about[0].lower()}{about[1:]}"
    elif kind in ("bool_type", "bool_parsing"):
        what = "expected true or false"
    elif kind == "literal_error":
        what = f"{err.get('input')!r} is not allowed; {msg.lower()}"
        expected = (err.get("ctx") or {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        what += did_you_mean(str(err.get("input")), options)
    else:
        what = msg
    extra = f" (found {err.get('input')!r})" if kind in _SHOW_INPUT else ""
    return CodesignError(what + extra, locate(source, lines, loc))


def read_space(path: str | Path, what: str = "a space file") -> Space:
    """Read and validate the space file ``path`` (its text and lines kept for messages), without the
    cross-field checks that open model files; raise :class:`CodesignError` naming file, line and key."""
    path = Path(path)
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise CodesignError(f"{what} is a mapping with name, workloads, hardware, objectives, ...", f"{path}:1")
    try:
        space = Space.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(path), lines) from None
    space._source, space._lines = str(path), lines
    return space


def load_space(path: str | Path) -> Space:
    """Read and validate a space file; raise :class:`CodesignError` naming file, line and key path."""
    from codesign.spec.checks import check_space

    space = read_space(path)
    space._base = Path(path).resolve().parent
    check_space(space, Path(path), space._lines)
    return space
