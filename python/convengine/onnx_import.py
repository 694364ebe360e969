"""ONNX -> convengine Model (optional dependency: the `onnx` package).

`from_onnx` keeps the ONNX graph as it is (op names, attribute names, Constant nodes, Identity
and Dropout): the optimisation passes fold and fuse later. What changes on the way in:

- graph inputs that are also initializers (old exporters' keep_initializers_as_inputs) are
  dropped from the inputs; initializers become numpy arrays (raw_data, typed fields, or
  external data files read relative to the model's folder, never outside it);
- float16 / float64 initializers and Constant values become float32 when some consumer
  computes in float (everything except Shape and Cast, and element-wise ops whose other
  operand has the constant's own dtype: shape arithmetic after a Cast to double); int64 stays
  int64;
- the default-domain opset is kept as `Model.opset`; a few attribute forms of old opsets that
  the op table does not list (Slice-1 starts/ends/axes, Reshape-1 shape) become inputs;
- ReduceMean / ReduceMax over exactly the spatial axes (torch's x.mean([2, 3])) become
  GlobalAveragePool / GlobalMaxPool, followed by Flatten when keepdims=0;
- local functions are inlined; nodes without a name, or with the name of an earlier node, get
  a new one (`<op or name>_<index>`).

Every node whose op convengine does not run is reported in one ModelError. Files that
onnxruntime refuses are refused too, with a ModelError naming the node: an ir_version or a
default-domain opset newer than the installed `onnx` knows, an op the model's opset does not
define, an op version older than onnxruntime's CPU kernels (Relu-1, Add-6 with `broadcast`,
...: convert such models with onnx.version_converter), anything ONNX shape inference in
strict mode rejects (an axis out of range, inputs of mixed types such as a float16 / float64
weight of a float Conv: a Cast node is the valid way), and a Conv / ConvTranspose with both
`auto_pad` and `pads`.
"""
from __future__ import annotations

import functools
import math
import os
import re
import stat
from typing import Any

import numpy as np

from .model import DTYPES, Graph, Model, ModelError, Node, ValueInfo
from ._graph.ops import spec
from ._graph.validate import validate_model
from ._model_json import open_regular
from ._model_limits import shape_list

_NEEDS_NO_FLOAT = {"Shape", "Cast"}
# Ops whose inputs share one dtype: a float64 / float16 constant meeting a tensor of its own
# dtype there (shape arithmetic after a Cast to double) keeps its dtype.
_SAME_TYPE_OPS = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Min", "Max", "Sum", "Mean", "Where",
                  "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Clip", "Concat",
                  "Range"}
_MAX_PROTO_BYTES = 2 << 30
# The first version of each op that onnxruntime's CPU provider implements, for the ops of the
# op table whose first ONNX version it does not (onnxruntime 1.32, get_all_opkernel_def()):
# a model whose opset resolves one of these ops to an older version is refused there.
_ORT_FIRST_VERSION = {
    "Abs": 6, "Add": 7, "And": 7, "AveragePool": 7, "BatchNormalization": 7, "Cast": 6, "Ceil": 6,
    "Clip": 6, "Concat": 4, "Div": 7, "Dropout": 7, "Elu": 6, "Equal": 7, "Exp": 6, "Floor": 6,
    "Gemm": 7, "Greater": 7, "HardSigmoid": 6, "InstanceNormalization": 6, "LeakyRelu": 6,
    "Less": 7, "Log": 6, "LpPool": 2, "GlobalLpPool": 2, "Max": 6, "Mean": 6, "Min": 6, "Mul": 7,
    "Neg": 6, "Or": 7, "PRelu": 7, "Pad": 2, "Pow": 7, "Reciprocal": 6, "Relu": 6, "Selu": 6,
    "Sigmoid": 6, "Split": 2, "Sqrt": 6, "Sub": 7, "Sum": 6, "Tanh": 6, "Tile": 6, "Upsample": 7,
    "Xor": 7}


