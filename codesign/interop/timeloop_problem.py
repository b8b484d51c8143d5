"""Timeloop problems and mappings as codesign's IR: a :class:`Layer` and a :class:`NestBatch`.

Problem (``problem.shape`` + ``problem.instance``): dimensions with their bounds, coefficients
(``Wstride``, ``Hdilation``, ...; the instance's value, else the shape's default) and data
spaces whose ranks are sums of ``dimension [x coefficient]`` terms. Exactly one data space is
read-write (the outputs); the two read-only ones keep their order (the first takes codesign's
``weights`` role, the second ``inputs``; the roles only name them).

Mapping (a list of directives, NVlabs/timeloop ``src/mapping/parser.cpp`` rules): ``temporal``
and ``spatial`` directives give per-dimension factors (``C=1,K=2``, ``C1 K2`` or a mapping; a
missing factor is 1, ``0`` means the whole dimension) and a permutation written innermost
first (missing dimensions are appended in dimension order); a spatial directive's ``split``
puts the permutation's first ``split`` dimensions on the X axis (default: all). The spatial
loops of level ``i`` fan out to level ``i + 1`` (or to the MACs from the innermost level).
``datatype``/``bypass`` directives keep or bypass tensors; unspecified means kept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.cost.nest import NestBatch
from codesign.interop.timeloop import Architecture, Doc
from codesign.workload.ir import Layer, Role, Tensor

_FACTOR = re.compile(r"([A-Za-z_]+)\s*=*\s*([0-9]+)(,([0-9]+))?")
_UNSUPPORTED_DIRECTIVE_KEYS = ("no_reuse", "no_temporal_reuse", "rmw_first_update", "no_coalesce", "no_multicast")


@dataclass(frozen=True)
class Problem:
    """A Timeloop problem as a codesign layer; ``tensors`` are its data spaces in codesign's role order."""

    layer: Layer
    names: tuple[str, str, str]        # data-space names in layer.tensors order


def _coefficients(doc: Doc, shape: dict, instance: dict, path: tuple) -> dict[str, int]:
    raw = shape.get("coefficients") or []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = [(c.get("name"), c.get("default", 1)) if isinstance(c, dict) else (None, None) for c in raw]
    else:
        raise doc.error("coefficients are a list of {name, default}", path + ("shape", "coefficients"))
    out: dict[str, int] = {}
    for i, (name, default) in enumerate(items):
        if not isinstance(name, str):
            raise doc.error("a coefficient is {name, default}", path + ("shape", "coefficients", i))
        value = instance.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise doc.error(f"coefficient {name} must be an integer, found {value!r}", path + ("instance", name))
        out[name] = value
    return out


def read_problem(doc: Doc, path: tuple = ("problem",)) -> Problem:
    """The problem at ``path`` as a :class:`Problem`."""
    shape, instance = doc.get(path + ("shape",)), doc.get(path + ("instance",))
    if not isinstance(shape, dict) or not isinstance(instance, dict):
        raise doc.error("expected problem.shape and problem.instance mappings", path)
    if instance.get("densities"):
        raise doc.error("sparse densities are not supported by the Timeloop bridge", path + ("instance", "densities"))
    dims = shape.get("dimensions")
    if not isinstance(dims, list) or not dims or not all(isinstance(d, str) for d in dims):
        raise doc.error("expected a list of dimension names", path + ("shape", "dimensions"))
    bounds = []
    for d in dims:
        b = instance.get(d)
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise doc.error(f"dimension {d} needs a positive integer size, found {b!r}", path + ("instance", d))
        bounds.append(b)
    coefs = _coefficients(doc, shape, instance, path)
    spaces = shape.get("data_spaces")
    if not isinstance(spaces, list) or len(spaces) != 3:
        raise doc.error("the Timeloop bridge needs exactly three data spaces (two read-only, one read-write)",
                        path + ("shape", "data_spaces"))
    read_write = [bool(ds.get("read_write", False)) if isinstance(ds, dict) else False for ds in spaces]
    if sum(read_write) != 1:
        raise doc.error(f"exactly one data space must be read_write (the outputs), found {sum(read_write)}",
                        path + ("shape", "data_spaces"))
    order = [i for i, rw in enumerate(read_write) if not rw] + [read_write.index(True)]
    roles: tuple[Role, ...] = ("weights", "inputs", "outputs")
    tensors, names = [], []
    for role, i in zip(roles, order):
        ds, dpath = spaces[i], path + ("shape", "data_spaces", i)
        tensors.append(Tensor(str(ds.get("name")), role, _projection(doc, ds.get("projection"), dims, coefs, dpath)))
        names.append(str(ds.get("name")))
    layer = Layer(str(shape.get("name", "timeloop")), "timeloop", tuple(dims), tuple(bounds), tuple(tensors))
    return Problem(layer, tuple(names))


