"""Reader of Timeloop inputs: the architecture tree and the energy reference table (ERT).

The input is what the Timeloop binary itself consumes, e.g. timeloopfe's
``parsed-processed-input.yaml`` (``architecture``, ``problem``, ``mapping``) and
``timeloop-model.ERT.yaml``. Timeloop's rules are followed where it has them (NVlabs/timeloop
``src/model/topology.cpp`` ``ParseTreeSpecs``/``ParseAccelergyERT``, ``src/model/buffer.cpp``
``ParseSpecs``/``ValidateTopology``):

- the architecture is a chain of single ``subtree`` nodes, each with a ``local`` list of
  components; a name range ``X[1..16]`` gives 16 instances, multiplied by the ranges of the
  enclosing subtrees (an ``instances`` attribute overrides); the list order is outer to inner;
- a component is storage when its class contains ``DRAM``, ``SRAM``, ``regfile``,
  ``smartbuffer`` or ``storage`` (including timeloopfe's zero-size ``dummy_storage`` levels that
  carry a container's spatial fanout) and the compute level when it contains ``mac`` or
  ``compute``;
- word bits: ``word_bits``/``word_width``/``datawidth``; words per vector access (block size)
  and cluster size from ``block_size``/``n_words``, ``cluster_size`` and ``width``; capacity in
  words from ``entries``, ``depth`` x block size or ``sizeKB``; the effective capacity divides
  by ``multiple_buffering``; bandwidths are words per cycle per instance (``bandwidth`` = read +
  write, split evenly); meshX x meshY = instances;
- the ERT energy of an action is the largest over its argument variants; storage reads,
  fills and updates use the first ERT action found in Timeloop's priority lists.

Every key the bridge cannot represent (clusters, sparsity, metadata, user networks, power
gating, address-generation or network energies, overbooking, ...) is a
:class:`~codesign.errors.CodesignError` naming it, never silently dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.spec.loader import Lines, locate, parse_yaml

STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage")
COMPUTE_CLASSES = ("mac", "compute")
NETWORK_CLASSES = ("XY_NoC", "Legacy", "ReductionTree", "SimpleMulticast")

# Timeloop's priority lists of ERT action names (include/model/topology.hpp)
READ_ACTIONS = ("random_read", "read")
FILL_ACTIONS = ("random_fill", "random_write", "fill", "write")
UPDATE_ACTIONS = ("random_update", "random_write", "update", "write")
COMPUTE_ACTIONS = ("mac_random", "mult_random", "mac", "mult", "compute")

# attributes whose effect the bridge does not model, with the value Timeloop treats as "off"
_UNSUPPORTED: dict[str, tuple[Any, str]] = {
    "addr_gen_energy": (None, "address-generation energy"),
    "vector_access_energy": (None, "a user energy per access (the ERT is used)"),
    "per_dataspace_bandwidth_consumption_scale": (None, "per-tensor bandwidth scaling"),
    "network_fill_latency": (0, "network fill latency"),
    "network_drain_latency": (0, "network drain latency"),
    "fill_latency": (0, "network fill latency"),
    "drain_latency": (0, "network drain latency"),
    "router_energy": (0, "network router energy"),
    "wire_energy": (0, "network wire energy"),
    "energy_per_hop": (0, "network hop energy"),
    "energy-per-ingress": (0, "network ingress energy"),
    "network_read": (None, "user-defined networks"),
    "network_fill": (None, "user-defined networks"),
    "network_update": (None, "user-defined networks"),
    "network_drain": (None, "user-defined networks"),
    "metadata_storage_width": (0, "sparse metadata storage"),
    "metadata_width": (0, "sparse metadata storage"),
    "metadata_storage_depth": (0, "sparse metadata storage"),
    "metadata_depth": (0, "sparse metadata storage"),
    "metadata_datawidth": (0, "sparse metadata"),
    "metadata_word_bits": (0, "sparse metadata"),
    "allow_overbooking": (False, "overbooking"),
    "power_gated_at": (None, "power gating"),
    "compression_supported": (False, "compression"),
    "decompression_supported": (False, "decompression"),
    "concordant_compressed_tile_traversal": (False, "compressed tile traversal"),
    "tile_partition_supported": (False, "runtime tile partitioning"),
}


@dataclass(frozen=True)
class Doc:
    """A parsed YAML file with the line of every key path, for ``file:line key.path`` messages."""

    data: Any
    lines: Lines
    source: str

    def where(self, path: tuple) -> str:
        return locate(self.source, self.lines, path)

    def error(self, what: str, path: tuple) -> CodesignError:
        return CodesignError(what, self.where(path))

    def get(self, path: tuple) -> Any:
        """The value at ``path``, or an error naming the first missing key."""
        node = self.data
        for i, key in enumerate(path):
            if isinstance(key, int) and isinstance(node, list) and key < len(node):
                node = node[key]
            elif isinstance(key, str) and isinstance(node, dict) and key in node:
                node = node[key]
            else:
                raise self.error(f"missing key {key!r}", path[:i + 1])
        return node


def load_doc(path: Path, what: str) -> Doc:
    """Parse the YAML file ``path`` (``what`` describes it in the message for an empty file)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise CodesignError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodesignError(f"cannot read the file: {exc}", str(path)) from None
    data, lines = parse_yaml(text, str(path), empty=f"the file is empty; expected {what}")
    if not isinstance(data, dict):
        raise CodesignError(f"expected a mapping with {what}", f"{path}:1")
    return Doc(data, lines, str(path))


