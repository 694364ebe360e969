"""Semantic checks of a model (docs/model-format.md, "Validation"); the schema-level checks of
a file are in _model_json.py. Every problem raises ModelError naming the node or JSON path.
Nothing here needs tensor shapes beyond those of initializers."""
from __future__ import annotations

import math

import numpy as np

from .._model_ir import Graph, Model, Node, ValueInfo
from .._model_limits import (DTYPES, INT64_MAX, INT64_MIN, MAX_RANK, ModelError, dtype_name,
                             shape_list, short)
from .ops import OPS, REQUIRED, spec

# Attribute kinds: "int", "float", "str", "ints", "floats", "strs", "tensor". An attribute's
# kind follows from its default in OPS; where the default is None or REQUIRED it is listed
# here (by attribute name, then overridden per op).
_KIND_BY_NAME = {
    "kernel_shape": "ints", "pads": "ints", "strides": "ints", "dilations": "ints",
    "output_padding": "ints", "output_shape": "ints", "split": "ints", "perm": "ints",
    "axes": "ints", "num_outputs": "int", "seed": "int", "end": "int", "axis": "int",
    "group": "int", "to": "int", "scales": "floats", "min": "float", "max": "float",
    "value": "tensor", "value_float": "float", "value_floats": "floats", "value_int": "int",
    "value_ints": "ints",
    "blocksize": "int", "dtype": "int",   # DepthToSpace / SpaceToDepth, EyeLike
}
_KIND_BY_OP: dict[tuple[str, str], str] = {("LRN", "size"): "int",
                                             ("GroupNormalization", "num_groups"): "int"}

_DESCRIBE = {"int": "an int", "float": "a number", "str": "a string", "ints": "a list of ints",
             "floats": "a list of numbers", "strs": "a list of strings",
             "tensor": "a tensor (numpy array)"}

AUTO_PAD = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")
ACTIVATIONS = ("none", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh", "leaky_relu",
               "gelu", "gelu_tanh", "mish", "softplus", "elu", "selu", "celu", "softsign",
               "thresholded_relu")
_ENUMS = {
    ("Resize", "mode"): ("nearest", "linear", "cubic"),
    ("Resize", "coordinate_transformation_mode"): (
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
        "asymmetric", "tf_crop_and_resize"),
    ("Resize", "nearest_mode"): ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"),
    ("Resize", "keep_aspect_ratio_policy"): ("stretch", "not_larger", "not_smaller"),
    ("Upsample", "mode"): ("nearest", "linear", "bilinear"),
    ("Pad", "mode"): ("constant", "reflect", "edge", "wrap"),
    ("FusedConv", "activation"): ACTIVATIONS,
    ("SqueezeExcite", "activation"): ACTIVATIONS,
    ("SqueezeExcite", "gate"): ("sigmoid", "hardsigmoid"),
    ("GridSample", "mode"): ("bilinear", "linear", "nearest", "bicubic", "cubic"),
    ("GridSample", "padding_mode"): ("zeros", "border", "reflection"),
    ("DepthToSpace", "mode"): ("DCR", "CRD"),
    ("SpaceToDepth", "mode"): ("DCR", "CRD"),
}
_FLAGS = {"ceil_mode", "count_include_pad", "storage_order", "transA", "transB",
          "training_mode", "spatial", "antialias", "exclude_outside", "allowzero", "saturate",
          "align_corners", "exclusive", "reverse", "fmod"}
_FLOAT_DTYPES = ("float32", "float16", "float64")
_CONV_LIKE = {"Conv", "ConvTranspose", "FusedConv", "DeformConv", "LocalConv"}
_POOLS = {"MaxPool", "AveragePool", "LpPool"}


def attr_kind(op: str, name: str, default) -> str:
    """The kind of value an attribute takes (see _KIND_BY_NAME)."""
    if (op, name) in _KIND_BY_OP:
        return _KIND_BY_OP[(op, name)]
    if isinstance(default, bool):
        return "int"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if name in _KIND_BY_NAME:
        return _KIND_BY_NAME[name]
    raise KeyError(f"attribute {op}.{name} has no known kind")


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) \
        and INT64_MIN <= int(v) <= INT64_MAX


