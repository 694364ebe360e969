"""numpy reference (ONNX semantics) of the data movement, sampling and shape arithmetic ops,
registered into the interpreter's op table (eval_registry.py): rounding, Sign, Mod, the
comparisons and logical ops, Where, Expand, Tile, DepthToSpace / SpaceToDepth, GridSample,
GatherElements, GatherND, Range, EyeLike, CumSum and Size. Every dtype numpy holds in constants
is computed in that dtype, as onnxruntime does (integer Mod as ONNX defines it, bool outputs of
the comparisons). The shape and index rules they share with the planner are rules_tensor.py's
and rules_resize.py's."""
from __future__ import annotations

import math

import numpy as np

from .eval_registry import _need, _op
from .rules import _a, _axis, _Err, _in, cast_dtype
from .rules_resize import cubic_weights, grid_sample_params
from .rules_tensor import (_int_vector, _limit, block_size, expand_shape, gather_elements_index,
                           gather_nd_index, tile_repeats)


def _same_dtype(*xs):
    d = xs[0].dtype
    for x in xs[1:]:
        if x.dtype != d:
            raise _Err(f"input dtypes differ: {', '.join(str(t.dtype) for t in xs)}")


def _bshape(*xs):
    try:
        return tuple(np.broadcast_shapes(*(x.shape for x in xs)))
    except ValueError:
        raise _Err(f"shapes {', '.join(str(x.shape) for x in xs)} do not broadcast") from None


# ---------------------------------------------------------------------------------------------
# element-wise: rounding, sign, mod

def _float_unary(fn):
    def run(node, ins, opset):
        x = _need(ins[0], "X")
        if x.dtype.kind != "f":
            raise _Err(f"input must be a floating-point tensor, got dtype {x.dtype}")
        return [np.asarray(fn(x)).astype(x.dtype, copy=False)]
    return run


# np.round rounds halves to even, as ONNX Round does
for _name, _fn in (("Floor", np.floor), ("Ceil", np.ceil), ("Round", np.round)):
    _op(_name)(_float_unary(_fn))


@_op("Sign")
def _e_sign(node, ins, opset):
    x = _need(ins[0], "input")
    if x.dtype.kind == "b":
        raise _Err("input must be numeric, got bool")
    # np.sign(-0.0) is -0.0; onnxruntime returns +0
    return [(np.sign(x) + x.dtype.type(0)).astype(x.dtype, copy=False)]


@_op("Mod")
def _e_mod(node, ins, opset):
    a, b = _need(ins[0], "A"), _need(ins[1], "B")
    _same_dtype(a, b)
    _bshape(a, b)
    fmod = int(_a(node, "fmod", 0))
    if fmod not in (0, 1):
        raise _Err(f"fmod must be 0 or 1, got {fmod}")
    if a.dtype.kind == "b":
        raise _Err("inputs must be numeric, got bool")
    if a.dtype.kind == "f":
        if not fmod and opset < 28:
            raise _Err("fmod must be 1 for floating-point inputs (before opset 28)")
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.fmod(a, b) if fmod else np.mod(a, b)
        return [r.astype(a.dtype, copy=False)]
    if np.any(b == 0):
        raise _Err("integer modulo by zero")
    # fmod=1: the sign of the dividend (C fmod); fmod=0: the sign of the divisor (Python)
    return [(np.fmod(a, b) if fmod else np.mod(a, b)).astype(a.dtype, copy=False)]


# ---------------------------------------------------------------------------------------------
# comparisons, logical ops, Where

def _compare(fn, numeric_only):
    def run(node, ins, opset):
        a, b = _need(ins[0], "A"), _need(ins[1], "B")
        _same_dtype(a, b)
        _bshape(a, b)
        if numeric_only and a.dtype.kind == "b":
            raise _Err("inputs must be numeric, got bool")
        return [np.asarray(fn(a, b), np.bool_)]
    return run


for _name, _fn, _num in (("Equal", np.equal, False), ("Less", np.less, True),
                         ("LessOrEqual", np.less_equal, True), ("Greater", np.greater, True),
                         ("GreaterOrEqual", np.greater_equal, True)):
    _op(_name)(_compare(_fn, _num))


def _bool_input(x, what):
    if x.dtype != np.bool_:
        raise _Err(f"{what} must be a bool tensor, got dtype {x.dtype}")
    return x


def _logical(fn):
    def run(node, ins, opset):
        a = _bool_input(_need(ins[0], "A"), "A")
        b = _bool_input(_need(ins[1], "B"), "B")
        _bshape(a, b)
        return [np.asarray(fn(a, b), np.bool_)]
    return run


for _name, _fn in (("And", np.logical_and), ("Or", np.logical_or), ("Xor", np.logical_xor)):
    _op(_name)(_logical(_fn))


@_op("Not")
def _e_not(node, ins, opset):
    return [np.logical_not(_bool_input(_need(ins[0], "X"), "X"))]


