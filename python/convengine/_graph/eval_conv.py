"""numpy reference (ONNX semantics) of the convolution family, registered into the
interpreter's op table (eval_registry.py): Conv, ConvTranspose, FusedConv, DeformConv,
LocalConv and SqueezeExcite.

The geometry (auto_pad, asymmetric pads, output_shape, output_padding) comes from rules.py; the
arithmetic is the Cython reference's (convengine.reference), which accumulates in float64.
"""
from __future__ import annotations

import numpy as np

from ..model import CUSTOM_DOMAIN
from .eval_math import _hardsigmoid, _sigmoid, apply_activation, epilogue_attrs
from .eval_registry import _float_input, _need, _op
from .rules import _a, _Err, _in, _ints, conv_geometry


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
    return [apply_activation(y, *epilogue_attrs(node))]


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
    h = apply_activation(h, *epilogue_attrs(node))
    g = (h.astype(np.float64) @ w2.astype(np.float64).T + b2).astype(x.dtype)
    gate = _a(node, "gate", "sigmoid")
    if gate == "sigmoid":
        g = _sigmoid(g)
    elif gate == "hardsigmoid":
        g = _hardsigmoid(g, float(_a(node, "gate_alpha", 0.2)), float(_a(node, "gate_beta", 0.5)))
    else:
        raise _Err(f"unknown gate {gate!r} (sigmoid or hardsigmoid)")
    return [x * g.reshape(g.shape + (1,) * (x.ndim - 2))]
