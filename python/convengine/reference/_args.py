"""Argument checking and output geometry for convengine.reference.

Written apart from the engine's checks (convengine/_functional) and importing nothing from the
engine, so that the reference runs without the compiled extension and a mistake in the engine's
sizes, paddings or checks shows up as a disagreement in the tests instead of being shared.

The rules are those of torch.nn.functional and the ONNX operators:

- arrays: any real floating dtype is computed as float32; other dtypes raise TypeError;
- integer arguments are ints (not bools, not floats); an n-tuple argument may be one int, one
  int in a sequence, or n ints; padding may also be 2n ints (ONNX order: every begin, then
  every end), 'valid', or 'same' (stride 1; total d*(k-1), the odd pixel at the end);
- a window op's output has floor((in + pb + pe - d*(k-1) - 1) / s) + 1 positions, a transposed
  conv's (in - 1)*s - pb - pe + d*(k-1) + output_padding + 1, and neither may be empty;
- the package's size policy: no integer argument above 2^24 in magnitude and no output above
  2^31 elements, so hostile sizes raise ValueError before anything is allocated.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Tuple

import numpy as np

LARGEST_INT = 2 ** 24
LARGEST_OUTPUT = 2 ** 31

INTERPOLATE_MODES = ("nearest", "nearest-exact", "bilinear")


# ---------------------------------------------------------------------------------------------
# Scalars, tuples, arrays

def floats(name: str, a, ranks: Optional[Tuple[int, ...]] = None) -> np.ndarray:
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    arr = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must be a floating-point array (float16, float32 or float64), "
                        f"got dtype {arr.dtype}")
    if ranks is not None and arr.ndim not in ranks:
        raise ValueError(f"{name} must have {' or '.join(str(r) for r in ranks)} dimensions, "
                         f"got {arr.ndim} (shape {arr.shape})")
    return arr.astype(np.float32, order="C", copy=False)


def integer(name: str, v) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
    v = int(v)
    if abs(v) > LARGEST_INT:
        raise ValueError(f"{name} = {v} is out of range: integer arguments are at most "
                         f"{LARGEST_INT} in magnitude")
    return v


def boolean(name: str, v) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(v).__name__} {v!r}")
    return bool(v)


def real(name: str, v) -> float:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__} {v!r}")
    return float(v)


def ints(name: str, v, n: int, at_least: Optional[int] = None) -> Tuple[int, ...]:
    """One int for every axis, or a sequence of 1 or n ints."""
    if isinstance(v, (list, tuple, np.ndarray)):
        got = [integer(name, e) for e in v]
        if len(got) == 1:
            got = got * n
        if len(got) != n:
            raise ValueError(f"{name} must be an int or {n} ints, got {len(got)} values {tuple(v)}")
    else:
        got = [integer(name, v)] * n
    got = tuple(got)
    if at_least is not None and min(got) < at_least:
        raise ValueError(f"{name} must be >= {at_least}, got {got}")
    return got


def output_limit(shape) -> None:
    count = math.prod(int(s) for s in shape)
    if count > LARGEST_OUTPUT:
        raise ValueError(f"the output would have shape {tuple(shape)}: {count} elements, more "
                         f"than the limit of {LARGEST_OUTPUT}")


def no_empty_axis(name: str, shape) -> None:
    if 0 in shape:
        raise ValueError(f"{name} must not have an empty dimension, got shape {tuple(shape)}")


# ---------------------------------------------------------------------------------------------
# Windows: padding forms and output sizes

def window_out(size: int, k: int, s: int, pb: int, pe: int, d: int) -> int:
    return (size + pb + pe - d * (k - 1) - 1) // s + 1


def transposed_out(size: int, k: int, s: int, pb: int, pe: int, d: int, op: int) -> int:
    return (size - 1) * s - pb - pe + d * (k - 1) + op + 1


def pads(padding, n: int, kernel, stride, dilation, transposed: bool = False):
    """(begins, ends) of each spatial axis."""
    if isinstance(padding, str):
        if transposed:
            raise ValueError(f"padding={padding!r} is not supported for transposed convolution "
                             f"(torch has no such form either); give the pads as ints")
        form = padding.lower()
        if form == "valid":
            return (0,) * n, (0,) * n
        if form == "same":
            if set(stride) != {1}:
                raise ValueError(f"padding='same' requires stride 1 (as in torch), "
                                 f"got stride={stride}")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
        raise ValueError(f"padding must be an int, a tuple of ints, 'same' or 'valid', "
                         f"got {padding!r}")
    if isinstance(padding, (list, tuple, np.ndarray)) and len(padding) not in (1, n, 2 * n):
        raise ValueError(f"padding must be an int or {n} ints (both sides of each axis) or "
                         f"{2 * n} ints (every begin, then every end), got {len(padding)} values "
                         f"{tuple(padding)}")
    if isinstance(padding, (list, tuple, np.ndarray)) and len(padding) == 2 * n:
        both = ints("padding", padding, 2 * n, at_least=0)
        return both[:n], both[n:]
    same = ints("padding", padding, n, at_least=0)
    return same, same


def _sizes(op, in_sizes, kernel, stride, begin, end, dilation, output_padding=None):
    out = []
    for axis, size in enumerate(in_sizes):
        if output_padding is None:
            o = window_out(size, kernel[axis], stride[axis], begin[axis], end[axis], dilation[axis])
        else:
            o = transposed_out(size, kernel[axis], stride[axis], begin[axis], end[axis],
                               dilation[axis], output_padding[axis])
        if o < 1:
            raise ValueError(f"{op}: output size along spatial axis {axis} would be {max(o, 0)} "
                             f"(< 1) for input {tuple(in_sizes)}, kernel {tuple(kernel)}, stride "
                             f"{stride}, pads {begin} before and {end} after, dilation {dilation}")
        out.append(o)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Convolutions

class Conv(NamedTuple):
    groups: int
    c_out: int
    stride: Tuple[int, ...]
    dilation: Tuple[int, ...]
    pad_begin: Tuple[int, ...]
    out: Tuple[int, ...]


def conv(x: np.ndarray, w: np.ndarray, b: Optional[np.ndarray], n: int, stride, padding,
         dilation, groups, output_padding, transposed: bool) -> Conv:
    """x (N, C_in, *spatial); w (C_out, C_in / groups, *k), or (C_in, C_out / groups, *k) when
    transposed; b (C_out,) or None."""
    groups = integer("groups", groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    stride = ints("stride", stride, n, at_least=1)
    dilation = ints("dilation", dilation, n, at_least=1)
    no_empty_axis("input", x.shape)
    kernel = w.shape[2:]
    if min(kernel) < 1:
        raise ValueError(f"weight spatial size must be >= 1, got {tuple(kernel)}")
    c_in = x.shape[1]
    if c_in % groups:
        raise ValueError(f"input channels ({c_in}) must be divisible by groups ({groups})")
    if transposed:
        if w.shape[0] != c_in:
            raise ValueError(f"weight.shape[0] must equal the input channels ({c_in}) for a "
                             f"transposed convolution (weight is C_in, C_out / groups, *k), got "
                             f"weight shape {w.shape}")
        c_out = groups * w.shape[1]
    else:
        c_out = w.shape[0]
        if w.shape[1] * groups != c_in:
            raise ValueError(f"weight.shape[1] must be input channels / groups = {c_in} / "
                             f"{groups}, got weight shape {w.shape}")
        if c_out % groups:
            raise ValueError(f"output channels ({c_out}, weight.shape[0]) must be divisible by "
                             f"groups ({groups})")
    if c_out < 1:
        raise ValueError(f"output channels must be >= 1, got weight shape {w.shape}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    begin, end = pads(padding, n, kernel, stride, dilation, transposed)
    op = None
    if transposed:
        op = ints("output_padding", output_padding, n, at_least=0)
        if any(p >= s and p >= d for p, s, d in zip(op, stride, dilation)):
            raise ValueError(f"output_padding must be smaller than stride or dilation, got "
                             f"output_padding={op}, stride={stride}, dilation={dilation}")
    out = _sizes(f"conv_transpose{n}d" if transposed else f"conv{n}d", x.shape[2:], kernel,
                 stride, begin, end, dilation, op)
    output_limit((x.shape[0], c_out) + out)
    return Conv(groups, c_out, stride, dilation, begin, out)


class Deform(NamedTuple):
    x: np.ndarray
    offset: np.ndarray
    weight: np.ndarray
    bias: Optional[np.ndarray]
    mask: Optional[np.ndarray]
    groups: int
    offset_groups: int
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pad_begin: Tuple[int, int]
    out: Tuple[int, int]


def deform(input, offset, weight, bias, stride, padding, dilation, mask) -> Deform:
    """torchvision.ops.deform_conv2d's arguments: groups and offset groups follow from the
    shapes (C_in / weight.shape[1], offset.shape[1] / (2 kh kw))."""
    x = floats("input", input, (4,))
    off = floats("offset", offset, (4,))
    w = floats("weight", weight, (4,))
    b = None if bias is None else floats("bias", bias, (1,))
    m = None if mask is None else floats("mask", mask, (4,))
    no_empty_axis("input", x.shape)
    n, c_in = x.shape[:2]
    c_out, per_group, kh, kw = w.shape
    if min(w.shape) < 1:
        raise ValueError(f"weight must not have an empty dimension, got weight shape {w.shape}")
    if c_in % per_group:
        raise ValueError(f"input channels ({c_in}) must be divisible by weight.shape[1] "
                         f"({per_group}), whose quotient is the number of groups")
    groups = c_in // per_group
    if c_out % groups:
        raise ValueError(f"output channels (weight.shape[0] = {c_out}) must be divisible by the "
                         f"groups ({groups} = {c_in} input channels / weight.shape[1])")
    stride = ints("stride", stride, 2, at_least=1)
    dilation = ints("dilation", dilation, 2, at_least=1)
    begin, end = pads(padding, 2, (kh, kw), stride, dilation)
    out = _sizes("deform_conv2d", x.shape[2:], (kh, kw), stride, begin, end, dilation)
    taps = kh * kw
    if off.shape[0] != n:
        raise ValueError(f"offset batch size must equal the input's ({n}), got offset shape "
                         f"{off.shape}")
    if off.shape[1] == 0 or off.shape[1] % (2 * taps):
        raise ValueError(f"offset.shape[1] must be a positive multiple of 2 * kh * kw = "
                         f"{2 * taps} (a (dy, dx) pair per tap and offset group), got offset "
                         f"shape {off.shape}")
    offset_groups = off.shape[1] // (2 * taps)
    if c_in % offset_groups:
        raise ValueError(f"input channels ({c_in}) must be divisible by offset_groups "
                         f"({offset_groups}, from offset.shape[1] = {off.shape[1]})")
    if off.shape[2:] != out:
        raise ValueError(f"offset spatial size must equal the output size {out}, got offset "
                         f"shape {off.shape}")
    if m is not None and m.shape != (n, offset_groups * taps) + out:
        raise ValueError(f"mask must have shape {(n, offset_groups * taps) + out} (N, "
                         f"offset_groups * kh * kw, H_out, W_out), got {m.shape}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    output_limit((n, c_out) + out)
    return Deform(x, off, w, b, m, groups, offset_groups, stride, dilation, begin, out)


class Local(NamedTuple):
    x: np.ndarray
    weight: np.ndarray
    bias: Optional[np.ndarray]
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pad_begin: Tuple[int, int]


def local(input, weight, bias, stride, padding, dilation) -> Local:
    """weight (H_out, W_out, C_out, C_in, kh, kw), bias (C_out, H_out, W_out)."""
    x = floats("input", input, (4,))
    w = floats("weight", weight, (6,))
    b = None if bias is None else floats("bias", bias, (3,))
    no_empty_axis("input", x.shape)
    c_out, c_in, kh, kw = w.shape[2:]
    if c_out < 1 or kh < 1 or kw < 1:
        raise ValueError(f"weight must have an output channel and a kernel of at least 1 x 1, "
                         f"got weight shape {w.shape}")
    if c_in != x.shape[1]:
        raise ValueError(f"weight.shape[3] must equal the input channels ({x.shape[1]}), got "
                         f"weight shape {w.shape} (H_out, W_out, C_out, C_in, kh, kw)")
    stride = ints("stride", stride, 2, at_least=1)
    dilation = ints("dilation", dilation, 2, at_least=1)
    begin, end = pads(padding, 2, (kh, kw), stride, dilation)
    out = _sizes("local_conv2d", x.shape[2:], (kh, kw), stride, begin, end, dilation)
    if w.shape[:2] != out:
        raise ValueError(f"weight.shape[0:2] must equal the output size {out} (one weight set "
                         f"per output position), got weight shape {w.shape}")
    if b is not None and b.shape != (c_out,) + out:
        raise ValueError(f"bias must have shape {(c_out,) + out} (C_out, H_out, W_out), "
                         f"got {b.shape}")
    output_limit((x.shape[0], c_out) + out)
    return Local(x, w, b, stride, dilation, begin)


# ---------------------------------------------------------------------------------------------
# Other ops

def channel_vector(name: str, a, c: int) -> np.ndarray:
    v = floats(name, a)
    if v.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},), one value per channel, got shape "
                         f"{v.shape}")
    return v


def batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    if boolean("training", training):
        raise ValueError("batch_norm: training=True is not supported; the reference, like the "
                         "engine, normalises with running_mean and running_var")
    real("momentum", momentum)
    eps = real("eps", eps)
    if not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps}")
    x = floats("input", input)
    if x.ndim < 2:
        raise ValueError(f"input must have at least 2 dimensions (N, C, ...), got {x.ndim}")
    c = x.shape[1]
    mean = channel_vector("running_mean", running_mean, c)
    var = channel_vector("running_var", running_var, c)
    w = np.ones(c, np.float32) if weight is None else channel_vector("weight", weight, c)
    b = np.zeros(c, np.float32) if bias is None else channel_vector("bias", bias, c)
    return x, mean, var, w, b, eps


def channel_shuffle(input, groups):
    x = floats("input", input)
    if x.ndim < 3:
        raise ValueError(f"input must have at least 3 dimensions (N, C, *), got {x.ndim}")
    groups = integer("groups", groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if x.shape[1] % groups:
        raise ValueError(f"the channels ({x.shape[1]}) must be divisible by groups ({groups})")
    return x, groups


def image(input) -> Tuple[np.ndarray, bool]:
    """(N, C, H, W), or (C, H, W) taken as a batch of one: the array and whether it was."""
    x = floats("input", input, (3, 4))
    single = x.ndim == 3
    if single:
        x = x[np.newaxis]
    if 0 in x.shape[1:]:
        raise ValueError(f"input must have non-empty channel and spatial dimensions, got shape "
                         f"{x.shape[int(single):]}")
    return x, single


class Pool(NamedTuple):
    x: np.ndarray
    single: bool
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    pad: Tuple[int, int]
    dilation: Tuple[int, int]
    out: Tuple[int, int]


def pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling size: with ceil_mode the last window may start past the input's end
    but not inside the right padding."""
    room = size + 2 * p - d * (k - 1) - 1
    o = (-(-room // s) if ceil_mode else room // s) + 1
    if ceil_mode and (o - 1) * s >= size + p:
        o -= 1
    return o


def pool(op: str, input, kernel_size, stride, padding, dilation, ceil_mode) -> Pool:
    x, single = image(input)
    k = ints("kernel_size", kernel_size, 2, at_least=1)
    if stride is None or (isinstance(stride, (list, tuple)) and not stride):
        s = k
    else:
        s = ints("stride", stride, 2, at_least=1)
    p = ints("padding", padding, 2, at_least=0)
    d = ints("dilation", dilation, 2, at_least=1)
    ceil_mode = boolean("ceil_mode", ceil_mode)
    out = []
    for axis, name in enumerate("HW"):
        extent = d[axis] * (k[axis] - 1) + 1
        if 2 * p[axis] > extent:
            kind = "kernel size" if d[axis] == 1 else "effective kernel size"
            raise ValueError(f"padding must be at most half of the {kind} ({extent // 2} along "
                             f"{name}), got padding={p}, kernel_size={k}, dilation={d}")
        o = pool_out(x.shape[2 + axis], k[axis], s[axis], p[axis], d[axis], ceil_mode)
        if o < 1:
            raise ValueError(f"{op}: output size along {name} would be {max(o, 0)} (< 1) for "
                             f"input {x.shape[2:]}, kernel_size={k}, stride={s}, padding={p}, "
                             f"dilation={d}, ceil_mode={ceil_mode}")
        out.append(o)
    output_limit(x.shape[:2] + tuple(out))
    return Pool(x, single, k, s, p, d, tuple(out))


def max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices) -> Pool:
    if boolean("return_indices", return_indices):
        raise ValueError("max_pool2d: return_indices=True is not supported (inference only)")
    return pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override):
    """The Pool, count_include_pad, and the divisor override (0 for none)."""
    count_include_pad = boolean("count_include_pad", count_include_pad)
    divisor = 0
    if divisor_override is not None:
        divisor = integer("divisor_override", divisor_override)
        if divisor == 0:
            raise ValueError("divisor_override must be a non-zero int or None, got 0")
    return (pool("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode),
            count_include_pad, divisor)


def adaptive_avg_pool2d(input, output_size):
    x, single = image(input)
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or 2 values (H, W; None keeps that "
                             f"size), got {output_size!r}")
        wanted = output_size
    else:
        wanted = (output_size, output_size)
    out = tuple(x.shape[2 + i] if v is None else integer("output_size", v)
                for i, v in enumerate(wanted))
    if min(out) < 1:
        raise ValueError(f"output_size must be >= 1 (or None), got {output_size!r}")
    output_limit(x.shape[:2] + out)
    return x, single, out


def interpolate(input, size, scale_factor, mode, align_corners, recompute_scale_factor,
                antialias):
    """(x, (H_out, W_out), mode, align_corners, (scale_h, scale_w)); a scale is 0.0 where the
    source coordinate is in / out rather than 1 / scale_factor."""
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, got {type(mode).__name__} {mode!r}")
    if mode not in INTERPOLATE_MODES:
        raise ValueError(f"mode {mode!r} is not supported; supported modes are "
                         + ", ".join(repr(m) for m in INTERPOLATE_MODES))
    if boolean("antialias", antialias):
        raise ValueError("antialias=True is not supported")
    if mode == "bilinear":
        align_corners = align_corners is not None and boolean("align_corners", align_corners)
    elif align_corners is not None:
        raise ValueError(f"align_corners can only be set with mode 'bilinear' (an interpolating "
                         f"mode), not with mode {mode!r}")
    recompute = recompute_scale_factor is not None and boolean("recompute_scale_factor",
                                                               recompute_scale_factor)
    x = floats("input", input)
    if x.ndim != 4:
        raise ValueError(f"input must have 4 dimensions (N, C, H, W), got {x.ndim}")
    if 0 in x.shape[1:]:
        raise ValueError(f"input must have non-empty channel and spatial dimensions, got shape "
                         f"{x.shape}")
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined" if size is None else
                         "only one of size or scale_factor should be defined")
    if size is not None:
        if recompute:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size")
        if isinstance(size, (list, tuple, np.ndarray)) and len(size) != 2:
            raise ValueError(f"size must be an int or 2 ints (H, W), got {tuple(size)}")
        out = ints("size", size, 2)
        if min(out) < 1:
            raise ValueError(f"size must be >= 1, got {out}")
        return x, out, mode, align_corners, (0.0, 0.0)
    if isinstance(scale_factor, (list, tuple, np.ndarray)):
        if len(scale_factor) != 2:
            raise ValueError(f"scale_factor must be a number or 2 numbers (H, W), got "
                             f"{tuple(scale_factor)}")
        scales = tuple(real("scale_factor", f) for f in scale_factor)
    else:
        scales = (real("scale_factor", scale_factor),) * 2
    if not all(math.isfinite(f) and f > 0 for f in scales):
        raise ValueError(f"scale_factor must be finite and > 0, got {scales}")
    out = tuple(math.floor(n * f) for n, f in zip(x.shape[2:], scales))
    if min(out) < 1:
        raise ValueError(f"output size would be {out} (< 1) for input size {x.shape[2:]} and "
                         f"scale_factor {scales}")
    output_limit(x.shape[:2] + out)
    return x, out, mode, align_corners, (0.0, 0.0) if recompute else scales


def linear(input, weight, bias):
    x = floats("input", input)
    if x.ndim < 1:
        raise ValueError("input must have at least 1 dimension (..., in_features), got a scalar")
    w = floats("weight", weight, (2,))
    if w.shape[1] != x.shape[-1]:
        raise ValueError(f"weight must have shape (out_features, {x.shape[-1]}) for an input "
                         f"whose last dimension is {x.shape[-1]}, got weight shape {w.shape}")
    b = np.zeros(w.shape[0], np.float32) if bias is None else floats("bias", bias)
    if b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},) (out_features), got {b.shape}")
    output_limit(x.shape[:-1] + (w.shape[0],))
    return x, w, b


def unary(input, inplace) -> np.ndarray:
    boolean("inplace", inplace)
    return floats("input", input)
