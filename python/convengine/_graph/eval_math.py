"""numpy reference (ONNX semantics) of the element-wise math, activations and comparisons
ops, registered into the interpreter's op table (eval_registry.py): Relu ... Tanh, Clip, the
four arithmetic ops, Softmax / LogSoftmax, the float64 math ops (Erf, Gelu, Mish, ..., Pow, the
variadic Min/Max/Sum/Mean), and `apply_activation`, the epilogue of FusedConv and
SqueezeExcite.

Floating-point inputs are evaluated in float64 and rounded once to the input's dtype, so the
reference is correctly rounded or nearly so (the runtime kernels are checked against it).
Integer inputs keep their dtype where ONNX allows them (Abs, Neg, PRelu, Pow, Min, Max, Sum):
these ops also fold shape and weight arithmetic, with numpy's integer rules (wrap-around).
Ops that ONNX defines on floats only refuse other dtypes. Special values: NaN propagates
(ThresholdedRelu included, where ONNX's formula and onnxruntime give 0 for NaN, as torch's
threshold does); Min and Max give NaN when any input is NaN; Pow follows C's pow except that a
single exponent 0.5 or -0.5 is sqrt / 1 / sqrt (torch's x ** 0.5, numpy's; -0 and -inf give
-0, NaN and -inf, NaN, where C's pow and onnxruntime give +0, +inf and +inf, +0). Relu ...
Tanh, Clip and the arithmetic ops compute in the input's dtype.
"""
from __future__ import annotations

import math

import numpy as np

from .eval_registry import _float_input, _need, _op
from .rules import _a, _Err, clip_bounds, softmax_axis

_erf64 = np.frompyfunc(math.erf, 1, 1)
_erfc64 = np.frompyfunc(math.erfc, 1, 1)

SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def erf(x):
    """erf in float64 (math.erf element by element)."""
    x = np.asarray(x, np.float64)
    return _erf64(x).astype(np.float64) if x.size else x.copy()


def erfc(x):
    x = np.asarray(x, np.float64)
    return _erfc64(x).astype(np.float64) if x.size else x.copy()


def gelu(x, approximate="none"):
    """x * Phi(x) in float64; Phi through erfc, which keeps its relative accuracy for x << 0.
    The tanh form x / 2 (1 + tanh(u)) is evaluated as x / (1 + exp(-2u)), the same value
    without the cancellation of 1 + tanh(u) for u << 0."""
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if approximate == "tanh":
            u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            return x / (1 + np.exp(-2 * u))
        return 0.5 * x * erfc(-x / math.sqrt(2))


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, np.float64))


def mish(x):
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        return x * np.tanh(softplus(x))


def elu(x, alpha):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def celu(x, alpha):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))


def selu(x, alpha, gamma):
    return gamma * elu(x, alpha)


def softsign(x):
    x = np.asarray(x, np.float64)
    with np.errstate(invalid="ignore"):
        return x / (1 + np.abs(x))


def thresholded_relu(x, alpha):
    x = np.asarray(x, np.float64)
    return np.where((x > alpha) | np.isnan(x), x, 0.0)


def _float(x, op):
    x = _need(x, "X")
    if x.dtype.kind != "f":
        raise _Err(f"{op} needs a floating-point input, got dtype {x.dtype}")
    return x


def _unary(op, fn):
    def run(node, ins, opset):
        x = _float(ins[0], op)
        with np.errstate(all="ignore"):
            return [np.asarray(fn(node, x.astype(np.float64))).astype(x.dtype)]
    _op(op)(run)


_unary("Erf", lambda n, x: erf(x))
_unary("Mish", lambda n, x: mish(x))
_unary("Softplus", lambda n, x: softplus(x))
_unary("Softsign", lambda n, x: softsign(x))
_unary("Exp", lambda n, x: np.exp(x))
_unary("Log", lambda n, x: np.log(x))
_unary("Sqrt", lambda n, x: np.sqrt(x))
_unary("Reciprocal", lambda n, x: 1.0 / x)
_unary("Sin", lambda n, x: np.sin(x))
_unary("Cos", lambda n, x: np.cos(x))
_unary("Elu", lambda n, x: elu(x, float(_a(n, "alpha"))))
_unary("Selu", lambda n, x: selu(x, float(_a(n, "alpha")), float(_a(n, "gamma"))))
_unary("ThresholdedRelu", lambda n, x: thresholded_relu(x, float(_a(n, "alpha"))))


