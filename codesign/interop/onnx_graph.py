"""The ONNX graph side of an import: reading the file, dynamic dimensions, shape inference.

:func:`_read` (or :func:`_copy`) gives a ``ModelProto``; :func:`_prepare` inlines local functions,
names unnamed nodes and gives every dynamic input dimension (``dim_param``) the value passed with
``--dim``; :func:`_infer` runs ONNX shape inference; :func:`_context` collects the fully known
shapes, the constants and the consumer counts into the :class:`_Context` that the operator
converters (:mod:`codesign.interop.onnx_ops`) read and append to. ``onnx`` is imported inside the
functions that need it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.errors import CodesignError, did_you_mean

if TYPE_CHECKING:
    from onnx import GraphProto, ModelProto, NodeProto, ValueInfoProto

Shape = tuple[int, ...]
Entry = dict[str, Any]


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
# nodes

def _attrs(node: NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded)."""
    from onnx import helper

    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _has_input(node: NodeProto, index: int) -> bool:
    """Whether optional input ``index`` is given."""
    return len(node.input) > index and bool(node.input[index])


def _emit(ctx: _Context, node: NodeProto, entry: Entry, mac: bool) -> None:
    """Append an entry; a MAC layer becomes the producer of the node's output."""
    ctx.layers.append(entry)
    if mac:
        ctx.producer[node.output[0]] = entry