def _onnx():
    try:
        import onnx  # noqa: PLC0415
        import onnx.inliner  # noqa: F401, PLC0415
        import onnx.numpy_helper  # noqa: F401, PLC0415
        import onnx.shape_inference  # noqa: F401, PLC0415
    except ImportError:
        raise ImportError("convengine.from_onnx needs the 'onnx' package: pip install onnx") \
            from None
    return onnx


def _elem_dtype(onnx, elem_type: int, what: str) -> str:
    TP = onnx.TensorProto
    names = {TP.FLOAT: "float32", TP.FLOAT16: "float16", TP.DOUBLE: "float64",
             TP.INT64: "int64", TP.INT32: "int32", TP.INT8: "int8", TP.UINT8: "uint8",
             TP.BOOL: "bool"}
    if elem_type not in names:
        tn = TP.DataType.Name(elem_type) if elem_type in TP.DataType.values() else elem_type
        raise ModelError(f"{what}: element type {tn} is not supported (convengine tensors are "
                         f"{', '.join(sorted(set(names.values())))})")
    return names[elem_type]


def _value_info(onnx, vi, what: str) -> ValueInfo:
    t = vi.type
    if t.WhichOneof("value") != "tensor_type":
        raise ModelError(f"{what} {vi.name!r}: only tensor values are supported, got "
                         f"{t.WhichOneof('value')}")
    tt = t.tensor_type
    dtype = _elem_dtype(onnx, tt.elem_type, f"{what} {vi.name!r}") if tt.elem_type else "float32"
    shape = None
    if tt.HasField("shape"):
        shape = []
        for d in tt.shape.dim:
            kind = d.WhichOneof("value")
            if kind == "dim_value":
                if d.dim_value < 0:
                    raise ModelError(f"{what} {vi.name!r}: negative dimension {d.dim_value}")
                shape.append(int(d.dim_value))
            elif kind == "dim_param":
                shape.append(d.dim_param)
            else:
                shape.append(None)
        shape = shape_list(shape, f"{what} {vi.name!r} shape")
    return ValueInfo(vi.name, shape, dtype)


def _read_external(onnx, tensor, base_dir: str | None, what: str) -> bytes:
    info = {e.key: e.value for e in tensor.external_data}
    loc = info.get("location", "")
    if base_dir is None:
        raise ModelError(f"{what}: the tensor's data is in an external file ({loc!r}); load the "
                         "model from its path, or pass base_dir=")
    if not loc or os.path.isabs(loc):
        raise ModelError(f"{what}: external data location {loc!r} must be a relative path "
                         "inside the model's folder")
    folder = os.path.realpath(base_dir)
    full = os.path.realpath(os.path.join(folder, loc))
    if os.path.commonpath([full, folder]) != folder:
        raise ModelError(f"{what}: external data location {loc!r} escapes the model's folder")
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
    except ValueError:
        raise ModelError(f"{what}: external data offset/length are not integers") from None
    if offset < 0 or (length is not None and length < 0):
        raise ModelError(f"{what}: external data offset/length must be >= 0")
    try:
        # O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; only a regular
        # file is read.
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ModelError(f"{what}: cannot read external data {loc!r}: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ModelError(f"{what}: external data location {loc!r} is not a regular file")
    with os.fdopen(fd, "rb") as f:
        size = st.st_size
        if length is None:
            length = size - offset
        if offset + length > size:
            raise ModelError(f"{what}: bytes [{offset}, {offset + length}) lie past the end of "
                             f"{loc!r} ({size} bytes)")
        try:
            f.seek(offset)
            data = f.read(length)
        except OSError as e:
            raise ModelError(f"{what}: cannot read external data {loc!r}: {e.strerror}") from None
    if len(data) != length:
        raise ModelError(f"{what}: external data {loc!r} changed while it was read")
    return data


def _tensor(onnx, tensor, base_dir: str | None, what: str) -> np.ndarray:
    dt = _elem_dtype(onnx, tensor.data_type, what)
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims):
        raise ModelError(f"{what}: negative dimension in {dims}")
    shape_list(dims, what, allow_symbolic=False)
    count = math.prod(dims)
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raw = _read_external(onnx, tensor, base_dir, what)
        need = count * DTYPES[dt].itemsize
        if len(raw) != need:
            raise ModelError(f"{what}: external data holds {len(raw)} bytes, shape {dims} of {dt} "
                             f"needs {need}")
        return np.frombuffer(raw, dtype=DTYPES[dt]).reshape(dims).copy()
    if tensor.HasField("raw_data"):
        need = count * DTYPES[dt].itemsize
        if len(tensor.raw_data) != need:
            raise ModelError(f"{what}: raw_data holds {len(tensor.raw_data)} bytes, shape "
                             f"{dims} of {dt} needs {need}")
        return np.frombuffer(tensor.raw_data, dtype=DTYPES[dt]).reshape(dims).copy()
    try:
        arr = onnx.numpy_helper.to_array(tensor)
    except Exception as e:  # noqa: BLE001 - onnx raises various types for malformed tensors
        raise ModelError(f"{what}: cannot decode tensor ({e})") from None
    if arr.size != count:
        raise ModelError(f"{what}: {arr.size} values for shape {dims}")
    return np.ascontiguousarray(arr, dtype=DTYPES[dt]).reshape(dims)


