"""A codesign :class:`~codesign.compiler.mapping.Mapping` as a Timeloop mapping (``mapping:`` list).

The format is the one ``timeloop-mapper`` writes to ``*.map.yaml`` (see
``../shared/reference/timeloop/ex_simple_ws_conv/ref_output/timeloop-mapper.map.yaml``):
directives innermost level first; per level a ``datatype`` directive when it bypasses a
tensor (``keep`` / ``bypass``), a ``temporal`` directive with every dimension's factor
(``"K2 C1 ..."``) and the permutation innermost first (``"CKRS..."``), and a ``spatial``
directive on the level whose instances fan out, with ``split`` = the number of dimensions on
the X axis (codesign's PE columns and MAC lanes; the rows are Y). Timeloop's spatial loops of
level ``i`` fan out to level ``i + 1`` (from the innermost level: to the MACs).

Dimension and data-space names are the layer's own (a conv's output channels are ``K``,
Timeloop's CNN problem calls them ``M``) unless ``names`` renames them (as
:mod:`codesign.interop.timeloop_spec` does, with the matching problem and architecture). A mapping whose spatial factors pad a dimension
multiplies to more than the dimension's bound; the file says so in a comment, as Timeloop
expects exact factorizations.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from codesign.compiler.mapping import Mapping
from codesign.errors import CodesignError
from codesign.hardware.accelerator import Accelerator
from codesign.workload.ir import ROLES, Layer


def _factors(dims: tuple[str, ...], values: tuple[int, ...] | list[int]) -> str:
    return " ".join(f"{d}{int(v)}" for d, v in zip(dims, values))


def timeloop_directives(layer: Layer, acc: Accelerator, mapping: Mapping,
                        names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The ``mapping:`` list of directives for ``mapping`` of ``layer`` on ``acc``; ``names`` renames
    dimensions (e.g. ``{"K": "M"}`` for Timeloop's CNN problem), default: the layer's own names."""
    dims = tuple((names or {}).get(d, d) for d in mapping.dims)
    if any(len(d) != 1 for d in dims):
        raise CodesignError(f"Timeloop permutations need one-letter dimension names; {layer.name} has {', '.join(dims)}")
    same = mapping.array_above == len(acc.levels)            # array and lanes in one spatial directive
    if any(r > 1 and c * (v if same else 1) > 1 for r, c, v in zip(mapping.rows, mapping.cols, mapping.lanes)):
        raise CodesignError(f"a dimension of {layer.name} is unrolled across both PE rows and columns (or lanes); "
                            "a Timeloop spatial directive puts each dimension on one mesh axis")
    L, D = len(acc.levels), len(dims)
    out: list[dict[str, Any]] = []
    for lv in range(L - 1, -1, -1):
        level = acc.levels[lv]
        keep = [t.name for role, t in zip(ROLES, layer.tensors) if role in level.holds]
        if len(keep) < len(layer.tensors):
            out.append({"target": level.name, "type": "datatype", "keep": keep,
                        "bypass": [t.name for t in layer.tensors if t.name not in keep]})
        spatial = _spatial_here(mapping, lv, L)
        if spatial is not None:
            x, y = spatial
            order = [d for d in range(D) if x[d] > 1] + [d for d in range(D) if y[d] > 1]
            order += [d for d in range(D) if d not in order]
            out.append({"target": level.name, "type": "spatial",
                        "factors": _factors(dims, [x[d] * y[d] for d in range(D)]),
                        "permutation": "".join(dims[d] for d in order), "split": sum(1 for d in range(D) if x[d] > 1)})
        out.append({"target": level.name, "type": "temporal", "factors": _factors(dims, mapping.temporal[lv]),
                    "permutation": "".join(dims[d] for d in mapping.order[lv])})
    return out


def _spatial_here(mapping: Mapping, lv: int, L: int) -> tuple[list[int], list[int]] | None:
    """(X, Y) factors of the fanout below level ``lv``, or ``None``: the array below the last shared
    level (X = columns, Y = rows), the MAC lanes below the innermost level (X)."""
    ones = [1] * len(mapping.dims)
    x, y = list(ones), list(ones)
    if lv == mapping.array_above - 1:
        x = [c * v for c, v in zip(x, mapping.cols)]
        y = list(mapping.rows)
    if lv == L - 1:
        x = [c * v for c, v in zip(x, mapping.lanes)]
    return (x, y) if math.prod(x) * math.prod(y) > 1 else None


def write_timeloop_mapping(path: Path, layer: Layer, acc: Accelerator, mapping: Mapping) -> None:
    """Write ``mapping`` as a Timeloop mapping file (``mapping:`` list) at ``path``."""
    header = [f"# codesign mapping of layer {layer.name} ({layer.describe()}) as a Timeloop mapping"]
    padded = {d: (b, p) for d, b, p in zip(layer.dims, layer.bounds, mapping.bounds()) if p != b}
    if padded:
        header.append("# spatial factors pad " + ", ".join(f"{d} {b} -> {p}" for d, (b, p) in padded.items())
                      + " (the problem bounds must be padded the same way)")
    text = yaml.safe_dump({"mapping": timeloop_directives(layer, acc, mapping)}, sort_keys=False)
    try:
        path.write_text("\n".join(header) + "\n" + text)
    except OSError as exc:
        raise CodesignError(f"cannot write the Timeloop mapping: {exc.strerror}", str(path)) from None
