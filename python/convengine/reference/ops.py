"""Reference (Cython, _ref_ops.pyx) of the non-convolution ops: the names, signatures and
argument rules of convengine.functional, checked by _args, then plain loops on NCHW with
float64 accumulation. Results are always new float32 arrays (``inplace`` is validated and
otherwise ignored)."""
from __future__ import annotations

import numpy as np

from . import _args
from . import _ref_ops as _ref

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "channel_shuffle", "hardsigmoid",
           "hardswish", "interpolate", "linear", "max_pool2d", "relu", "relu6", "sigmoid", "silu"]


def _unary(kind, input, inplace):
    x = _args.unary(input, inplace)
    return _ref.unary(kind, x.reshape(-1)).reshape(x.shape)


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
    return x.reshape(x.shape[:2] + (int(np.prod(x.shape[2:])),))


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    x, mean, var, w, b, eps = _args.batch_norm(input, running_mean, running_var, weight, bias,
                                               training, momentum, eps)
    return _ref.batch_norm(_ncp(x), mean, var, w, b, eps).reshape(x.shape)


def channel_shuffle(input, groups):
    x, groups = _args.channel_shuffle(input, groups)
    return _ref.channel_shuffle(_ncp(x), groups).reshape(x.shape)


def _one_image_back(y, single):
    return y[0] if single else y


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    a = _args.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = a.kernel, a.stride, a.pad, a.dilation
    y = _ref.max_pool2d(a.x, kh, kw, sh, sw, ph, pw, dh, dw, a.out[0], a.out[1])
    return _one_image_back(y, a.single)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    a, count_include_pad, divisor = _args.avg_pool2d(input, kernel_size, stride, padding,
                                                     ceil_mode, count_include_pad,
                                                     divisor_override)
    (kh, kw), (sh, sw), (ph, pw) = a.kernel, a.stride, a.pad
    y = _ref.avg_pool2d(a.x, kh, kw, sh, sw, ph, pw, a.out[0], a.out[1], count_include_pad,
                        divisor)
    return _one_image_back(y, a.single)


def adaptive_avg_pool2d(input, output_size):
    x, single, out = _args.adaptive_avg_pool2d(input, output_size)
    return _one_image_back(_ref.adaptive_avg_pool2d(x, out[0], out[1]), single)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    x, out, mode, ac, scales = _args.interpolate(input, size, scale_factor, mode, align_corners,
                                                 recompute_scale_factor, antialias)
    return _ref.interpolate(x, out[0], out[1], mode, ac, scales[0], scales[1])


def linear(input, weight, bias=None):
    x, w, b = _args.linear(input, weight, bias)
    lead, in_f, out_f = x.shape[:-1], x.shape[-1], w.shape[0]
    rows = int(np.prod(lead, dtype=np.int64))
    y = _ref.linear(np.ascontiguousarray(x.reshape(rows, in_f)), w, b)
    return y.reshape(*lead, out_f)