def _attribute(onnx, a, base_dir, where: str) -> Any:
    AP = onnx.AttributeProto
    t = a.type
    if t == AP.FLOAT:
        return float(a.f)
    if t == AP.INT:
        return int(a.i)
    if t == AP.STRING:
        return _decode(a.s, f"{where}: attribute {a.name!r}")
    if t == AP.TENSOR:
        return _tensor(onnx, a.t, base_dir, f"{where}: attribute {a.name!r}")
    if t == AP.FLOATS:
        return [float(v) for v in a.floats]
    if t == AP.INTS:
        return [int(v) for v in a.ints]
    if t == AP.STRINGS:
        return [_decode(s, f"{where}: attribute {a.name!r}") for s in a.strings]
    kind = AP.AttributeType.Name(t) if t in AP.AttributeType.values() else str(t)
    if t in (AP.GRAPH, AP.GRAPHS):
        raise ModelError(f"{where}: attribute {a.name!r} is a subgraph; convengine runs no "
                         "control flow (If/Loop/Scan)")
    raise ModelError(f"{where}: attribute {a.name!r} of type {kind} is not supported")


def _decode(b: bytes, what: str) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelError(f"{what}: string is not valid UTF-8") from None


def _parse(onnx, model):
    if isinstance(model, onnx.ModelProto):
        return model, None
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        base_dir = None
    elif isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        try:
            with open_regular(path, "ONNX file") as f:
                data = f.read(_MAX_PROTO_BYTES + 1)
        except OSError as e:
            raise ModelError(f"cannot read ONNX file {path}: {e.strerror}") from None
        if len(data) > _MAX_PROTO_BYTES:
            raise ModelError(f"{path}: an ONNX protobuf is at most 2 GiB")
        base_dir = os.path.dirname(os.path.abspath(path))
    else:
        raise TypeError("from_onnx takes a path, bytes or an onnx.ModelProto, got "
                        f"{type(model).__name__}")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ModelError(f"not a valid ONNX model: {e or type(e).__name__}") from None
    if not proto.HasField("graph"):
        raise ModelError("not a valid ONNX model: it has no graph")
    return proto, base_dir


def _opset(proto) -> int:
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    if proto.opset_import:
        return 1  # only custom domains are imported: default-domain semantics do not matter
    raise ModelError("the ONNX model has no opset_import")


_GLOBAL_POOLS = {"ReduceMean": "GlobalAveragePool", "ReduceMax": "GlobalMaxPool"}


# op -> (input index, what it is): constant inputs that size a tensor, checked before ONNX
# shape inference sees them (onnx 1.23's inference aborts the process, an assertion in its C++,
# when a Resize scale of 1.7e38 overflows a dimension that a Slice then clamps to: fuzz seed
# 4242 case 985)
_SIZING_INPUTS = {"Resize": ((2, "scales"), (3, "sizes")), "Upsample": ((1, "scales"),),
                  "Expand": ((1, "shape"),), "ConstantOfShape": ((0, "shape"),),
                  "Tile": ((1, "repeats"),), "Reshape": ((1, "shape"),), "Pad": ((1, "pads"),)}