@_op("Where")
def _e_where(node, ins, opset):
    c = _bool_input(_need(ins[0], "condition"), "condition")
    x, y = _need(ins[1], "X"), _need(ins[2], "Y")
    _same_dtype(x, y)
    _limit(_bshape(c, x, y))
    return [np.where(c, x, y).astype(x.dtype, copy=False)]


# ---------------------------------------------------------------------------------------------
# data movement

@_op("Expand")
def _e_expand(node, ins, opset):
    x = _need(ins[0], "input")
    out = expand_shape(x.shape, _int_vector(_in(ins, 1), "shape"))
    _limit(out)
    return [np.broadcast_to(x, out).copy()]


@_op("Tile")
def _e_tile(node, ins, opset):
    x = _need(ins[0], "input")
    reps = tile_repeats(node, x.shape, _in(ins, 1))
    _limit([d * r for d, r in zip(x.shape, reps)])
    return [np.tile(x, reps) if x.ndim else x.copy()]


@_op("DepthToSpace")
def _e_depth_to_space(node, ins, opset):
    x = _need(ins[0], "input")
    b = block_size(node, x.shape, False)
    n, c, h, w = x.shape
    if _a(node, "mode", "DCR") == "DCR":
        t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return [np.ascontiguousarray(t).reshape(n, c // (b * b), h * b, w * b)]


@_op("SpaceToDepth")
def _e_space_to_depth(node, ins, opset):
    x = _need(ins[0], "input")
    b = block_size(node, x.shape, True)
    n, c, h, w = x.shape
    t = x.reshape(n, c, h // b, b, w // b, b)
    # DCR: output channel (i * b + j) * c + channel; CRD (opset 28): channel * b^2 + i * b + j
    t = t.transpose(0, 1, 3, 5, 2, 4) if _a(node, "mode", "DCR") == "CRD" else \
        t.transpose(0, 3, 5, 1, 2, 4)
    return [np.ascontiguousarray(t).reshape(n, c * b * b, h // b, w // b)]


# ---------------------------------------------------------------------------------------------
# GridSample

def _reflect(x, lo, hi):
    """Reflects coordinates into [lo, hi] by the nearer border, repeatedly (float64)."""
    rng = hi - lo
    if rng <= 0:
        return np.zeros_like(x)
    below, above = x < lo, x > hi
    d = np.where(below, lo - x, np.where(above, x - hi, 0.0))
    with np.errstate(invalid="ignore"):
        t = np.fmod(d, 2 * rng)
    # even number of reflections: measured from the border crossed, odd: from the other one
    from_lo = np.where(t < rng, lo + t, hi - (t - rng))
    from_hi = np.where(t < rng, hi - t, lo + (t - rng))
    return np.where(below, from_lo, np.where(above, from_hi, x))


def _gs_axis(g, size, mode, pad, align):
    """Per-axis taps: (indices (..., k) int64, weights (..., k) float64, valid (..., k) bool)
    for grid coordinates g (normalised to [-1, 1]) along an axis of `size`.

    As onnxruntime (and torch for linear and cubic): the pixel coordinate is computed in
    float32 (nearest picks depend on its last bit), the taps are floor(x) + k, and the padding
    mode applies to each tap's index (zeros: a tap outside reads 0, border: the index is
    clamped, reflection: the index is reflected about the image's border, -0.5 and size - 0.5,
    or 0 and size - 1 with align_corners). The ONNX reference implementation clamps or reflects
    the coordinate itself first, which gives other values for cubic near the border; torch
    reflects nearest coordinates before rounding them, which moves exact ties. A NaN
    coordinate gives a NaN output, and so does an infinite one with reflection (an infinite
    one reads zeros with zeros padding, the edge with border)."""
    f = np.float32
    g = g.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        x = ((g + f(1)) / f(2) * f(size - 1) if align else
             ((g + f(1)) * f(size) - f(1)) / f(2)).astype(np.float64)
    nan = np.isnan(x) | (np.isinf(x) if pad == "reflection" else False)
    if pad != "reflection":
        # past 4 pixels outside every tap reads zeros (or the edge): clamping changes nothing
        # and keeps infinite and huge coordinates in range
        x = np.clip(x, -4.0, size + 3.0)
    x = np.where(nan, 0.0, x)
    if mode == "nearest":
        taps = np.rint(x)[..., None]
        w = np.ones(taps.shape)
    else:
        fl = np.floor(x)
        t = x - fl
        if mode == "linear":
            taps = fl[..., None] + np.arange(2)
            w = np.stack([1 - t, t], axis=-1)
        else:
            taps = fl[..., None] + np.arange(-1, 3)
            w = cubic_weights(t)
    w = np.where(nan[..., None], np.nan, w)
    valid = np.ones(taps.shape, bool)
    if pad == "zeros":
        valid = (taps >= 0) & (taps < size)
    elif pad == "reflection":
        lo, hi = (0.0, size - 1.0) if align else (-0.5, size - 0.5)
        taps = np.trunc(_reflect(taps, lo, hi))
    idx = np.clip(taps, 0, size - 1).astype(np.int64)
    return idx, w, valid


@_op("GridSample")
def _e_grid_sample(node, ins, opset):
    x, grid = _need(ins[0], "X"), _need(ins[1], "grid")
    if x.dtype.kind != "f" or grid.dtype.kind != "f":
        raise _Err(f"X and grid must be floating-point tensors, got {x.dtype} and {grid.dtype}")
    mode, pad, align, out_shape = grid_sample_params(node, x.shape, grid.shape)
    _limit(out_shape)
    r = x.ndim - 2
    n, c = x.shape[:2]
    sp = x.shape[2:]
    g = grid.reshape(n, -1, r)                              # (N, P, r), r = (x, y, z...)
    npix = g.shape[1]
    acc = np.zeros((n, c, npix))
    flat = x.astype(np.float64).reshape(n, c, -1)
    # grid's last axis lists coordinates innermost axis first: (x = W, y = H, z = D)
    axes = [_gs_axis(g[..., r - 1 - a], sp[a], mode, pad, align) for a in range(r)]
    ks = [ax[0].shape[-1] for ax in axes]
    bidx = np.arange(n)[:, None]
    for taps in np.ndindex(*ks):
        lin = np.zeros((n, npix), np.int64)
        w = np.ones((n, npix))
        ok = np.ones((n, npix), bool)
        for a, t in enumerate(taps):
            idx, wa, va = axes[a]
            lin = lin * sp[a] + idx[..., t]
            w = w * wa[..., t]
            ok &= va[..., t]
        vals = flat[bidx, :, lin]                                # (N, P, C)
        vals = np.where(ok[..., None], vals, 0.0)
        acc += (vals * w[..., None]).transpose(0, 2, 1)
    return [acc.reshape(out_shape).astype(x.dtype)]


# ---------------------------------------------------------------------------------------------
# GatherElements, GatherND

@_op("GatherElements")
def _e_gather_elements(node, ins, opset):
    x = _need(ins[0], "data")
    return [np.ascontiguousarray(x[gather_elements_index(node, x.shape, _need(ins[1], "indices"))])]


@_op("GatherND")
def _e_gather_nd(node, ins, opset):
    x = _need(ins[0], "data")
    return [np.ascontiguousarray(x[gather_nd_index(node, x.shape, _need(ins[1], "indices"))])]


# ---------------------------------------------------------------------------------------------
# generators and shape arithmetic

def _scalar(v, what):
    v = np.asarray(_need(v, what))
    if v.size != 1 or v.ndim > 1:
        raise _Err(f"{what} must be a scalar, got shape {list(v.shape)}")
    return v.reshape(())


@_op("Range")
def _e_range(node, ins, opset):
    start, limit, delta = (_scalar(_in(ins, i), n) for i, n in
                           enumerate(("start", "limit", "delta")))
    _same_dtype(start, limit, delta)
    dt = start.dtype
    if dt.kind not in "iuf":
        raise _Err(f"inputs must be numeric, got {dt}")
    if delta == 0:
        raise _Err("delta must not be 0")
    if dt.kind == "f":
        if not np.isfinite([start, limit, delta]).all():
            raise _Err(f"start {start}, limit {limit} and delta {delta} must be finite")
        count = max(int(math.ceil((float(limit) - float(start)) / float(delta))), 0)
    else:
        s, li, de = int(start), int(limit), int(delta)
        count = max(-((s - li) // de), 0)       # ceil((limit - start) / delta), exactly
    _limit([count])
    return [(start + np.arange(count, dtype=dt) * delta).astype(dt)]


@_op("EyeLike")
def _e_eye_like(node, ins, opset):
    x = _need(ins[0], "input")
    if x.ndim != 2:
        raise _Err(f"input must be 2-D, got shape {tuple(x.shape)}")
    dt = _a(node, "dtype")
    dt = x.dtype if dt is None else cast_dtype(dt)
    return [np.eye(x.shape[0], x.shape[1], int(_a(node, "k", 0)), dtype=dt)]


@_op("CumSum")
def _e_cumsum(node, ins, opset):
    x = _need(ins[0], "x")
    axis = _scalar(_in(ins, 1), "axis")
    if axis.dtype.kind not in "iu":
        raise _Err(f"axis must be an integer, got {axis.dtype}")
    if x.ndim == 0:
        raise _Err("input must have rank >= 1")
    if x.dtype.kind not in "iuf":
        raise _Err(f"input must be numeric, got {x.dtype}")
    a = _axis(int(axis), x.ndim)
    y = np.flip(x, a) if int(_a(node, "reverse", 0)) else x
    s = np.cumsum(y, axis=a, dtype=x.dtype)
    if int(_a(node, "exclusive", 0)):
        s = np.concatenate([np.zeros_like(np.take(s, [0], axis=a)),
                            np.take(s, range(s.shape[a] - 1), axis=a)], axis=a)
    if int(_a(node, "reverse", 0)):
        s = np.flip(s, a)
    return [np.ascontiguousarray(s)]


@_op("Size")
def _e_size(node, ins, opset):
    return [np.array(_need(ins[0], "data").size, np.int64)]


# names for the planner: which ops give bool, which read only their input's shape
COMPARISONS = ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual")
LOGICAL = ("And", "Or", "Xor", "Not")
