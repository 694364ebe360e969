"""Deformable convolution (torchvision.ops.deform_conv2d) and locally connected convolution.

Both functions validate their arguments here (deform_args / local_args); convengine.reference
checks them with its own code, and the tests require both to accept and refuse alike.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import numpy as np

from .. import _native
from ._checks import _padding, as_float32, check_size, int_tuple, out_sizes


class DeformArgs(NamedTuple):
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
    pad_end: Tuple[int, int]
    out: Tuple[int, int]


class LocalArgs(NamedTuple):
    x: np.ndarray
    weight: np.ndarray
    bias: Optional[np.ndarray]
    stride: Tuple[int, int]
    dilation: Tuple[int, int]
    pad_begin: Tuple[int, int]
    pad_end: Tuple[int, int]
    out: Tuple[int, int]


def _out_size(x, kernel, stride, padding, dilation, op):
    """Output (H, W) of a 2D window op, like conv2d; padding as conv2d accepts it."""
    if any(k < 1 for k in kernel):
        raise ValueError(f"{op}: weight kernel size must be >= 1, got {tuple(kernel)}")
    stride = int_tuple("stride", stride, 2, minimum=1)
    dilation = int_tuple("dilation", dilation, 2, minimum=1)
    pad_begin, pad_end = _padding(padding, x.shape[2:], kernel, dilation, stride, False)
    out = out_sizes(x.shape[2:], kernel, stride, pad_begin, pad_end, dilation, op=op)
    return stride, dilation, pad_begin, pad_end, out


def deform_args(input, offset, weight, bias, stride, padding, dilation, mask) -> DeformArgs:
    """Validates deform_conv2d's arguments (torchvision.ops.deform_conv2d conventions)."""
    x = as_float32("input", input, (4,))
    off = as_float32("offset", offset, (4,))
    w = as_float32("weight", weight, (4,))
    b = None if bias is None else as_float32("bias", bias, (1,))
    m = None if mask is None else as_float32("mask", mask, (4,))
    if any(s < 1 for s in x.shape):
        raise ValueError(f"input must not have an empty dimension, got shape {x.shape}")
    n, c_in = x.shape[:2]
    c_out, cin_g, kh, kw = w.shape
    if c_out < 1 or cin_g < 1:
        raise ValueError(f"weight must have at least one output and one input channel, "
                         f"got weight shape {w.shape}")
    if c_in % cin_g:
        raise ValueError(f"input channels ({c_in}) must be divisible by weight.shape[1] ({cin_g}): "
                         f"weight groups = input channels // weight.shape[1]")
    groups = c_in // cin_g
    if c_out % groups:
        raise ValueError(f"output channels (weight.shape[0] = {c_out}) must be divisible by the "
                         f"weight groups ({groups} = input channels {c_in} // weight.shape[1] {cin_g})")
    stride, dilation, pad_begin, pad_end, out = _out_size(x, (kh, kw), stride, padding, dilation,
                                                          "deform_conv2d")
    taps = kh * kw
    if off.shape[0] != n:
        raise ValueError(f"offset batch size must equal the input's ({n}), got offset shape {off.shape}")
    if off.shape[1] < 2 * taps or off.shape[1] % (2 * taps):
        raise ValueError(f"offset.shape[1] must be a positive multiple of 2 * kh * kw = {2 * taps} "
                         f"(2 * offset_groups * kh * kw), got offset shape {off.shape}")
    offset_groups = off.shape[1] // (2 * taps)
    if c_in % offset_groups:
        raise ValueError(f"input channels ({c_in}) must be divisible by offset_groups "
                         f"({offset_groups} = offset.shape[1] {off.shape[1]} // (2 * {kh} * {kw}))")
    if tuple(off.shape[2:]) != out:
        raise ValueError(f"offset spatial size must equal the output size {out}, "
                         f"got offset shape {off.shape}")
    if m is not None:
        want = (n, offset_groups * taps, *out)
        if m.shape != want:
            raise ValueError(f"mask must have shape {want} (N, offset_groups * kh * kw, H_out, "
                             f"W_out), got {m.shape}")
    if b is not None and b.shape != (c_out,):
        raise ValueError(f"bias must have shape ({c_out},), got {b.shape}")
    check_size("output", (n, c_out, *out))
    check_size("packed weights", (c_out, cin_g * taps + 1))
    return DeformArgs(x, off, w, b, m, groups, offset_groups, stride, dilation, pad_begin, pad_end,
                      out)


