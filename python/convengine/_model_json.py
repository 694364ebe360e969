"""The model file format (docs/model-format.md): ``name.json`` (the graph) beside ``name.bin``
(every initializer, 64-byte aligned, little-endian, described in the JSON the way ONNX
describes external data: location, offset, length). Attributes and tensors to JSON and back,
the document's schema checks, the weights file memory-mapped on reading, and writing both
files through temporary files renamed into place. ``schema/model.schema.json`` in this
package is the JSON Schema of ``name.json``.

It reads a model through its attributes and returns what it parses as plain values
(`Document`), so it does not import the IR: `Model.save` calls `save`, and convengine.model
builds the IR from a `Document`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import stat
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from ._model_limits import (DTYPES, INT64_MAX, INT64_MIN, MAX_OPSET, MAX_RANK, ModelError,
                            dtype_name, shape_list, short)

FORMAT = "convengine.model"
FORMAT_VERSION = 1
WEIGHTS_ALIGN = 64
# Limits on the JSON text, so that a hostile file cannot make the parser allocate gigabytes:
# its size, and the number of JSON values in it (bounded by the count of ',', '[' and '{').
MAX_JSON_BYTES = 64 << 20
MAX_JSON_ITEMS = 4_000_000

_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the model JSON, shipped in this package."""
    text = resources.files(__package__).joinpath("schema", "model.schema.json").read_text("utf-8")
    return json.loads(text)


class Document(NamedTuple):
    """A parsed model JSON: the Model's fields, ValueInfo and Node fields as tuples in the
    order of their constructors, and the initializer entries (name, dtype, shape, location,
    offset, length) to map with `map_weights`."""
    opset: int
    producer: str
    doc: str
    metadata: dict[str, str]
    name: str
    inputs: list[tuple]
    outputs: list[tuple]
    nodes: list[tuple]
    weights: list[tuple]


# ---------------------------------------------------------------------------------------------
# attributes <-> JSON
#
# int -> JSON integer, float -> JSON number with a fraction or exponent (json writes 1.0), so
# the two stay apart; a non-finite float -> {"float": "inf" | "-inf" | "nan"} (the file is
# strict JSON); str -> string; list -> array of one kind; np.ndarray -> {"tensor": {...}}.

def _float_to_json(x: float):
    if math.isfinite(x):
        return x
    return {"float": "nan" if x != x else ("inf" if x > 0 else "-inf")}


def _scalar_to_json(v, where):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        v = int(v)
        if not INT64_MIN <= v <= INT64_MAX:
            raise ModelError(f"{where}: integer {short(v)} does not fit in int64")
        return v
    if isinstance(v, (float, np.floating)):
        return _float_to_json(float(v))
    if isinstance(v, str):
        return v
    raise ModelError(f"{where}: unsupported attribute value of type {type(v).__name__}")


def _tensor_to_json(a: np.ndarray, where):
    dt = dtype_name(a.dtype)
    if a.ndim > MAX_RANK:
        raise ModelError(f"{where}: tensor rank {a.ndim} is above {MAX_RANK}")
    flat = np.ascontiguousarray(a, dtype=DTYPES[dt]).reshape(-1).tolist()
    if DTYPES[dt].kind == "f":
        flat = [_float_to_json(x) for x in flat]
    return {"tensor": {"dtype": dt, "shape": [int(d) for d in a.shape], "values": flat}}