@dataclass(frozen=True)
class StorageLevel:
    """One storage level of the architecture (sizes in words, bandwidths in words/cycle/instance)."""

    name: str                          # as in the spec, without the instance range
    component: str                     # the component class
    instances: int
    mesh_x: int
    mesh_y: int
    block_size: int                    # words per vector access
    size_words: int | None             # None: unbounded (e.g. DRAM)
    effective_size_words: int | None   # size / multiple buffering
    min_utilization: float
    read_bandwidth: float | None       # None: unlimited
    write_bandwidth: float | None
    shared_bandwidth: float | None
    path: tuple                        # key path of the component in the spec
    where: str                         # file:line key.path of the component, for messages


@dataclass(frozen=True)
class ComputeLevel:
    """The MAC units."""

    name: str
    component: str
    instances: int
    mesh_x: int
    mesh_y: int
    path: tuple
    where: str


@dataclass(frozen=True)
class Architecture:
    """Storage levels outer to inner, then the compute level."""

    levels: tuple[StorageLevel, ...]
    compute: ComputeLevel

    def level_index(self, name: str) -> int:
        return [lv.name for lv in self.levels].index(name)


def base_name(name: str) -> str:
    """A component name without its instance range: ``GlobalBuffer[1..16]`` -> ``GlobalBuffer``."""
    return re.sub(r"\[\s*\d+\s*\.\.\s*\d+\s*\]\s*$", "", str(name)).strip()


def _range_size(name: str, doc: Doc, path: tuple) -> int:
    m = re.search(r"\[\s*(\d+)\s*\.\.\s*(\d+)\s*\]\s*$", str(name))
    if not m:
        return 1
    lo, hi = int(m.group(1)), int(m.group(2))
    if hi < lo:
        raise doc.error(f"instance range [{lo}..{hi}] is empty", path)
    return hi - lo + 1


def _number(doc: Doc, path: tuple, value: Any, kind: type = float, positive: bool = True) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise doc.error(f"expected {'an integer' if kind is int else 'a number'}, found {value!r}", path)
    if positive and value <= 0:
        raise doc.error(f"must be positive, found {value!r}", path)
    return kind(value)