def _projection(doc: Doc, proj: Any, dims: list[str], coefs: dict[str, int], path: tuple) -> tuple:
    ppath = path + ("projection",)
    if not isinstance(proj, list) or not proj:
        raise doc.error("expected a list of ranks, each a list of [dimension, coefficient] terms", ppath)
    ranks, seen = [], set()
    for r, rank in enumerate(proj):
        if not isinstance(rank, list) or not rank:
            raise doc.error("a rank is a list of terms", ppath + (r,))
        terms = []
        for t, term in enumerate(rank):
            tpath = ppath + (r, t)
            names = term if isinstance(term, list) else [term]
            ds = [n for n in names if n in dims]
            cs = [n for n in names if n not in dims]
            if len(ds) != 1 or any(c not in coefs for c in cs):
                raise doc.error(f"a term is one dimension times coefficients, found {term!r} "
                                f"(dimensions: {', '.join(dims)}; coefficients: {', '.join(coefs) or 'none'})", tpath)
            d = dims.index(ds[0])
            if d in seen:
                raise doc.error(f"dimension {ds[0]} indexes two ranks (or appears twice); the bridge needs each "
                                "dimension in at most one rank of a data space", tpath)
            seen.add(d)
            terms.append((d, math.prod(coefs[c] for c in cs)))
        ranks.append(tuple(terms))
    return tuple(ranks)


@dataclass(frozen=True)
class SpatialLoops:
    """The non-trivial spatial loops of one spatial directive, innermost first: (dim, factor, on X)."""

    level: int                         # the storage level the directive targets (its children fan out)
    loops: tuple[tuple[int, int, bool], ...]
    path: tuple


@dataclass(frozen=True)
class Mapping:
    """A Timeloop mapping as a batch of one codesign mapping, with the kept tensors per level."""

    nest: NestBatch
    keeps: tuple[tuple[bool, ...], ...]        # [tensor][level], tensors in layer order
    spatial: tuple[SpatialLoops, ...]          # one per fanout row of ``nest``


def _factors(doc: Doc, raw: Any, layer: Layer, path: tuple) -> list[int]:
    dims = layer.dims
    out = [1] * len(dims)
    if isinstance(raw, dict):
        pairs = [(str(k), v, None) for k, v in raw.items()]
    elif isinstance(raw, str):
        pairs = [(m.group(1), int(m.group(2)), m.group(4)) for m in _FACTOR.finditer(raw.split("#")[0])]
    elif raw is None:
        pairs = []
    else:
        raise doc.error(f"factors are a string like 'C=2,K=4' or a mapping, found {raw!r}", path)
    for name, value, residual in pairs:
        if name not in dims:
            raise doc.error(f"dimension {name} is not in the problem ({', '.join(dims)})", path)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise doc.error(f"factor of {name} must be a non-negative integer, found {value!r}", path)
        if residual is not None and int(residual) != value:
            raise doc.error(f"imperfect factorization ({name}={value},{residual}) is not supported by the Timeloop bridge",
                            path)
        out[dims.index(name)] = value or layer.bounds[dims.index(name)]
    return out


def _permutation(doc: Doc, raw: Any, layer: Layer, path: tuple) -> list[int]:
    names = list(raw) if isinstance(raw, (str, list)) else [] if raw is None else None
    if names is None:
        raise doc.error(f"a permutation is a string of dimension names, innermost first, found {raw!r}", path)
    names = [str(n) for n in names if str(n).strip()]
    for n in names:
        if n not in layer.dims:
            raise doc.error(f"dimension {n} is not in the problem ({', '.join(layer.dims)})", path)
    order = [layer.dims.index(n) for n in names]
    if len(set(order)) != len(order):
        raise doc.error(f"a dimension appears twice in the permutation {raw!r}", path)
    return order + [d for d in range(len(layer.dims)) if d not in order]


def _target(doc: Doc, directive: dict, arch: Architecture, path: tuple) -> int:
    target = directive.get("target")
    names = [lv.name for lv in arch.levels]
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(names):
        return len(names) - 1 - target                     # Timeloop ids count from the innermost level
    if isinstance(target, str) and target in names:
        return names.index(target)
    raise doc.error(f"unknown target {target!r}; storage levels: {', '.join(names)}", path + ("target",))


