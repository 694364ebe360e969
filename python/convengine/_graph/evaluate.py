"""A plain numpy interpreter of a Model: the oracle for the optimisation passes, the constant
folder and the runtime.

ONNX semantics for every op of ops.py (the opset-dependent forms included: Softmax's 2D
coercion before opset 13, Split/Squeeze/Unsqueeze/Clip/Pad taking attributes or inputs by
opset, Resize's opset-10 form and Upsample). Convolutions (Conv, ConvTranspose, DeformConv,
LocalConv, FusedConv) resolve their attributes (auto_pad, asymmetric pads, output_shape,
output_padding) here and leave the arithmetic to the Cython reference (convengine.reference),
which accumulates in float64. Everything else is numpy, written from the ONNX definitions.

`analyze(model)` walks the graph once and knows, per tensor, its value when it is a constant
(initializers, Constant nodes, nodes of constants, Shape of a static shape) and otherwise its
shape and dtype as far as the graph input shapes are static. The passes read shapes from it.
"""
from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from ..model import CUSTOM_DOMAIN, DTYPES, Model, ModelError, Node
from .ops import attr as _table_attr
from .ops import spec

__all__ = ["run_numpy", "eval_node", "analyze", "TensorInfo", "Sym"]

# ONNX TensorProto data type numbers of the dtypes convengine stores
ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
               9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
               4: np.uint16}


class _Err(Exception):
    """Raised inside an op; eval_node turns it into a ModelError naming the node."""


def _node_desc(node):
    return f"node {node.name!r} ({node.op_type})" if node.name else f"{node.op_type} node"


# ---------------------------------------------------------------------------------------------
# attribute helpers

def _a(node, name, default=None):
    v = _table_attr(node, name)
    return default if v is None else v


def _ints(v, what="attribute"):
    if v is None:
        return None
    arr = np.asarray(v)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise _Err(f"{what} must be integers, got {v!r}")
    return [int(i) for i in arr.reshape(-1)]


def _need(x, what):
    if x is None:
        raise _Err(f"{what} is missing")
    return x


def _const_ints(x, what):
    return _ints(_need(x, what), what)