def _is_num(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and \
        not isinstance(v, (bool, np.bool_))


def _kind_ok(kind, v):
    if kind == "int":
        return _is_int(v)
    if kind == "float":
        return _is_num(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "tensor":
        return isinstance(v, np.ndarray)
    if not isinstance(v, (list, tuple)):
        return False
    item = {"ints": _is_int, "floats": _is_num, "strs": lambda x: isinstance(x, str)}[kind]
    return all(item(x) for x in v)


def validate_model(model: Model) -> None:
    """Raises ModelError on the first problem of the model; returns None when it is valid."""
    if not isinstance(model, Model):
        raise TypeError(f"validate_model takes a Model, got {type(model).__name__}")
    g = model.graph
    if not isinstance(g, Graph):
        raise ModelError(f"model.graph must be a Graph, got {type(g).__name__}")
    for key, typ, tname in (("nodes", Node, "Node"), ("inputs", ValueInfo, "ValueInfo"),
                            ("outputs", ValueInfo, "ValueInfo")):
        lst = getattr(g, key)
        if not isinstance(lst, (list, tuple)):
            raise ModelError(f"graph.{key} must be a list, got {type(lst).__name__}")
        for i, x in enumerate(lst):
            if not isinstance(x, typ):
                raise ModelError(f"graph.{key}[{i}] must be a {tname}, got {type(x).__name__}")
    if not isinstance(g.initializers, dict):
        raise ModelError("graph.initializers must be a dict name -> numpy array")
    if isinstance(model.opset, bool) or not isinstance(model.opset, (int, np.integer)) \
            or not 1 <= model.opset <= 1000:
        raise ModelError(f"$.opset: {short(model.opset)} is not an int in [1, 1000]")
    known: dict[str, str] = {}
    for i, v in enumerate(g.inputs):
        w = f"graph.inputs[{i}]"
        _check_value_info(v, w)
        if v.name in known:
            raise ModelError(f"{w}: duplicate graph input {v.name!r} (also {known[v.name]})")
        known[v.name] = w
    for name, arr in g.initializers.items():
        w = f"graph.initializers ({name})"
        if not isinstance(name, str) or not name or not _utf8(name):
            raise ModelError(f"graph.initializers: names are non-empty UTF-8 strings, got "
                             f"{short(name)}")
        if name in known:
            raise ModelError(f"{w}: {name!r} is also {known[name]} (an initializer is not a "
                             "graph input)")
        if not isinstance(arr, np.ndarray):
            raise ModelError(f"{w}: initializers are numpy arrays, got {type(arr).__name__}")
        try:
            dtype_name(arr.dtype)
        except ModelError:
            raise ModelError(f"{w}: unsupported dtype {arr.dtype} (one of "
                             f"{sorted(DTYPES)})") from None
        if arr.ndim > MAX_RANK:
            raise ModelError(f"{w}: rank {arr.ndim} is above {MAX_RANK}")
        known[name] = "an initializer"
    _check_name_lengths(g)
    _check_nodes(g, known)
    outs = {}
    if not g.outputs:
        raise ModelError("graph.outputs: the graph has no outputs")
    for i, v in enumerate(g.outputs):
        w = f"graph.outputs[{i}]"
        _check_value_info(v, w)
        if v.name in outs:
            raise ModelError(f"{w}: duplicate graph output {v.name!r} (also {outs[v.name]})")
        outs[v.name] = w
        if v.name not in known:
            raise ModelError(f"{w}: {v.name!r} is not produced by any node, and is no graph "
                             "input or initializer")


# The compiled format stores names of at most this many UTF-8 bytes (kMaxString,
# engine/model_file.cpp); a longer name would only fail when the plan is loaded.
MAX_NAME_BYTES = 1 << 16


def _check_name_lengths(g):
    def check(name, where):
        if isinstance(name, str) and len(name) > MAX_NAME_BYTES // 4 and _utf8(name) and \
                len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise ModelError(f"{where}: name {short(name)} is {len(name.encode('utf-8'))} bytes "
                             f"long; names are at most {MAX_NAME_BYTES} bytes (UTF-8)")
    for key in ("inputs", "outputs"):
        for i, v in enumerate(getattr(g, key)):
            check(v.name, f"graph.{key}[{i}]")
    for name in g.initializers:
        check(name, "graph.initializers")
    for i, n in enumerate(g.nodes):
        where = f"graph.nodes[{i}]"
        check(n.name, f"{where}.name")
        for key in ("inputs", "outputs"):
            lst = getattr(n, key)
            if isinstance(lst, (list, tuple)):
                for t in lst:
                    check(t, f"{where}.{key}")


def _utf8(s):
    """False for a str that cannot be encoded (a lone surrogate such as '\\ud800')."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_value_info(v, where):
    if not isinstance(v.name, str) or not v.name or not _utf8(v.name):
        raise ModelError(f"{where}.name: names are non-empty UTF-8 strings, got {short(v.name)}")
    where = f"{where} ({v.name})"
    if not isinstance(v.dtype, str) or v.dtype not in DTYPES:
        raise ModelError(f"{where}.dtype: unknown dtype {short(v.dtype)}")
    if v.shape is not None:
        shape_list(v.shape, f"{where}.shape")


def _node_where(i, n):
    return f"graph.nodes[{i}] ({n.name or n.op_type})"


def _check_nodes(g, known):
    nodes = g.nodes
    producer: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, n in enumerate(nodes):
        where = _node_where(i, n)
        if not isinstance(n.op_type, str) or not n.op_type:
            raise ModelError(f"graph.nodes[{i}].op_type must be a non-empty string, got "
                             f"{short(n.op_type)}")
        if not isinstance(n.name, str) or not _utf8(n.name):
            raise ModelError(f"{where}.name must be a UTF-8 string, got {short(n.name)}")
        if n.name:
            if n.name in names:
                raise ModelError(f"{where}: duplicate node name {n.name!r} (also "
                                 f"graph.nodes[{names[n.name]}]); node names are unique or "
                                 "empty")
            names[n.name] = i
        for key, lst in (("inputs", n.inputs), ("outputs", n.outputs)):
            if not isinstance(lst, (list, tuple)) or not all(isinstance(t, str) and _utf8(t)
                                                             for t in lst):
                raise ModelError(f"{where}.{key}: a list of tensor names (UTF-8 strings)")
        for t in n.outputs:
            if not t:
                continue
            if t in known:
                raise ModelError(f"{where}: output {t!r} is already {known[t]}")
            if t in producer:
                raise ModelError(f"{where}: output {t!r} is already produced by "
                                 f"{_node_where(producer[t], nodes[producer[t]])}")
            producer[t] = i
    for i, n in enumerate(nodes):
        where = _node_where(i, n)
        s = _check_node_static(n, where)
        for j, t in enumerate(n.inputs):
            if not t:
                if j < s.inputs[0]:
                    raise ModelError(f"{where}: input {j} of {n.op_type} is required but empty")
                continue
            if t in known:
                continue
            if t not in producer:
                raise ModelError(f"{where}: input {t!r} is no graph input, initializer or output "
                                 "of any node")
            _order_error(nodes, producer, i, t)
        for j, t in enumerate(n.outputs):
            if not t and j < s.outputs[0]:
                raise ModelError(f"{where}: output {j} of {n.op_type} is required but empty")
        for t in n.outputs:
            if t:
                known[t] = f"an output of {where}"
        _check_node_semantics(n, where, g.initializers)


def _order_error(nodes, producer, i, t):
    """Input `t` of node i comes from node producer[t] >= i: report a cycle or the order."""
    where = _node_where(i, nodes[i])
    j = producer[t]
    if j == i:
        raise ModelError(f"{where}: the node consumes its own output {t!r} (a cycle)")
    cycle = _find_cycle(nodes, producer)
    if cycle:
        path = " -> ".join(_node_where(k, nodes[k]) for k in cycle + cycle[:1])
        raise ModelError(f"the graph has a cycle: {path}")
    raise ModelError(f"{where}: input {t!r} is produced by {_node_where(j, nodes[j])}, which "
                     "comes later; nodes must be listed in topological order")


def _find_cycle(nodes, producer):
    """A list of node indices forming a cycle, or [] when the graph is acyclic (iterative
    depth-first search, so deep graphs cannot exhaust the recursion limit)."""
    preds = [[producer[t] for t in n.inputs if t in producer] for n in nodes]
    state = [0] * len(nodes)  # 0 new, 1 on the stack, 2 done
    for root in range(len(nodes)):
        if state[root]:
            continue
        stack = [(root, 0)]
        state[root] = 1
        while stack:
            k, e = stack[-1]
            if e < len(preds[k]):
                stack[-1] = (k, e + 1)
                p = preds[k][e]
                if state[p] == 1:
                    ks = [s for s, _ in stack]
                    cycle = list(reversed(ks[ks.index(p):]))
                    first = cycle.index(min(cycle))
                    return cycle[first:] + cycle[:first]
                if state[p] == 0:
                    state[p] = 1
                    stack.append((p, 0))
            else:
                state[k] = 2
                stack.pop()
    return []


def _check_node_static(n, where):
    s = spec(n.domain, n.op_type)
    if s is None:
        dom = f" in domain {n.domain!r}" if n.domain else ""
        hint = ""
        for (d, name) in OPS:
            if name == n.op_type:
                hint = f" ({n.op_type} is in domain {d or 'ai.onnx'!r})"
        raise ModelError(f"{where}: unknown op {n.op_type!r}{dom}{hint}")
    if not isinstance(n.attrs, dict):
        raise ModelError(f"{where}: attributes must be a dict")
    for a, v in n.attrs.items():
        if a not in s.attrs:
            raise ModelError(f"{where}: op {n.op_type} has no attribute {a!r} (it has "
                             f"{sorted(s.attrs) or 'none'})")
        kind = attr_kind(s.name, a, s.attrs[a])
        if not _kind_ok(kind, v):
            raise ModelError(f"{where}.attributes.{a}: must be {_DESCRIBE[kind]}, got "
                             f"{short(v)}")
    for a, d in s.attrs.items():
        if d is REQUIRED and a not in n.attrs:
            raise ModelError(f"{where}: missing required attribute {a!r}")
    lo, hi = s.inputs
    if not lo <= len(n.inputs) <= hi:
        raise ModelError(f"{where}: {n.op_type} takes {lo}..{hi} inputs, got {len(n.inputs)}")
    lo, hi = s.outputs
    if not lo <= len(n.outputs) <= hi:
        raise ModelError(f"{where}: {n.op_type} has {lo}..{hi} outputs, got {len(n.outputs)}")
    return s


# ---------------------------------------------------------------------------------------------
# per-op checks that need no tensor shapes (beyond those of initializers)

def _get(n, s, name):
    if name in n.attrs:
        return n.attrs[name]
    d = s.attrs.get(name)
    return None if d is REQUIRED else d


def _init(n, inits, j):
    if j < len(n.inputs) and n.inputs[j] and n.inputs[j] in inits:
        return n.inputs[j], inits[n.inputs[j]]
    return None, None


def _check_node_semantics(n, where, inits):
    s = spec(n.domain, n.op_type)
    op = s.name
    a = lambda name: _get(n, s, name)  # noqa: E731
    attrw = f"{where}.attributes"
    for name in n.attrs:
        if name in _FLAGS and a(name) not in (0, 1):
            raise ModelError(f"{attrw}.{name}: must be 0 or 1, got {short(a(name))}")
        choices = AUTO_PAD if name == "auto_pad" else _ENUMS.get((op, name))
        if choices and a(name) not in choices:
            raise ModelError(f"{attrw}.{name}: {short(a(name))} is not one of {list(choices)}")
    if op in _CONV_LIKE or op in _POOLS:
        _check_window(n, s, where, inits)
    elif op == "ChannelShuffle":
        if a("group") < 1:
            raise ModelError(f"{attrw}.group: must be >= 1, got {a('group')}")
    elif op == "Transpose" and a("perm") is not None:
        perm = [int(p) for p in a("perm")]
        if sorted(perm) != list(range(len(perm))):
            raise ModelError(f"{attrw}.perm: {perm} is not a permutation of 0..{len(perm) - 1}")
    elif op in ("Squeeze", "Unsqueeze") and a("axes") is not None:
        if len(set(a("axes"))) != len(a("axes")):
            raise ModelError(f"{attrw}.axes: repeated axis in {list(a('axes'))}")
    elif op == "Split":
        no, sp = a("num_outputs"), a("split")
        if no is not None and (no < 1 or no != len(n.outputs)):
            raise ModelError(f"{attrw}.num_outputs: {no}, but the node has {len(n.outputs)} "
                             "outputs")
        if sp is not None and (len(sp) != len(n.outputs) or any(x < 0 for x in sp)):
            raise ModelError(f"{attrw}.split: {list(sp)} must hold one size >= 0 per output "
                             f"({len(n.outputs)})")
    elif op == "BatchNormalization":
        eps = a("epsilon")
        if not (math.isfinite(eps) and eps >= 0):
            raise ModelError(f"{attrw}.epsilon: must be finite and >= 0, got {eps}")
    elif op in ("LeakyRelu", "HardSigmoid", "Gemm"):
        for name in ("alpha", "beta"):
            if name in s.attrs and not math.isfinite(a(name)):
                raise ModelError(f"{attrw}.{name}: must be finite, got {a(name)}")
    elif op == "Clip" and a("min") is not None and a("max") is not None:
        if not a("min") <= a("max"):
            raise ModelError(f"{attrw}: min {a('min')} is above max {a('max')}")
    elif op == "Dropout":
        if not 0 <= a("ratio") < 1:
            raise ModelError(f"{attrw}.ratio: must be in [0, 1), got {a('ratio')}")
    elif op == "Constant":
        given = [k for k in n.attrs]
        if len(given) != 1:
            raise ModelError(f"{where}: Constant takes exactly one of {sorted(s.attrs)}, got "
                             f"{given}")
    elif op == "Cast":
        if not 1 <= a("to") <= 23:
            raise ModelError(f"{attrw}.to: {a('to')} is not an ONNX TensorProto data type")
    elif op == "Pad" and a("pads") is not None and len(a("pads")) % 2:
        raise ModelError(f"{attrw}.pads: needs an even count (begins, then ends), got "
                         f"{len(a('pads'))}")
    elif op == "SqueezeExcite":
        _check_squeeze_excite(n, s, where, inits)
    if op in ("FusedConv", "SqueezeExcite"):
        lo, hi = a("clip_min"), a("clip_max")
        if math.isnan(lo) or math.isnan(hi) or lo > hi:
            raise ModelError(f"{attrw}: clip_min {lo} must be <= clip_max {hi} (and not NaN)")


def _float_init(where, role, name, arr):
    if arr is not None and dtype_name(arr.dtype) not in _FLOAT_DTYPES:
        raise ModelError(f"{where}: {role} initializer {name!r} has dtype "
                         f"{dtype_name(arr.dtype)}; it must be a float tensor")


def _check_window(n, s, where, inits):
    """Conv, ConvTranspose, FusedConv, DeformConv, LocalConv, MaxPool, AveragePool: the
    attribute lengths agree with one spatial rank (and with the weight initializer)."""
    op = s.name
    attrw = f"{where}.attributes"
    a = lambda name: _get(n, s, name)  # noqa: E731
    k = None
    how = ""
    ks = a("kernel_shape")
    if ks is not None:
        if not ks:
            raise ModelError(f"{attrw}.kernel_shape: must not be empty")
        if any(x < 1 for x in ks):
            raise ModelError(f"{attrw}.kernel_shape: entries must be >= 1, got {list(ks)}")
        k, how = len(ks), f"kernel_shape {list(ks)}"
    wname, w = (None, None) if op in _POOLS else _init(n, inits, 1)
    group = a("group") if "group" in s.attrs else 1
    if group is not None and group < 1:
        raise ModelError(f"{attrw}.group: must be >= 1, got {group}")
    if w is not None:
        _float_init(where, "weight", wname, w)
        if op == "LocalConv":
            if w.ndim != 6:
                raise ModelError(f"{where}: weight initializer {wname!r} has rank {w.ndim}; "
                                 "LocalConv takes (H_out, W_out, C_out, C_in, kh, kw)")
            wk, kernel = 2, tuple(w.shape[4:])
        else:
            if w.ndim < 3:
                raise ModelError(f"{where}: weight initializer {wname!r} has rank {w.ndim}; "
                                 f"{op} needs rank >= 3 (two channel axes, then the kernel)")
            wk, kernel = w.ndim - 2, tuple(w.shape[2:])
        if k is not None and k != wk:
            raise ModelError(f"{where}: {how} has {k} spatial axes, but weight {wname!r} of "
                             f"shape {list(w.shape)} has {wk}")
        if ks is not None and tuple(ks) != kernel:
            raise ModelError(f"{attrw}.kernel_shape: {list(ks)} differs from the kernel "
                             f"{list(kernel)} of weight {wname!r}")
        if k is None:
            k, how = wk, f"weight {wname!r} of shape {list(w.shape)}"
        if op in ("Conv", "FusedConv", "DeformConv") and w.shape[0] % group:
            raise ModelError(f"{where}: group {group} does not divide the {w.shape[0]} output "
                             f"channels of weight {wname!r}")
        if op == "ConvTranspose" and w.shape[0] % group:
            raise ModelError(f"{where}: group {group} does not divide the {w.shape[0]} input "
                             f"channels of weight {wname!r}")
    lengths = [("strides", 1, 1), ("dilations", 1, 1), ("pads", 2, 0),
               ("output_padding", 1, 0), ("output_shape", 1, 0)]
    for name, mult, least in lengths:
        v = a(name) if name in s.attrs else None
        if v is None:
            continue
        if len(v) % mult or not v:
            raise ModelError(f"{attrw}.{name}: {list(v)} needs {mult} entr"
                             f"{'ies' if mult > 1 else 'y'} per spatial axis")
        if k is None:
            k, how = len(v) // mult, f"{name} {list(v)}"
        elif len(v) != mult * k:
            raise ModelError(f"{attrw}.{name}: {list(v)} has {len(v)} entries, but {how} means "
                             f"{k} spatial axes ({mult * k} entries)")
        if any(x < least for x in v):
            raise ModelError(f"{attrw}.{name}: entries must be >= {least}, got {list(v)}")
    op_ = a("output_padding") if "output_padding" in s.attrs else None
    if op_ is not None:
        st = a("strides") or [1] * len(op_)
        dl = a("dilations") or [1] * len(op_)
        for i, p in enumerate(op_):
            if p >= max(st[i], dl[i]):
                raise ModelError(f"{attrw}.output_padding: {list(op_)}; entry {i} must be "
                                 f"below the stride or the dilation ({st[i]}, {dl[i]})")
    if op in _POOLS and ks is not None and a("pads") is not None:
        dl = a("dilations") or [1] * k
        pads = a("pads")
        for i in range(k):
            span = (ks[i] - 1) * dl[i] + 1
            if pads[i] >= span or pads[i + k] >= span:
                raise ModelError(f"{attrw}.pads: {list(pads)}; the padding of axis {i} must be "
                                 f"smaller than the (dilated) kernel {span}")
    if op == "DeformConv" and a("offset_group") < 1:
        raise ModelError(f"{attrw}.offset_group: must be >= 1, got {a('offset_group')}")
    bias_slot = 3 if op == "DeformConv" else 2
    bname, b = (None, None) if op in _POOLS else _init(n, inits, bias_slot)
    if b is not None:
        _float_init(where, "bias", bname, b)
        if w is not None:
            if op == "LocalConv":
                want = (w.shape[2], w.shape[0], w.shape[1])
            elif op == "ConvTranspose":
                want = (w.shape[1] * group,)
            else:
                want = (w.shape[0],)
            if tuple(b.shape) != want:
                raise ModelError(f"{where}: bias initializer {bname!r} has shape "
                                 f"{list(b.shape)}; weight {wname!r} of shape {list(w.shape)} "
                                 f"needs {list(want)}")


def _check_squeeze_excite(n, s, where, inits):
    ws = [_init(n, inits, j) for j in range(1, 5)]
    (w1n, w1), (b1n, b1), (w2n, w2), (b2n, b2) = ws
    for role, (name, arr) in zip(("W1", "B1", "W2", "B2"), ws):
        _float_init(where, role, name, arr)
    for role, name, arr, rank in (("W1", w1n, w1, 2), ("W2", w2n, w2, 2), ("B1", b1n, b1, 1),
                                  ("B2", b2n, b2, 1)):
        if arr is not None and arr.ndim != rank:
            raise ModelError(f"{where}: {role} initializer {name!r} has rank {arr.ndim}, "
                             f"SqueezeExcite needs rank {rank}")
    if w1 is not None and w2 is not None and w1.shape != w2.shape[::-1]:
        raise ModelError(f"{where}: W1 {list(w1.shape)} (mid, C) and W2 {list(w2.shape)} "
                         "(C, mid) do not match")
    if w1 is not None and b1 is not None and b1.shape != (w1.shape[0],):
        raise ModelError(f"{where}: B1 {list(b1.shape)} does not match W1 {list(w1.shape)}")
    if w2 is not None and b2 is not None and b2.shape != (w2.shape[0],):
        raise ModelError(f"{where}: B2 {list(b2.shape)} does not match W2 {list(w2.shape)}")

