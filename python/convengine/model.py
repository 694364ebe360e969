"""The model: an ONNX-like graph of named tensors (docs/model-format.md).

A `Model` is a `Graph` plus metadata. A graph has typed inputs and outputs, nodes in
topological order (ONNX op names and attribute names; ops ONNX lacks live in the domain
``CUSTOM_DOMAIN``) and initializers (constant tensors, numpy arrays). On disk it is two files:
``name.json`` (the graph) and ``name.bin`` (every initializer, 64-byte aligned, little-endian,
described in the JSON the way ONNX describes external data: location, offset, length), memory
mapped on load.
"""
from __future__ import annotations

import copy as _copy
import dataclasses
import json
import os
from typing import Any

import numpy as np

FORMAT = "convengine.model"
FORMAT_VERSION = 1
CUSTOM_DOMAIN = "ai.convengine"
WEIGHTS_ALIGN = 64
# dtype names in the file -> little-endian numpy dtypes
DTYPES = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "float64": np.dtype("<f8"),
    "int64": np.dtype("<i8"),
    "int32": np.dtype("<i4"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("?"),
}


class ModelError(ValueError):
    """A model file or graph that cannot be loaded or run; the message names the JSON path or
    the node."""


def dtype_name(dt) -> str:
    dt = np.dtype(dt)
    for name, d in DTYPES.items():
        if d.kind == dt.kind and d.itemsize == dt.itemsize:
            return name
    raise ModelError(f"unsupported tensor dtype {dt}")


@dataclasses.dataclass
class ValueInfo:
    """A graph input or output: name, shape (ints; a str or None is a symbolic dimension) and
    dtype name."""
    name: str
    shape: list | None = None
    dtype: str = "float32"


@dataclasses.dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str = ""
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    domain: str = ""

    def attr(self, name, default=None):
        return self.attrs.get(name, default)


@dataclasses.dataclass
class Graph:
    nodes: list[Node]
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    initializers: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    name: str = "graph"


@dataclasses.dataclass
class Model:
    graph: Graph
    opset: int = 17
    producer: str = "convengine"
    doc: str = ""
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> None:
        save(self, path)

    def copy(self) -> "Model":
        """A deep copy of the graph structure; initializer arrays are shared (treat them as
        read-only)."""
        g = self.graph
        graph = Graph([_copy.deepcopy(n) for n in g.nodes], _copy.deepcopy(g.inputs),
                      _copy.deepcopy(g.outputs), dict(g.initializers), g.name)
        return Model(graph, self.opset, self.producer, self.doc, dict(self.metadata))


# ---------------------------------------------------------------------------------------------
# attributes <-> JSON

def _attr_to_json(name, value, where):
    if isinstance(value, np.ndarray):
        return {"tensor": {"dtype": dtype_name(value.dtype), "shape": list(value.shape),
                           "values": value.reshape(-1).tolist()}}
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_attr_to_json(name, v, where) for v in value]
    raise ModelError(f"{where}: attribute {name!r} has unsupported type {type(value).__name__}")


def _attr_from_json(name, value, where):
    if isinstance(value, dict):
        t = value.get("tensor")
        if not isinstance(t, dict) or set(value) != {"tensor"}:
            raise ModelError(f"{where}.{name}: an object attribute must be {{'tensor': ...}}")
        dt = t.get("dtype")
        if dt not in DTYPES:
            raise ModelError(f"{where}.{name}.tensor.dtype: unknown dtype {dt!r}")
        shape = _shape_list(t.get("shape"), f"{where}.{name}.tensor.shape", allow_symbolic=False)
        vals = t.get("values")
        if not isinstance(vals, list):
            raise ModelError(f"{where}.{name}.tensor.values must be a list")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if len(vals) != count:
            raise ModelError(f"{where}.{name}.tensor: {len(vals)} values for shape {shape}")
        try:
            return np.asarray(vals, dtype=DTYPES[dt]).reshape(shape)
        except (TypeError, ValueError, OverflowError) as e:
            raise ModelError(f"{where}.{name}.tensor.values: {e}") from None
    if isinstance(value, bool) or value is None:
        raise ModelError(f"{where}.{name}: attribute values are numbers, strings, lists or tensors")
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, list):
        out = [_attr_from_json(name, v, where) for v in value]
        if any(isinstance(v, (list, np.ndarray)) for v in out):
            raise ModelError(f"{where}.{name}: nested lists are not attribute values")
        return out
    raise ModelError(f"{where}.{name}: unsupported attribute value {value!r}")


MAX_DIM = 1 << 31
MAX_ELEMENTS = 1 << 34


