"""ONNX models to codesign model files (the format of ``models/*.yaml``).

:func:`import_onnx` gives every dynamic input dimension (a ``dim_param`` such as ``batch`` or
``seq``) the value the caller supplies, runs ONNX shape inference
(``onnx.shape_inference.infer_shapes`` with data propagation) and walks the graph in
topological order, one model-file entry per computing node:

- ``Conv`` (1-D and 2-D) -> ``conv2d``: rectangular kernels, per-axis stride and dilation,
  ``pad: [top, left, bottom, right]`` from ONNX's ``[h_begin, w_begin, h_end, w_end]`` (one
  value or ``[h, w]`` when symmetric; ``auto_pad`` resolved), ``groups``, ``bias`` when the node
  has a third input. A 1-D
  convolution is a 2-D one with H = R = 1.
- ``ConvTranspose`` -> ``conv2d`` where a direct convolution computes the same outputs with the
  same weights: stride 1 (the equivalent convolution; like any convolution it counts the padded
  border), or kernel == stride without padding (each input pixel writes its own s_h x s_w output
  block: a 1x1 convolution with K·s_h·s_w output channels). Anything else is an error.
- ``Gemm`` (``transA``/``transB`` honoured) and ``MatMul`` with one constant operand -> ``linear``
  (the constant operand is the weight; ``tokens`` = rows of the activation); of two activations
  -> ``matmul`` (``heads`` = product of the batch dimensions; an operand broadcast over some of
  them gives ``kv_heads``).
- ``BatchNormalization`` right after a ``conv2d``/``linear`` is folded into it (no entry; its
  scale and shift are not counted as parameters); elsewhere it is a ``mul`` (per-channel scale
  and shift). An ``Add`` of a constant bias right after a bias-less ``conv2d``/``linear`` becomes
  its ``bias: 1``.
- ``Relu``/``Clip`` (ReLU6), ``Gelu``, ``Sigmoid`` -> ``relu``, ``gelu``, ``sigmoid``, with
  ``fused: true`` when they consume a MAC layer's output directly; ``Add``/``Sub`` -> ``add``,
  ``Mul``/``Div`` -> ``mul``, ``Softmax``, ``LayerNormalization``, ``RMSNormalization`` ->
  ``softmax``, ``layernorm``, ``rmsnorm``; element counts are the inferred output sizes.
- ``MaxPool``/``AveragePool`` -> ``maxpool``/``avgpool`` (``ceil_mode`` expressed as the extra
  bottom/right padding that gives the inferred output size; dilated pooling is an error);
  ``GlobalAveragePool`` and ``GlobalMaxPool`` -> ``globalavgpool``.
- Data movement (``Reshape``, ``Flatten``, ``Transpose``, ``Concat``, ``Squeeze``, ``Unsqueeze``,
  ``Identity``, ``Dropout``, ``Cast``, ``Slice``, ``Expand``, ``Split``, ``Pad``, ``Tile``, ``Gather``
  with constant indices, ...) and every node whose inputs are all constants or shapes
  (``Constant``, ``Shape``, ``Gather`` on shapes, dequantized weights, ...) produce nothing.
- Any other operator becomes a generic ``add`` (one operation per output element) and is
  listed in a warning; when shape inference cannot size its output, that is an error naming it.

Shapes in the written file are per sample: the batch is the input dimension whose name contains
``batch`` (``batch``, ``batch_size``, ...), else the leading axis of the first graph input of
rank two or more (the ONNX/PyTorch convention); every count that contains it is divided by its
value, and the loader multiplies by its own ``batch``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError, did_you_mean

if TYPE_CHECKING:
    from onnx import GraphProto, ModelProto, NodeProto, ValueInfoProto

Shape = tuple[int, ...]
Entry = dict[str, Any]

DATA_MOVEMENT = frozenset({
    "Reshape", "Flatten", "Transpose", "Concat", "Squeeze", "Unsqueeze", "Identity", "Constant", "Shape", "Size",
    "Dropout", "Cast", "CastLike", "Slice", "Expand", "Split", "Pad", "Tile", "DepthToSpace", "SpaceToDepth",
})
PASS_THROUGH = frozenset({"Identity", "Dropout"})   # a MAC layer's output stays its output through these
VECTOR_OPS = {
    "Relu": "relu", "Clip": "relu", "Gelu": "gelu", "Sigmoid": "sigmoid", "Add": "add", "Sub": "add", "Mul": "mul",
    "Div": "mul", "Softmax": "softmax", "LayerNormalization": "layernorm", "RMSNormalization": "rmsnorm",
}
FUSABLE = frozenset({"relu", "gelu", "sigmoid"})    # applied to a MAC layer's output on the fly
FOLDABLE = frozenset({"conv2d", "linear"})          # a following BatchNormalization / bias Add folds into these
GENERIC_OP = "add"                                   # cost class of operators codesign does not model


@dataclass(frozen=True)
class ImportResult:
    """An imported model: the model-file ``document`` (keys of ``models/*.yaml``) and ``warnings``."""

    document: dict[str, Any]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Window:
    """A sliding window along one spatial axis; all values in elements of that axis."""

    size: int
    kernel: int
    stride: int
    dilation: int
    begin: int
    end: int


@dataclass
class _Context:
    """The state of one import: known shapes, constants, emitted entries and their producers."""

    where: str                       # the ONNX file, for messages ("" for an in-memory model)
    shapes: dict[str, Shape]         # value name -> fully known shape (elements per axis)
    static: set[str]                 # values known without input data: weights, constants, shapes
    consumers: Counter[str]          # value name -> number of nodes (and graph outputs) reading it
    batch: int = 1                   # the value of the batch axis used for shape inference
    layers: list[Entry] = field(default_factory=list)
    producer: dict[str, Entry] = field(default_factory=dict)   # value -> MAC entry that computed it
    generic: Counter[str] = field(default_factory=Counter)     # op type -> nodes imported as generic
    notes: list[str] = field(default_factory=list)

    def at(self, node: NodeProto) -> str:
        """Where a node is, for error messages: ``file: node 'name' (OpType)``."""
        here = f"node {node.name!r} ({node.op_type})"
        return f"{self.where}: {here}" if self.where else here

    def shape(self, node: NodeProto, value: str) -> Shape:
        """The inferred shape of ``value`` (an input or output of ``node``), or a CodesignError."""
        if value in self.shapes:
            return self.shapes[value]
        raise CodesignError(f"ONNX shape inference could not infer the shape of {value!r}; the importer needs static "
                            "shapes: give every dynamic input dimension with --dim NAME=VALUE, or simplify the model "
                            "(e.g. with onnxsim) and import it again", self.at(node))

    def per_sample(self, node: NodeProto, n: int, what: str) -> int:
        """``n`` (a count that includes the batch) divided by the batch."""
        if n % self.batch:
            raise CodesignError(f"{what} = {n} is not a multiple of the batch {self.batch}, so its per-sample value is "
                                "unknown; import the model at batch 1 (e.g. --dim batch=1; the loader applies the "
                                "batch)", self.at(node))
        return n // self.batch


def import_onnx(model: str | Path | ModelProto, *, name: str | None = None,
                dims: Mapping[str, int] | None = None) -> ImportResult:
    """Import an ONNX model (a file path or a ``ModelProto``) as a model-file document.

    ``dims`` gives each dynamic input dimension (``dim_param``) its size in elements, e.g.
    ``{"batch": 1, "seq": 128}``; ``name`` defaults to the file's stem (or the graph's name).
    Raises :class:`CodesignError` for a file that is not ONNX, a dynamic dimension without a
    value, a shape that inference cannot determine, or an operator that cannot be expressed.
    """
    where = str(model) if isinstance(model, (str, Path)) else ""
    _check_values(dims or {}, where)
    proto = _read(Path(model)) if isinstance(model, (str, Path)) else _copy(model)
    named_batch = _named_batch(proto.graph, dims or {})
    _prepare(proto, dict(dims or {}), where)
    inferred = _infer(proto, where)
    ctx = _context(inferred, where, named_batch)
    for node in inferred.graph.node:
        _dispatch(ctx, node)
    if not ctx.layers:
        raise CodesignError("the graph has no operator that computes on its inputs; nothing to import", where)
    default = Path(where).stem if where else (proto.graph.name or "onnx_model")
    doc = _document(name or default, inferred, where, dims or {}, ctx.layers)
    return ImportResult(doc, tuple(ctx.notes + _generic_warning(ctx.generic)))


def parse_dims(items: Iterable[str]) -> dict[str, int]:
    """``["batch=1", "seq=128"]`` (the CLI's ``--dim`` values) to ``{"batch": 1, "seq": 128}``."""
    dims: dict[str, int] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip().isdigit() or int(value) < 1:
            raise CodesignError(f"expected NAME=POSITIVE_INTEGER, got {item!r}, e.g. --dim batch=1 --dim seq=128", "--dim")
        dims[key.strip()] = int(value)
    return dims


def to_yaml(document: Mapping[str, Any]) -> str:
    """A model-file document as YAML text: header keys, then one flow-style line per layer."""
    import yaml

    header = {k: v for k, v in document.items() if k != "layers"}
    lines = ["# Generated by `codesign import` from an ONNX model (shapes per sample; the loader applies batch).\n",
             yaml.safe_dump(header, sort_keys=False, default_flow_style=None, width=1 << 20), "layers:\n"]
    for entry in document["layers"]:
        lines.append(f"- {yaml.safe_dump(entry, sort_keys=False, default_flow_style=True, width=1 << 20).strip()}\n")
    return "".join(lines)


def write_model(result: ImportResult, path: Path) -> None:
    """Write an imported model to ``path`` (creating its directory), replacing any file there."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(result.document))
    except OSError as exc:
        raise CodesignError(f"cannot write the model file: {exc}", str(path)) from None


# ---------------------------------------------------------------------------------------------
# reading, dynamic dimensions, shape inference

def _read(path: Path) -> ModelProto:
    """Parse an ONNX file (weights stored as external data are not loaded: only shapes matter)."""
    import onnx
    from google.protobuf.message import DecodeError

    if not path.is_file():
        raise CodesignError("the ONNX file does not exist", str(path))
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, UnicodeDecodeError) as exc:
        raise CodesignError(f"not an ONNX model: cannot parse it as an ONNX ModelProto ({exc}); give a .onnx file, "
                            "e.g. from torch.onnx.export", str(path)) from None
    except OSError as exc:
        raise CodesignError(f"cannot read the ONNX file: {exc}", str(path)) from None
    if model.ir_version == 0 or not model.graph.node:
        raise CodesignError("not an ONNX model: it has no IR version or no graph nodes; give a .onnx file, "
                            "e.g. from torch.onnx.export", str(path))
    return model


def _copy(model: ModelProto) -> ModelProto:
    """A deep copy, so preparing the model leaves the caller's one untouched."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def _graph_inputs(graph: GraphProto) -> list[ValueInfoProto]:
    """The graph's real inputs (old exporters also list initializers as inputs)."""
    weights = {init.name for init in graph.initializer}
    return [vi for vi in graph.input if vi.name not in weights]


def _named_batch(graph: GraphProto, dims: Mapping[str, int]) -> int | None:
    """The value given for an input dimension named like a batch (``batch``, ``batch_size``), if any."""
    for vi in _graph_inputs(graph):
        for dim in vi.type.tensor_type.shape.dim:
            if "batch" in dim.dim_param.lower() and dim.dim_param in dims:
                return int(dims[dim.dim_param])
    return None


def _prepare(model: ModelProto, dims: dict[str, int], where: str) -> None:
    """Inline local functions, name unnamed nodes, and fix every dynamic input dimension."""
    import onnx.inliner

    if model.functions:
        model.CopyFrom(onnx.inliner.inline_local_functions(model))
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type.lower()}_{i}"
    _apply_dims(model.graph, dims, where)


def _apply_dims(graph: GraphProto, dims: dict[str, int], where: str) -> None:
    """Replace the inputs' ``dim_param`` by the values in ``dims``; forget stale intermediate shapes."""
    found: set[str] = set()
    missing: list[tuple[str, str, int]] = []   # (dim_param, input, axis)
    for vi in _graph_inputs(graph):
        tensor = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tensor.HasField("shape"):
            raise CodesignError(f"input {vi.name!r} has no tensor shape in the ONNX file; export the model with "
                                "input shapes (dynamic axes are fine)", where)
        for axis, dim in enumerate(tensor.shape.dim):
            if dim.HasField("dim_value"):
                continue
            if not dim.dim_param:
                raise CodesignError(f"input {vi.name!r} axis {axis} has neither a size nor a name; export the model "
                                    "with input shapes", where)
            found.add(dim.dim_param)
            if dim.dim_param in dims:
                dim.dim_value = dims[dim.dim_param]
            else:
                missing.append((dim.dim_param, vi.name, axis))
    _check_dims(dims, found, missing, where)
    del graph.value_info[:]
    for vi in graph.output:
        for dim in vi.type.tensor_type.shape.dim:
            if dim.dim_param in dims:
                dim.dim_value = dims[dim.dim_param]
            elif dim.dim_param:
                dim.Clear()


def _check_values(dims: Mapping[str, int], where: str) -> None:
    """Every given dimension is a positive integer (elements)."""
    for key, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CodesignError(f"dimension {key!r} must be a positive integer, got {value!r}", where or "--dim")


def _check_dims(dims: Mapping[str, int], found: set[str], missing: list[tuple[str, str, int]], where: str) -> None:
    """Every dynamic dimension needs a value; every value needs a dynamic dimension."""
    if missing:
        listed = ", ".join(f"{param!r} (input {name!r}, axis {axis})" for param, name, axis in missing)
        give = " ".join(f"--dim {param}=VALUE" for param in dict.fromkeys(param for param, _, _ in missing))
        raise CodesignError(f"dynamic dimension(s) without a value: {listed}; give {give}", where)
    for key in dims:
        if key not in found:
            known = ", ".join(sorted(found)) or "none (all input shapes are static)"
            raise CodesignError(f"the model has no dynamic dimension {key!r}{did_you_mean(key, found)}; its dynamic "
                                f"dimensions: {known}", where or "--dim")


def _infer(model: ModelProto, where: str) -> ModelProto:
    """ONNX shape inference with data propagation (shape arithmetic feeding Reshape is followed)."""
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError, RuntimeError) as exc:
        raise CodesignError(f"ONNX shape inference failed: {exc}", where) from None


def _known_shapes(graph: GraphProto) -> dict[str, Shape]:
    """Every value whose shape is fully known: initializers, inputs, inferred intermediates, outputs."""
    shapes = {init.name: tuple(int(d) for d in init.dims) for init in graph.initializer}
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        tensor = vi.type.tensor_type
        if vi.type.HasField("tensor_type") and tensor.HasField("shape") and vi.name not in shapes:
            if all(d.HasField("dim_value") for d in tensor.shape.dim):
                shapes[vi.name] = tuple(int(d.dim_value) for d in tensor.shape.dim)
    return shapes


def _context(model: ModelProto, where: str, batch: int | None) -> _Context:
    """The walk's starting state: shapes, constants, consumer counts and the batch value.

    ``batch`` is the value of a dimension named like a batch; without one, the leading axis of
    the first graph input of rank two or more is the batch.
    """
    graph = model.graph
    shapes = _known_shapes(graph)
    consumers: Counter[str] = Counter(i for node in graph.node for i in node.input if i)
    consumers.update(vi.name for vi in graph.output)
    ranked = [shapes[vi.name] for vi in _graph_inputs(graph) if len(shapes.get(vi.name, ())) >= 2]
    if batch is None:
        batch = ranked[0][0] if ranked and ranked[0][0] > 0 else 1
    return _Context(where, shapes, {init.name for init in graph.initializer}, consumers, batch)


# ---------------------------------------------------------------------------------------------
# the walk

def _dispatch(ctx: _Context, node: NodeProto) -> None:
    """Import one node: skip constants and data movement, else call the op's handler."""
    if node.op_type in ("Shape", "Size") or all(i in ctx.static for i in node.input if i):
        ctx.static.update(node.output)
        return
    if node.domain in ("", "ai.onnx") and _moves_data(ctx, node):
        if node.op_type in PASS_THROUGH and node.input[0] in ctx.producer:
            ctx.producer[node.output[0]] = ctx.producer[node.input[0]]
        return
    handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    (handler or _generic)(ctx, node)


def _moves_data(ctx: _Context, node: NodeProto) -> bool:
    """Pure data movement: reshapes, copies, and ``Gather`` with constant indices (a slice)."""
    if node.op_type == "Gather":
        return len(node.input) > 1 and node.input[1] in ctx.static
    return node.op_type in DATA_MOVEMENT


def _attrs(node: NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded)."""
    from onnx import helper

    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _has_input(node: NodeProto, index: int) -> bool:
    """Whether optional input ``index`` is given."""
    return len(node.input) > index and bool(node.input[index])


def _spatial_rank(ctx: _Context, node: NodeProto, shape: Shape) -> int:
    """Spatial axes of an N, C, spatial... tensor: 1 or 2, else a CodesignError."""
    if len(shape) not in (3, 4):
        raise CodesignError(f"input of rank {len(shape)} {list(shape)}: only 1-D and 2-D (N, C, [H,] W) "
                            f"{node.op_type} maps to conv2d and pooling", ctx.at(node))
    return len(shape) - 2


def _emit(ctx: _Context, node: NodeProto, entry: Entry, mac: bool) -> None:
    """Append an entry; a MAC layer becomes the producer of the node's output."""
    ctx.layers.append(entry)
    if mac:
        ctx.producer[node.output[0]] = entry


# ---------------------------------------------------------------------------------------------
# sliding windows (convolution and pooling geometry)

def _pads(a: Mapping[str, Any], sizes: Shape, kernel: list[int], strides: list[int],
          dilations: list[int]) -> tuple[list[int], list[int]]:
    """Begin and end padding per spatial axis, in elements, from ``pads`` or ``auto_pad``."""
    n = len(sizes)
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        pads = list(a.get("pads", [0] * 2 * n))
        return pads[:n], pads[n:]
    if mode == "VALID":
        return [0] * n, [0] * n
    begins, ends = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        total = max(0, (math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if mode == "SAME_UPPER" else large)
        ends.append(large if mode == "SAME_UPPER" else small)
    return begins, ends


def _fit_end(ctx: _Context, node: NodeProto, w: _Window, extent: int, out: int) -> _Window:
    """``w`` with the end padding that makes ``floor((size + pads - extent) / stride) + 1 == out``.

    ``extent`` is the window's span in elements. The attribute padding is kept when it already
    gives the inferred size ``out``; ``ceil_mode`` pooling gets the extra padding it implies.
    """
    if (w.size + w.begin + w.end - extent) // w.stride + 1 == out:
        return w
    end = w.stride * (out - 1) + extent - w.size - w.begin
    if end < 0:
        raise CodesignError(f"the inferred output size {out} does not follow from input {w.size}, window "
                            f"{extent}, stride {w.stride} and padding {w.begin}+{w.end}", ctx.at(node))
    return _Window(w.size, w.kernel, w.stride, w.dilation, w.begin, end)


def _windows(ctx: _Context, node: NodeProto, a: Mapping[str, Any], sizes: Shape, kernel: Iterable[int],
             outs: Shape, dilated: bool) -> tuple[_Window, _Window]:
    """The (height, width) windows of a 1-D or 2-D convolution/pooling; 1-D gets height 1."""
    n = len(sizes)
    kernel = [int(k) for k in a.get("kernel_shape", kernel)]
    strides = [int(s) for s in a.get("strides", [1] * n)]
    dilations = [int(d) for d in a.get("dilations", [1] * n)]
    begins, ends = _pads(a, sizes, kernel, strides, dilations)
    windows = []
    for i in range(n):
        w = _Window(sizes[i], kernel[i], strides[i], dilations[i], begins[i], ends[i])
        extent = dilations[i] * (kernel[i] - 1) + 1 if dilated else kernel[i]
        windows.append(_fit_end(ctx, node, w, extent, outs[i]))
    if n == 1:
        windows.insert(0, _Window(1, 1, 1, 1, 0, 0))
    return windows[0], windows[1]


def _compact(h: int, w: int) -> int | list[int]:
    """One integer when both axes agree, else ``[h, w]``."""
    return h if h == w else [h, w]


def _window_keys(h: _Window, w: _Window, dilation: bool) -> Entry:
    """H, W, R, S and the non-default stride, pad (one value, [h, w] or [top, left, bottom, right]) and dilation."""
    keys: Entry = {"H": h.size, "W": w.size, "R": h.kernel, "S": w.kernel}
    stride = _compact(h.stride, w.stride)
    if stride != 1:
        keys["stride"] = stride
    pads = [h.begin, w.begin, h.end, w.end]
    if any(pads):
        keys["pad"] = pads[0] if len(set(pads)) == 1 else pads[:2] if pads[:2] == pads[2:] else pads
    if dilation and _compact(h.dilation, w.dilation) != 1:
        keys["dilation"] = _compact(h.dilation, w.dilation)
    return keys


# ---------------------------------------------------------------------------------------------
# MAC operators

def _conv(ctx: _Context, node: NodeProto) -> None:
    """``Conv``: X[N, C, H, W] * W[K, C/group, R, S] -> ``conv2d``."""
    xs, ws = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    group = int(a.get("group", 1))
    C, K = xs[1], ws[0]
    if C % group or K % group:
        raise CodesignError(f"group={group} must divide the input channels (C={C}) and the output channels (K={K})",
                            ctx.at(node))
    if ws[1] * group != C:
        raise CodesignError(f"the weight has {ws[1]} input channels per group, but C/group = {C}/{group} = "
                            f"{C // group}", ctx.at(node))
    out = ctx.shape(node, node.output[0])
    h, w = _windows(ctx, node, a, xs[2:], ws[2:], out[2:], dilated=True)
    entry: Entry = {"name": node.name, "op": "conv2d", "C": C, "K": K, **_window_keys(h, w, dilation=True)}
    if group != 1:
        entry["groups"] = group
    if _has_input(node, 2):
        entry["bias"] = 1
    _emit(ctx, node, entry, mac=True)


def _conv_transpose(ctx: _Context, node: NodeProto) -> None:
    """``ConvTranspose``: X[N, C, H, W] with W[C, K/group, R, S] -> the ``conv2d`` that computes the same."""
    xs, ws = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    n = _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    group = int(a.get("group", 1))
    C, K = xs[1], ws[1] * group
    if C % group:
        raise CodesignError(f"group={group} must divide the input channels (C={C})", ctx.at(node))
    kernel = [int(k) for k in a.get("kernel_shape", ws[2:])]
    strides = [int(s) for s in a.get("strides", [1] * n)]
    dilations = [int(d) for d in a.get("dilations", [1] * n)]
    out = ctx.shape(node, node.output[0])
    if all(s == 1 for s in strides):
        keys, k_out = _transpose_as_conv(ctx, node, a, xs[2:], kernel, dilations, out[2:]), K
    elif kernel == strides and not any(a.get("pads", [])) and set(dilations) == {1} \
            and all(o == s * k for o, s, k in zip(out[2:], xs[2:], strides)):
        keys, k_out = _transpose_as_pointwise(ctx, node, xs[2:], strides), K * math.prod(strides)
    else:
        raise CodesignError(f"ConvTranspose with strides {strides} and kernel {kernel} has no conv2d equivalent (a "
                            "direct convolution would count the inserted zeros); supported: stride 1, or kernel == "
                            "stride without padding", ctx.at(node))
    entry: Entry = {"name": node.name, "op": "conv2d", "C": C, "K": k_out, **keys}
    if group != 1:
        entry["groups"] = group
    if _has_input(node, 2) and k_out == K:
        entry["bias"] = 1
    _emit(ctx, node, entry, mac=True)


def _transpose_as_conv(ctx: _Context, node: NodeProto, a: Mapping[str, Any], sizes: Shape, kernel: list[int],
                       dilations: list[int], outs: Shape) -> Entry:
    """Stride-1 transposed convolution = direct convolution padded by dilation·(kernel-1) - pad."""
    n = len(sizes)
    begins = list(a.get("pads", [0] * 2 * n))[:n]
    windows = []
    for size, k, d, b, o in zip(sizes, kernel, dilations, begins, outs):
        total = o - size + d * (k - 1)
        if total < 0:
            raise CodesignError(f"output size {o} is smaller than a valid convolution allows", ctx.at(node))
        begin = min(total, max(0, d * (k - 1) - int(b)))
        windows.append(_Window(size, k, 1, d, begin, total - begin))
    if n == 1:
        windows.insert(0, _Window(1, 1, 1, 1, 0, 0))
    return _window_keys(windows[0], windows[1], dilation=True)


def _transpose_as_pointwise(ctx: _Context, node: NodeProto, sizes: Shape, strides: list[int]) -> Entry:
    """Kernel == stride, no padding: each input pixel writes its own output block (a 1x1 conv2d's H, W, R, S)."""
    H, W = (1, sizes[0]) if len(sizes) == 1 else sizes
    if _has_input(node, 2):
        ctx.notes.append(f"{ctx.at(node)}: imported as a 1x1 conv2d with {math.prod(strides)}x the output channels; "
                         "its bias is not counted as parameters")
    return {"H": H, "W": W, "R": 1, "S": 1}


def _linear(ctx: _Context, node: NodeProto, k_in: int, n_out: int, rows: int, count: int = 1) -> Entry:
    """A ``linear`` entry: ``rows`` activation rows (batch included) of ``k_in`` -> ``n_out`` features."""
    entry: Entry = {"name": node.name, "op": "linear", "in": k_in, "out": n_out,
                    "tokens": ctx.per_sample(node, rows, "the activation's rows")}
    if count != 1:
        entry["count"] = count
    return entry


def _split_batch(ctx: _Context, node: NodeProto, heads: int, kv: int, m: int) -> tuple[int, int, int]:
    """Per-sample (heads, kv_heads, M): the batch divides the heads, else the rows M."""
    if ctx.batch == 1:
        return heads, kv, m
    if heads % ctx.batch == 0:
        h = heads // ctx.batch
        k = kv // ctx.batch if kv % ctx.batch == 0 else kv
        return h, (k if h % k == 0 else h), m
    return heads, kv, ctx.per_sample(node, m, "the rows M")


def _act_matmul(ctx: _Context, node: NodeProto, a_heads: int, b_heads: int, heads: int,
                m: int, n: int, k: int) -> Entry:
    """Activation x activation: ``matmul`` with the operand shared across heads as the B (K/V) side."""
    kv = heads
    if b_heads < heads == a_heads:
        kv = b_heads
    elif a_heads < heads == b_heads:
        m, n, kv = n, m, a_heads
    heads, kv, m = _split_batch(ctx, node, heads, kv, m)
    entry: Entry = {"name": node.name, "op": "matmul", "M": m, "N": n, "K": k, "heads": heads}
    if kv != heads:
        entry["kv_heads"] = kv
    return entry


def _gemm(ctx: _Context, node: NodeProto) -> None:
    """``Gemm``: Y = op(A) op(B) (+ C), ``op`` transposing when ``transA``/``transB``."""
    a = _attrs(node)
    sa, sb = ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1])
    m, k = (sa[1], sa[0]) if a.get("transA", 0) else sa
    n = sb[0] if a.get("transB", 0) else sb[1]
    if node.input[1] in ctx.static:
        entry = _linear(ctx, node, k, n, m)
    elif node.input[0] in ctx.static:
        entry = _linear(ctx, node, k, m, n)
    else:
        entry = _act_matmul(ctx, node, 1, 1, 1, m, n, k)
    _emit(ctx, node, entry, mac=True)
    if _has_input(node, 2):
        _gemm_bias(ctx, node, entry, m * n)


def _gemm_bias(ctx: _Context, node: NodeProto, entry: Entry, elements: int) -> None:
    """Gemm's C: a constant is the linear layer's bias, an activation an ``add`` of ``elements``."""
    if node.input[2] in ctx.static and entry["op"] == "linear":
        entry["bias"] = 1
        return
    ctx.layers.append({"name": f"{node.name}.bias", "op": "add",
                       "elements": ctx.per_sample(node, elements, "the output elements")})


def _matmul_operands(sa: Shape, sb: Shape) -> tuple[Shape, Shape, int, int, int]:
    """NumPy matmul operands: (A batch dims, B batch dims, M, K, N), 1-D operands promoted."""
    a = sa if len(sa) > 1 else (1, *sa)
    b = sb if len(sb) > 1 else (*sb, 1)
    return a[:-2], b[:-2], a[-2], a[-1], b[-1]


def _broadcast(x: Shape, y: Shape) -> Shape:
    """NumPy broadcast of two batch shapes."""
    rank = max(len(x), len(y))
    x, y = (1,) * (rank - len(x)) + x, (1,) * (rank - len(y)) + y
    return tuple(max(i, j) for i, j in zip(x, y))


def _matmul(ctx: _Context, node: NodeProto) -> None:
    """``MatMul``: ``linear`` when an operand is constant (per-slice weights counted), else ``matmul``."""
    ba, bb, m, k, n = _matmul_operands(ctx.shape(node, node.input[0]), ctx.shape(node, node.input[1]))
    heads = math.prod(_broadcast(ba, bb))
    if node.input[1] in ctx.static:
        entry = _linear(ctx, node, k, n, heads * m // math.prod(bb), math.prod(bb))
    elif node.input[0] in ctx.static:
        entry = _linear(ctx, node, k, m, heads * n // math.prod(ba), math.prod(ba))
    else:
        entry = _act_matmul(ctx, node, math.prod(ba), math.prod(bb), heads, m, n, k)
    _emit(ctx, node, entry, mac=True)


# ---------------------------------------------------------------------------------------------
# folding and vector operators

def _foldable(ctx: _Context, value: str) -> Entry | None:
    """The conv2d/linear entry whose output ``value`` is, if only one node reads it."""
    entry = ctx.producer.get(value)
    if entry is not None and entry["op"] in FOLDABLE and ctx.consumers[value] == 1:
        return entry
    return None


def _batchnorm(ctx: _Context, node: NodeProto) -> None:
    """``BatchNormalization``: folded into the conv2d/linear before it, else a ``mul``."""
    entry = _foldable(ctx, node.input[0])
    if entry is None:
        _vector(ctx, node, "mul")
    else:
        ctx.producer[node.output[0]] = entry


def _out_features(entry: Entry) -> int:
    """Output channels (conv2d) or features (linear) of a MAC entry."""
    return int(entry["K"] if entry["op"] == "conv2d" else entry["out"])


def _add(ctx: _Context, node: NodeProto) -> None:
    """``Add``: a constant bias after a bias-less conv2d/linear folds into it, else an ``add``."""
    for x, b in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
        entry = _foldable(ctx, x)
        if entry is not None and "bias" not in entry and "count" not in entry and b in ctx.static \
                and b in ctx.shapes and math.prod(ctx.shapes[b]) == _out_features(entry):
            entry["bias"] = 1
            ctx.producer[node.output[0]] = entry
            return
    _vector(ctx, node, "add")


def _vector(ctx: _Context, node: NodeProto, op: str) -> None:
    """An element-wise vector op over the node's output; fused when it reads a MAC layer's output."""
    elements = math.prod(ctx.shape(node, node.output[0]))
    entry: Entry = {"name": node.name, "op": op, "elements": ctx.per_sample(node, elements, "the output elements")}
    if op in FUSABLE and node.input[0] in ctx.producer:
        entry["fused"] = True
    ctx.layers.append(entry)


def _pool(ctx: _Context, node: NodeProto, op: str) -> None:
    """``MaxPool``/``AveragePool`` over X[N, C, H, W] -> ``maxpool``/``avgpool``."""
    xs, out = ctx.shape(node, node.input[0]), ctx.shape(node, node.output[0])
    _spatial_rank(ctx, node, xs)
    a = _attrs(node)
    if "kernel_shape" not in a:
        raise CodesignError("pooling needs the kernel_shape attribute", ctx.at(node))
    if any(d != 1 for d in a.get("dilations", [])):
        raise CodesignError(f"pooling with dilations {list(a['dilations'])} is not supported: model-file pooling "
                            "windows are dense", ctx.at(node))
    h, w = _windows(ctx, node, a, xs[2:], a["kernel_shape"], out[2:], dilated=False)
    ctx.layers.append({"name": node.name, "op": op, "C": xs[1], **_window_keys(h, w, dilation=False)})


def _global_pool(ctx: _Context, node: NodeProto) -> None:
    """``GlobalAveragePool``/``GlobalMaxPool`` over X[N, C, H, W] -> ``globalavgpool``."""
    xs = ctx.shape(node, node.input[0])
    n = _spatial_rank(ctx, node, xs)
    h, w = (1, xs[2]) if n == 1 else xs[2:]
    ctx.layers.append({"name": node.name, "op": "globalavgpool", "C": xs[1], "H": h, "W": w})


def _generic(ctx: _Context, node: NodeProto) -> None:
    """An operator codesign does not model: an ``add`` per output element, listed in a warning."""
    if not node.output or node.output[0] not in ctx.shapes:
        raise CodesignError(f"operator {node.op_type!r} is not modelled by codesign, and ONNX shape inference could "
                            "not infer its output shape, so its cost is unknown; simplify the model (e.g. onnxsim) "
                            "or replace the operator", ctx.at(node))
    ctx.generic[node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"] += 1
    _vector(ctx, node, GENERIC_OP)


def _generic_warning(generic: Counter[str]) -> list[str]:
    """One warning listing every operator type imported as a generic element-wise op."""
    if not generic:
        return []
    listed = ", ".join(f"{op} ({n})" for op, n in sorted(generic.items()))
    return [f"{sum(generic.values())} node(s) of operator types codesign does not model were imported as generic "
            f"element-wise '{GENERIC_OP}' ops (1 operation per output element): {listed}"]


HANDLERS: dict[str, Callable[[_Context, NodeProto], None]] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _batchnorm, "Add": _add,
    "MaxPool": partial(_pool, op="maxpool"), "AveragePool": partial(_pool, op="avgpool"),
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    **{op: partial(_vector, op=kind) for op, kind in VECTOR_OPS.items() if op not in ("Add",)},
}


# ---------------------------------------------------------------------------------------------
# the document

def _document(name: str, model: ModelProto, where: str, dims: Mapping[str, int], layers: list[Entry]) -> dict[str, Any]:
    """The model-file document: name, description, source, params and layers."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p) or "unknown producer"
    given = ", ".join(f"{k}={v}" for k, v in dims.items()) or "none"
    origin = f"ONNX model {Path(where).name}" if where else "an in-memory ONNX model"
    return {
        "name": name,
        "description": f"Imported from {origin} with ONNX shape inference (dynamic dimensions: {given}); "
                       "shapes per sample.",
        "source": f"{origin} ({producer}, opset {opset})",
        "params": {},
        "layers": layers,
    }