def local_args(input, weight, bias, stride, padding, dilation) -> LocalArgs:
    """Validates local_conv2d's arguments."""
    x = as_float32("input", input, (4,))
    w = as_float32("weight", weight, (6,))
    b = None if bias is None else as_float32("bias", bias, (3,))
    if any(s < 1 for s in x.shape):
        raise ValueError(f"input must not have an empty dimension, got shape {x.shape}")
    c_in = x.shape[1]
    out_h, out_w, c_out, w_cin, kh, kw = w.shape
    if c_out < 1:
        raise ValueError(f"weight must have at least one output channel, got weight shape {w.shape}")
    if w_cin != c_in:
        raise ValueError(f"weight.shape[3] must equal the input channels ({c_in}), "
                         f"got weight shape {w.shape} (H_out, W_out, C_out, C_in, kh, kw)")
    stride, dilation, pad_begin, pad_end, out = _out_size(x, (kh, kw), stride, padding, dilation,
                                                          "local_conv2d")
    if (out_h, out_w) != out:
        raise ValueError(f"weight.shape[0:2] must equal the output size {out} (from input "
                         f"{tuple(x.shape[2:])}, kernel {(kh, kw)}, stride {stride}, padding "
                         f"{pad_begin}+{pad_end}, dilation {dilation}), got weight shape {w.shape}")
    if b is not None and b.shape != (c_out, *out):
        raise ValueError(f"bias must have shape {(c_out, *out)} (C_out, H_out, W_out), got {b.shape}")
    check_size("output", (x.shape[0], c_out, *out))
    return LocalArgs(x, w, b, stride, dilation, pad_begin, pad_end, out)


def deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    """Deformable convolution v1 (mask=None) and v2 (with a modulation mask), with
    torchvision.ops.deform_conv2d's arguments and semantics, on NCHW arrays.

    input (N, C_in, H, W); weight (C_out, C_in / groups, kh, kw), groups = C_in // weight.shape[1];
    offset (N, 2 * offset_groups * kh * kw, H_out, W_out), per offset group and tap (row-major)
    the pair (dy, dx); mask (N, offset_groups * kh * kw, H_out, W_out) or None.
    Tap (i, j) of output (oy, ox) samples y = oy * stride_h - pad_h + i * dilation_h + dy (x alike)
    bilinearly; samples with y <= -1, y >= H, x <= -1 or x >= W are 0, corners outside are 0.
    padding: int, (pH, pW), or (top, left, bottom, right).
    """
    a = deform_args(input, offset, weight, bias, stride, padding, dilation, mask)
    return _native.deform_conv2d(a.x, a.offset, a.weight, a.bias, a.mask, a.stride, a.dilation,
                                 a.pad_begin, a.pad_end)


def local_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1):
    """Locally connected 2D convolution (unshared weights, as in DeepFace) on NCHW arrays.

    weight (H_out, W_out, C_out, C_in, kh, kw); bias (C_out, H_out, W_out) or None;
    out[n, o, y, x] = bias[o, y, x] + sum_{c, i, j} weight[y, x, o, c, i, j] *
                      in_padded[n, c, y * stride_h + i * dilation_h, x * stride_w + j * dilation_w].
    padding: int, (pH, pW), or ONNX-style (top, left, bottom, right). H_out and W_out follow
    conv2d's formula and must equal weight.shape[0:2].
    """
    a = local_args(input, weight, bias, stride, padding, dilation)
    return _native.local_conv2d(a.x, a.weight, a.bias, a.stride, a.dilation, a.pad_begin,
                                a.pad_end)