def _check_sizing_constants(proto) -> None:
    """A ModelError naming the node when a constant that sizes a tensor is not finite or is
    beyond MAX_DIM in magnitude."""
    from onnx import numpy_helper
    from ._model_limits import MAX_DIM
    small = {t.name: t for t in proto.graph.initializer
             if len(t.dims) <= 1 and (not t.dims or t.dims[0] <= 64)}
    for n in proto.graph.node:
        for idx, what in _SIZING_INPUTS.get(n.op_type, ()):
            if n.op_type == "Resize" and _opset_of(proto) < 11:
                idx, what = 1, "scales"
            if len(n.input) <= idx or n.input[idx] not in small:
                continue
            try:
                v = numpy_helper.to_array(small[n.input[idx]]).astype(np.float64).ravel()
            except Exception:  # noqa: BLE001 - a malformed tensor is refused later, by name
                continue
            if not np.isfinite(v).all() or (np.abs(v) > MAX_DIM).any() or (
                    what == "scales" and (v < 0).any()):
                raise ModelError(f"node {n.name or n.op_type} ({n.op_type}): {what} "
                                 f"{v.tolist()} out of range (finite, at most {MAX_DIM} in "
                                 "magnitude)")


def _opset_of(proto) -> int:
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 0


def _inferred(onnx, proto, strict: bool = True) -> list | None:
    """The graph's inputs, intermediate tensors and outputs as ONNX shape inference types them,
    in strict mode with type checks as onnxruntime runs it: a ModelError names the node it
    rejects (an axis out of range, inputs of mixed types, ...). None when inference cannot run
    (a protobuf above 2 GiB)."""
    _check_sizing_constants(proto)
    ir = proto.ir_version
    try:
        # IR < 4 lists initializers among the inputs; onnxruntime takes them either way, and
        # inference sees the initializers that are not inputs only from IR 4 on
        proto.ir_version = max(ir, 4)
        g = onnx.shape_inference.infer_shapes(proto, check_type=strict, strict_mode=strict).graph
    except onnx.shape_inference.InferenceError as e:
        msg = _inference_error(onnx, proto, str(e))
        if msg is not None:
            raise ModelError(msg) from None
        try:  # an error inside an expanded function body: onnxruntime takes those
            g = onnx.shape_inference.infer_shapes(proto).graph
        except Exception:  # noqa: BLE001
            return None
    except Exception:  # noqa: BLE001
        return None
    finally:
        proto.ir_version = ir
    return list(g.input) + list(g.value_info) + list(g.output)


def _who(nodes, i) -> str:
    n = nodes[i]
    return f"node {n.name!r}" if n.name else f"node #{i} (output {n.output[0]!r})" \
        if n.output else f"node #{i}"


def _inference_error(onnx, proto, text: str) -> str | None:
    """onnx's InferenceError text as one line naming the node (and, for a type conflict, the
    types of the node's inputs); None for an error inside the expansion of a function op (the
    body of MeanVarianceNormalization-13 fails strict inference, onnxruntime runs it)."""
    m = re.search(r"\(op_type:([^,)]*)(?:, node name: ([^)]*))?\): (?:\[\w+\] )?([^\n]*)",
                  text)
    if not m:
        return f"ONNX shape inference rejects the model: {text.strip().splitlines()[0]}"
    op, name, detail = m.group(1), m.group(2) or "", m.group(3).strip()
    if detail.startswith("Inference error(s)") or "to have type but instead is null" in detail:
        return None  # a function body, or a tensor nothing produces (validate_model names it)
    nodes = proto.graph.node
    i = next((k for k, n in enumerate(nodes) if n.op_type == op and n.name == name), None)
    who = _who(nodes, i) if i is not None else f"node {name!r}"
    msg = f"{who} ({op}): {detail}"
    if "inconsistent type" in detail and i is not None:
        try:  # the other inputs' types, from inference without type checks
            g = onnx.shape_inference.infer_shapes(proto).graph
        except Exception:  # noqa: BLE001
            g = None
        if g is not None:
            elem = {v.name: v.type.tensor_type.elem_type for v in
                    list(g.input) + list(g.value_info) + list(g.output)
                    if v.type.WhichOneof("value") == "tensor_type"}
            elem.update({t.name: t.data_type for t in g.initializer})
            for c in g.node:
                for a in c.attribute:
                    if c.op_type == "Constant" and a.name == "value" and c.output:
                        elem[c.output[0]] = a.t.data_type
            TP = onnx.TensorProto
            parts = [f"{t} {TP.DataType.Name(elem[t]).lower()}" for t in nodes[i].input
                     if t and elem.get(t) in TP.DataType.values()]
            if parts:
                msg += f" (inputs: {', '.join(parts)}; onnxruntime refuses mixed types: a " \
                       "Cast node converts)"
    return msg


