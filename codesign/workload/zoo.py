"""Model files (``models/*.yaml``) to :class:`Workload`.

A model file::

    name: resnet18
    source: He et al., CVPR 2016; torchvision resnet18 (1.814 GMACs, 11.69 M params at 224x224)
    params: {seq_len: 1}          # symbols usable in shapes, overridable by the space
    layers:
      - {name: conv1, op: conv2d, C: 3, K: 64, H: 224, R: 7, stride: 2, pad: 3}
      - {name: layer1.conv, op: conv2d, C: 64, K: 64, H: 56, R: 3, pad: 1, count: 4}
      - {name: qk, op: matmul, M: seq_len, N: seq_len, K: 64, heads: 12}

Shape values are integers or arithmetic on the ``params`` symbols (``seq_len``, ``4*d``).
"""

from __future__ import annotations

import ast
import operator
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError, did_you_mean, one_of
from codesign.spec.loader import Lines, locate, parse_yaml
from codesign.workload.ir import Layer, VectorOp, Workload, deduplicate
from codesign.workload.ops import OP_KEYS, OP_REQUIRED, OPS

_COMMON = ("name", "op", "count", "bits")
# name; family (cnn, transformer, llm, recsys, tinyml); source (paper / reference implementation);
# totals {macs, params, note}: the published figures the file must reproduce; params: symbols
MODEL_KEYS = ("name", "family", "description", "source", "totals", "params", "layers")

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}
_MAY_BE_ZERO = ("pad", "bias")


def model_names(models_dir: Path = MODELS_DIR) -> list[str]:
    """Names of the models shipped in ``models/``."""
    return sorted(p.stem for p in models_dir.glob("*.yaml"))


def resolve_model(ref: str, base: Path | None = None, models_dir: Path = MODELS_DIR) -> Path:
    """A model name (``resnet18``) or a path (relative to ``base``) to its YAML file."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        path = Path(ref)
        if not path.is_absolute() and base is not None:
            path = base / path
        if path.is_file():
            return path
        raise CodesignError(f"model file {ref!r} does not exist (looked for {path}); give a path relative to the "
                            f"space file or a model name, one of: {', '.join(model_names(models_dir))}")
    path = models_dir / f"{ref}.yaml"
    if path.is_file():
        return path
    names = model_names(models_dir)
    raise CodesignError(f"unknown model {ref!r}; available: {', '.join(names)}{did_you_mean(ref, names)}")


def _eval(expr: Any, symbols: dict[str, int], where: str) -> int:
    if isinstance(expr, bool):
        raise CodesignError(f"expected an integer, got {expr!r}", where)
    if isinstance(expr, int):
        return expr
    if not isinstance(expr, str):
        raise CodesignError(f"expected an integer or an expression over {sorted(symbols)}, got {expr!r}", where)

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in symbols:
                known = ", ".join(sorted(symbols)) or "none (define symbols under params)"
                raise CodesignError(f"unknown symbol {node.id!r} in {expr!r}; known: {known}", where)
            return symbols[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        raise CodesignError(f"cannot evaluate {expr!r}: only integers, symbols and + - * // are allowed", where)

    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise CodesignError(f"cannot parse expression {expr!r}; use integers, symbols and + - * //", where) from None
    try:
        return walk(tree.body)
    except ZeroDivisionError:
        raise CodesignError(f"{expr!r} divides by zero", where) from None


def _symbols(raw: Any, source: str, lines: Lines) -> dict[str, int]:
    """The model's ``params``: symbol name -> integer."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise CodesignError(f"params is a mapping of symbol: integer, e.g. {{seq_len: 128}}; found {raw!r}",
                            locate(source, lines, ("params",)))
    symbols: dict[str, int] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise CodesignError(f"a symbol's value must be an integer, got {value!r}", locate(source, lines, ("params", key)))
        symbols[str(key)] = int(value)
    return symbols


def _shape_value(key: str, expr: Any, symbols: dict[str, int], where: str) -> Any:
    """One evaluated shape value; all are positive except ``pad`` and ``bias``, which may be 0.
    ``stride``, ``pad`` and ``dilation`` may be lists (per axis); ``fused`` is a boolean."""
    if key == "fused":
        if not isinstance(expr, bool):
            raise CodesignError(f"fused is true or false, got {expr!r}", where)
        return expr
    if isinstance(expr, list) and key in ("stride", "pad", "dilation"):
        return [_shape_value(key, e, symbols, where) for e in expr]
    value = _eval(expr, symbols, where)
    least = 0 if key in _MAY_BE_ZERO else 1
    if value < least:
        raise CodesignError(f"{key} must be {'at least 0' if least == 0 else 'a positive integer'}, got {value}", where)
    return value