def _axis(a, rank, what="axis", allow_end=False):
    hi = rank + 1 if allow_end else rank
    if not -rank <= a < hi:
        raise _Err(f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def _float_input(x, what="input"):
    if x.dtype.kind != "f":
        raise _Err(f"{what} must be a floating-point tensor, got dtype {x.dtype}")
    return x


# ---------------------------------------------------------------------------------------------
# convolution geometry

@dataclasses.dataclass
class Window:
    strides: list
    dilations: list
    pad_begin: list
    pad_end: list
    out: list


def window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad, ceil_mode=False,
                    what="Conv") -> Window:
    """ONNX output size and pads of a sliding window (Conv, MaxPool, AveragePool)."""
    n = len(in_sp)
    strides = list(strides) if strides else [1] * n
    dilations = list(dilations) if dilations else [1] * n
    if len(kernel) != n or len(strides) != n or len(dilations) != n:
        raise _Err(f"{what}: kernel {list(kernel)}, strides {strides} and dilations {dilations} "
                   f"must each have {n} values (spatial rank of the input)")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or any(k < 1 for k in kernel):
        raise _Err(f"{what}: kernel, strides and dilations must be >= 1")
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    auto_pad = auto_pad or "NOTSET"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = [-(-i // s) for i, s in zip(in_sp, strides)]
        total = [max(0, (o - 1) * s + sp - i) for o, s, sp, i in zip(out, strides, span, in_sp)]
        if auto_pad == "SAME_UPPER":
            pb = [t // 2 for t in total]
        else:
            pb = [(t + 1) // 2 for t in total]
        pe = [t - b for t, b in zip(total, pb)]
        return Window(strides, dilations, pb, pe, out)
    if auto_pad == "VALID":
        pb = pe = [0] * n
    elif auto_pad == "NOTSET":
        pads = list(pads) if pads else [0] * (2 * n)
        if len(pads) != 2 * n:
            raise _Err(f"{what}: pads {pads} must have {2 * n} values")
        if any(p < 0 for p in pads):
            raise _Err(f"{what}: pads {pads} must be >= 0")
        pb, pe = pads[:n], pads[n:]
    else:
        raise _Err(f"{what}: unknown auto_pad {auto_pad!r}")
    out = []
    for i in range(n):
        padded = in_sp[i] + pb[i] + pe[i]
        # with ceil_mode a window may overhang the padded input's end (torch and ORT clip it)
        if padded + (strides[i] - 1 if ceil_mode else 0) < span[i]:
            raise _Err(f"{what}: window {span[i]} (kernel {kernel[i]}, dilation {dilations[i]}) "
                       f"is larger than the padded input {padded} on spatial axis {i}")
        if ceil_mode:
            o = -(-(padded - span[i]) // strides[i]) + 1
            if (o - 1) * strides[i] >= in_sp[i] + pb[i]:
                o -= 1
        else:
            o = (padded - span[i]) // strides[i] + 1
        out.append(o)
    return Window(strides, dilations, pb, pe, out)


def conv_geometry(node, x_shape, w_shape, transposed=False):
    """(group, Window, c_out) of a Conv / FusedConv / ConvTranspose with input and weight shapes."""
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3 (N, C, spatial...), got shape {tuple(x_shape)}")
    if len(w_shape) != nd + 2:
        raise _Err(f"weight must have rank {nd + 2}, got shape {tuple(w_shape)}")
    group = int(_a(node, "group", 1))
    if group < 1:
        raise _Err(f"group must be >= 1, got {group}")
    kernel = list(w_shape[2:])
    ks = _ints(_a(node, "kernel_shape"))
    if ks is not None and ks != kernel:
        raise _Err(f"kernel_shape {ks} does not match the weight shape {tuple(w_shape)}")
    c = x_shape[1]
    if c % group:
        raise _Err(f"input channels {c} are not divisible by group {group}")
    if transposed:
        if w_shape[0] != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 0 must equal the input channels {c}")
        c_out = w_shape[1] * group
    else:
        if w_shape[1] * group != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 1 times group {group} must equal "
                       f"the input channels {c}")
        c_out = w_shape[0]
        if c_out % group:
            raise _Err(f"output channels {c_out} are not divisible by group {group}")
    strides = _ints(_a(node, "strides"))
    dilations = _ints(_a(node, "dilations"))
    pads = _ints(_a(node, "pads"))
    auto_pad = _a(node, "auto_pad", "NOTSET")
    in_sp = list(x_shape[2:])
    if not transposed:
        return group, window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad), c_out
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    if len(strides) != nd or len(dilations) != nd:
        raise _Err(f"strides {strides} and dilations {dilations} must have {nd} values")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
        raise _Err("strides and dilations must be >= 1")
    opad = _ints(_a(node, "output_padding")) or [0] * nd
    if len(opad) != nd:
        raise _Err(f"output_padding {opad} must have {nd} values")
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    full = [s * (i - 1) + op + sp for s, i, op, sp in zip(strides, in_sp, opad, span)]
    out_shape = _ints(_a(node, "output_shape"))
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if out_shape is not None:
            if len(out_shape) == nd + 2:
                out_shape = out_shape[2:]
            if len(out_shape) != nd:
                raise _Err(f"output_shape {out_shape} must have {nd} values")
            out = out_shape
        else:
            out = [i * s for i, s in zip(in_sp, strides)]
        total = [f - o for f, o in zip(full, out)]
        for t, st, o in zip(total, strides, out):
            if -t >= st:
                raise _Err(f"output_shape {out} is larger than any input of this size can "
                           f"produce (full output {full}, strides {strides})")
        # the odd pixel is cut at the end for SAME_UPPER, at the start otherwise
        # a negative total (an output larger than the full one) extends the end, as
        # output_padding does
        if auto_pad == "SAME_UPPER":
            pb = [max(0, t // 2) for t in total]
        else:
            pb = [max(0, t - t // 2) for t in total]
        pe = [t - b for t, b in zip(total, pb)]
    else:
        if auto_pad == "VALID":
            pads = [0] * (2 * nd)
        elif auto_pad != "NOTSET":
            raise _Err(f"unknown auto_pad {auto_pad!r}")
        pads = pads or [0] * (2 * nd)
        if len(pads) != 2 * nd or any(p < 0 for p in pads):
            raise _Err(f"pads {pads} must be {2 * nd} values >= 0")
        pb, pe = pads[:nd], pads[nd:]
        out = [f - b - e for f, b, e in zip(full, pb, pe)]
    if any(o < 1 for o in out):
        raise _Err(f"output spatial size {out} is empty")
    return group, Window(strides, dilations, pb, pe, out), c_out


def _pad3(v, fill):
    return tuple([fill] * (3 - len(v)) + list(v))


def _as_f32(x):
    return np.ascontiguousarray(x, dtype=np.float32)


def _conv_compute(node, x, w, b, transposed):
    from ..reference import _ref_conv
    _float_input(x)
    _float_input(w, "weight")
    group, win, c_out = conv_geometry(node, x.shape, w.shape, transposed)
    nd = x.ndim - 2
    if nd > 3:
        raise _Err(f"spatial rank {nd} is not supported (1D, 2D and 3D)")
    if b is not None:
        if b.shape != (c_out,):
            raise _Err(f"bias must have shape ({c_out},), got {b.shape}")
        b = np.asarray(b, np.float64)
    to5 = lambda t: _as_f32(t.reshape(t.shape[:2] + (1,) * (3 - nd) + t.shape[2:]))
    fn = _ref_conv.conv_transpose3d if transposed else _ref_conv.conv3d
    y = fn(to5(x), to5(w), b, group, _pad3(win.strides, 1), _pad3(win.dilations, 1),
           _pad3(win.pad_begin, 0), _pad3(win.out, 1))
    return y.reshape((x.shape[0], c_out) + tuple(win.out)).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# activations

def _sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _hardsigmoid(x, alpha, beta):
    return np.clip(x * x.dtype.type(alpha) + x.dtype.type(beta), 0, 1).astype(x.dtype, copy=False)


ACTIVATIONS = ("none", "relu", "hardswish", "hardsigmoid", "sigmoid", "silu", "tanh",
               "leaky_relu")
# More epilogue activations, registered by the op-family modules: name -> fn(x, alpha, beta).
EXTRA_ACTIVATIONS: dict = {}


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


def _epilogue_attrs(node):
    return (_a(node, "activation", "none"), float(_a(node, "alpha", 0.0)),
            float(_a(node, "beta", 0.0)), float(_a(node, "clip_min", -math.inf)),
            float(_a(node, "clip_max", math.inf)))


# ---------------------------------------------------------------------------------------------
# op implementations: fn(node, inputs, opset) -> list of outputs

_EVAL = {}


def _op(*names, domain=""):
    def deco(fn):
        for n in names:
            _EVAL[(domain, n)] = fn
        return fn
    return deco


def _in(ins, i):
    return ins[i] if i < len(ins) else None


@_op("Conv")
def _e_conv(node, ins, opset):
    return [_conv_compute(node, _need(ins[0], "X"), _need(ins[1], "W"), _in(ins, 2), False)]


@_op("ConvTranspose")
def _e_conv_t(node, ins, opset):
    return [_conv_compute(node, _need(ins[0], "X"), _need(ins[1], "W"), _in(ins, 2), True)]


@_op("FusedConv", domain=CUSTOM_DOMAIN)
def _e_fused(node, ins, opset):
    x = _need(ins[0], "X")
    y = _conv_compute(node, x, _need(ins[1], "W"), _in(ins, 2), False)
    r = _in(ins, 3)
    if r is not None:
        if r.shape != y.shape:
            raise _Err(f"residual shape {r.shape} differs from the conv output {y.shape}")
        y = (y + r).astype(y.dtype, copy=False)
    return [apply_activation(y, *_epilogue_attrs(node))]


@_op("DeformConv")
def _e_deform(node, ins, opset):
    from ..reference import deform_conv2d
    x, w, off = _need(ins[0], "X"), _need(ins[1], "W"), _need(ins[2], "offset")
    b, mask = _in(ins, 3), _in(ins, 4)
    if x.ndim != 4:
        raise _Err(f"only 2D DeformConv is supported, input shape {x.shape}")
    ks = _ints(_a(node, "kernel_shape"))
    if ks is not None and ks != list(w.shape[2:]):
        raise _Err(f"kernel_shape {ks} does not match the weight shape {w.shape}")
    group = int(_a(node, "group", 1))
    ogroup = int(_a(node, "offset_group", 1))
    if w.shape[1] * group != x.shape[1]:
        raise _Err(f"weight shape {w.shape}: dim 1 times group {group} must equal the input "
                   f"channels {x.shape[1]}")
    taps = int(np.prod(w.shape[2:]))
    if off.ndim != 4 or off.shape[1] != 2 * ogroup * taps:
        raise _Err(f"offset shape {off.shape}: dim 1 must be 2 * offset_group * kH * kW = "
                   f"{2 * ogroup * taps}")
    pads = _ints(_a(node, "pads")) or [0, 0, 0, 0]
    try:
        y = deform_conv2d(x, off, w, b, _ints(_a(node, "strides")) or 1, pads,
                          _ints(_a(node, "dilations")) or 1, mask)
    except (ValueError, TypeError) as e:
        raise _Err(str(e)) from None
    return [y.astype(x.dtype, copy=False)]


@_op("LocalConv", domain=CUSTOM_DOMAIN)
def _e_local(node, ins, opset):
    from ..reference import local_conv2d
    x, w, b = _need(ins[0], "X"), _need(ins[1], "W"), _in(ins, 2)
    ks = _ints(_a(node, "kernel_shape"))
    if ks is not None and w.ndim == 6 and ks != list(w.shape[4:]):
        raise _Err(f"kernel_shape {ks} does not match the weight shape {w.shape}")
    try:
        y = local_conv2d(x, w, b, _ints(_a(node, "strides")) or 1,
                         _ints(_a(node, "pads")) or 0, _ints(_a(node, "dilations")) or 1)
    except (ValueError, TypeError) as e:
        raise _Err(str(e)) from None
    return [y.astype(x.dtype, copy=False)]


@_op("ChannelShuffle", domain=CUSTOM_DOMAIN)
def _e_shuffle(node, ins, opset):
    x = _need(ins[0], "X")
    g = int(_a(node, "group"))
    if x.ndim < 2 or g < 1 or x.shape[1] % g:
        raise _Err(f"channels of shape {x.shape} are not divisible by group {g}")
    n, c = x.shape[:2]
    return [x.reshape((n, g, c // g) + x.shape[2:]).swapaxes(1, 2).reshape(x.shape).copy()]


@_op("SqueezeExcite", domain=CUSTOM_DOMAIN)
def _e_se(node, ins, opset):
    x, w1, b1, w2, b2 = (_need(ins[i], n) for i, n in enumerate(("X", "W1", "B1", "W2", "B2")))
    _float_input(x)
    if x.ndim < 3:
        raise _Err(f"input must have rank >= 3, got {x.shape}")
    c = x.shape[1]
    if w1.ndim != 2 or w1.shape[1] != c or w2.shape != (c, w1.shape[0]) or \
            b1.shape != (w1.shape[0],) or b2.shape != (c,):
        raise _Err(f"W1 {w1.shape}, B1 {b1.shape}, W2 {w2.shape}, B2 {b2.shape} do not fit "
                   f"{c} channels (W1 (mid, C), B1 (mid,), W2 (C, mid), B2 (C,))")
    m = x.astype(np.float64).mean(axis=tuple(range(2, x.ndim)))
    h = (m @ w1.astype(np.float64).T + b1).astype(x.dtype)
    h = apply_activation(h, *_epilogue_attrs(node))
    g = (h.astype(np.float64) @ w2.astype(np.float64).T + b2).astype(x.dtype)
    gate = _a(node, "gate", "sigmoid")
    if gate == "sigmoid":
        g = _sigmoid(g)
    elif gate == "hardsigmoid":
        g = _hardsigmoid(g, float(_a(node, "gate_alpha", 0.2)), float(_a(node, "gate_beta", 0.5)))
    else:
        raise _Err(f"unknown gate {gate!r} (sigmoid or hardsigmoid)")
    return [x * g.reshape(g.shape + (1,) * (x.ndim - 2))]


@_op("BatchNormalization")
def _e_bn(node, ins, opset):
    x, scale, bias, mean, var = (_need(ins[i], n) for i, n in
                                 enumerate(("X", "scale", "B", "input_mean", "input_var")))
    if int(_a(node, "training_mode", 0)):
        raise _Err("training_mode=1 is not supported (inference only)")
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


def _unary(fn):
    def run(node, ins, opset):
        x = _float_input(_need(ins[0], "X"))
        return [fn(node, x).astype(x.dtype, copy=False)]
    return run


_EVAL[("", "Relu")] = lambda node, ins, opset: [np.maximum(_need(ins[0], "X"), 0).astype(
    ins[0].dtype, copy=False)]
_EVAL[("", "LeakyRelu")] = _unary(
    lambda n, x: np.where(x < 0, x * x.dtype.type(_a(n, "alpha", 0.01)), x))
_EVAL[("", "HardSwish")] = _unary(lambda n, x: x * _hardsigmoid(x, 1 / 6, 0.5))
_EVAL[("", "HardSigmoid")] = _unary(
    lambda n, x: _hardsigmoid(x, float(_a(n, "alpha", 0.2)), float(_a(n, "beta", 0.5))))
_EVAL[("", "Sigmoid")] = _unary(lambda n, x: _sigmoid(x))
_EVAL[("", "Tanh")] = _unary(lambda n, x: np.tanh(x))


def clip_bounds(node, ins, opset):
    """(min, max) of a Clip node as numbers (None for a side without a bound), from its
    inputs (opset >= 11) or its attributes."""
    lo, hi = _in(ins, 1), _in(ins, 2)
    if lo is None and len(node.inputs) < 2 and node.attrs.get("min") is not None:
        lo = node.attrs["min"]
    if hi is None and len(node.inputs) < 3 and node.attrs.get("max") is not None:
        hi = node.attrs["max"]
    out = []
    for v, what in ((lo, "min"), (hi, "max")):
        if v is not None:
            v = np.asarray(v)
            if v.size != 1:
                raise _Err(f"Clip {what} must be a scalar, got shape {v.shape}")
            v = v.reshape(()).item()
        out.append(v)
    return out


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


_EVAL[("", "Add")] = _binary(np.add)
_EVAL[("", "Sub")] = _binary(np.subtract)
_EVAL[("", "Mul")] = _binary(np.multiply)
_EVAL[("", "Div")] = _binary(_div)


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
    mode = _a(node, "mode", "constant")
    if opset < 11 or (len(node.inputs) < 2 and node.attrs.get("pads") is not None):
        pads = _ints(node.attrs.get("pads"))
        value = float(_a(node, "value", 0.0))
        axes = None
    else:
        pads = _const_ints(_in(ins, 1), "pads")
        cv = _in(ins, 2)
        value = 0 if cv is None else np.asarray(cv).reshape(-1)[0] if np.size(cv) else 0
        axes = _ints(_in(ins, 3)) if _in(ins, 3) is not None else None
    if pads is None:
        raise _Err("pads are missing")
    axes = list(range(x.ndim)) if axes is None else [_axis(a, x.ndim, "axes") for a in axes]
    if len(pads) != 2 * len(axes):
        raise _Err(f"pads {pads} must have {2 * len(axes)} values")
    begin = [0] * x.ndim
    end = [0] * x.ndim
    for i, a in enumerate(axes):
        begin[a], end[a] = pads[i], pads[len(axes) + i]
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


def _global_pool(fn):
    def run(node, ins, opset):
        x = _need(ins[0], "X")
        if x.ndim < 3:
            raise _Err(f"input must have rank >= 3, got {x.shape}")
        return [fn(x, axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)]
    return run


_EVAL[("", "GlobalAveragePool")] = _global_pool(
    lambda x, axis, keepdims: x.astype(np.float64).mean(axis=axis, keepdims=keepdims))
_EVAL[("", "GlobalMaxPool")] = _global_pool(np.max)


def pool_geometry(node, x_shape):
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3, got shape {tuple(x_shape)}")
    k = _ints(_a(node, "kernel_shape"))
    if k is None or len(k) != nd:
        raise _Err(f"kernel_shape {k} must have {nd} values")
    return k, window_geometry(list(x_shape[2:]), k, _ints(_a(node, "strides")),
                              _ints(_a(node, "dilations")), _ints(_a(node, "pads")),
                              _a(node, "auto_pad", "NOTSET"), bool(_a(node, "ceil_mode", 0)),
                              node.op_type)


def _windows(x, k, win, fill):
    """Yields (tap index tuple, strided view of the padded input) for every kernel tap."""
    need = [max(0, (o - 1) * s + (kk - 1) * d + 1 - i - b) for o, s, kk, d, i, b in
            zip(win.out, win.strides, k, win.dilations, x.shape[2:], win.pad_begin)]
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(win.pad_begin, need)), constant_values=fill)
    for tap in itertools.product(*[range(kk) for kk in k]):
        sl = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in
                   zip(tap, win.dilations, win.out, win.strides))
        yield tap, xp[(slice(None), slice(None)) + sl]


@_op("MaxPool")
def _e_maxpool(node, ins, opset):
    x = _need(ins[0], "X")
    k, win = pool_geometry(node, x.shape)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    want_idx = len(node.outputs) > 1 and node.outputs[1] != ""
    best = None
    arg = None
    in_sp = x.shape[2:]
    for tap, v in _windows(x, k, win, fill):
        if best is None:
            best = v.copy()
            if want_idx:
                arg = np.broadcast_to(_flat_index(tap, win, in_sp, node), v.shape).copy()
            continue
        better = v > best
        best = np.where(better, v, best)
        if want_idx:
            arg = np.where(better, _flat_index(tap, win, in_sp, node), arg)
    outs = [best.astype(x.dtype, copy=False)]
    if want_idx:
        n, c = x.shape[:2]
        plane = int(np.prod(in_sp))
        base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
        outs.append(arg + base.reshape((n, c) + (1,) * len(in_sp)))
    return outs


def _flat_index(tap, win, in_sp, node):
    """Flat input index (row-major, or column-major for storage_order=1) of every output's tap;
    clamped into the input (a padded position never wins against a real one)."""
    coords = []
    for ax, (t, d, o, s, b, n) in enumerate(zip(tap, win.dilations, win.out, win.strides,
                                               win.pad_begin, in_sp)):
        c = np.clip(np.arange(o) * s - b + t * d, 0, n - 1)
        shape = [1] * len(in_sp)
        shape[ax] = o
        coords.append(c.reshape(shape))
    order = range(len(in_sp)) if not int(_a(node, "storage_order", 0)) else \
        reversed(range(len(in_sp)))
    idx = 0
    for ax in order:
        idx = idx * in_sp[ax] + coords[ax]
    return idx


@_op("AveragePool")
def _e_avgpool(node, ins, opset):
    x = _float_input(_need(ins[0], "X"))
    k, win = pool_geometry(node, x.shape)
    include = bool(_a(node, "count_include_pad", 0))
    in_sp = x.shape[2:]
    # the count: real input positions, or with count_include_pad every position of the padded
    # input (pads included, the ceil_mode overhang past the end pad excluded)
    if include:
        region = np.ones([b + n + e for b, n, e in zip(win.pad_begin, in_sp, win.pad_end)])
        ones_win = Window(win.strides, win.dilations, [0] * len(in_sp), [0] * len(in_sp),
                          win.out)
        cnt_src = region[None, None]
    else:
        cnt_src = np.ones((1, 1) + in_sp)
        ones_win = win
    total = 0
    for _, v in _windows(x.astype(np.float64), k, win, 0.0):
        total = total + v
    count = 0
    for _, v in _windows(cnt_src, k, ones_win, 0.0):
        count = count + v
    with np.errstate(invalid="ignore", divide="ignore"):
        return [(total / count).astype(x.dtype)]


@_op("Gemm")
def _e_gemm(node, ins, opset):
    a, b, c = _need(ins[0], "A"), _need(ins[1], "B"), _in(ins, 2)
    if a.ndim != 2 or b.ndim != 2:
        raise _Err(f"A and B must be 2D, got {a.shape} and {b.shape}")
    if int(_a(node, "transA", 0)):
        a = a.T
    if int(_a(node, "transB", 0)):
        b = b.T
    if a.shape[1] != b.shape[0]:
        raise _Err(f"inner dimensions differ: A' {a.shape}, B' {b.shape}")
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
    wide = np.float64 if a.dtype.kind == "f" else a.dtype
    try:
        return [np.matmul(a.astype(wide), b.astype(wide)).astype(a.dtype)]
    except ValueError as e:
        raise _Err(f"shapes {a.shape} and {b.shape}: {e}") from None


@_op("Flatten")
def _e_flatten(node, ins, opset):
    x = _need(ins[0], "input")
    axis = _axis(int(_a(node, "axis", 1)), x.ndim, allow_end=True)
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    return [x.reshape(lead, int(np.prod(x.shape[axis:], dtype=np.int64))).copy()]


def reshape_target(in_shape, shape, allowzero=False):
    shape = list(shape)
    out = []
    for i, d in enumerate(shape):
        if d == 0 and not allowzero:
            if i >= len(in_shape):
                raise _Err(f"shape {shape}: 0 at position {i} has no input dimension to copy")
            out.append(in_shape[i])
        else:
            out.append(d)
    if out.count(-1) > 1 or any(d < -1 for d in out):
        raise _Err(f"shape {shape} is not a valid reshape target")
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in out:
        rest = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        if rest == 0 or total % rest:
            raise _Err(f"cannot reshape {tuple(in_shape)} to {shape}")
        out[out.index(-1)] = total // rest
    if int(np.prod(out, dtype=np.int64)) != total:
        raise _Err(f"cannot reshape {tuple(in_shape)} to {shape}")
    return tuple(out)


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


@_op("Softmax")
def _e_softmax(node, ins, opset):
    x = _float_input(_need(ins[0], "input"))
    if x.ndim == 0:
        raise _Err("input must have rank >= 1")
    default = -1 if opset >= 13 else 1
    axis = _axis(int(node.attrs.get("axis", default)), x.ndim)
    if opset >= 13:
        t = x.astype(np.float64)
        e = np.exp(t - t.max(axis=axis, keepdims=True))
        return [(e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)]
    lead = int(np.prod(x.shape[:axis], dtype=np.int64))
    t = x.astype(np.float64).reshape(lead, -1)
    e = np.exp(t - t.max(axis=1, keepdims=True))
    return [(e / e.sum(axis=1, keepdims=True)).reshape(x.shape).astype(x.dtype)]


@_op("Identity")
def _e_identity(node, ins, opset):
    return [np.array(_need(ins[0], "input"), copy=True)]


def dropout_is_identity(node, ins, opset) -> bool | None:
    """True when a Dropout passes its input through (inference), None when that depends on a
    runtime input."""
    if int(node.attrs.get("is_test", 1)) == 0 and opset < 7:
        return False
    tm = _in(ins, 2)
    if len(node.inputs) > 2 and node.inputs[2] and tm is None:
        return None
    return tm is None or not bool(np.asarray(tm).reshape(-1)[0])


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


def shape_value(shape, node):
    r = len(shape)
    start = int(_a(node, "start", 0))
    end = _a(node, "end")
    end = r if end is None else int(end)
    start = min(max(start + r if start < 0 else start, 0), r)
    end = min(max(end + r if end < 0 else end, 0), r)
    return np.array(shape[start:end], np.int64)


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


def cast_dtype(to):
    if isinstance(to, str):
        if to not in DTYPES:
            raise _Err(f"unknown Cast target {to!r}")
        return DTYPES[to]
    if int(to) not in ONNX_DTYPES:
        raise _Err(f"unsupported Cast target type {to}")
    return np.dtype(ONNX_DTYPES[int(to)])


@_op("Cast")
def _e_cast(node, ins, opset):
    x = _need(ins[0], "input")
    dt = cast_dtype(_a(node, "to"))
    with np.errstate(invalid="ignore", over="ignore"):
        return [x.astype(dt)]


# ---------------------------------------------------------------------------------------------
# Resize / Upsample

def resize_params(node, x_shape, ins, opset):
    """(mode, per-axis output sizes, per-axis scales (float32), ctm, nearest_mode, roi) of a
    Resize or Upsample."""
    r = len(x_shape)
    mode = _a(node, "mode", "nearest")
    if node.op_type == "Upsample":
        scales = _in(ins, 1) if len(node.inputs) > 1 else node.attrs.get("scales")
        if scales is None:
            raise _Err("scales are missing")
        scales = np.asarray(scales, np.float32).reshape(-1)
        if scales.size != r:
            raise _Err(f"scales {scales.tolist()} must have {r} values")
        mode = "linear" if mode == "bilinear" else mode
        sizes = [int(np.float32(d) * s) for d, s in zip(x_shape, scales)]
        return mode, sizes, scales, "asymmetric", "simple", None
    if opset < 11:
        scales = np.asarray(_need(_in(ins, 1), "scales"), np.float32).reshape(-1)
        if scales.size != r:
            raise _Err(f"scales {scales.tolist()} must have {r} values")
        sizes = [int(np.float32(d) * s) for d, s in zip(x_shape, scales)]
        return mode, sizes, scales, "asymmetric", "simple", None
    roi, scales, sizes = _in(ins, 1), _in(ins, 2), _in(ins, 3)
    if scales is not None and scales.size == 0:
        scales = None
    if sizes is not None and sizes.size == 0:
        sizes = None
    if (scales is None) == (sizes is None):
        raise _Err("exactly one of scales and sizes must be given")
    axes = _ints(node.attrs.get("axes"))
    axes = list(range(r)) if axes is None else [_axis(a, r, "axes") for a in axes]
    full_scales = np.ones(r, np.float32)
    out = list(x_shape)
    if scales is not None:
        scales = np.asarray(scales, np.float32).reshape(-1)
        if scales.size != len(axes) or np.any(scales <= 0):
            raise _Err(f"scales {scales.tolist()} must be {len(axes)} positive values")
        for a, s in zip(axes, scales):
            full_scales[a] = s
            out[a] = int(np.float32(x_shape[a]) * s)
    else:
        sizes = _ints(sizes, "sizes")
        if len(sizes) != len(axes) or any(s < 1 for s in sizes):
            raise _Err(f"sizes {sizes} must be {len(axes)} positive values")
        policy = _a(node, "keep_aspect_ratio_policy", "stretch")
        if policy == "stretch":
            for a, s in zip(axes, sizes):
                out[a] = s
                full_scales[a] = np.float32(s) / np.float32(x_shape[a])
        elif policy in ("not_larger", "not_smaller"):
            ratios = [np.float32(s) / np.float32(x_shape[a]) for a, s in zip(axes, sizes)]
            sc = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                full_scales[a] = sc
                out[a] = int(np.floor(np.float32(x_shape[a]) * sc + np.float32(0.5)))
        else:
            raise _Err(f"unknown keep_aspect_ratio_policy {policy!r}")
    ctm = _a(node, "coordinate_transformation_mode", "half_pixel")
    roi_full = None
    if ctm == "tf_crop_and_resize":
        roi_v = np.asarray(_need(roi, "roi"), np.float32).reshape(-1)
        if roi_v.size != 2 * len(axes):
            raise _Err(f"roi must have {2 * len(axes)} values")
        roi_full = np.array([0.0] * r + [1.0] * r, np.float32)
        for i, a in enumerate(axes):
            roi_full[a], roi_full[r + a] = roi_v[i], roi_v[len(axes) + i]
    if int(_a(node, "antialias", 0)):
        raise _Err("antialias=1 is not supported")
    return mode, out, full_scales, ctm, _a(node, "nearest_mode", "round_prefer_floor"), roi_full


def _resize_matrix(n_in, n_out, scale, mode, ctm, nearest_mode, cubic_a, exclude_outside,
                   roi_start, roi_end):
    """(n_out, n_in) float64 interpolation matrix of one axis and the mask of outputs that
    fall outside the input (tf_crop_and_resize)."""
    f = np.float32
    x = np.arange(n_out, dtype=np.float32)
    scale = f(scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ctm == "half_pixel":
            xo = (x + f(0.5)) / scale - f(0.5)
        elif ctm == "half_pixel_symmetric":
            adj = f(n_out) / (scale * f(n_in))
            center = f(n_in) / f(2)
            off = center * (f(1) - adj)
            xo = np.float64(off) + (x.astype(np.float64) + 0.5) / np.float64(scale) - 0.5
        elif ctm == "pytorch_half_pixel":
            xo = (x + f(0.5)) / scale - f(0.5) if n_out > 1 else np.zeros(n_out, np.float32)
        elif ctm == "align_corners":
            xo = x * f(n_in - 1) / f(n_out - 1) if n_out > 1 else np.zeros(n_out, np.float32)
        elif ctm == "asymmetric":
            xo = x / scale
        elif ctm == "tf_crop_and_resize":
            if n_out > 1:
                xo = roi_start * f(n_in - 1) + x * (roi_end - roi_start) * f(n_in - 1) / f(n_out - 1)
            else:
                xo = np.full(n_out, f(0.5) * (roi_start + roi_end) * f(n_in - 1), np.float32)
        else:
            raise _Err(f"unknown coordinate_transformation_mode {ctm!r}")
    xo = xo.astype(np.float32)
    outside = (xo < 0) | (xo > n_in - 1) if ctm == "tf_crop_and_resize" else \
        np.zeros(n_out, bool)
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    if mode == "nearest":
        fl = np.floor(xo)
        half = (xo - fl) == f(0.5)
        if nearest_mode == "round_prefer_floor":
            i = np.where(half, fl, np.round(xo))
        elif nearest_mode == "round_prefer_ceil":
            i = np.where(half, fl + 1, np.round(xo))
        elif nearest_mode == "floor":
            i = fl
        elif nearest_mode == "ceil":
            i = np.ceil(xo)
        elif nearest_mode == "simple":      # Upsample and opset-10 Resize
            i = np.ceil(xo) if scale < 1 else fl
        else:
            raise _Err(f"unknown nearest_mode {nearest_mode!r}")
        m[rows, np.clip(i, 0, n_in - 1).astype(np.int64)] = 1.0
    elif mode == "linear":
        xc = np.clip(xo.astype(np.float64), 0, n_in - 1)
        i0 = np.floor(xc).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        w1 = xc - i0
        np.add.at(m, (rows, i0), 1 - w1)
        np.add.at(m, (rows, i1), w1)
    elif mode == "cubic":
        xd = xo.astype(np.float64)
        i0 = np.floor(xd).astype(np.int64)
        t = xd - i0
        A = cubic_a
        for k in range(-1, 3):
            d = np.abs(t - k)
            w = np.where(d <= 1, ((A + 2) * d - (A + 3)) * d * d + 1,
                         np.where(d < 2, ((A * d - 5 * A) * d + 8 * A) * d - 4 * A, 0.0))
            idx = i0 + k
            inside = (idx >= 0) & (idx < n_in)
            if exclude_outside:
                w = np.where(inside, w, 0.0)
            np.add.at(m, (rows, np.clip(idx, 0, n_in - 1)), w)
        if exclude_outside:
            s = m.sum(axis=1, keepdims=True)
            m = np.divide(m, s, out=np.zeros_like(m), where=s != 0)
    else:
        raise _Err(f"unknown mode {mode!r}")
    return m, outside


@_op("Resize", "Upsample")
def _e_resize(node, ins, opset):
    x = _need(ins[0], "X")
    mode, out, scales, ctm, nmode, roi = resize_params(node, x.shape, ins, opset)
    if math.prod(out) > MAX_ELEMENTS or any(o * n > MAX_ELEMENTS // 8 for o, n in zip(out, x.shape)):
        raise _Err(f"output size {list(out)} is too large (at most {MAX_ELEMENTS} elements, "
                   f"and {MAX_ELEMENTS // 8} per axis' output x input interpolation matrix)")
    y = x.astype(np.float64)
    r = x.ndim
    outside_any = None
    for a in range(r):
        if out[a] == x.shape[a] and scales[a] == 1 and ctm != "tf_crop_and_resize":
            continue
        rs = roi[a] if roi is not None else np.float32(0)
        re = roi[r + a] if roi is not None else np.float32(1)
        m, outside = _resize_matrix(x.shape[a], out[a], scales[a], mode, ctm, nmode,
                                    float(_a(node, "cubic_coeff_a", -0.75)),
                                    bool(_a(node, "exclude_outside", 0)), rs, re)
        y = np.moveaxis(np.tensordot(m, y, axes=([1], [a])), 0, a)
        if outside.any():
            shape = [1] * r
            shape[a] = out[a]
            o = outside.reshape(shape)
            outside_any = o if outside_any is None else (outside_any | o)
    if outside_any is not None:
        y = np.where(outside_any, float(_a(node, "extrapolation_value", 0.0)), y)
    if x.dtype.kind != "f":
        y = np.round(y)
    return [y.astype(x.dtype)]


# ---------------------------------------------------------------------------------------------
# public API

def eval_node(node: Node, inputs: list, opset: int = 17) -> list:
    """Evaluates one node on numpy inputs (None for an omitted optional input); returns one
    array per output name (None for an empty output name). Raises ModelError naming the
    node."""
    dom = "" if node.domain in ("", "ai.onnx") else node.domain
    fn = _EVAL.get((dom, node.op_type))
    if fn is None:
        raise ModelError(f"{_node_desc(node)}: op {node.op_type!r}"
                         f"{' in domain ' + repr(dom) if dom else ''} is not supported")
    ins = [None if a is None else np.asarray(a) for a in inputs]
    try:
        outs = fn(node, ins, opset)
    except _Err as e:
        raise ModelError(f"{_node_desc(node)}: {e}") from None
    except (ValueError, TypeError, IndexError) as e:
        raise ModelError(f"{_node_desc(node)}: {e}") from None
    except MemoryError as e:
        raise ModelError(f"{_node_desc(node)}: result too large ({e})") from None
    res = []
    for i, name in enumerate(node.outputs):
        res.append(outs[i] if name and i < len(outs) else None)
    return res


def _check_feed(vi, value):
    arr = np.asarray(value)
    want = DTYPES.get(vi.dtype)
    if want is not None and arr.dtype != want:
        if arr.dtype.kind == want.kind == "f":
            arr = arr.astype(want)
        else:
            raise TypeError(f"input {vi.name!r}: expected dtype {vi.dtype}, got {arr.dtype}")
    if vi.shape is not None:
        ok = len(vi.shape) == arr.ndim and all(
            not isinstance(d, int) or d == s for d, s in zip(vi.shape, arr.shape))
        if not ok:
            raise ValueError(f"input {vi.name!r}: expected shape {vi.shape}, got "
                             f"{list(arr.shape)}")
    return arr


def run_numpy(model: Model, feeds: dict, outputs=None) -> dict:
    """Runs the model in numpy. Returns {name: array} for the graph outputs (or for the tensor
    names in `outputs`, intermediates included)."""
    g = model.graph
    env = dict(g.initializers)
    for vi in g.inputs:
        if vi.name in feeds:
            env[vi.name] = _check_feed(vi, feeds[vi.name])
        elif vi.name not in env:
            raise ValueError(f"input {vi.name!r} is not fed (feeds: {sorted(feeds)})")
    unknown = set(feeds) - {vi.name for vi in g.inputs}
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not inputs of the model (inputs: "
                         f"{[vi.name for vi in g.inputs]})")
    want = [v.name for v in g.outputs] if outputs is None else list(outputs)
    keep = set(want) | set(g.initializers)
    last = {}
    for i, n in enumerate(g.nodes):
        for t in n.inputs:
            last[t] = i
    for i, node in enumerate(g.nodes):
        ins = []
        for t in node.inputs:
            if not t:
                ins.append(None)
            elif t in env:
                ins.append(env[t])
            else:
                raise ModelError(f"{_node_desc(node)}: input {t!r} is not computed before it")
        for t, v in zip(node.outputs, eval_node(node, ins, model.opset)):
            if t:
                env[t] = v
        for t in node.inputs:
            if t and last.get(t) == i and t not in keep:
                env.pop(t, None)
    missing = [t for t in want if t not in env]
    if missing:
        raise ValueError(f"{missing} are not tensors of the model")
    return {t: env[t] for t in want}


# ---------------------------------------------------------------------------------------------
# static analysis: constants, shapes and dtypes

@dataclasses.dataclass
class TensorInfo:
    shape: tuple | None = None      # None: unknown; dims are ints or Sym
    dtype: np.dtype | None = None
    value: np.ndarray | None = None  # set for constants


_SAME = {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh",
         "BatchNormalization", "Softmax", "Identity", "ChannelShuffle", "SqueezeExcite"}
_BROADCAST = {"Add", "Sub", "Mul", "Div"}
# inputs whose values (not only shapes) decide the output shape
_SHAPE_INPUTS = {"Reshape": (1,), "Slice": (1, 2, 3, 4), "Pad": (1, 3), "Split": (1,),
                 "Squeeze": (1,), "Unsqueeze": (1,), "Resize": (2, 3), "Upsample": (1,)}
FOLD_LIMIT = 1 << 24    # constants larger than this many elements are not folded


def _static(shape):
    return shape is not None and all(isinstance(d, (int, np.integer)) for d in shape)


def _infer_node(node, infos, opset):
    """Output (shape, dtype) pairs of a node whose inputs are not all constant."""
    op = node.op_type
    x = infos[0] if infos else None
    if op in _SAME:
        return [(x.shape, x.dtype)]
    if op == "Dropout":
        return [(x.shape, x.dtype), (x.shape, np.dtype(np.bool_))]
    if op == "Cast":
        return [(x.shape, cast_dtype(_a(node, "to")))]
    if x is None or x.shape is None:
        return None
    if op in _BROADCAST:
        b = infos[1]
        if b.shape is None:
            return None
        return [(tuple(np.broadcast_shapes(x.shape, b.shape)), x.dtype)]
    if op in ("Conv", "FusedConv", "ConvTranspose"):
        w = infos[1]
        if w.shape is None:
            return None
        _, win, c_out = conv_geometry(node, x.shape, w.shape, op == "ConvTranspose")
        return [((x.shape[0], c_out) + tuple(win.out), x.dtype)]
    if op == "DeformConv":
        w = infos[1]
        if w.shape is None:
            return None
        win = window_geometry(list(x.shape[2:]), list(w.shape[2:]), _ints(_a(node, "strides")),
                              _ints(_a(node, "dilations")), _ints(_a(node, "pads")), "NOTSET")
        return [((x.shape[0], w.shape[0]) + tuple(win.out), x.dtype)]
    if op == "LocalConv":
        w = infos[1]
        if w.shape is None or len(w.shape) != 6:
            return None
        return [((x.shape[0], w.shape[2], w.shape[0], w.shape[1]), x.dtype)]
    if op in ("MaxPool", "AveragePool"):
        _, win = pool_geometry(node, x.shape)
        shape = tuple(x.shape[:2]) + tuple(win.out)
        return [(shape, x.dtype), (shape, np.dtype(np.int64))]
    if op in ("GlobalAveragePool", "GlobalMaxPool"):
        return [(tuple(x.shape[:2]) + (1,) * (len(x.shape) - 2), x.dtype)]
    if op == "Gemm":
        b = infos[1]
        if b.shape is None:
            return None
        m = x.shape[1] if int(_a(node, "transA", 0)) else x.shape[0]
        n = b.shape[0] if int(_a(node, "transB", 0)) else b.shape[1]
        return [((m, n), x.dtype)]
    if op == "MatMul":
        b = infos[1]
        if b.shape is None:
            return None
        sa, sb = list(x.shape), list(b.shape)
        if len(sa) == 1 or len(sb) == 1:
            return [(np.matmul(np.zeros(sa), np.zeros(sb)).shape, x.dtype)]
        batch = np.broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2]))
        return [(tuple(batch) + (sa[-2], sb[-1]), x.dtype)]
    if op in ("Resize", "Upsample"):
        ins = [None if i is None else i.value for i in infos]
        for k in _SHAPE_INPUTS[op]:
            if k < len(node.inputs) and node.inputs[k] and ins[k] is None:
                return None
        _, out, *_ = resize_params(node, x.shape, ins, opset)
        return [(tuple(out), x.dtype)]
    # cheap data-movement ops: evaluate on zero-stride stand-ins
    for k in _SHAPE_INPUTS.get(op, ()):
        if k < len(infos) and infos[k] is not None and infos[k].value is None:
            return None
    stand = []
    for i in infos:
        if i is None:
            stand.append(None)
        elif i.value is not None:
            stand.append(i.value)
        elif _static(i.shape) and i.dtype is not None:
            stand.append(np.broadcast_to(np.zeros((), i.dtype), i.shape))
        else:
            return None
    outs = eval_node(node, stand, opset)
    return [(None, None) if o is None else (o.shape, o.dtype) for o in outs]


class Sym:
    """A dimension that depends on a symbolic graph input dimension (the batch, typically).
    Two Sym compare equal when they took the same sizes in both probes of analyze(), i.e.
    when they are the same function of the symbolic sizes."""
    __slots__ = ("probes",)

    def __init__(self, probes):
        self.probes = tuple(probes)

    def __eq__(self, other):
        return isinstance(other, Sym) and other.probes == self.probes

    def __hash__(self):
        return hash(("Sym",) + self.probes)

    def __repr__(self):
        return "Sym" + repr(self.probes)


def _analyze_once(model, input_shapes, fold):
    g = model.graph
    info = {}
    for vi in g.inputs:
        shape = input_shapes.get(vi.name)
        info[vi.name] = TensorInfo(shape, DTYPES.get(vi.dtype))
    for name, arr in g.initializers.items():
        info[name] = TensorInfo(tuple(arr.shape), arr.dtype, arr)
    for node in g.nodes:
        ins = [info.get(t) if t else None for t in node.inputs]
        present = all(i is not None for i, t in zip(ins, node.inputs) if t)
        outs = None
        if fold and present and all(i.value is not None for i in ins if i is not None):
            try:
                vals = eval_node(node, [None if i is None else i.value for i in ins],
                                 model.opset)
                if all(v is None or v.size <= FOLD_LIMIT for v in vals):
                    outs = [TensorInfo(None if v is None else tuple(v.shape),
                                       None if v is None else v.dtype, v) for v in vals]
            except ModelError:
                outs = None
        elif fold and node.op_type == "Shape" and ins and ins[0] is not None and \
                _static(ins[0].shape):
            v = shape_value(ins[0].shape, node)
            outs = [TensorInfo(v.shape, v.dtype, v)]
        if outs is None:
            try:
                res = _infer_node(node, ins, model.opset) if present else None
            except (ModelError, _Err, ValueError, TypeError, IndexError):
                res = None
            if res is None:
                outs = [TensorInfo() for _ in node.outputs]
            else:
                outs = []
                for k in range(len(node.outputs)):
                    s, d = res[k] if k < len(res) else (None, None)
                    outs.append(TensorInfo(tuple(s) if _static(s) else None, d))
        for t, o in zip(node.outputs, outs):
            if t:
                info[t] = o
    return info


def analyze(model: Model, fold=True) -> dict:
    """{tensor name: TensorInfo} for every tensor of the graph: values of the constants (with
    fold=True also of every node whose inputs are constants, and of Shape of a static shape),
    shapes and dtypes of the rest.

    Symbolic input dimensions (a str or None in a graph input's shape) are probed: the graph
    is analysed twice with different sizes substituted; dimensions that differ become `Sym`
    (equal when they depend on the symbols the same way). Which elements of a value depend on
    a symbol is tracked per element: Shape marks its Sym dimensions, data movement (Gather,
    Slice, Concat, Reshape, Unsqueeze, ...) moves the marks with the elements, element-wise
    ops merge them by broadcasting, and any other op with a marked input is marked whole. A
    value none of whose elements is marked (and that both probes agree on) is a constant: the
    spatial part of Shape(x) with a symbolic batch, Gather(Shape(x), 2) and the arithmetic on
    it fold; Shape(x)[0] and what is computed from it do not."""
    g = model.graph
    symbols = []
    for vi in g.inputs:
        for d in vi.shape or ():
            if not isinstance(d, (int, np.integer)) and d not in symbols:
                symbols.append(d)

    def shapes(probe):
        out = {}
        for vi in g.inputs:
            if vi.shape is None:
                out[vi.name] = None
            else:
                out[vi.name] = tuple(int(d) if isinstance(d, (int, np.integer)) else
                                     probe[symbols.index(d)] for d in vi.shape)
        return out

    if not symbols:
        return _analyze_once(model, shapes(()), fold)
    n = len(symbols)
    a = _analyze_once(model, shapes([2 + k for k in range(n)]), fold)
    b = _analyze_once(model, shapes([3 + n + k for k in range(n)]), fold)
    merged = {}
    for t in [vi.name for vi in g.inputs] + list(g.initializers):
        ia, ib = a.get(t), b.get(t)
        if ia is not None and ib is not None:
            merged[t] = TensorInfo(_merge_shape(ia.shape, ib.shape), ia.dtype, ia.value)
    # Which elements of each computed value depend on a symbol: None (none), a bool mask of
    # the value's shape, or _ALL (the tensor is not a constant). A value is a constant when
    # none of its elements does and both probes agree on it.
    marks = {vi.name: _ALL for vi in g.inputs if vi.name not in g.initializers}
    for node in g.nodes:
        outs = [t for t in node.outputs if t]
        try:
            out_marks = _symbol_marks(node, marks, a, merged, model.opset)
        except (ModelError, _Err, ValueError, TypeError, IndexError):
            out_marks = [_ALL] * len(node.outputs)
        for t, m in zip(node.outputs, out_marks):
            if not t:
                continue
            ia, ib = a.get(t), b.get(t)
            if ia is None or ib is None:
                continue
            same = ia.value is not None and ib.value is not None and \
                ia.value.shape == ib.value.shape
            if not same or (m is not _ALL and m is not None and m.shape != ia.value.shape):
                m = _ALL
            elif m is None and not np.array_equal(ia.value, ib.value,
                                                  equal_nan=ia.value.dtype.kind == "f"):
                m = _ALL
            if m is not _ALL and m is not None and not m.any():
                m = None
            marks[t] = m
            merged[t] = TensorInfo(_merge_shape(ia.shape, ib.shape), ia.dtype,
                                   ia.value if m is None else None)
        for t in outs:
            marks.setdefault(t, _ALL)
    return merged


def _merge_shape(sa, sb):
    if sa is None or sb is None or len(sa) != len(sb):
        return None
    return tuple(x if x == y else Sym((x, y)) for x, y in zip(sa, sb))


_ALL = object()
# Ops whose output elements are copies of their inputs' elements (at the data positions; the
# other inputs are indices and shapes): the symbol marks move with the data.
_MOVES = {"Gather": (0,), "Slice": (0,), "Squeeze": (0,), "Unsqueeze": (0,), "Reshape": (0,),
          "Flatten": (0,), "Transpose": (0,), "Identity": (0,), "Split": (0,), "Expand": (0,),
          "Tile": (0,), "Concat": None}
# Ops whose output element depends only on the inputs' elements at the same (broadcast) index.
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Min", "Max", "Sum", "Mean", "Neg",
                "Abs", "Floor", "Ceil", "Round", "Sign", "Sqrt", "Reciprocal", "Exp", "Log",
                "Sin", "Cos", "Relu", "Clip", "Cast", "Equal", "Less", "LessOrEqual", "Greater",
                "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where"}


def _symbol_marks(node, marks, probe, merged, opset):
    """The symbol marks (see analyze) of a node's outputs from its inputs' marks."""
    op = node.op_type
    names = [t for t in node.inputs if t]
    ins = [marks.get(t) for t in names]
    if node.domain not in ("", "ai.onnx"):
        return [None if all(m is None for m in ins) else _ALL] * len(node.outputs)
    if op in ("Shape", "Size"):
        info = merged.get(names[0])
        if info is None or info.shape is None:
            return [_ALL]
        sym = tuple(isinstance(d, Sym) for d in info.shape)
        if op == "Size":
            return [np.array(any(sym))]
        return [shape_value(sym, node).astype(bool)]
    if all(m is None for m in ins):
        return [None] * len(node.outputs)
    if any(m is _ALL for m in ins):
        return [_ALL] * len(node.outputs)

    def value(t):
        return probe[t].value if t in probe else None

    if op in _ELEMENTWISE:
        outs = [value(t) for t in node.outputs if t]
        if not outs or outs[0] is None:
            return [_ALL] * len(node.outputs)
        shape = outs[0].shape
        m = np.zeros(shape, bool)
        for t, mk in zip(names, ins):
            if mk is not None:
                m = m | np.broadcast_to(mk, shape)
        return [m]
    if op in _MOVES:
        args = []
        for i, t in enumerate(node.inputs):
            if not t:
                args.append(None)
            elif _is_data(op, i):
                mk, v = marks.get(t), value(t)
                if v is None:
                    return [_ALL] * len(node.outputs)
                args.append(np.zeros(v.shape, bool) if mk is None else mk)
            elif marks.get(t) is not None:   # an index or shape that depends on a symbol
                return [_ALL] * len(node.outputs)
            else:
                args.append(value(t))
        return eval_node(node, args, opset)
    return [_ALL] * len(node.outputs)


def _is_data(op, i):
    pos = _MOVES[op]
    return pos is None or i in pos


# The op families in their own modules register into _EVAL on import.
from . import eval_data, eval_math, eval_nn  # noqa: E402,F401