def _check_versions(onnx, proto, opset: int) -> None:
    """ir_version and opset as onnxruntime checks them: not newer than the installed onnx
    knows, and each default-domain op defined at the opset in a version onnxruntime runs."""
    if proto.ir_version > onnx.IR_VERSION:
        raise ModelError(f"the model's ir_version {proto.ir_version} is newer than the "
                         f"installed onnx package supports (at most {onnx.IR_VERSION})")
    newest = onnx.defs.onnx_opset_version()
    if opset < 1:
        raise ModelError(f"the model's default-domain opset {opset} is not an opset (they "
                         "start at 1)")
    if opset > newest:
        raise ModelError(f"the model's default-domain opset {opset} is newer than the installed "
                         f"onnx package knows (at most {newest})")
    nodes = proto.graph.node
    for i, n in enumerate(nodes):
        if n.domain not in ("", "ai.onnx"):
            continue
        try:
            since = onnx.defs.get_schema(n.op_type, opset, "").since_version
        except Exception:  # noqa: BLE001 - SchemaError
            raise ModelError(f"{_who(nodes, i)} ({n.op_type}): opset {opset} has no "
                             f"{n.op_type}; the op is newer than the model's opset") from None
        first = _ORT_FIRST_VERSION.get(n.op_type, 1)
        if since < first:
            raise ModelError(f"{_who(nodes, i)} ({n.op_type}): opset {opset} means "
                             f"{n.op_type}-{since}, which onnxruntime does not run (it has "
                             f"{n.op_type} from opset {first}); convert the model to a newer "
                             "opset (onnx.version_converter)")


def _ranks(inferred, proto) -> dict[str, int]:
    """Tensor name -> rank, of the inferred tensors and the initializers (empty when inference
    failed)."""
    if inferred is None:
        return {}
    ranks = {}
    for v in inferred:
        tt = v.type.tensor_type
        if v.type.WhichOneof("value") == "tensor_type" and tt.HasField("shape"):
            ranks[v.name] = len(tt.shape.dim)
    for t in proto.graph.initializer:
        ranks[t.name] = len(t.dims)
    return ranks


def _spatial_reductions(onnx, proto, ranks) -> dict[int, int]:
    """Nodes ReduceMean / ReduceMax over exactly the spatial axes (2..rank-1) of their input:
    node index -> keepdims. They become GlobalAveragePool / GlobalMaxPool (+ Flatten)."""
    g = proto.graph
    idx = [i for i, n in enumerate(g.node) if n.op_type in _GLOBAL_POOLS and n.domain in
           ("", "ai.onnx")]
    if not idx:
        return {}
    consts = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.output:
            for a in n.attribute:
                if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                    consts[n.output[0]] = a.t
    ranks = ranks()
    out = {}
    for i in idx:
        n = g.node[i]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        axes = attrs.get("axes")
        if axes is None and len(n.input) > 1 and n.input[1]:
            if n.input[1] not in consts:
                continue
            axes = onnx.numpy_helper.to_array(consts[n.input[1]]).reshape(-1).tolist()
        rank = ranks.get(n.input[0]) if n.input else None
        if not axes or rank is None or rank < 3 or any(not -rank <= int(a) < rank for a in axes):
            continue  # an axis out of range: the Reduce* node stays, and is refused as such
        if sorted(int(a) % rank for a in axes) == list(range(2, rank)):
            out[i] = int(attrs.get("keepdims", 1))
    return out


