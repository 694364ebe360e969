"""Non-convolution ops with torch.nn.functional names, arguments, defaults and semantics.

Arrays are NCHW numpy arrays (any real floating dtype, converted to float32); results are new
float32 arrays. Each op validates its arguments in a ``_*_args`` helper below (the reference
checks the same rules with its own code, reference/_args.py), then calls the engine op (``convengine._native``), which computes channels-innermost (NHWC) with the GIL
released.

Element-wise ops and ``inplace``: with ``inplace=True`` and an input that is a writable float32
ndarray, the result is written into that array and the array is returned (as torch does; a
non-contiguous view is computed into a contiguous copy and written back through the view). For
any other input (another dtype, a read-only array, a list) there is no float32 memory to write
into, so a new array is returned and the input is left unchanged.
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import numpy as np

from .. import _native
from .._graph.rules import span, window_out
from ._checks import as_float32, check_int, check_size, int_tuple

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "channel_shuffle", "hardsigmoid",
           "hardswish", "interpolate", "linear", "max_pool2d", "relu", "relu6", "sigmoid", "silu"]

INTERPOLATE_MODES = ("nearest", "nearest-exact", "bilinear")


# ---------------------------------------------------------------------------------------------
# Small argument checks

def _bool(name: str, v) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__} {v!r}")
    return bool(v)


def _real(name: str, v) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__} {v!r}")
    return float(v)


def _channel_vector(name: str, a, channels: int) -> np.ndarray:
    v = as_float32(name, a)
    if v.shape != (channels,):
        raise ValueError(f"{name} must have shape ({channels},) (one value per input channel), "
                         f"got shape {v.shape}")
    return v


def _batched4(name: str, input) -> Tuple[np.ndarray, bool]:
    """(N, C, H, W) or unbatched (C, H, W) as torch accepts; returns the 4D array and whether a
    batch axis was added. C, H and W must be non-empty; N may be 0."""
    x = as_float32(name, input, (3, 4))
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    if any(s < 1 for s in x.shape[1:]):
        raise ValueError(f"{name} must have non-empty channel and spatial dimensions, "
                         f"got shape {tuple(input.shape) if hasattr(input, 'shape') else x.shape}")
    return x, unbatched


def _finish4(y: np.ndarray, unbatched: bool) -> np.ndarray:
    return y[0] if unbatched else y


# ---------------------------------------------------------------------------------------------
# Element-wise activations

def _unary_args(input, inplace):
    """Returns (x, write_into_input, write_back): write_back is the non-contiguous writable
    float32 view the result is copied into."""
    inplace = _bool("inplace", inplace)
    if (inplace and isinstance(input, np.ndarray) and input.dtype == np.float32
            and input.flags.writeable):
        if input.flags.c_contiguous:
            return input, True, None
        if _self_overlapping(input):   # torch refuses this too
            raise ValueError("inplace=True needs an input whose elements do not overlap "
                             f"(strides {input.strides}, a broadcast view?); pass a copy")
        return as_float32("input", input), False, input
    return as_float32("input", input), False, None


def _unary(kind: str, input, inplace: bool):
    x, into_input, write_back = _unary_args(input, inplace)
    out = x if into_input else np.empty(x.shape, np.float32)
    _native.unary(kind, x, out)
    if write_back is not None:
        write_back[...] = out
        return write_back
    return out


def _self_overlapping(a: np.ndarray) -> bool:
    """True when two elements of `a` share memory (a stride-0 broadcast view)."""
    return any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape))


def relu(input, inplace=False):
    """max(x, 0) element-wise; NaN propagates. See the module docstring for ``inplace``."""
    return _unary("relu", input, inplace)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) element-wise; NaN propagates."""
    return _unary("relu6", input, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 element-wise."""
    return _unary("hardswish", input, inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6 element-wise."""
    return _unary("hardsigmoid", input, inplace)


def sigmoid(input):
    """1 / (1 + exp(-x)) element-wise (torch.sigmoid). Max relative error 2.7e-7 (~2 ulp,
    measured over every float32 in [-87.33, 88]); results below 2^-126 (x < -87.33) are
    returned as 0; NaN propagates."""
    return _unary("sigmoid", input, False)


def silu(input, inplace=False):
    """x * sigmoid(x) element-wise (swish). Max relative error 3.1e-7; for x < -87.33, where
    |silu(x)| < 1.1e-36, returns -0."""
    return _unary("silu", input, inplace)


# ---------------------------------------------------------------------------------------------
# Batch norm (inference)

def _batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum, eps):
    if _bool("training", training):
        raise ValueError("batch_norm: training=True is not supported: convengine is inference-only "
                         "and normalises with running_mean / running_var (training=False)")
    _real("momentum", momentum)  # unused in inference, checked for its type like torch
    eps = _real("eps", eps)
    if not (eps >= 0.0 and math.isfinite(eps)):
        raise ValueError(f"eps must be a finite number >= 0, got {eps}")
    x = as_float32("input", input)
    if x.ndim < 2:
        raise ValueError(f"input must have at least 2 dimensions (N, C, ...), got {x.ndim} "
                         f"(shape {x.shape})")
    c = x.shape[1]
    mean = _channel_vector("running_mean", running_mean, c)
    var = _channel_vector("running_var", running_var, c)
    w = None if weight is None else _channel_vector("weight", weight, c)
    b = None if bias is None else _channel_vector("bias", bias, c)
    return x, mean, var, w, b, eps


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(x - running_mean) / sqrt(running_var + eps) * weight + bias over channel axis 1, any rank
    >= 2. Inference only: training=True raises ValueError; momentum is ignored."""
    x, mean, var, w, b, eps = _batch_norm_args(input, running_mean, running_var, weight, bias,
                                               training, momentum, eps)
    if x.size == 0:
        return x.copy()
    return _native.batch_norm(x, mean, var, w, b, eps)


# ---------------------------------------------------------------------------------------------
# Channel shuffle

def _channel_shuffle_args(input, groups):
    x = as_float32("input", input)
    if x.ndim < 3:
        raise ValueError(f"input must have at least 3 dimensions (N, C, *), got {x.ndim} "
                         f"(shape {x.shape})")
    groups = check_int("groups", groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if x.shape[1] % groups:
        raise ValueError(f"the number of channels ({x.shape[1]}) must be divisible by groups "
                         f"({groups})")
    return x, groups


def channel_shuffle(input, groups):
    """Channels viewed as (groups, C / groups), transposed and flattened (ShuffleNet)."""
    x, groups = _channel_shuffle_args(input, groups)
    if x.size == 0:
        return x.copy()
    return _native.channel_shuffle(x, groups)


# ---------------------------------------------------------------------------------------------
# Pooling

def _pool_args(op: str, input, kernel_size, stride, padding, dilation, ceil_mode):
    x, unbatched = _batched4("input", input)
    k = int_tuple("kernel_size", kernel_size, 2, minimum=1)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        s = k
    else:
        s = int_tuple("stride", stride, 2, minimum=1)
    p = int_tuple("padding", padding, 2, minimum=0)
    d = int_tuple("dilation", dilation, 2, minimum=1)
    ceil_mode = _bool("ceil_mode", ceil_mode)
    out = []
    for i, axis in enumerate("HW"):
        half = span(k[i], d[i]) // 2
        if p[i] > half:
            what = "effective kernel size" if d[i] > 1 else "kernel size"
            raise ValueError(f"padding must be at most half of the {what} ({half} along {axis}), "
                             f"got padding={p}, kernel_size={k}, dilation={d}")
        o = window_out(x.shape[2 + i], span(k[i], d[i]), s[i], p[i], p[i], ceil_mode)
        if o < 1:
            raise ValueError(f"{op}: output size along {axis} would be {o} (< 1): input "
                             f"{x.shape[2:]}, kernel_size={k}, stride={s}, padding={p}, "
                             f"dilation={d}, ceil_mode={ceil_mode}")
        out.append(o)
    check_size("output", (x.shape[0], x.shape[1], *out))
    return x, unbatched, k, s, p, d, ceil_mode, tuple(out)


def _max_pool2d_args(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    if _bool("return_indices", return_indices):
        raise ValueError("max_pool2d: return_indices=True is not supported (convengine is "
                         "inference-only); use return_indices=False")
    return _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over (dilated) windows of (N, C, H, W) or (C, H, W). Padding is implicit -inf (never
    selected), at most half the effective kernel; stride defaults to kernel_size; with ceil_mode
    a last window starting inside the right padding is dropped. NaN propagates."""
    x, unbatched, k, s, p, d, ceil_mode, out = _max_pool2d_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    if x.shape[0] == 0:
        return _finish4(np.zeros((0, x.shape[1], *out), np.float32), unbatched)
    y = _native.pool2d(x, True, k, s, p, d, ceil_mode, True, 0)
    return _finish4(y, unbatched)