def _first(attrs: dict, keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in attrs and attrs[key] is not None:
            return key, attrs[key]
    return None, None


def _check_supported(doc: Doc, attrs: dict, path: tuple) -> None:
    for key, (off, what) in _UNSUPPORTED.items():
        value = attrs.get(key)
        if value is None or value == off or (isinstance(value, str) and value.strip().lower() in ("", "null", "none")):
            continue
        raise doc.error(f"{what} is not supported by the Timeloop bridge (found {value!r}); remove the key", path + (key,))
    if attrs.get("cluster_size") not in (None, 1):
        raise doc.error(f"clustered buffers are not supported by the Timeloop bridge (cluster_size {attrs['cluster_size']!r}); "
                        "use cluster_size: 1", path + ("cluster_size",))


def _mesh(doc: Doc, attrs: dict, path: tuple, instances: int) -> tuple[int, int]:
    """meshX, meshY from the attributes and the instance count (Timeloop's ValidateTopology)."""
    mx = _number(doc, path + ("meshX",), attrs["meshX"], int) if attrs.get("meshX") is not None else None
    my = _number(doc, path + ("meshY",), attrs["meshY"], int) if attrs.get("meshY") is not None else None
    if mx is None and my is None:
        return instances, 1
    if mx is not None and my is not None:
        if mx * my != instances:
            raise doc.error(f"meshX * meshY = {mx} * {my} differs from the {instances} instances", path + ("meshX",))
        return mx, my
    given, key = (mx, "meshX") if mx is not None else (my, "meshY")
    if instances % given:
        raise doc.error(f"{key} {given} does not divide the {instances} instances", path + (key,))
    return (given, instances // given) if key == "meshX" else (instances // given, given)


def _block_size(doc: Doc, attrs: dict, path: tuple) -> int:
    """Words per vector access (Timeloop's rules for block_size, cluster_size and width)."""
    bkey, block = _first(attrs, ("block_size", "n_words"))
    wkey, width = _first(attrs, ("width", "memory_width", "data_storage_width"))
    if block is not None:
        block = _number(doc, path + (bkey,), block, int)
    if width is None:
        return block or 1
    width = _number(doc, path + (wkey,), width, int)
    key, bits = _first(attrs, ("word_bits", "word_width", "datawidth"))
    if bits is None:
        raise doc.error("the word size is missing: give datawidth (bits per word) with width", path)
    bits = _number(doc, path + (key,), bits, int)
    per = bits * (block or 1)
    if width % per:
        raise doc.error(f"width {width} is not a multiple of datawidth {bits} x block size {block or 1}", path + (wkey,))
    return block if block is not None else width // bits


def _size_words(doc: Doc, attrs: dict, path: tuple, block: int) -> int | None:
    if attrs.get("entries") is not None:
        return _number(doc, path + ("entries",), attrs["entries"], int)
    key, depth = _first(attrs, ("depth", "memory_depth", "data_storage_depth"))
    if depth is not None:
        return _number(doc, path + (key,), depth, int) * block
    if attrs.get("sizeKB") is not None:
        key, bits = _first(attrs, ("word_bits", "word_width", "datawidth"))
        if bits is None:
            raise doc.error("sizeKB needs datawidth (bits per word)", path + ("sizeKB",))
        return int(_number(doc, path + ("sizeKB",), attrs["sizeKB"], int) * 1024 * 8 // _number(doc, path + (key,), bits, int))
    return None


def _bandwidths(doc: Doc, attrs: dict, path: tuple) -> tuple[float | None, float | None, float | None]:
    read = write = shared = None
    if attrs.get("bandwidth") is not None:
        read = write = _number(doc, path + ("bandwidth",), attrs["bandwidth"]) / 2
    if attrs.get("shared_bandwidth") is not None:
        shared = _number(doc, path + ("shared_bandwidth",), attrs["shared_bandwidth"])
    if attrs.get("read_bandwidth") is not None:
        read = _number(doc, path + ("read_bandwidth",), attrs["read_bandwidth"])
    if attrs.get("write_bandwidth") is not None:
        write = _number(doc, path + ("write_bandwidth",), attrs["write_bandwidth"])
    return read, write, shared


def _storage(doc: Doc, comp: dict, path: tuple, instances: int) -> StorageLevel:
    attrs = comp.get("attributes") or {}
    apath = path + ("attributes",)
    if not isinstance(attrs, dict):
        raise doc.error("attributes must be a mapping", apath)
    _check_supported(doc, attrs, apath)
    if attrs.get("instances") is not None:
        instances = _number(doc, apath + ("instances",), attrs["instances"], int)
    mesh_x, mesh_y = _mesh(doc, attrs, apath, instances)
    block = _block_size(doc, attrs, apath)
    size = _size_words(doc, attrs, apath, block)
    buffering = _number(doc, apath + ("multiple_buffering",), attrs.get("multiple_buffering", 1))
    min_util = _number(doc, apath + ("min_utilization",), attrs.get("min_utilization", 0), positive=False)
    read, write, shared = _bandwidths(doc, attrs, apath)
    effective = None if size is None else int(math.floor(size / buffering))
    return StorageLevel(base_name(comp["name"]), str(comp.get("class", "")), instances, mesh_x, mesh_y, block, size,
                        effective, min_util, read, write, shared, path, doc.where(path))


def _compute(doc: Doc, comp: dict, path: tuple, instances: int) -> ComputeLevel:
    attrs = comp.get("attributes") or {}
    apath = path + ("attributes",)
    if attrs.get("instances") is not None:
        instances = _number(doc, apath + ("instances",), attrs["instances"], int)
    mesh_x, mesh_y = _mesh(doc, attrs, apath, instances)
    return ComputeLevel(base_name(comp["name"]), str(comp.get("class", "")), instances, mesh_x, mesh_y, path,
                        doc.where(path))


def read_architecture(doc: Doc, path: tuple = ("architecture",)) -> Architecture:
    """The storage levels (outer to inner) and the compute level of the spec's architecture tree."""
    node = doc.get(path)
    if not isinstance(node, dict):
        raise doc.error("expected the architecture tree (a mapping with subtree)", path)
    if "nodes" in node:
        raise doc.error("this is timeloopfe's input form; give the tree Timeloop reads "
                        "(parsed-processed-input.yaml: subtree / local)", path + ("nodes",))
    storages: list[StorageLevel] = []
    computes: list[ComputeLevel] = []
    multiplication = 1
    while "subtree" in node:
        subtrees = node["subtree"]
        path = path + ("subtree",)
        if not isinstance(subtrees, list) or len(subtrees) != 1:
            raise doc.error("Timeloop supports exactly one subtree per level", path)
        node, path = subtrees[0], path + (0,)
        if not isinstance(node, dict) or "name" not in node:
            raise doc.error("a subtree is a mapping with name and local", path)
        multiplication *= _range_size(node["name"], doc, path + ("name",))
        local = node.get("local") or []
        if not isinstance(local, list):
            raise doc.error("local must be a list of components", path + ("local",))
        for i, comp in enumerate(local):
            cpath = path + ("local", i)
            if not isinstance(comp, dict) or "name" not in comp:
                raise doc.error("a component is a mapping with name, class and attributes", cpath)
            if comp.get("enabled", True) is not True:
                raise doc.error("disabled components are not supported; remove the component", cpath + ("enabled",))
            cls = str(comp.get("class", ""))
            n = multiplication * _range_size(comp["name"], doc, cpath + ("name",))
            if any(c in cls for c in STORAGE_CLASSES):
                storages.append(_storage(doc, comp, cpath, n))
            elif any(c in cls for c in COMPUTE_CLASSES):
                computes.append(_compute(doc, comp, cpath, n))
            elif any(c in cls for c in NETWORK_CLASSES):
                raise doc.error(f"network components ({cls}) are not supported by the Timeloop bridge", cpath + ("class",))
            else:
                raise doc.error(f"unknown component class {cls!r}: storage classes contain one of "
                                f"{', '.join(STORAGE_CLASSES)}; compute classes one of {', '.join(COMPUTE_CLASSES)}",
                                cpath + ("class",))
    if len(computes) != 1:
        raise doc.error(f"expected exactly one compute component (class containing 'mac' or 'compute'), found {len(computes)}",
                        path)
    if not storages:
        raise doc.error("the architecture has no storage level", path)
    names = [lv.name for lv in storages]
    for lv in storages:
        if names.count(lv.name) > 1:
            raise doc.error(f"two storage levels are named {lv.name!r}", lv.path + ("name",))
    for outer, inner in zip(storages, storages[1:] + [computes[0]]):
        if inner.instances % outer.instances or inner.mesh_x % outer.mesh_x or inner.mesh_y % outer.mesh_y:
            raise doc.error(f"{inner.name} ({inner.instances} instances, mesh {inner.mesh_x}x{inner.mesh_y}) is not a "
                            f"whole fanout of {outer.name} ({outer.instances}, mesh {outer.mesh_x}x{outer.mesh_y})",
                            inner.path)
    return Architecture(tuple(storages), computes[0])


@dataclass(frozen=True)
class LevelEnergy:
    """Energy per action of one storage level (pJ per vector access; leak per instance per cycle)."""

    read: float | None                 # None: the ERT has no such action
    fill: float | None
    update: float | None
    leak: float                        # no ``leak`` action: 0 (Timeloop's rule)


@dataclass(frozen=True)
class Energies:
    """Energies of the architecture from the ERT: per storage level (by name) and per MAC (pJ)."""

    levels: dict[str, LevelEnergy]
    compute: float


def read_ert(doc: Doc, arch: Architecture) -> Energies:
    """Energies per action from an ERT file (``ERT: {version, tables: [{name, actions}]}``)."""
    root = doc.data.get("ERT", doc.data)
    path = ("ERT",) if "ERT" in doc.data else ()
    tables = root.get("tables") if isinstance(root, dict) else None
    if not isinstance(tables, list):
        raise doc.error("expected ERT.tables: a list of {name, actions} (ERT version 0.3/0.4)", path + ("tables",))
    actions: dict[str, dict[str, float]] = {}
    for i, table in enumerate(tables):
        tpath = path + ("tables", i)
        if not isinstance(table, dict) or "name" not in table or not isinstance(table.get("actions"), list):
            raise doc.error("an ERT table is a mapping with name and actions", tpath)
        comp = base_name(str(table["name"])).split(".")[-1]
        entry = actions.setdefault(comp, {})
        for j, action in enumerate(table["actions"]):
            apath = tpath + ("actions", j)
            if not isinstance(action, dict) or "name" not in action or "energy" not in action:
                raise doc.error("an ERT action is a mapping with name and energy", apath)
            energy = _number(doc, apath + ("energy",), action["energy"], positive=False)
            entry[action["name"]] = max(entry.get(action["name"], 0.0), energy)
    for wire in ("wire", "Wire"):
        if actions.get(wire, {}).get("transfer_random", 0.0):
            raise doc.error("wire (network) energies are not supported by the Timeloop bridge", path + ("tables",))

    def pick(table: dict[str, float], names: tuple[str, ...]) -> float | None:
        return next((table[n] for n in names if n in table), None)

    levels = {}
    for lv in arch.levels:
        table = actions.get(lv.name, {})
        levels[lv.name] = LevelEnergy(pick(table, READ_ACTIONS), pick(table, FILL_ACTIONS), pick(table, UPDATE_ACTIONS),
                                      table.get("leak", 0.0))
    compute = pick(actions.get(arch.compute.name, {}), COMPUTE_ACTIONS)
    if compute is None:
        raise doc.error(f"no compute energy for {arch.compute.name!r}: expected a table named ...{arch.compute.name} "
                        f"with one of the actions {', '.join(COMPUTE_ACTIONS)}", path + ("tables",))
    return Energies(levels, compute)
