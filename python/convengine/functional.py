"""Functional ops on NCHW float32 numpy arrays, named and behaving like torch.nn.functional.

Arrays of other floating dtypes are converted to float32; non-floating arrays raise TypeError.
Every convolution takes a keyword-only ``algorithm`` ('auto' or one of
``convengine._native.conv_algorithms()``) and ``last_algorithm()`` tells which one ran.
"""
from ._functional.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                               conv_transpose3d, convolve2d, last_algorithm)
from ._functional.deform import deform_conv2d, local_conv2d
from ._functional.ops import (adaptive_avg_pool2d, avg_pool2d, batch_norm, channel_shuffle,
                              hardsigmoid, hardswish, interpolate, linear, max_pool2d, relu,
                              relu6, sigmoid, silu)

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "convolve2d", "deform_conv2d", "local_conv2d", "channel_shuffle", "batch_norm", "relu",
    "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "interpolate", "linear", "last_algorithm",
]