def _avg_pool2d_args(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override):
    count_include_pad = _bool("count_include_pad", count_include_pad)
    if divisor_override is not None:
        divisor_override = check_int("divisor_override", divisor_override)
        if divisor_override == 0:
            raise ValueError("divisor_override must be a non-zero int (or None), got 0")
    r = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    return (*r, count_include_pad, divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over windows of (N, C, H, W) or (C, H, W), with torch's divisor: divisor_override if
    given, else the window size clipped to the padded input (count_include_pad=True; a ceil_mode
    window hanging past the padding counts only up to it) or the number of real input elements
    (count_include_pad=False)."""
    x, unbatched, k, s, p, _, ceil_mode, out, cip, div = _avg_pool2d_args(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    if x.shape[0] == 0:
        return _finish4(np.zeros((0, x.shape[1], *out), np.float32), unbatched)
    y = _native.pool2d(x, False, k, s, p, (1, 1), ceil_mode, cip, div or 0)
    return _finish4(y, unbatched)


def _adaptive_args(input, output_size):
    x, unbatched = _batched4("input", input)
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or 2 values (H, W), got {output_size!r}")
        sizes = list(output_size)
    else:
        sizes = [output_size, output_size]
    out = []
    for i, v in enumerate(sizes):
        v = x.shape[2 + i] if v is None else check_int("output_size", v)
        if v < 1:
            raise ValueError(f"output_size must be >= 1 (or None to keep the input size), "
                             f"got {output_size!r}")
        out.append(v)
    check_size("output", (x.shape[0], x.shape[1], *out))
    return x, unbatched, tuple(out)


def adaptive_avg_pool2d(input, output_size):
    """Output cell (i, j) is the mean of input rows [floor(i*H/oh), ceil((i+1)*H/oh)) and the
    same for columns. output_size: int, or (oh, ow) where None keeps that input size.
    1x1 is the global average pool."""
    x, unbatched, out = _adaptive_args(input, output_size)
    if x.shape[0] == 0:
        return _finish4(np.zeros((0, x.shape[1], *out), np.float32), unbatched)
    return _finish4(_native.adaptive_avg_pool2d(x, out[0], out[1]), unbatched)


# ---------------------------------------------------------------------------------------------
# Interpolate

def _interpolate_args(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                      antialias):
    """Returns (x, (oh, ow), mode, align_corners, (scale_h, scale_w)) where a scale is 0.0 when
    the source coordinate uses in / out (size given or recompute_scale_factor=True)."""
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, got {type(mode).__name__} {mode!r}")
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"mode {mode!r} is not supported; supported modes are "
                         f"{', '.join(repr(m) for m in INTERPOLATE_MODES)}")
    if _bool("antialias", antialias):
        raise ValueError("antialias=True is not supported; supported: antialias=False with modes "
                         f"{', '.join(repr(m) for m in INTERPOLATE_MODES)}")
    if mode == "bilinear":
        align_corners = False if align_corners is None else _bool("align_corners", align_corners)
    elif align_corners is not None:
        raise ValueError(f"align_corners can only be set with mode 'bilinear' (as in torch, for the "
                         f"interpolating modes), got align_corners={align_corners!r} with "
                         f"mode {mode!r}")
    if recompute_scale_factor is not None:
        recompute_scale_factor = _bool("recompute_scale_factor", recompute_scale_factor)
    x = as_float32("input", input)
    if x.ndim != 4:
        raise ValueError(f"input must have 4 dimensions (N, C, H, W) for modes "
                         f"{', '.join(repr(m) for m in INTERPOLATE_MODES)}, got {x.ndim} "
                         f"(shape {x.shape})")
    if any(s < 1 for s in x.shape[1:]):
        raise ValueError(f"input must have non-empty channel and spatial dimensions, got shape {x.shape}")
    in_hw = x.shape[2:]
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size")
        if isinstance(size, (list, tuple, np.ndarray)):
            if len(size) != 2:
                raise ValueError(f"size must be an int or 2 ints (H, W) for a 4D input, got {tuple(size)}")
            out = tuple(check_int("size", v) for v in size)
        else:
            out = (check_int("size", size),) * 2
        if any(o < 1 for o in out):
            raise ValueError(f"size must be >= 1, got {out}")
        scales = (0.0, 0.0)
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple, np.ndarray)):
            if len(scale_factor) != 2:
                raise ValueError(f"scale_factor must be a number or 2 numbers (H, W) for a 4D "
                                 f"input, got {tuple(scale_factor)}")
            sf = tuple(_real("scale_factor", v) for v in scale_factor)
        else:
            sf = (_real("scale_factor", scale_factor),) * 2
        if not all(math.isfinite(v) and v > 0 for v in sf):
            raise ValueError(f"scale_factor must be finite and > 0, got {sf}")
        out = tuple(int(math.floor(float(n) * f)) for n, f in zip(in_hw, sf))
        if any(o < 1 for o in out):
            raise ValueError(f"output size would be {out} (< 1): input size {tuple(in_hw)}, "
                             f"scale_factor {sf}")
        # torch uses 1 / scale_factor for the source coordinate unless recomputing it from sizes.
        scales = (0.0, 0.0) if recompute_scale_factor else sf
    else:
        raise ValueError("either size or scale_factor should be defined")
    check_size("output", (x.shape[0], x.shape[1], *out))
    return x, out, mode, align_corners, scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resizes (N, C, H, W) with mode 'nearest', 'nearest-exact' or 'bilinear', following torch's
    coordinate rules exactly (float32 index arithmetic; scale_factor, when given and not
    recomputed, sets the source step to 1 / scale_factor). Other modes and antialias=True raise
    ValueError."""
    x, out, mode, ac, scales = _interpolate_args(input, size, scale_factor, mode, align_corners,
                                                 recompute_scale_factor, antialias)
    if x.shape[0] == 0:
        return np.zeros((0, x.shape[1], *out), np.float32)
    return _native.interpolate(x, out[0], out[1], mode, bool(ac), scales[0], scales[1])


# ---------------------------------------------------------------------------------------------
# Linear

def _linear_args(input, weight, bias):
    x = as_float32("input", input)
    if np.ndim(input) < 1:
        raise ValueError("input must have at least 1 dimension (..., in_features), got a scalar")
    w = as_float32("weight", weight, (2,))
    in_f = x.shape[-1]
    if w.shape[1] != in_f:
        raise ValueError(f"weight must have shape (out_features, {in_f}) to match the input's last "
                         f"dimension (in_features = {in_f}), got weight shape {w.shape}")
    b = None
    if bias is not None:
        b = as_float32("bias", bias)
        if b.shape != (w.shape[0],):
            raise ValueError(f"bias must have shape ({w.shape[0]},) (out_features), got {b.shape}")
    check_size("output", (*x.shape[:-1], w.shape[0]))
    check_size("packed weights", (w.shape[0] + 16, in_f + 1))
    return x, w, b


def linear(input, weight, bias=None):
    """input @ weight.T + bias, input (..., in_features), weight (out_features, in_features).
    Runs as a 1x1 convolution (rows as pixels) on the engine's packed GEMM kernel."""
    x, w, b = _linear_args(input, weight, bias)
    lead, in_f, out_f = x.shape[:-1], x.shape[-1], w.shape[0]
    rows = int(np.prod(lead, dtype=np.int64))
    if rows == 0 or out_f == 0 or in_f == 0:  # empty product: bias (or zeros), like torch
        y = np.zeros((*lead, out_f), np.float32)
        if b is not None:
            y += b
        return y
    return _native.linear(x.reshape(rows, in_f), w, b).reshape(*lead, out_f)