def _celu(n, x):
    alpha = float(_a(n, "alpha"))
    if alpha == 0:
        raise _Err("alpha must not be 0")
    return celu(x, alpha)


def _gelu(n, x):
    approx = _a(n, "approximate")
    if approx not in ("none", "tanh"):
        raise _Err(f"approximate must be 'none' or 'tanh', got {approx!r}")
    return gelu(x, approx)


_unary("Celu", _celu)
_unary("Gelu", _gelu)


@_op("Abs")
def _e_abs(node, ins, opset):
    x = _need(ins[0], "X")
    return [np.abs(x).astype(x.dtype, copy=False)]


@_op("Neg")
def _e_neg(node, ins, opset):
    x = _need(ins[0], "X")
    if x.dtype.kind not in "fi":
        raise _Err(f"Neg needs a signed input, got dtype {x.dtype}")
    return [np.negative(x).astype(x.dtype, copy=False)]


def unidirectional(x_shape, s_shape, what="slope"):
    """Checks that `s_shape` broadcasts to `x_shape` without changing it (ONNX
    unidirectional broadcasting)."""
    try:
        out = np.broadcast_shapes(tuple(x_shape), tuple(s_shape))
    except ValueError:
        out = None
    if out != tuple(x_shape):
        raise _Err(f"{what} of shape {tuple(s_shape)} does not broadcast to the input shape "
                   f"{tuple(x_shape)}")


@_op("PRelu")
def _e_prelu(node, ins, opset):
    x, s = _need(ins[0], "X"), _need(ins[1], "slope")
    if x.dtype != s.dtype:
        raise _Err(f"input dtypes differ: {x.dtype} and {s.dtype}")
    unidirectional(x.shape, s.shape)
    if x.dtype.kind == "f":
        x64 = x.astype(np.float64)
        return [np.where(x64 < 0, x64 * s.astype(np.float64), x64).astype(x.dtype)]
    return [np.where(x < 0, x * s, x).astype(x.dtype)]