def _attr_to_json(name, value, where):
    where = f"{where}.{name}"
    if isinstance(value, np.ndarray):
        return _tensor_to_json(value, where)
    if isinstance(value, (list, tuple)):
        items = [_scalar_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
        kinds = {_list_kind(v) for v in value}
        if "str" in kinds and len(kinds) > 1:
            raise ModelError(f"{where}: a list attribute mixes strings and numbers")
        if "float" in kinds:
            items = [_float_to_json(float(v)) if not isinstance(v, (float, np.floating)) else x
                     for v, x in zip(value, items)]
        return items
    return _scalar_to_json(value, where)


def _list_kind(v):
    if isinstance(v, str):
        return "str"
    if isinstance(v, (float, np.floating)):
        return "float"
    return "int"


def _int_from_json(v, where):
    if not INT64_MIN <= v <= INT64_MAX:
        raise ModelError(f"{where}: integer {short(v)} does not fit in int64")
    return v


def _nonfinite_from_json(value, where):
    f = value.get("float")
    if set(value) != {"float"} or not isinstance(f, str) or f not in _NONFINITE:
        raise ModelError(f"{where}: a non-finite float is written {{\"float\": \"inf\" | "
                         f"\"-inf\" | \"nan\"}}, got {short(value)}")
    return _NONFINITE[f]


def _scalar_from_json(value, where):
    """An attribute scalar: int, float, str or a non-finite float object."""
    if isinstance(value, bool) or value is None:
        raise ModelError(f"{where}: attribute values are numbers, strings, lists or tensors, "
                         f"got {json.dumps(value)}")
    if isinstance(value, int):
        return _int_from_json(value, where)
    if isinstance(value, (float, str)):
        return value
    if isinstance(value, dict) and "float" in value:
        return _nonfinite_from_json(value, where)
    raise ModelError(f"{where}: unsupported attribute value {short(value)}")


def _attr_from_json(name, value, where):
    where = f"{where}.{name}"
    if isinstance(value, dict) and "tensor" in value:
        if set(value) != {"tensor"}:
            raise ModelError(f"{where}: a tensor attribute is {{\"tensor\": {{...}}}} alone")
        return _tensor_from_json(value["tensor"], f"{where}.tensor")
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            if isinstance(v, (list, dict)) and not (isinstance(v, dict) and "float" in v):
                raise ModelError(f"{where}[{i}]: list attributes hold numbers or strings only")
            out.append(_scalar_from_json(v, f"{where}[{i}]"))
        kinds = {type(v) for v in out}
        if str in kinds and len(kinds) > 1:
            raise ModelError(f"{where}: a list attribute mixes strings and numbers")
        if float in kinds:
            out = [float(v) for v in out]
        return out
    return _scalar_from_json(value, where)


def _tensor_from_json(t, where):
    if not isinstance(t, dict):
        raise ModelError(f"{where} must be an object")
    _no_unknown(t, {"dtype", "shape", "values"}, where)
    dt = _get(t, "dtype", str, where)
    if dt not in DTYPES:
        raise ModelError(f"{where}.dtype: unknown dtype {dt!r} (one of {sorted(DTYPES)})")
    shape = shape_list(_get(t, "shape", list, where), f"{where}.shape", allow_symbolic=False)
    vals = _get(t, "values", list, where)
    count = math.prod(shape)
    if len(vals) != count:
        raise ModelError(f"{where}.values: {len(vals)} values for shape {shape} ({count})")
    d = DTYPES[dt]
    if d.kind == "b":
        for i, v in enumerate(vals):
            if not isinstance(v, bool):
                raise ModelError(f"{where}.values[{i}]: a bool tensor holds true/false, got "
                                 f"{short(v)}")
        return np.array(vals, dtype=d).reshape(shape)
    if d.kind in "iu":
        info = np.iinfo(d)
        for i, v in enumerate(vals):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ModelError(f"{where}.values[{i}]: an {dt} tensor holds integers, got "
                                 f"{short(v)}")
            if not info.min <= v <= info.max:
                raise ModelError(f"{where}.values[{i}]: {short(v)} is out of the {dt} range")
        return np.array(vals, dtype=d).reshape(shape)
    out = []
    for i, v in enumerate(vals):
        if isinstance(v, dict):
            v = _nonfinite_from_json(v, f"{where}.values[{i}]")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ModelError(f"{where}.values[{i}]: a {dt} tensor holds numbers, got {short(v)}")
        elif isinstance(v, int) and abs(v) > 1 << 1023:
            raise ModelError(f"{where}.values[{i}]: {short(v)} is out of the {dt} range")
        out.append(v)
    wide = np.array(out, dtype=np.float64)
    with np.errstate(over="ignore"):
        arr = wide.astype(d)
    bad = np.flatnonzero(np.isfinite(wide) & ~np.isfinite(arr))
    if bad.size:
        raise ModelError(f"{where}.values[{bad[0]}]: {short(vals[bad[0]])} is out of the {dt} "
                         "range")
    return arr.reshape(shape)


# ---------------------------------------------------------------------------------------------
# save

def _safe_stem(path):
    base = os.path.basename(os.fspath(path))
    return base[:-5] if base.endswith(".json") else base


def _vi_json(v, where):
    d = {"name": v.name, "dtype": v.dtype}
    if v.shape is not None:
        if not isinstance(v.shape, (list, tuple)):
            raise ModelError(f"{where}.shape must be a list or None, got "
                             f"{type(v.shape).__name__}")
        d["shape"] = [int(x) if isinstance(x, np.integer) else x for x in v.shape]
    return d


def _node_json(n, i):
    where = f"graph.nodes[{i}] ({n.name or n.op_type})"
    if not isinstance(n.attrs, dict):
        raise ModelError(f"{where}.attributes must be a dict")
    d = {"name": n.name, "op_type": n.op_type}
    if n.domain:
        d["domain"] = n.domain
    d["inputs"] = list(n.inputs)
    d["outputs"] = list(n.outputs)
    for k in n.attrs:
        if not isinstance(k, str) or not k:
            raise ModelError(f"{where}.attributes: names are non-empty strings, got {short(k)}")
    if n.attrs:
        d["attributes"] = {k: _attr_to_json(k, v, f"{where}.attributes")
                           for k, v in n.attrs.items()}
    return d


def _inline(v):
    if isinstance(v, dict):
        return len(v) <= 3 and all(not isinstance(x, (dict, list)) for x in v.values())
    if isinstance(v, list):
        return all(not isinstance(x, (dict, list)) or (isinstance(x, dict) and _inline(x))
                   for x in v)
    return True


def _dumps(v, pad="\n"):
    """JSON text with one key per line, but short lists and small objects on one line."""
    if _inline(v):
        return json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    inner = pad + " "
    if isinstance(v, dict):
        items = [json.dumps(k, ensure_ascii=False) + ": " + _dumps(x, inner) for k, x in v.items()]
        return "{" + inner + ("," + inner).join(items) + pad + "}"
    return "[" + inner + ("," + inner).join(_dumps(x, inner) for x in v) + pad + "]"


def _create_temp(folder, base):
    """A new file beside the target (same file system, so the rename is atomic), created with
    the permissions the umask gives a new file."""
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")
    raise ModelError(f"cannot create a temporary file in {folder}")


def encode(model, bin_name: str) -> tuple[bytes, list, int]:
    """The model in the file format, in memory: the JSON text (bytes, naming `bin_name` as the
    weights file), the weights as (offset, C-contiguous array) pairs and the weights file's
    size. The document is checked against the loader's schema rules. `save` writes them;
    pickling a session sends them (`weights_buffer`)."""
    g = model.graph
    inits = []
    arrays = []
    offset = 0
    if not isinstance(g.initializers, dict):
        raise ModelError("graph.initializers must be a dict name -> array")
    for i, (name, arr) in enumerate(g.initializers.items()):
        where = f"graph.initializers[{i}] ({name})"
        a = np.asarray(arr)
        try:
            dt = dtype_name(a.dtype)
        except ModelError:
            raise ModelError(f"{where}: unsupported dtype {a.dtype} (one of "
                             f"{sorted(DTYPES)})") from None
        a = np.asarray(a, dtype=DTYPES[dt])
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        inits.append({"name": name, "dtype": dt, "shape": [int(d) for d in a.shape],
                      "external_data": {"location": bin_name, "offset": offset,
                                        "length": a.nbytes}})
        arrays.append((offset, a))
        offset += -(-a.nbytes // WEIGHTS_ALIGN) * WEIGHTS_ALIGN
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "opset": int(model.opset) if isinstance(model.opset, np.integer) else model.opset,
        "producer": model.producer,
        "doc": model.doc,
        "metadata": dict(model.metadata),
        "graph": {
            "name": g.name,
            "inputs": [_vi_json(v, f"graph.inputs[{i}]") for i, v in enumerate(g.inputs)],
            "outputs": [_vi_json(v, f"graph.outputs[{i}]") for i, v in enumerate(g.outputs)],
            "initializers": inits,
            "nodes": [_node_json(n, i) for i, n in enumerate(g.nodes)],
        },
    }
    parse_document(doc, "model")
    try:
        data = (_dumps(doc) + "\n").encode("utf-8")
    except UnicodeEncodeError as e:
        raise ModelError(f"a string in the model is not valid Unicode ({e.reason}: "
                         f"{short(e.object[e.start:e.end])})") from None
    except ValueError as e:
        raise ModelError(f"cannot encode the model as JSON: {e}") from None
    return data, arrays, offset


def weights_buffer(arrays, size: int) -> np.ndarray:
    """The weights file of `encode` as one uint8 array."""
    buf = np.zeros(size, np.uint8)
    for off, a in arrays:
        if a.nbytes:
            buf[off:off + a.nbytes] = a.reshape(-1).view(np.uint8)
    return buf


def save(model, path: str | os.PathLike) -> None:
    """Writes ``path`` (the JSON graph; '.json' is appended when missing) and the weights file
    beside it (same stem, '.bin').

    Both files are written to temporary files in the same folder, flushed to disk and renamed
    into place (weights first, then the JSON), so a reader never sees a partial file. The
    document is checked against the loader's schema rules before anything is written.
    """
    path = os.fspath(path)
    if not path.endswith(".json"):
        path += ".json"
    folder = os.path.dirname(os.path.abspath(path))
    bin_name = _safe_stem(path) + ".bin"
    data, arrays, offset = encode(model, bin_name)
    if not os.path.isdir(folder):
        raise ModelError(f"cannot save {path}: folder {folder} does not exist")
    temps = []
    try:
        tmp_bin, f = _create_temp(folder, bin_name)
        temps.append(tmp_bin)
        with f:
            pos = 0
            for off, a in arrays:
                if off > pos:
                    f.write(bytes(off - pos))
                f.write(a.data if a.ndim else a.tobytes())
                pos = off + a.nbytes
            if offset > pos:
                f.write(bytes(offset - pos))
            f.flush()
            os.fsync(f.fileno())
        tmp_json, f = _create_temp(folder, os.path.basename(path))
        temps.append(tmp_json)
        with f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_bin, os.path.join(folder, bin_name))
        temps.remove(tmp_bin)
        os.replace(tmp_json, path)
        temps.remove(tmp_json)
    except OSError as e:
        raise ModelError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        for t in temps:
            try:
                os.unlink(t)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------
