"""numpy reference (ONNX semantics) of the tensor ops, registered into the interpreter's op
table (eval_registry.py): Concat, Split, Slice, Pad, Flatten, Reshape, Transpose, Squeeze,
Unsqueeze, Identity, Dropout, Constant, ConstantOfShape, Shape, Gather, Cast and the custom
ChannelShuffle. Their opset-dependent forms (Split, Squeeze and Unsqueeze taking attributes or
inputs) are read here; Pad's pads, Reshape's target, Shape's slice, Dropout's inference rule
and Cast's dtype are rules.py's."""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from ..model import CUSTOM_DOMAIN
from .eval_registry import _const_ints, _need, _op
from .rules import (_a, _axis, _Err, _in, _ints, cast_dtype, dropout_is_identity, pad_params,
                    reshape_target, shape_value)


@_op("Concat")
def _e_concat(node, ins, opset):
    xs = [_need(x, "input") for x in ins if x is not None]
    if not xs:
        raise _Err("no inputs")
    r = xs[0].ndim
    axis = _axis(int(_a(node, "axis")), r)
    for x in xs:
        if x.ndim != r or x.shape[:axis] + x.shape[axis + 1:] != \
                xs[0].shape[:axis] + xs[0].shape[axis + 1:] or x.dtype != xs[0].dtype:
            raise _Err(f"inputs {[t.shape for t in xs]} ({[str(t.dtype) for t in xs]}) do not "
                       f"concatenate along axis {axis}")
    return [np.concatenate(xs, axis=axis)]


@_op("Split")
def _e_split(node, ins, opset):
    x = _need(ins[0], "input")
    axis = _axis(int(_a(node, "axis", 0)), x.ndim)
    dim = x.shape[axis]
    n_out = len(node.outputs)
    split = _in(ins, 1)
    split = _ints(split) if split is not None else _ints(node.attrs.get("split"))
    num = node.attrs.get("num_outputs")
    if split is None:
        if num is not None:
            num = int(num)
            if num != n_out:
                raise _Err(f"num_outputs {num} differs from the {n_out} outputs")
            chunk = -(-dim // num)
            split = [min(chunk, max(0, dim - i * chunk)) for i in range(num)]
        else:
            if dim % n_out:
                raise _Err(f"axis {axis} of size {dim} does not split evenly into {n_out}")
            split = [dim // n_out] * n_out
    if len(split) != n_out or sum(split) != dim or any(s < 0 for s in split):
        raise _Err(f"split {split} does not divide axis {axis} of size {dim} into {n_out} parts")
    idx = np.cumsum(split)[:-1]
    return [p.copy() for p in np.split(x, idx, axis=axis)]


@_op("Slice")
def _e_slice(node, ins, opset):
    x = _need(ins[0], "data")
    starts = _const_ints(_in(ins, 1), "starts")
    ends = _const_ints(_in(ins, 2), "ends")
    axes = _ints(_in(ins, 3)) if _in(ins, 3) is not None else list(range(len(starts)))
    steps = _ints(_in(ins, 4)) if _in(ins, 4) is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise _Err(f"starts {starts}, ends {ends}, axes {axes}, steps {steps} differ in length")
    sl = [slice(None)] * x.ndim
    seen = set()
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = _axis(a, x.ndim, "axes")
        if a in seen:
            raise _Err(f"axis {a} repeats in axes {axes}")
        seen.add(a)
        if st == 0:
            raise _Err("steps must not be 0")
        d = x.shape[a]
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
            sl[a] = slice(s, e, st)
        else:
            s, e = min(max(s, -1), d - 1), min(max(e, -1), d - 1)
            sl[a] = slice(s, e if e >= 0 else None, st) if s >= 0 else slice(0, 0)
    return [x[tuple(sl)].copy()]


@_op("Pad")
def _e_pad(node, ins, opset):
    x = _need(ins[0], "data")
    mode, begin, end, value = pad_params(node, x.ndim, ins, opset)
    crop = tuple(slice(max(0, -b), x.shape[i] - max(0, -e)) for i, (b, e) in
                 enumerate(zip(begin, end)))
    x = x[crop]
    width = [(max(0, b), max(0, e)) for b, e in zip(begin, end)]
    out = [d + b + e for d, (b, e) in zip(x.shape, width)]
    if math.prod(out) > MAX_ELEMENTS:
        raise _Err(f"padded shape {tuple(out)} has more than {MAX_ELEMENTS} elements")
    if mode == "constant":
        return [np.pad(x, width, mode="constant", constant_values=x.dtype.type(value))]
    if mode in ("reflect", "edge", "wrap"):
        for i, (b, e) in enumerate(width):
            if (b or e) and x.shape[i] == 0:
                raise _Err(f"{mode} padding of an empty axis {i}")
            if mode == "reflect" and (b or e) and (max(b, e) >= x.shape[i]):
                raise _Err(f"reflect pads {b}, {e} must be smaller than axis {i} of size "
                           f"{x.shape[i]}")
        return [np.pad(x, width, mode=mode)]
    raise _Err(f"unknown mode {mode!r}")


@_op("Flatten")
def _e_flatten(node, ins, opset):
    x = _need(ins[0], "input")
    axis = _axis(int(_a(node, "axis", 1)), x.ndim, allow_end=True)
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, int(np.prod(x.shape[axis:], dtype=np.int64))).copy()]