def _pow(a, b):
    """ONNX Pow: the result has the base's dtype."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise _Err(f"shapes {a.shape} and {b.shape} do not broadcast") from None
    if a.dtype.kind not in "fiu" or b.dtype.kind not in "fiu":
        raise _Err(f"Pow needs numeric inputs, got {a.dtype} and {b.dtype}")
    with np.errstate(all="ignore"):
        if a.dtype.kind == "f":
            a64 = a.astype(np.float64)
            if b.size == 1 and float(b.reshape(-1)[0]) in (0.5, -0.5):
                # sqrt at -0 and -inf (torch's x ** 0.5, numpy), where C's pow gives +0, +inf
                r = np.sqrt(a64) if float(b.reshape(-1)[0]) == 0.5 else 1 / np.sqrt(a64)
                return np.broadcast_to(r, np.broadcast_shapes(a.shape, b.shape)).astype(a.dtype)
            return np.power(a64, b.astype(np.float64)).astype(a.dtype)
        if b.dtype.kind == "f":  # integer base, float exponent: C pow, truncated
            r = np.power(a.astype(np.float64), b.astype(np.float64))
            if not np.all(np.isfinite(r)):
                raise _Err("integer Pow with a non-finite result")
            return np.trunc(r).astype(a.dtype)
        a2, b2 = np.broadcast_arrays(a.astype(np.int64), b.astype(np.int64))
        neg = b2 < 0
        if np.any(neg & (a2 == 0)):
            raise _Err("integer Pow: 0 to a negative power")
        r = np.power(a2, np.where(neg, 0, b2))
        # a ^ -k truncated: 1 for a = 1, +-1 for a = -1, 0 otherwise
        r = np.where(neg, np.where(a2 == 1, 1, np.where(a2 == -1, 1 - 2 * (b2 & 1), 0)), r)
        return r.astype(a.dtype)


@_op("Pow")
def _e_pow(node, ins, opset):
    return [np.asarray(_pow(_need(ins[0], "X"), _need(ins[1], "Y")))]


def _variadic(op):
    def run(node, ins, opset):
        xs = [x for x in ins if x is not None]
        if not xs:
            raise _Err("needs at least one input")
        if any(x.dtype != xs[0].dtype for x in xs):
            raise _Err(f"input dtypes differ: {sorted({str(x.dtype) for x in xs})}")
        try:
            shape = np.broadcast_shapes(*[x.shape for x in xs])
        except ValueError:
            raise _Err(f"shapes {[x.shape for x in xs]} do not broadcast") from None
        dt = xs[0].dtype
        if op in ("Mean",) and dt.kind != "f":
            raise _Err(f"{op} needs floating-point inputs, got dtype {dt}")
        if dt.kind not in "fiu":
            raise _Err(f"{op} needs numeric inputs, got dtype {dt}")
        work = [x.astype(np.float64) if dt.kind == "f" else x for x in xs]
        if op == "Min":
            r = work[0]
            for x in work[1:]:
                r = np.minimum(r, x)
        elif op == "Max":
            r = work[0]
            for x in work[1:]:
                r = np.maximum(r, x)
        else:
            with np.errstate(all="ignore"):
                r = work[0]
                for x in work[1:]:
                    r = r + x
                if op == "Mean":
                    r = r / len(xs)
        return [np.broadcast_to(r, shape).astype(dt)]
    _op(op)(run)


for _name in ("Min", "Max", "Sum", "Mean"):
    _variadic(_name)


@_op("LogSoftmax")
def _e_log_softmax(node, ins, opset):
    x = _float(ins[0], "LogSoftmax")
    axis, flat = softmax_axis(node, x.ndim, opset)
    t = x.astype(np.float64)
    if flat:
        lead = int(np.prod(x.shape[:axis], dtype=np.int64))
        t, axis = t.reshape(lead, -1), 1
    with np.errstate(all="ignore"):
        m = t.max(axis=axis, keepdims=True)
        y = t - m - np.log(np.exp(t - m).sum(axis=axis, keepdims=True))
    return [y.reshape(x.shape).astype(x.dtype)]


# ---------------------------------------------------------------------------------------------
# activations, Clip, arithmetic, Softmax

def _sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _hardsigmoid(x, alpha, beta):
    return np.clip(x * x.dtype.type(alpha) + x.dtype.type(beta), 0, 1).astype(x.dtype, copy=False)


ACTIVATIONS = ("none", "relu", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh",
               "leaky_relu")


def apply_activation(x, activation, alpha=0.0, beta=0.0, clip_min=-math.inf, clip_max=math.inf):
    """FusedConv's / SqueezeExcite's epilogue: clamp(f(x), clip_min, clip_max)."""
    if activation == "none":
        y = x
    elif activation == "relu":
        y = np.maximum(x, 0)
    elif activation == "hardswish":
        y = x * _hardsigmoid(x, 1 / 6, 0.5)
    elif activation == "hardsigmoid":
        y = _hardsigmoid(x, alpha, beta)
    elif activation == "sigmoid":
        y = _sigmoid(x)
    elif activation == "silu":
        y = x * _sigmoid(x)
    elif activation == "tanh":
        y = np.tanh(x)
    elif activation == "leaky_relu":
        y = np.where(x < 0, x * x.dtype.type(alpha), x)
    elif activation in EXTRA_ACTIVATIONS:
        y = EXTRA_ACTIVATIONS[activation](x, alpha, beta)
    else:
        names = ", ".join(ACTIVATIONS + tuple(EXTRA_ACTIVATIONS))
        raise _Err(f"unknown activation {activation!r} (one of {names})")
    if clip_min > -math.inf:
        y = np.maximum(y, y.dtype.type(clip_min))
    if clip_max < math.inf:
        y = np.minimum(y, y.dtype.type(clip_max))
    return y.astype(x.dtype, copy=False)


def epilogue_attrs(node):
    """(activation, alpha, beta, clip_min, clip_max) of a FusedConv / SqueezeExcite."""
    return (_a(node, "activation", "none"), float(_a(node, "alpha", 0.0)),
            float(_a(node, "beta", 0.0)), float(_a(node, "clip_min", -math.inf)),
            float(_a(node, "clip_max", math.inf)))


# FusedConv / SqueezeExcite epilogue activations beyond ACTIVATIONS; float64 inside.
def _act(fn):
    def run(x, alpha, beta):
        with np.errstate(all="ignore"):
            return np.asarray(fn(x.astype(np.float64), alpha, beta)).astype(x.dtype)
    return run


EXTRA_ACTIVATIONS = {
    "gelu": _act(lambda x, a, b: gelu(x)),
    "gelu_tanh": _act(lambda x, a, b: gelu(x, "tanh")),
    "mish": _act(lambda x, a, b: mish(x)),
    "softplus": _act(lambda x, a, b: softplus(x)),
    "elu": _act(lambda x, a, b: elu(x, a)),
    "selu": _act(lambda x, a, b: selu(x, a, b)),
    "celu": _act(lambda x, a, b: celu(x, a)),
    "softsign": _act(lambda x, a, b: softsign(x)),
    "thresholded_relu": _act(lambda x, a, b: thresholded_relu(x, a)),
}


def _in_dtype(fn):
    def run(node, ins, opset):
        x = _float_input(_need(ins[0], "X"))
        return [fn(node, x).astype(x.dtype, copy=False)]
    return run


_op("Relu")(lambda node, ins, opset: [np.maximum(_need(ins[0], "X"), 0).astype(
    ins[0].dtype, copy=False)])
_op("LeakyRelu")(_in_dtype(
    lambda n, x: np.where(x < 0, x * x.dtype.type(_a(n, "alpha", 0.01)), x)))
_op("HardSwish")(_in_dtype(lambda n, x: x * _hardsigmoid(x, 1 / 6, 0.5)))
_op("HardSigmoid")(_in_dtype(
    lambda n, x: _hardsigmoid(x, float(_a(n, "alpha", 0.2)), float(_a(n, "beta", 0.5)))))
_op("Sigmoid")(_in_dtype(lambda n, x: _sigmoid(x)))
_op("Tanh")(_in_dtype(lambda n, x: np.tanh(x)))


@_op("Clip")
def _e_clip(node, ins, opset):
    x = _need(ins[0], "X")
    lo, hi = clip_bounds(node, ins, opset)
    y = x
    if lo is not None:
        y = np.maximum(y, x.dtype.type(lo))
    if hi is not None:
        y = np.minimum(y, x.dtype.type(hi))
    return [np.array(y, dtype=x.dtype, copy=True)]


def _binary(fn):
    def run(node, ins, opset):
        a, b = _need(ins[0], "A"), _need(ins[1], "B")
        if a.dtype != b.dtype:
            raise _Err(f"input dtypes differ: {a.dtype} and {b.dtype}")
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise _Err(f"shapes {a.shape} and {b.shape} do not broadcast") from None
        return [np.asarray(fn(a, b)).astype(a.dtype, copy=False)]
    return run


def _div(a, b):
    if a.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b
    if np.any(b == 0):
        raise _Err("integer division by zero")
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


_op("Add")(_binary(np.add))
_op("Sub")(_binary(np.subtract))
_op("Mul")(_binary(np.multiply))
_op("Div")(_binary(_div))


@_op("Softmax")
def _e_softmax(node, ins, opset):
    x = _float_input(_need(ins[0], "input"))
    axis, flat = softmax_axis(node, x.ndim, opset)
    if not flat:
        t = x.astype(np.float64)
        e = np.exp(t - t.max(axis=axis, keepdims=True))
        return [(e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)]
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    t = x.astype(np.float64).reshape(lead, -1)
    e = np.exp(t - t.max(axis=1, keepdims=True))
    return [(e / e.sum(axis=1, keepdims=True)).reshape(x.shape).astype(x.dtype)]
