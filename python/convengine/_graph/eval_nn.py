"""numpy reference (ONNX semantics) of the normalisation, reduction and matrix ops, registered
into the interpreter's op table (eval_registry.py): BatchNormalization (inference and training
statistics), LayerNormalization, InstanceNormalization, GroupNormalization, LpNormalization,
LRN, MeanVarianceNormalization, Reduce*, ArgMax / ArgMin, Gemm and MatMul.

Floating inputs are computed in float64 and the result cast back to the input's dtype (float32
runtime tensors, float64 or integer constants when folding). Integer inputs keep integer
results where ONNX defines them (ReduceSum/Max/Min/Prod/SumSquare/L1 exactly, ReduceMean,
ReduceL2 and ReduceLogSum rounded toward zero as numpy's integer casts do). The rules they
share with the planner (Reduce* axes, GroupNormalization's scale / bias forms, Gemm and MatMul
shapes) are rules.py's.
"""
from __future__ import annotations

import math

import numpy as np

from .eval_registry import _float_input, _need, _op
from .rules import (ONNX_DTYPES, _a, _axis, _Err, _in, _ints, gemm_shapes, group_params,
                    matmul_shape, reduce_axes, reduce_shape)

REDUCE_OPS = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2",
              "ReduceProd", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")


# ---------------------------------------------------------------------------------------------
# reductions

def _reduce(op):
    def run(node, ins, opset):
        x = _need(ins[0], "data")
        if x.dtype.kind not in "fiub":
            raise _Err(f"data has dtype {x.dtype}")
        axes_in = _in(ins, 1)
        axes = reduce_axes(node, axes_in, x.ndim)
        keep = bool(int(_a(node, "keepdims", 1)))
        ax = tuple(axes)
        for a in ax:
            if x.shape[a] == 0 and op in ("ReduceMax", "ReduceMin"):
                raise _Err(f"cannot reduce the empty axis {a} of shape {x.shape}")
        is_int = x.dtype.kind in "iub"
        if is_int and op in ("ReduceLogSum", "ReduceLogSumExp"):
            raise _Err(f"{op} needs a floating-point input, got {x.dtype}")
        if op in ("ReduceMax", "ReduceMin"):
            fn = np.max if op == "ReduceMax" else np.min
            y = fn(x, axis=ax, keepdims=True)
        elif is_int and op in ("ReduceSum", "ReduceProd", "ReduceSumSquare", "ReduceL1"):
            t = x.astype(np.int64) if x.dtype.kind != "u" else x.astype(np.uint64)
            y = {"ReduceSum": lambda: t.sum(axis=ax, keepdims=True),
                 "ReduceProd": lambda: t.prod(axis=ax, keepdims=True),
                 "ReduceSumSquare": lambda: (t * t).sum(axis=ax, keepdims=True),
                 "ReduceL1": lambda: np.abs(t).sum(axis=ax, keepdims=True)}[op]()
        else:
            t = x.astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if op == "ReduceMean":
                    y = t.mean(axis=ax, keepdims=True)
                elif op == "ReduceSum":
                    y = t.sum(axis=ax, keepdims=True)
                elif op == "ReduceL1":
                    y = np.abs(t).sum(axis=ax, keepdims=True)
                elif op == "ReduceL2":
                    y = np.sqrt((t * t).sum(axis=ax, keepdims=True))
                elif op == "ReduceProd":
                    y = t.prod(axis=ax, keepdims=True)
                elif op == "ReduceSumSquare":
                    y = (t * t).sum(axis=ax, keepdims=True)
                elif op == "ReduceLogSum":
                    y = np.log(t.sum(axis=ax, keepdims=True))
                else:  # ReduceLogSumExp, shifted by the (finite) maximum
                    m = np.where(np.isinf(t), -np.inf, t).max(axis=ax, keepdims=True)
                    m = np.where(np.isfinite(m), m, 0.0)
                    y = np.log(np.exp(t - m).sum(axis=ax, keepdims=True)) + m
            if is_int:
                y = np.trunc(y)
        y = np.asarray(y)
        if not keep:
            y = y.reshape(reduce_shape(x.shape, axes, False))
        with np.errstate(invalid="ignore", over="ignore"):
            return [y.astype(x.dtype)]
    return run