@_op("Reshape")
def _e_reshape(node, ins, opset):
    x = _need(ins[0], "data")
    shape = _const_ints(_in(ins, 1), "shape")
    return [x.reshape(reshape_target(x.shape, shape, bool(_a(node, "allowzero", 0)))).copy()]


@_op("Transpose")
def _e_transpose(node, ins, opset):
    x = _need(ins[0], "data")
    perm = _ints(_a(node, "perm"))
    if perm is None:
        perm = list(range(x.ndim))[::-1]
    if sorted(perm) != list(range(x.ndim)):
        raise _Err(f"perm {perm} is not a permutation of {x.ndim} axes")
    return [np.ascontiguousarray(x.transpose(perm))]


def _axes_of(node, ins, opset):
    if _in(ins, 1) is not None:
        return _ints(ins[1], "axes")
    return _ints(node.attrs.get("axes"))


@_op("Squeeze")
def _e_squeeze(node, ins, opset):
    x = _need(ins[0], "data")
    axes = _axes_of(node, ins, opset)
    if axes is None:
        axes = [i for i, d in enumerate(x.shape) if d == 1]
    axes = [_axis(a, x.ndim, "axes") for a in axes]
    if len(set(axes)) != len(axes):
        raise _Err(f"axes {axes} repeat")
    for a in axes:
        if x.shape[a] != 1:
            raise _Err(f"cannot squeeze axis {a} of size {x.shape[a]}")
    return [x.reshape([d for i, d in enumerate(x.shape) if i not in axes]).copy()]


@_op("Unsqueeze")
def _e_unsqueeze(node, ins, opset):
    x = _need(ins[0], "data")
    axes = _axes_of(node, ins, opset)
    if axes is None:
        raise _Err("axes are missing")
    r = x.ndim + len(axes)
    axes = [_axis(a, r, "axes") for a in axes]
    if len(set(axes)) != len(axes):
        raise _Err(f"axes {axes} repeat")
    shape = list(x.shape)
    for a in sorted(axes):
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
    x, idx = _need(ins[0], "data"), _need(ins[1], "indices")
    if idx.dtype.kind not in "iu":
        raise _Err(f"indices must be integers, got {idx.dtype}")
    axis = _axis(int(_a(node, "axis", 0)), x.ndim)
    d = x.shape[axis]
    if np.any(idx < -d) or np.any(idx >= d):
        raise _Err(f"indices out of range [{-d}, {d}) for axis {axis}")
    return [np.take(x, np.where(idx < 0, idx + d, idx), axis=axis)]


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