def _shape_list(shape, where, allow_symbolic=True):
    if not isinstance(shape, list):
        raise ModelError(f"{where} must be a list, got {type(shape).__name__}")
    if len(shape) > 8:
        raise ModelError(f"{where}: rank {len(shape)} is above 8")
    out = []
    for i, d in enumerate(shape):
        if isinstance(d, bool):
            raise ModelError(f"{where}[{i}]: dimension must be an int, got {d!r}")
        if isinstance(d, int):
            if d < 0 or d > MAX_DIM:
                raise ModelError(f"{where}[{i}]: dimension {d} is out of range [0, 2^31]")
            out.append(d)
        elif allow_symbolic and (d is None or isinstance(d, str)):
            out.append(d)
        else:
            raise ModelError(f"{where}[{i}]: dimension must be an int, got {d!r}")
    if all(isinstance(d, int) for d in out):
        n = 1
        for d in out:
            n *= d
        if n > MAX_ELEMENTS:
            raise ModelError(f"{where}: {out} has more than 2^34 elements")
    return out


# ---------------------------------------------------------------------------------------------
# save / load

def _safe_stem(path):
    base = os.path.basename(os.fspath(path))
    return base[:-5] if base.endswith(".json") else base


def save(model: Model, path: str | os.PathLike) -> None:
    """Writes ``path`` (the JSON graph; '.json' is appended when missing) and the weights file
    beside it (same stem, '.bin')."""
    path = os.fspath(path)
    if not path.endswith(".json"):
        path += ".json"
    folder = os.path.dirname(os.path.abspath(path))
    bin_name = _safe_stem(path) + ".bin"
    g = model.graph
    inits = []
    blobs = []
    offset = 0
    for name, arr in g.initializers.items():
        a = np.asarray(arr)
        dt = dtype_name(a.dtype)
        data = np.ascontiguousarray(a, dtype=DTYPES[dt]).tobytes()
        inits.append({"name": name, "dtype": dt, "shape": list(a.shape),
                      "external_data": {"location": bin_name, "offset": offset,
                                        "length": len(data)}})
        blobs.append((offset, data))
        offset += (len(data) + WEIGHTS_ALIGN - 1) // WEIGHTS_ALIGN * WEIGHTS_ALIGN
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "opset": int(model.opset),
        "producer": model.producer,
        "doc": model.doc,
        "metadata": dict(model.metadata),
        "graph": {
            "name": g.name,
            "inputs": [_vi_json(v) for v in g.inputs],
            "outputs": [_vi_json(v) for v in g.outputs],
            "initializers": inits,
            "nodes": [_node_json(n, i) for i, n in enumerate(g.nodes)],
        },
    }
    text = json.dumps(doc, indent=1)
    tmp_bin = os.path.join(folder, bin_name + ".tmp")
    with open(tmp_bin, "wb") as f:
        for off, data in blobs:
            f.seek(off)
            f.write(data)
        f.truncate(offset)
    os.replace(tmp_bin, os.path.join(folder, bin_name))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _vi_json(v: ValueInfo):
    d = {"name": v.name, "dtype": v.dtype}
    if v.shape is not None:
        d["shape"] = list(v.shape)
    return d


def _node_json(n: Node, i):
    where = f"graph.nodes[{i}] ({n.name or n.op_type})"
    d = {"name": n.name, "op_type": n.op_type}
    if n.domain:
        d["domain"] = n.domain
    d["inputs"] = list(n.inputs)
    d["outputs"] = list(n.outputs)
    if n.attrs:
        d["attributes"] = {k: _attr_to_json(k, v, where) for k, v in n.attrs.items()}
    return d