def load_model(ref: str, *, batch: int = 1, seq_len: int | None = None, name: str | None = None,
               weight: float = 1.0, base: Path | None = None, overrides: dict[str, int] | None = None) -> Workload:
    """Load a model file as a :class:`Workload` at ``batch``.

    ``seq_len`` and ``overrides`` replace the model's ``params`` symbols (e.g. ``kv_len``);
    a symbol the model does not define is an error that lists the ones it does.
    """
    path = resolve_model(ref, base)
    src = str(path)
    doc, lines = read_model_file(path)
    symbols = _symbols(doc.get("params"), src, lines)
    wanted = dict(overrides or {})
    if seq_len is not None:
        wanted["seq_len"] = seq_len
    for key, value in wanted.items():
        if key not in symbols:
            known = ", ".join(sorted(symbols)) or "none"
            raise CodesignError(f"model {doc.get('name', ref)!r} has no parameter {key!r}; its parameters: {known}", src)
        symbols[key] = int(value)
    layers: list[Layer] = []
    vector: list[VectorOp] = []
    for i, entry in enumerate(doc["layers"]):
        built = _layer(entry, ("layers", i), symbols, batch, src, lines)
        (layers if isinstance(built, Layer) else vector).append(built)
    model = str(doc.get("name", path.stem))
    return Workload(name=name or model, model=model, layers=deduplicate(layers), weight=weight, batch=batch,
                    vector_ops=deduplicate(vector), family=str(doc.get("family", "")),
                    source=str(doc.get("source", "")), symbols=tuple(sorted(symbols.items())))


def read_model_file(path: Path) -> tuple[dict[str, Any], Lines]:
    """Parse a model file; check it has a ``layers`` list."""
    src = str(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CodesignError(f"cannot read the model file: {exc}", src) from None
    doc, lines = parse_yaml(text, src, empty="the model file is empty; it needs a name and a 'layers' list")
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise CodesignError("a model file needs a 'layers' list of {name, op, shape keys...}", locate(src, lines, ("layers",)))
    unknown = [k for k in doc if k not in MODEL_KEYS]
    if unknown:
        raise CodesignError(f"unknown key {unknown[0]!r}{did_you_mean(str(unknown[0]), MODEL_KEYS)}; a model file has "
                            f"{', '.join(MODEL_KEYS)}", locate(src, lines, (unknown[0],)))
    return doc, lines


def _layer(entry: Any, at: tuple, symbols: dict[str, int], batch: int, src: str, lines: Lines) -> Layer | VectorOp:
    """One ``layers`` entry (at key path ``at`` of the model file ``src``) as an IR layer."""
    where = locate(src, lines, at)
    if not isinstance(entry, dict):
        raise CodesignError("a layer is a mapping with name, op and shape keys", where)
    op = entry.get("op")
    if op not in OPS:
        raise CodesignError(f"unsupported op {op!r}; supported: {', '.join(OPS)}{did_you_mean(str(op), OPS)}",
                            locate(src, lines, at + ("op",)))
    shape = {k: v for k, v in entry.items() if k not in _COMMON}
    unknown = sorted(set(shape) - set(OP_KEYS[op]), key=str)
    if unknown:
        raise CodesignError(f"unknown key(s) {unknown} for {op}{did_you_mean(str(unknown[0]), OP_KEYS[op])}; "
                            f"allowed: {', '.join(OP_KEYS[op] + _COMMON)}", locate(src, lines, at + (unknown[0],)))
    missing = [k for k in OP_REQUIRED[op] if k not in shape]
    if missing:
        raise CodesignError(f"{op} needs {', '.join(missing)} (keys: {', '.join(OP_KEYS[op])})", where)
    values = {k: _shape_value(k, v, symbols, locate(src, lines, at + (k,))) for k, v in shape.items()}
    count = _shape_value("count", entry.get("count", 1), symbols, locate(src, lines, at + ("count",)))
    bits = _shape_value("bits", entry["bits"], symbols, locate(src, lines, at + ("bits",))) if "bits" in entry else None
    try:
        return OPS[op](str(entry.get("name", f"layer{at[-1]}")), values, batch, count, bits)
    except (ValueError, TypeError) as exc:
        raise CodesignError(str(exc), where) from None


__all__ = ["load_model", "model_names", "resolve_model", "one_of"]