# load

def _reject_constant(name):
    raise ModelError(f"JSON constant {name} is not allowed (the file is strict JSON; write a "
                     "non-finite float as {\"float\": \"inf\" | \"-inf\" | \"nan\"})")


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ModelError(f"duplicate JSON object key {short(k)}")
        d[k] = v
    return d


def parse_json(raw: bytes, what: str = "model"):
    """Parses the bytes of a model JSON with the loader's limits; every problem raises
    ModelError."""
    if len(raw) > MAX_JSON_BYTES:
        raise ModelError(f"{what}: model JSON is larger than {MAX_JSON_BYTES >> 20} MiB")
    items = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if items > MAX_JSON_ITEMS:
        raise ModelError(f"{what}: model JSON has more than {MAX_JSON_ITEMS} values")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelError(f"{what}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                         f"{e.start})") from None
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except ModelError as e:
        raise ModelError(f"{what}: {e}") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{what}: not valid JSON: {e.msg} at line {e.lineno} column "
                         f"{e.colno}") from None
    except RecursionError:
        raise ModelError(f"{what}: JSON is nested too deeply") from None
    except ValueError as e:
        raise ModelError(f"{what}: not valid JSON: {e}") from None


def open_regular(path: str, what: str = "model file"):
    """`path` opened for reading in binary mode, refused with a ModelError unless it is a
    regular file: opened with O_NONBLOCK, so that a FIFO (which would wait for a writer,
    forever) or a device is refused instead of read. OSError propagates."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelError(f"{what} {path}: not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_json(path: str) -> Any:
    """The parsed JSON of the model file at `path` (a regular file within the size limit)."""
    path = os.fspath(path)
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_JSON_BYTES:
                raise ModelError(f"{path}: model JSON is larger than {MAX_JSON_BYTES >> 20} MiB")
            raw = f.read(size + 1)
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror or e}") from None
    except ValueError as e:
        if isinstance(e, ModelError):
            raise
        raise ModelError(f"cannot read model file {path!r}: {e}") from None
    return parse_json(raw, path)


def _get(d, key, typ, where, default=dataclasses.MISSING):
    if key not in d:
        if default is not dataclasses.MISSING:
            return default
        raise ModelError(f"{where}: missing required key {key!r}")
    v = d[key]
    if (typ is int and isinstance(v, bool)) or not isinstance(v, typ):
        tn = {int: "an integer", str: "a string", list: "a list", dict: "an object"}.get(
            typ, getattr(typ, "__name__", str(typ)))
        got = "null" if v is None else json.dumps(v) if isinstance(v, bool) else \
            type(v).__name__
        raise ModelError(f"{where}.{key} must be {tn}, got {got}")
    return v


def _no_unknown(d, allowed, where):
    unknown = set(d) - allowed
    if unknown:
        raise ModelError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")


def _name(d, key, where, default=dataclasses.MISSING, empty_ok=False):
    v = _get(d, key, str, where, default)
    if not v and not empty_ok:
        raise ModelError(f"{where}.{key} must not be empty")
    return v


_TOP_KEYS = {"format", "format_version", "opset", "producer", "doc", "metadata", "graph"}
_GRAPH_KEYS = {"name", "inputs", "outputs", "initializers", "nodes"}
_NODE_KEYS = {"name", "op_type", "domain", "inputs", "outputs", "attributes"}
_VI_KEYS = {"name", "dtype", "shape"}
_INIT_KEYS = {"name", "dtype", "shape", "external_data"}
_EXT_KEYS = {"location", "offset", "length"}


def parse_document(doc, what: str = "model") -> Document:
    """Schema-level checks of the whole document (the parsed JSON); returns its fields."""
    if not isinstance(doc, dict):
        raise ModelError(f"{what}: the top level must be a JSON object")
    if "format" not in doc:
        raise ModelError(f"$: missing required key 'format' (expected {FORMAT!r})")
    if doc["format"] != FORMAT:
        raise ModelError(f"$.format: expected {FORMAT!r}, got {short(doc['format'])}")
    ver = _get(doc, "format_version", int, "$")
    if ver != FORMAT_VERSION:
        raise ModelError(f"$.format_version: {short(ver)} is not supported (this convengine "
                         f"reads version {FORMAT_VERSION})")
    _no_unknown(doc, _TOP_KEYS, "$")
    opset = _get(doc, "opset", int, "$", 17)
    if not 1 <= opset <= MAX_OPSET:
        raise ModelError(f"$.opset: {short(opset)} is out of range [1, {MAX_OPSET}]")
    producer = _get(doc, "producer", str, "$", "")
    docstr = _get(doc, "doc", str, "$", "")
    meta = _get(doc, "metadata", dict, "$", {})
    for k, v in meta.items():
        if not isinstance(k, str):
            raise ModelError(f"$.metadata: keys must be strings, got {short(k)}")
        if not isinstance(v, str):
            raise ModelError(f"$.metadata.{k}: values must be strings, got {type(v).__name__}")
    gd = _get(doc, "graph", dict, "$")
    where = "graph"
    _no_unknown(gd, _GRAPH_KEYS, where)
    name = _get(gd, "name", str, where, "graph")
    inputs = [_vi_from(v, f"graph.inputs[{i}]") for i, v in
              enumerate(_get(gd, "inputs", list, where))]
    outputs = [_vi_from(v, f"graph.outputs[{i}]") for i, v in
               enumerate(_get(gd, "outputs", list, where))]
    nodes = [_node_from(nd, i) for i, nd in enumerate(_get(gd, "nodes", list, where))]
    entries = [_init_entry(e, i) for i, e in
               enumerate(_get(gd, "initializers", list, where, []))]
    seen = {}
    locs = set()
    for i, e in enumerate(entries):
        if e[0] in seen:
            raise ModelError(f"graph.initializers[{i}] ({e[0]}): duplicate initializer name "
                             f"(also graph.initializers[{seen[e[0]]}])")
        seen[e[0]] = i
        locs.add(e[3])
        if len(locs) > 1:
            raise ModelError(f"graph.initializers[{i}] ({e[0]}).external_data.location: "
                             f"{e[3]!r} differs from {sorted(locs - {e[3]})[0]!r}; a model has "
                             "one weights file")
    return Document(opset, producer, docstr, dict(meta), name, inputs, outputs, nodes, entries)



def _node_from(nd, i):
    w = f"graph.nodes[{i}]"
    if not isinstance(nd, dict):
        raise ModelError(f"{w} must be an object")
    _no_unknown(nd, _NODE_KEYS, w)
    op = _name(nd, "op_type", w)
    nname = _get(nd, "name", str, w, "")
    w = f"graph.nodes[{i}] ({nname or op})"
    domain = _get(nd, "domain", str, w, "")
    ins = _get(nd, "inputs", list, w)
    outs = _get(nd, "outputs", list, w)
    for key, lst in (("inputs", ins), ("outputs", outs)):
        for j, s in enumerate(lst):
            if not isinstance(s, str):
                raise ModelError(f"{w}.{key}[{j}]: tensor names are strings, got {short(s)}")
    attrs_json = _get(nd, "attributes", dict, w, {})
    attrs = {}
    for k, v in attrs_json.items():
        if not k:
            raise ModelError(f"{w}.attributes: an attribute name is empty")
        attrs[k] = _attr_from_json(k, v, f"{w}.attributes")
    return op, list(ins), list(outs), nname, attrs, domain


def _vi_from(v, where):
    if not isinstance(v, dict):
        raise ModelError(f"{where} must be an object")
    _no_unknown(v, _VI_KEYS, where)
    name = _name(v, "name", where)
    where = f"{where} ({name})"
    dt = _get(v, "dtype", str, where, "float32")
    if dt not in DTYPES:
        raise ModelError(f"{where}.dtype: unknown dtype {short(dt)} (one of {sorted(DTYPES)})")
    shape = v.get("shape")
    if shape is not None:
        shape = shape_list(shape, f"{where}.shape")
    return name, shape, dt


def _init_entry(e, i):
    w = f"graph.initializers[{i}]"
    if not isinstance(e, dict):
        raise ModelError(f"{w} must be an object")
    _no_unknown(e, _INIT_KEYS, w)
    name = _name(e, "name", w)
    w = f"graph.initializers[{i}] ({name})"
    dt = _get(e, "dtype", str, w)
    if dt not in DTYPES:
        raise ModelError(f"{w}.dtype: unknown dtype {short(dt)} (one of {sorted(DTYPES)})")
    shape = shape_list(_get(e, "shape", list, w), f"{w}.shape", allow_symbolic=False)
    nbytes = math.prod(shape) * DTYPES[dt].itemsize
    ext = _get(e, "external_data", dict, w)
    we = f"{w}.external_data"
    _no_unknown(ext, _EXT_KEYS, we)
    loc = _get(ext, "location", str, we)
    off = _get(ext, "offset", int, we)
    length = _get(ext, "length", int, we)
    if off < 0:
        raise ModelError(f"{we}.offset: {short(off)} is negative")
    if length < 0:
        raise ModelError(f"{we}.length: {short(length)} is negative")
    if length != nbytes:
        raise ModelError(f"{we}.length: {short(length)} bytes, but shape {shape} of {dt} "
                         f"needs {nbytes}")
    if off % WEIGHTS_ALIGN:
        raise ModelError(f"{we}.offset: {short(off)} is not a multiple of {WEIGHTS_ALIGN}")
    _check_location(loc, f"{we}.location")
    return name, dt, shape, loc, off, length


def _check_location(loc, where):
    if not loc:
        raise ModelError(f"{where}: the weights file name is empty")
    if "\0" in loc:
        raise ModelError(f"{where}: the weights file name contains a NUL character")
    if os.path.isabs(loc) or loc.startswith(("/", "\\")) or os.path.splitdrive(loc)[0]:
        raise ModelError(f"{where}: {loc!r} must be a relative path inside the model's folder")
    if ".." in loc.replace("\\", "/").split("/"):
        raise ModelError(f"{where}: {loc!r} escapes the model's folder ('..')")


def map_weights(entries, folder: str, buffers: dict | None = None) -> dict[str, np.ndarray]:
    """The initializers of `Document.weights`: read-only views of the memory-mapped weights
    file, which lies in `folder`, or of `buffers` ({location: uint8 array}) when given."""
    inits = {}
    maps = {}
    real_folder = os.path.realpath(folder)
    for i, (name, dt, shape, loc, off, length) in enumerate(entries):
        we = f"graph.initializers[{i}] ({name}).external_data"
        if loc not in maps and buffers is not None:
            if loc not in buffers:
                raise ModelError(f"{we}.location: no weights named {loc!r} (there are "
                                 f"{sorted(buffers)})")
            maps[loc] = np.frombuffer(buffers[loc], np.uint8)
        if loc not in maps:
            full = os.path.realpath(os.path.join(folder, loc))
            if os.path.commonpath([full, real_folder]) != real_folder:
                raise ModelError(f"{we}.location: {loc!r} escapes the model's folder (it "
                                 f"resolves to {full})")
            try:
                st = os.stat(full)
                if not stat.S_ISREG(st.st_mode):
                    raise ModelError(f"{we}.location: {loc!r} is not a regular file")
                maps[loc] = (np.memmap(full, dtype=np.uint8, mode="r") if st.st_size else
                             np.zeros(0, np.uint8))
            except OSError as ex:
                raise ModelError(f"{we}.location: cannot open the weights file {loc!r}: "
                                 f"{ex.strerror or ex}") from None
        buf = maps[loc]
        if off + length > buf.shape[0]:
            raise ModelError(f"{we}: bytes [{off}, {off + length}) lie past the end of "
                             f"{loc!r} ({buf.shape[0]} bytes)")
        if length:
            arr = np.ndarray(tuple(shape), dtype=DTYPES[dt], buffer=buf, offset=off)
        else:
            arr = np.zeros(tuple(shape), DTYPES[dt])
            arr.flags.writeable = False
        inits[name] = arr
    return inits