def load(path: str | os.PathLike, *, validate: bool = True) -> Model:
    """Reads a model written by `save` (or by hand, following docs/model-format.md). Every
    problem raises ModelError naming the JSON path or node."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(256 << 20)
            if f.read(1):
                raise ModelError(f"{path}: model JSON is larger than 256 MiB")
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror}") from None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ModelError(f"{path}: not valid JSON ({e})") from None
    model = from_json(doc, os.path.dirname(os.path.abspath(path)), path)
    if validate:
        from ._graph.validate import validate_model
        validate_model(model)
    return model


def _get(d, key, typ, where, default=dataclasses.MISSING):
    if key not in d:
        if default is not dataclasses.MISSING:
            return default
        raise ModelError(f"{where}: missing required key {key!r}")
    v = d[key]
    if typ is int and isinstance(v, bool) or not isinstance(v, typ):
        tn = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise ModelError(f"{where}.{key} must be {tn}, got {type(v).__name__}")
    return v


def from_json(doc, folder: str, what: str = "model") -> Model:
    """Builds a Model from the parsed JSON document; weights are read relative to `folder`."""
    if not isinstance(doc, dict):
        raise ModelError(f"{what}: the top level must be a JSON object")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise ModelError(f"format: expected {FORMAT!r}, got {fmt!r}")
    ver = _get(doc, "format_version", int, "$")
    if ver != FORMAT_VERSION:
        raise ModelError(f"format_version: {ver} is not supported (this convengine reads "
                         f"version {FORMAT_VERSION})")
    opset = _get(doc, "opset", int, "$", 17)
    producer = _get(doc, "producer", str, "$", "")
    docstr = _get(doc, "doc", str, "$", "")
    meta = _get(doc, "metadata", dict, "$", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ModelError("metadata: keys and values must be strings")
    gd = _get(doc, "graph", dict, "$")
    where = "graph"
    name = _get(gd, "name", str, where, "graph")
    inputs = [_vi_from(v, f"graph.inputs[{i}]") for i, v in
              enumerate(_get(gd, "inputs", list, where))]
    outputs = [_vi_from(v, f"graph.outputs[{i}]") for i, v in
               enumerate(_get(gd, "outputs", list, where))]
    nodes = []
    for i, nd in enumerate(_get(gd, "nodes", list, where)):
        w = f"graph.nodes[{i}]"
        if not isinstance(nd, dict):
            raise ModelError(f"{w} must be an object")
        unknown = set(nd) - {"name", "op_type", "domain", "inputs", "outputs", "attributes", "doc"}
        if unknown:
            raise ModelError(f"{w}: unknown keys {sorted(unknown)}")
        op = _get(nd, "op_type", str, w)
        nname = _get(nd, "name", str, w, "")
        w = f"graph.nodes[{i}] ({nname or op})"
        ins = _get(nd, "inputs", list, w)
        outs = _get(nd, "outputs", list, w)
        for key, lst in (("inputs", ins), ("outputs", outs)):
            if not all(isinstance(s, str) for s in lst):
                raise ModelError(f"{w}.{key}: tensor names must be strings")
        attrs_json = _get(nd, "attributes", dict, w, {})
        attrs = {k: _attr_from_json(k, v, f"{w}.attributes") for k, v in attrs_json.items()}
        nodes.append(Node(op, list(ins), list(outs), nname, attrs, _get(nd, "domain", str, w, "")))
    inits = _load_initializers(_get(gd, "initializers", list, where, []), folder)
    return Model(Graph(nodes, inputs, outputs, inits, name), opset, producer, docstr, dict(meta))


def _vi_from(v, where):
    if not isinstance(v, dict):
        raise ModelError(f"{where} must be an object")
    name = _get(v, "name", str, where)
    dt = _get(v, "dtype", str, where, "float32")
    if dt not in DTYPES:
        raise ModelError(f"{where}.dtype: unknown dtype {dt!r}")
    shape = v.get("shape")
    if shape is not None:
        shape = _shape_list(shape, f"{where}.shape")
    return ValueInfo(name, shape, dt)


def _load_initializers(entries, folder):
    inits = {}
    maps = {}
    real_folder = os.path.realpath(folder)
    for i, e in enumerate(entries):
        w = f"graph.initializers[{i}]"
        if not isinstance(e, dict):
            raise ModelError(f"{w} must be an object")
        name = _get(e, "name", str, w)
        w = f"graph.initializers[{i}] ({name})"
        if name in inits:
            raise ModelError(f"{w}: duplicate initializer name")
        dt = _get(e, "dtype", str, w)
        if dt not in DTYPES:
            raise ModelError(f"{w}.dtype: unknown dtype {dt!r}")
        shape = _shape_list(_get(e, "shape", list, w), f"{w}.shape", allow_symbolic=False)
        count = 1
        for d in shape:
            count *= d
        nbytes = count * DTYPES[dt].itemsize
        ext = _get(e, "external_data", dict, w)
        loc = _get(ext, "location", str, f"{w}.external_data")
        off = _get(ext, "offset", int, f"{w}.external_data")
        length = _get(ext, "length", int, f"{w}.external_data")
        if off < 0 or length < 0:
            raise ModelError(f"{w}.external_data: offset and length must be >= 0")
        if length != nbytes:
            raise ModelError(f"{w}.external_data.length: {length} bytes, but shape {shape} of "
                             f"{dt} needs {nbytes}")
        if off % DTYPES[dt].itemsize:
            raise ModelError(f"{w}.external_data.offset: {off} is not a multiple of the "
                             f"{dt} size")
        if os.path.isabs(loc) or not loc:
            raise ModelError(f"{w}.external_data.location: {loc!r} must be a relative path "
                             "inside the model's folder")
        full = os.path.realpath(os.path.join(folder, loc))
        if os.path.commonpath([full, real_folder]) != real_folder:
            raise ModelError(f"{w}.external_data.location: {loc!r} escapes the model's folder")
        if full not in maps:
            try:
                size = os.path.getsize(full)
                maps[full] = (np.memmap(full, dtype=np.uint8, mode="r") if size else
                              np.zeros(0, np.uint8))
            except OSError as ex:
                raise ModelError(f"{w}.external_data.location: cannot open {loc!r}: "
                                 f"{ex.strerror}") from None
        buf = maps[full]
        if off + length > buf.shape[0]:
            raise ModelError(f"{w}.external_data: bytes [{off}, {off + length}) lie past the end "
                             f"of {loc!r} ({buf.shape[0]} bytes)")
        arr = np.ndarray(shape, dtype=DTYPES[dt], buffer=buf, offset=off) if count else \
            np.zeros(shape, DTYPES[dt])
        inits[name] = arr
    return inits