def read_mapping(doc: Doc, path: tuple, arch: Architecture, problem: Problem) -> Mapping:
    """The mapping directives at ``path`` as a :class:`Mapping` (validated against the problem)."""
    directives = doc.get(path)
    layer = problem.layer
    L, D = len(arch.levels), len(layer.dims)
    if not isinstance(directives, list) or not directives:
        raise doc.error("expected a non-empty list of mapping directives", path)
    temporal = [[1] * D for _ in range(L)]
    perm = [list(range(D)) for _ in range(L)]
    keeps = [[True] * L for _ in range(3)]
    spatial_rows: dict[int, tuple[list[int], SpatialLoops]] = {}
    for i, directive in enumerate(directives):
        dpath = path + (i,)
        if not isinstance(directive, dict):
            raise doc.error("a directive is a mapping with target and type", dpath)
        kind = directive.get("type")
        level = _target(doc, directive, arch, dpath)
        for key in _UNSUPPORTED_DIRECTIVE_KEYS:
            if directive.get(key):
                raise doc.error(f"{key} is not supported by the Timeloop bridge", dpath + (key,))
        if kind in ("temporal", "spatial"):
            factors = _factors(doc, directive.get("factors"), layer, dpath + ("factors",))
            order = _permutation(doc, directive.get("permutation"), layer, dpath + ("permutation",))
            if kind == "temporal":
                temporal[level], perm[level] = factors, order
                continue
            if directive.get("no_link_transfer") not in (None, []):
                raise doc.error("no_link_transfer is not supported by the Timeloop bridge", dpath + ("no_link_transfer",))
            split = directive.get("split", D)
            if isinstance(split, bool) or not isinstance(split, int) or split < 0:
                raise doc.error(f"split must be a non-negative integer, found {split!r}", dpath + ("split",))
            loops = tuple((d, factors[d], pos < split) for pos, d in enumerate(order) if factors[d] > 1)
            spatial_rows[level] = (factors, SpatialLoops(level, loops, dpath))
        elif kind in ("datatype", "bypass", "dataspace"):
            for key, value in (("keep", True), ("bypass", False)):
                for name in directive.get(key) or []:
                    if name not in problem.names:
                        raise doc.error(f"unknown data space {name!r} ({', '.join(problem.names)})", dpath + (key,))
                    keeps[problem.names.index(name)][level] = value
        elif kind == "skew":
            raise doc.error("skew directives are not supported by the Timeloop bridge", dpath + ("type",))
        else:
            raise doc.error(f"unknown directive type {kind!r}; one of: temporal, spatial, datatype, bypass", dpath + ("type",))
    _check_fanouts(doc, arch, spatial_rows, path)
    total = np.prod(np.array(temporal, dtype=np.int64), axis=0)
    for row, _ in spatial_rows.values():
        total = total * np.array(row, dtype=np.int64)
    for d, (name, bound) in enumerate(zip(layer.dims, layer.bounds)):
        if int(total[d]) != bound:
            raise doc.error(f"the factors of {name} multiply to {int(total[d])}, not its size {bound}", path)
    levels = sorted(spatial_rows)
    spatial = np.array([spatial_rows[lv][0] for lv in levels], dtype=np.int64).reshape(1, len(levels), D)
    nest = NestBatch(np.array([temporal], dtype=np.int64), np.array([perm], dtype=np.int64), spatial,
                     tuple(lv + 1 for lv in levels))
    return Mapping(nest, tuple(tuple(k) for k in keeps), tuple(spatial_rows[lv][1] for lv in levels))


def _check_fanouts(doc: Doc, arch: Architecture, rows: dict[int, tuple[list[int], SpatialLoops]], path: tuple) -> None:
    """Spatial factors fit the hardware: instances and mesh X/Y of every level below (Timeloop's checks)."""
    used, used_x, used_y = 1, 1, 1
    children = list(arch.levels[1:]) + [arch.compute]
    for level, child in enumerate(children):
        if level in rows:
            factors, loops = rows[level]
            used *= math.prod(factors)
            used_x *= math.prod(f for _, f, x in loops.loops if x)
            used_y *= math.prod(f for _, f, x in loops.loops if not x)
            for what, n, have in (("instances", used, child.instances), ("meshX", used_x, child.mesh_x),
                                  ("meshY", used_y, child.mesh_y)):
                if n > have:
                    raise doc.error(f"the spatial factors up to here use {n} {what} of {child.name}, which has {have}",
                                    loops.path + ("factors",))