def _unsupported(graph) -> list[str]:
    bad = []
    for i, n in enumerate(graph.node):
        if spec(n.domain, n.op_type) is None:
            dom = f" (domain {n.domain!r})" if n.domain not in ("", "ai.onnx") else ""
            bad.append(f"{n.op_type}{dom} at {_who(graph.node, i)}")
    return bad


def _upgrade_old_forms(node: Node, inits: dict, fresh) -> None:
    """Attribute forms of old opsets that the op table (opset 17+) carries as inputs (the
    legacy `broadcast`, `consumed_inputs` and `is_test` forms of opset < 7 are of op versions
    onnxruntime does not run, refused by _check_versions)."""
    if node.op_type == "Slice" and "starts" in node.attrs:
        names = []
        for key in ("starts", "ends", "axes"):
            if key in node.attrs:
                name = fresh(f"{node.name}_{key}")
                inits[name] = np.asarray(node.attrs.pop(key), np.int64)
                names.append(name)
        node.inputs = node.inputs[:1] + names
    elif node.op_type == "Reshape" and "shape" in node.attrs:
        name = fresh(f"{node.name}_shape")
        inits[name] = np.asarray(node.attrs.pop("shape"), np.int64)
        node.inputs = node.inputs[:1] + [name]


def _check_auto_pad(g) -> None:
    """Conv / ConvTranspose with both auto_pad (other than NOTSET) and pads: the spec forbids
    it and onnxruntime refuses it (its pools accept it and ignore the pads, as convengine's)."""
    for i, n in enumerate(g.node):
        if n.op_type not in ("Conv", "ConvTranspose") or n.domain not in ("", "ai.onnx"):
            continue
        attrs = {a.name: a for a in n.attribute}
        pad = attrs["auto_pad"].s.decode("utf-8", "replace") if "auto_pad" in attrs else "NOTSET"
        if pad != "NOTSET" and "pads" in attrs:
            raise ModelError(f"{_who(g.node, i)} ({n.op_type}): auto_pad={pad} and explicit pads "
                             "cannot be used together")


def _topological(nodes: list[Node], available: set[str]) -> list[Node]:
    ready = set(available)
    order, pending = [], list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(not t or t in ready for t in n.inputs):
                order.append(n)
                ready.update(n.outputs)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            return order + rest  # a cycle or a missing tensor: validate_model names it
        pending = rest
    return order