for _name in REDUCE_OPS:
    _op(_name)(_reduce(_name))


def _arg(is_max):
    def run(node, ins, opset):
        x = _need(ins[0], "data")
        if x.dtype.kind not in "fiub":
            raise _Err(f"data has dtype {x.dtype}")
        if x.ndim == 0:
            raise _Err("data must have rank >= 1")
        axis = _axis(int(_a(node, "axis", 0)), x.ndim)
        if x.shape[axis] == 0:
            raise _Err(f"cannot take the arg{'max' if is_max else 'min'} of the empty axis {axis}")
        fn = np.argmax if is_max else np.argmin
        if int(_a(node, "select_last_index", 0)):
            y = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis)
        else:
            y = fn(x, axis=axis)
        y = np.asarray(y, np.int64)
        if int(_a(node, "keepdims", 1)):
            y = np.expand_dims(y, axis)
        return [y]
    return run


_op("ArgMax")(_arg(True))
_op("ArgMin")(_arg(False))


# ---------------------------------------------------------------------------------------------
# normalisation

def _stats(t, axes):
    """Mean and (biased) variance of float64 `t` over `axes`, keepdims."""
    m = t.mean(axis=axes, keepdims=True)
    d = t - m
    return m, (d * d).mean(axis=axes, keepdims=True)


def _unidirectional(p, shape, what):
    """p viewed with `shape` (numpy broadcasting of p into shape only)."""
    p = np.asarray(p)
    try:
        if tuple(np.broadcast_shapes(p.shape, tuple(shape))) != tuple(shape):
            raise ValueError
    except ValueError:
        raise _Err(f"{what} of shape {list(p.shape)} does not broadcast to "
                   f"{list(shape)}") from None
    return p.astype(np.float64)


def stash_dtype(node):
    st = int(_a(node, "stash_type", 1))
    if st not in ONNX_DTYPES or np.dtype(ONNX_DTYPES[st]).kind != "f":
        raise _Err(f"stash_type {st} is not a floating-point type")
    return np.dtype(ONNX_DTYPES[st])


def _input_and_axis(node, ins, name):
    """Input 0 (`name` in messages: float, rank >= 1) and the node's axis (default -1)."""
    x = _float_input(_need(ins[0], name), name)
    if x.ndim == 0:
        raise _Err(f"{name} must have rank >= 1")
    return x, _axis(int(_a(node, "axis", -1)), x.ndim)


def _nc_input(ins, name):
    """Input 0 (`name` in messages: float, shape (N, C, D1, ...))."""
    x = _float_input(_need(ins[0], name), name)
    if x.ndim < 3:
        raise _Err(f"{name} must have shape (N, C, D1, ...), rank >= 3, got {list(x.shape)}")
    return x


@_op("LayerNormalization")
def _e_layer_norm(node, ins, opset):
    x, axis = _input_and_axis(node, ins, "X")
    eps = float(_a(node, "epsilon", 1e-5))
    norm_shape = x.shape[axis:]
    g = _unidirectional(_need(ins[1], "Scale"), norm_shape, "Scale")
    b = _in(ins, 2)
    b = _unidirectional(b, norm_shape, "B") if b is not None else 0.0
    u = stash_dtype(node)
    axes = tuple(range(axis, x.ndim))
    t = x.astype(np.float64)
    m, v = _stats(t, axes)
    r = 1.0 / np.sqrt(v + eps)
    y = (t - m) * r * g + b
    return [y.astype(x.dtype), m.astype(u), r.astype(u)]


def _per_channel(p, c, what, x):
    p = np.asarray(_need(p, what))
    if p.shape != (c,):
        raise _Err(f"{what} has shape {list(p.shape)}, expected [{c}] (one value per channel)")
    return p.astype(np.float64).reshape((1, c) + (1,) * (x.ndim - 2))


