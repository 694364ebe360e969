"""numpy reference (ONNX semantics) of the tensor ops, registered into the interpreter's op
table (eval_registry.py): Concat, Split, Slice, Pad, Flatten, Reshape, Transpose, Squeeze,
Unsqueeze, Identity, Dropout, Constant, ConstantOfShape, Shape, Gather, Cast and the custom
ChannelShuffle. Their shape rules (Split's parts by opset, Slice's ranges, Squeeze's and
Unsqueeze's axes by opset, Pad's pads, Concat, Flatten, Reshape, Transpose, Gather, Shape) are
rules_tensor.py's, shared with the planner; Dropout's inference rule and Cast's dtype are
rules.py's."""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from ..model import CUSTOM_DOMAIN
from .eval_registry import _const_ints, _need, _op
from .rules import _a, _Err, _in, cast_dtype, dropout_is_identity
from .rules_tensor import (concat_shape, flatten_shape, gather_params, pad_params, reshape_target,
                           shape_value, slice_ranges, split_parts, squeeze_axes, transpose_perm,
                           unsqueeze_axes)


@_op("Concat")
def _e_concat(node, ins, opset):
    xs = [_need(x, "input") for x in ins if x is not None]
    if not xs:
        raise _Err("no inputs")
    axis, _ = concat_shape(node, [x.shape for x in xs])
    if any(x.dtype != xs[0].dtype for x in xs):
        raise _Err(f"inputs of dtypes {[str(t.dtype) for t in xs]} do not concatenate")
    return [np.concatenate(xs, axis=axis)]


@_op("Split")
def _e_split(node, ins, opset):
    x = _need(ins[0], "input")
    axis, split = split_parts(node, x.shape, _in(ins, 1), opset)
    idx = np.cumsum(split)[:-1]
    return [p.copy() for p in np.split(x, idx, axis=axis)]


@_op("Slice")
def _e_slice(node, ins, opset):
    x = _need(ins[0], "data")
    sl = [slice(None)] * x.ndim
    for a, first, step, count in slice_ranges(x.shape, _need(_in(ins, 1), "starts"),
                                              _need(_in(ins, 2), "ends"), _in(ins, 3),
                                              _in(ins, 4)):
        stop = first + step * count
        sl[a] = slice(first, stop if stop >= 0 else None, step) if count else slice(0, 0)
    return [x[tuple(sl)].copy()]


@_op("Pad")
def _e_pad(node, ins, opset):
    x = _need(ins[0], "data")
    mode, begin, end, value = pad_params(node, x.shape, ins, opset)
    crop = tuple(slice(max(0, -b), x.shape[i] - max(0, -e)) for i, (b, e) in
                 enumerate(zip(begin, end)))
    x = x[crop]
    width = [(max(0, b), max(0, e)) for b, e in zip(begin, end)]
    out = [d + b + e for d, (b, e) in zip(x.shape, width)]
    if math.prod(out) > MAX_ELEMENTS:
        raise _Err(f"padded shape {tuple(out)} has more than {MAX_ELEMENTS} elements")
    if mode == "constant":
        return [np.pad(x, width, mode="constant", constant_values=x.dtype.type(value))]
    return [np.pad(x, width, mode=mode)]


@_op("Flatten")
def _e_flatten(node, ins, opset):
    x = _need(ins[0], "input")
    return [x.reshape(flatten_shape(node, x.shape)).copy()]


@_op("Reshape")
def _e_reshape(node, ins, opset):
    x = _need(ins[0], "data")
    shape = _const_ints(_in(ins, 1), "shape")
    return [x.reshape(reshape_target(x.shape, shape, bool(_a(node, "allowzero", 0)))).copy()]


@_op("Transpose")
def _e_transpose(node, ins, opset):
    x = _need(ins[0], "data")
    return [np.ascontiguousarray(x.transpose(transpose_perm(node, x.ndim)))]


@_op("Squeeze")
def _e_squeeze(node, ins, opset):
    x = _need(ins[0], "data")
    axes = squeeze_axes(node, x.shape, _in(ins, 1))
    return [x.reshape([d for i, d in enumerate(x.shape) if i not in axes]).copy()]


@_op("Unsqueeze")
def _e_unsqueeze(node, ins, opset):
    x = _need(ins[0], "data")
    shape = list(x.shape)
    for a in unsqueeze_axes(node, x.ndim, _in(ins, 1)):
        shape.insert(a, 1)
    return [x.reshape(shape).copy()]


@_op("Identity")
def _e_identity(node, ins, opset):
    return [np.array(_need(ins[0], "input"), copy=True)]


@_op("Dropout")
def _e_dropout(node, ins, opset):
    x = _need(ins[0], "data")
    if not dropout_is_identity(node, ins, opset):
        raise _Err("training-mode Dropout is not supported (inference only)")
    outs = [x.copy()]
    if len(node.outputs) > 1:
        outs.append(np.ones(x.shape, np.bool_))
    return outs


@_op("Constant")
def _e_constant(node, ins, opset):
    a = node.attrs
    given = [k for k in a if a[k] is not None]
    if len(given) != 1:
        raise _Err(f"needs exactly one value attribute, got {given}")
    k = given[0]
    v = a[k]
    if k == "value":
        return [np.array(v, copy=True)]
    if k == "value_float":
        return [np.array(v, np.float32)]
    if k == "value_floats":
        return [np.array(v, np.float32).reshape(-1)]
    if k == "value_int":
        return [np.array(v, np.int64)]
    if k == "value_ints":
        return [np.array(v, np.int64).reshape(-1)]
    raise _Err(f"unsupported attribute {k!r}")


@_op("ConstantOfShape")
def _e_constant_of_shape(node, ins, opset):
    shape = _need(ins[0], "input")
    if shape.dtype.kind not in "iu" or shape.ndim != 1:
        raise _Err(f"input must be a 1-D integer tensor, got {shape.dtype} of shape "
                   f"{list(shape.shape)}")
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise _Err(f"shape {dims} has a negative dimension")
    if math.prod(dims) > MAX_ELEMENTS:
        raise _Err(f"shape {dims} has more than {MAX_ELEMENTS} elements")
    v = node.attrs.get("value")
    v = np.zeros(1, np.float32) if v is None else np.asarray(v)
    if v.size != 1:
        raise _Err(f"value must hold one element, got shape {list(v.shape)}")
    return [np.full(dims, v.reshape(-1)[0], v.dtype)]


@_op("Shape")
def _e_shape(node, ins, opset):
    x = _need(ins[0], "data")
    return [shape_value(x.shape, node)]


@_op("Gather")
def _e_gather(node, ins, opset):
    x = _need(ins[0], "data")
    axis, idx = gather_params(node, x.shape, _need(ins[1], "indices"))
    return [np.take(x, idx, axis=axis)]


@_op("Cast")
def _e_cast(node, ins, opset):
    x = _need(ins[0], "input")
    dt = cast_dtype(_a(node, "to"))
    with np.errstate(invalid="ignore", over="ignore"):
        return [x.astype(dt)]


@_op("ChannelShuffle", domain=CUSTOM_DOMAIN)
def _e_shuffle(node, ins, opset):
    x = _need(ins[0], "X")
    g = int(_a(node, "group"))
    if x.ndim < 2 or g < 1 or x.shape[1] % g:
        raise _Err(f"channels of shape {x.shape} are not divisible by group {g}")
    n, c = x.shape[:2]
    return [x.reshape((n, g, c // g) + x.shape[2:]).swapaxes(1, 2).reshape(x.shape).copy()]
