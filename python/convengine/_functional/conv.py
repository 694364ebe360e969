"""Convolutions: torch.nn.functional names, arguments, defaults and semantics (NCHW numpy)."""
from __future__ import annotations

import threading

import numpy as np

from .. import _native
from ._checks import as_float32, conv_args

_last = threading.local()


def last_algorithm() -> str | None:
    """The algorithm the most recent convolution on this thread ran ('igemm', 'depthwise', ...)."""
    return getattr(_last, "algorithm", None)


def _record(algo: str) -> None:
    _last.algorithm = algo


def prepare_conv(ndim, input_shape, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                 output_padding=0, transposed=False, algorithm="auto", clamp=(-np.inf, np.inf),
                 activation="none", alpha=0.0, beta=0.0):
    """Validates a convolution and returns it prepared (weights packed once) for inputs of
    `input_shape` (the batch size may differ at run time): call ``.run(x, residual=None)``
    repeatedly. The output is clamp(f(conv + bias + residual)) with f the fused `activation`
    ('none', 'hardswish', 'hardsigmoid' (alpha, beta), 'sigmoid', 'silu', 'tanh',
    'leaky_relu' (alpha))."""
    w = as_float32("weight", weight, (ndim + 2,))
    b = None if bias is None else as_float32("bias", bias, (1,))
    a = conv_args(tuple(input_shape), w, b, ndim, stride, padding, dilation, groups, output_padding, transposed)
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be a str, got {type(algorithm).__name__}")
    algos = ("auto", "fast", *_native.conv_algorithms())
    if algorithm not in algos:
        raise ValueError(f"algorithm must be one of {algos}, got {algorithm!r}")
    return _native.Conv(list(input_shape), w, b, a.groups, a.padded3(a.stride, 1),
                        a.padded3(a.dilation, 1), a.padded3(a.pad_begin, 0),
                        a.padded3(a.pad_end, 0), a.padded3(a.output_padding, 0), transposed,
                        algorithm, float(clamp[0]), float(clamp[1]), activation, float(alpha),
                        float(beta))


def _conv(ndim, input, weight, bias, stride, padding, dilation, groups, output_padding,
          transposed, algorithm):
    x = as_float32("input", input, (ndim + 2,))
    op = prepare_conv(ndim, x.shape, weight, bias, stride, padding, dilation, groups,
                      output_padding, transposed, algorithm)
    y = op.run(x)
    _record(op.algorithm)
    return y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto"):
    """1D convolution (cross-correlation) over (N, C, W)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, 0, False, algorithm)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto"):
    """2D convolution (cross-correlation) over (N, C, H, W).

    padding: int, (pH, pW), ONNX-style (top, left, bottom, right), 'same' or 'valid'.
    groups == C_in with weight (C_in * m, 1, kH, kW) is a depthwise conv with multiplier m.
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, 0, False, algorithm)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm="auto"):
    """3D convolution (cross-correlation) over (N, C, D, H, W)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, 0, False, algorithm)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto"):
    """Transposed 1D convolution; weight (C_in, C_out / groups, kW)."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, output_padding, True,
                 algorithm)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto"):
    """Transposed 2D convolution; weight (C_in, C_out / groups, kH, kW)."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, output_padding, True,
                 algorithm)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto"):
    """Transposed 3D convolution; weight (C_in, C_out / groups, kD, kH, kW)."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, output_padding, True,
                 algorithm)


def convolve2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
               algorithm="auto"):
    """True 2D convolution: the kernel is flipped on both spatial axes before sliding.

    Same arguments as conv2d. For one channel and padding k-1 ('full') it equals
    scipy.signal.convolve2d(x, k, mode='full').
    """
    w = as_float32("weight", weight, (4,))
    return conv2d(input, np.ascontiguousarray(w[:, :, ::-1, ::-1]), bias, stride, padding, dilation,
                  groups, algorithm=algorithm)