@_op("InstanceNormalization")
def _e_instance_norm(node, ins, opset):
    x = _nc_input(ins, "input")
    eps = float(_a(node, "epsilon", 1e-5))
    g = _per_channel(ins[1], x.shape[1], "scale", x)
    b = _per_channel(ins[2], x.shape[1], "B", x)
    t = x.astype(np.float64)
    m, v = _stats(t, tuple(range(2, x.ndim)))
    return [((t - m) / np.sqrt(v + eps) * g + b).astype(x.dtype)]


@_op("GroupNormalization")
def _e_group_norm(node, ins, opset):
    x = _nc_input(ins, "X")
    groups = int(_need(_a(node, "num_groups"), "num_groups"))
    n, c = x.shape[:2]
    if groups < 1 or c % groups:
        raise _Err(f"num_groups {groups} does not divide the {c} channels")
    stash_dtype(node)
    eps = float(_a(node, "epsilon", 1e-5))
    g = group_params(_need(ins[1], "scale"), c, groups, "scale")
    b = group_params(_need(ins[2], "bias"), c, groups, "bias")
    t = x.astype(np.float64).reshape(n, groups, -1)
    m, v = _stats(t, (2,))
    y = ((t - m) / np.sqrt(v + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return [(y * g.reshape(shape) + b.reshape(shape)).astype(x.dtype)]


@_op("LpNormalization")
def _e_lp_norm(node, ins, opset):
    x, axis = _input_and_axis(node, ins, "input")
    p = int(_a(node, "p", 2))
    if p not in (1, 2):
        raise _Err(f"p must be 1 or 2, got {p}")
    t = x.astype(np.float64)
    norm = np.abs(t).sum(axis=axis, keepdims=True) if p == 1 else \
        np.sqrt((t * t).sum(axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(norm == 0, 0.0, t / norm)  # a zero norm gives 0 (onnxruntime, onnx)
    return [y.astype(x.dtype)]


def lrn_window(size):
    """Channels c - lo .. c + hi enter the sum of channel c."""
    return (size - 1) // 2, math.ceil((size - 1) / 2)


@_op("LRN")
def _e_lrn(node, ins, opset):
    x = _nc_input(ins, "X")
    size = int(_need(_a(node, "size"), "size"))
    if size < 1:
        raise _Err(f"size must be >= 1, got {size}")
    alpha, beta, bias = (float(_a(node, k, d)) for k, d in (("alpha", 1e-4), ("beta", 0.75),
                                                            ("bias", 1.0)))
    lo, hi = lrn_window(size)
    t = x.astype(np.float64)
    sq = t * t
    c = x.shape[1]
    cs = np.concatenate([np.zeros_like(sq[:, :1]), np.cumsum(sq, axis=1)], axis=1)
    idx = np.arange(c)
    top, bot = np.minimum(idx + hi + 1, c), np.maximum(idx - lo, 0)
    s = cs[:, top] - cs[:, bot]
    with np.errstate(invalid="ignore", divide="ignore"):
        return [(t / (bias + alpha / size * s) ** beta).astype(x.dtype)]


@_op("MeanVarianceNormalization")
def _e_mvn(node, ins, opset):
    x = _float_input(_need(ins[0], "X"), "X")
    axes = _ints(_a(node, "axes", [0, 2, 3]), "axes")
    axes = tuple(sorted(_axis(int(a), x.ndim, "axes") for a in axes))
    if len(set(axes)) != len(axes):
        raise _Err(f"axes {list(axes)} repeat an axis")
    t = x.astype(np.float64)
    m, v = _stats(t, axes)
    # ONNX's function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9)
    return [((t - m) / (np.sqrt(v) + 1e-9)).astype(x.dtype)]


# ---------------------------------------------------------------------------------------------
# BatchNormalization

def _bn_inference(node, ins, opset):
    x, scale, bias, mean, var = (_need(ins[i], n) for i, n in
                                 enumerate(("X", "scale", "B", "input_mean", "input_var")))
    if len([o for o in node.outputs if o]) > 1:
        raise _Err("the training outputs (running mean/var) are not supported")
    _float_input(x)
    if x.ndim < 2:
        raise _Err(f"input must have rank >= 2, got {x.shape}")

    def p(t, what):
        t = np.asarray(t, np.float64)
        if t.shape == (x.shape[1],):
            return t.reshape((1, -1) + (1,) * (x.ndim - 2))
        if t.shape == x.shape[1:]:      # spatial=0 (opset < 9)
            return t[None]
        raise _Err(f"{what} has shape {t.shape}, expected ({x.shape[1]},)")

    eps = float(_a(node, "epsilon", 1e-5))
    s = p(scale, "scale") / np.sqrt(p(var, "input_var") + eps)
    y = (x.astype(np.float64) - p(mean, "input_mean")) * s + p(bias, "B")
    return [y.astype(x.dtype)]


# training_mode=1 takes the batch's own statistics: torch exports timm's weight
# standardisation (StdConv2d, ScaledStdConv2d of NF-Nets, BiT) this way, on constant weights,
# so it must fold; the planner still refuses it on run-time tensors (inference only).

@_op("BatchNormalization")
def _e_bn(node, ins, opset):
    if not int(_a(node, "training_mode", 0)):
        return _bn_inference(node, ins, opset)
    x, scale, bias, mean, var = (_need(ins[i], n) for i, n in
                                 enumerate(("X", "scale", "B", "input_mean", "input_var")))
    _float_input(x)
    if x.ndim < 2:
        raise _Err(f"input must have rank >= 2, got {x.shape}")
    c = x.shape[1]
    params = []
    for t, what in ((scale, "scale"), (bias, "B"), (mean, "input_mean"), (var, "input_var")):
        t = np.asarray(t, np.float64)
        if t.shape != (c,):
            raise _Err(f"{what} has shape {t.shape}, expected ({c},)")
        params.append(t)
    scale, bias, mean, var = params
    axes = (0,) + tuple(range(2, x.ndim))
    t = x.astype(np.float64)
    m, v = _stats(t, axes)
    shape = (1, c) + (1,) * (x.ndim - 2)
    eps = float(_a(node, "epsilon", 1e-5))
    y = (t - m) / np.sqrt(v + eps) * scale.reshape(shape) + bias.reshape(shape)
    mom = float(_a(node, "momentum", 0.9))
    run_mean = mean * mom + m.reshape(-1) * (1 - mom)
    run_var = var * mom + v.reshape(-1) * (1 - mom)
    return [y.astype(x.dtype), run_mean.astype(x.dtype), run_var.astype(x.dtype)]


# ---------------------------------------------------------------------------------------------
# Gemm, MatMul

@_op("Gemm")
def _e_gemm(node, ins, opset):
    a, b, c = _need(ins[0], "A"), _need(ins[1], "B"), _in(ins, 2)
    gemm_shapes(node, a.shape, b.shape)
    if int(_a(node, "transA", 0)):
        a = a.T
    if int(_a(node, "transB", 0)):
        b = b.T
    wide = np.float64 if a.dtype.kind == "f" else a.dtype
    y = float(_a(node, "alpha", 1.0)) * (a.astype(wide) @ b.astype(wide))
    if c is not None:
        try:
            np.broadcast_shapes(c.shape, y.shape)
        except ValueError:
            raise _Err(f"C {c.shape} does not broadcast to {y.shape}") from None
        y = y + float(_a(node, "beta", 1.0)) * c.astype(wide)
    return [y.astype(a.dtype)]


@_op("MatMul")
def _e_matmul(node, ins, opset):
    a, b = _need(ins[0], "A"), _need(ins[1], "B")
    matmul_shape(a.shape, b.shape)
    wide = np.float64 if a.dtype.kind == "f" else a.dtype
    return [np.matmul(a.astype(wide), b.astype(wide)).astype(a.dtype)]