def from_onnx(model, *, base_dir: str | os.PathLike | None = None, validate: bool = True) -> Model:
    """Converts an ONNX model (a file path, the serialized bytes, or an onnx.ModelProto) to a
    convengine Model. External data is read relative to the model's folder (or `base_dir`).
    Raises ModelError listing every node whose op convengine does not run, or naming the node
    of a file onnxruntime refuses (see the module's doc). validate=False skips those checks
    and validate_model (the session's planner still refuses what it cannot run)."""
    onnx = _onnx()
    proto, folder = _parse(onnx, model)
    if base_dir is not None:
        folder = os.fspath(base_dir)
    if proto.functions:
        try:
            proto = onnx.inliner.inline_local_functions(proto)
        except Exception as e:  # noqa: BLE001
            raise ModelError(f"cannot inline the model's local functions: {e}") from None
    g = proto.graph
    opset = _opset(proto)
    bad = _unsupported(g)
    if bad:
        raise ModelError(f"the ONNX model uses {len(bad)} node(s) with ops convengine does not "
                         "run:\n  " + "\n  ".join(bad))
    if validate:
        _check_versions(onnx, proto, opset)
        _check_auto_pad(g)

    inits: dict[str, np.ndarray] = {}
    for i, t in enumerate(g.initializer):
        what = f"initializer {t.name!r}"
        if not t.name:
            raise ModelError(f"initializer #{i} has no name")
        if t.name in inits:
            raise ModelError(f"{what}: duplicate initializer name")
        inits[t.name] = _tensor(onnx, t, folder, what)
    if len(g.sparse_initializer):
        raise ModelError("sparse initializers are not supported")

    inputs = [_value_info(onnx, vi, "graph input") for vi in g.input if vi.name not in inits]
    outputs = [_value_info(onnx, vi, "graph output") for vi in g.output]
    inferred = functools.cache(lambda: _inferred(onnx, proto, strict=validate))
    inferred()  # strict inference refuses what onnxruntime's does
    ranks = functools.cache(lambda: _ranks(inferred(), proto))
    pools = _spatial_reductions(onnx, proto, ranks)

    used = {n.name for n in g.node if n.name}
    used.update(inits)
    for n in g.node:
        used.update(n.output)
    used.update(v.name for v in inputs)

    def fresh(base):
        name, k = base, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        return name

    nodes = []
    node_names: set[str] = set()
    for i, n in enumerate(g.node):
        name = n.name if n.name and n.name not in node_names else \
            fresh(f"{n.name or n.op_type}_{i}")
        node_names.add(name)
        where = f"node {name!r} ({n.op_type})"
        attrs = {}
        for a in n.attribute:
            if a.ref_attr_name:
                raise ModelError(f"{where}: attribute {a.name!r} refers to a function attribute")
            attrs[a.name] = _attribute(onnx, a, folder, where)
        domain = "" if n.domain in ("", "ai.onnx") else n.domain
        if i in pools:
            if pools[i]:
                nodes.append(Node(_GLOBAL_POOLS[n.op_type], [n.input[0]], list(n.output), name))
            else:
                pooled = fresh(f"{name}_pooled")
                nodes.append(Node(_GLOBAL_POOLS[n.op_type], [n.input[0]], [pooled], name))
                nodes.append(Node("Flatten", [pooled], list(n.output), fresh(f"{name}_flatten"),
                                  {"axis": 1}))
            continue
        node = Node(n.op_type, list(n.input), list(n.output), name, attrs, domain)
        if not domain:
            _upgrade_old_forms(node, inits, fresh)
        nodes.append(node)

    types = _elem_types(onnx, proto, inferred())
    del inferred  # the inferred graph holds a copy of the weights: no longer needed
    _floats_to_f32(nodes, inits, types)
    nodes = _topological(nodes, {v.name for v in inputs} | set(inits))
    producer = " ".join(s for s in (proto.producer_name, proto.producer_version) if s)
    meta = {p.key: p.value for p in proto.metadata_props}
    result = Model(Graph(nodes, inputs, outputs, inits, g.name or "graph"), opset,
                   producer or "onnx", proto.doc_string or g.doc_string, meta)
    if validate:
        validate_model(result)
    return result


def _elem_types(onnx, proto, inferred) -> dict:
    """Tensor name -> numpy dtype, of the inferred tensors and the initializers (empty when
    inference failed)."""
    if inferred is None:
        return {}
    out = {}
    for v in inferred:
        if v.type.WhichOneof("value") == "tensor_type":
            try:
                out[v.name] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(
                    v.type.tensor_type.elem_type))
            except Exception:  # noqa: BLE001
                pass
    for t in proto.graph.initializer:
        try:
            out[t.name] = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t.data_type))
        except Exception:  # noqa: BLE001
            pass
    return out


def _floats_to_f32(nodes: list[Node], inits: dict, types: dict) -> None:
    consumers: dict[str, list[Node]] = {}
    for n in nodes:
        for t in n.inputs:
            if t:
                consumers.setdefault(t, []).append(n)

    def needs_float(name, dtype):
        for n in consumers.get(name, ()):
            if n.op_type in _NEEDS_NO_FLOAT:
                continue
            if n.op_type in _SAME_TYPE_OPS and any(
                    t and t != name and types.get(t) == dtype for t in n.inputs):
                continue
            return True
        return False

    for name, arr in list(inits.items()):
        if arr.dtype in (np.float16, np.float64) and needs_float(name, arr.dtype):
            inits[name] = arr.astype(np.float32)
    for n in nodes:
        if n.op_type == "Constant" and not n.domain and n.outputs:
            v = n.attrs.get("value")
            if isinstance(v, np.ndarray) and v.dtype in (np.float16, np.float64) \
                    and needs_float(n.outputs[0], v.dtype):
                n.attrs["value"] = v.astype(np.float32)
