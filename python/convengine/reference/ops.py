"""Reference (Cython, _ref_ops.pyx) of the non-convolution ops: the same names, signatures and
argument checking as convengine.functional (the ``_*_args`` helpers of
convengine/_functional/ops.py), then plain loops on NCHW with float64 accumulation.
Results are always new float32 arrays (``inplace`` is validated and otherwise ignored)."""
from __future__ import annotations

import numpy as np

from .._functional.ops import (_adaptive_args, _avg_pool2d_args, _batch_norm_args,
                               _channel_shuffle_args, _finish4, _interpolate_args, _linear_args,
                               _max_pool2d_args, _unary_args)
from . import _ref_ops as _ref

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "channel_shuffle", "hardsigmoid",
           "hardswish", "interpolate", "linear", "max_pool2d", "relu", "relu6", "sigmoid", "silu"]


def _unary(kind, input, inplace):
    x, _ = _unary_args(input, inplace)
    return _ref.unary(kind, np.ascontiguousarray(x).reshape(-1)).reshape(x.shape)


def relu(input, inplace=False):
    return _unary("relu", input, inplace)


def relu6(input, inplace=False):
    return _unary("relu6", input, inplace)


def hardswish(input, inplace=False):
    return _unary("hardswish", input, inplace)


def hardsigmoid(input, inplace=False):
    return _unary("hardsigmoid", input, inplace)


def sigmoid(input):
    return _unary("sigmoid", input, False)


def silu(input, inplace=False):
    return _unary("silu", input, inplace)


def _ncp(x):
    """(N, C, *spatial) as (N, C, P)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    x, mean, var, w, b, eps = _batch_norm_args(input, running_mean, running_var, weight, bias,
                                               training, momentum, eps)
    c = x.shape[1]
    w = np.ones(c, np.float32) if w is None else w
    b = np.zeros(c, np.float32) if b is None else b
    return _ref.batch_norm(_ncp(x), mean, var, w, b, eps).reshape(x.shape)


def channel_shuffle(input, groups):
    x, groups = _channel_shuffle_args(input, groups)
    return _ref.channel_shuffle(_ncp(x), groups).reshape(x.shape)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    x, unbatched, k, s, p, d, _, out = _max_pool2d_args(input, kernel_size, stride, padding,
                                                        dilation, ceil_mode, return_indices)
    y = _ref.max_pool2d(x, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], out[0], out[1])
    return _finish4(y, unbatched)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    x, unbatched, k, s, p, _, _, out, cip, div = _avg_pool2d_args(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    y = _ref.avg_pool2d(x, k[0], k[1], s[0], s[1], p[0], p[1], out[0], out[1], cip, div or 0)
    return _finish4(y, unbatched)


def adaptive_avg_pool2d(input, output_size):
    x, unbatched, out = _adaptive_args(input, output_size)
    return _finish4(_ref.adaptive_avg_pool2d(x, out[0], out[1]), unbatched)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    x, out, mode, ac, scales = _interpolate_args(input, size, scale_factor, mode, align_corners,
                                                 recompute_scale_factor, antialias)
    return _ref.interpolate(x, out[0], out[1], mode, bool(ac), scales[0], scales[1])


def linear(input, weight, bias=None):
    x, w, b = _linear_args(input, weight, bias)
    lead, in_f, out_f = x.shape[:-1], x.shape[-1], w.shape[0]
    rows = int(np.prod(lead, dtype=np.int64))
    b = np.zeros(out_f, np.float32) if b is None else b
    y = _ref.linear(np.ascontiguousarray(x.reshape(rows, in_f)), w, b)
    return y.reshape(*lead, out_f)
