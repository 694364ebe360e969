"""Reference convolutions with the signatures of convengine.functional."""
import numpy as np

from .._functional._checks import as_float32, conv_args
from . import _ref_conv


def _run(ndim, input, weight, bias, stride, padding, dilation, groups, output_padding, transposed):
    x = as_float32("input", input, (ndim + 2,))
    w = as_float32("weight", weight, (ndim + 2,))
    b = None if bias is None else as_float32("bias", bias, (1,))
    a = conv_args(x.shape, w, b, ndim, stride, padding, dilation, groups, output_padding, transposed)
    to5 = lambda t: np.ascontiguousarray(t.reshape(t.shape[:2] + (1,) * (3 - ndim) + t.shape[2:]))
    fn = _ref_conv.conv_transpose3d if transposed else _ref_conv.conv3d
    y = fn(to5(x), to5(w), b, a.groups, a.padded3(a.stride, 1), a.padded3(a.dilation, 1),
           a.padded3(a.pad_begin, 0), a.padded3(a.out_spatial, 1))
    return y.reshape((x.shape[0], a.c_out) + a.out_spatial)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _run(1, input, weight, bias, stride, padding, dilation, groups, 0, False)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _run(2, input, weight, bias, stride, padding, dilation, groups, 0, False)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _run(3, input, weight, bias, stride, padding, dilation, groups, 0, False)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _run(1, input, weight, bias, stride, padding, dilation, groups, output_padding, True)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _run(2, input, weight, bias, stride, padding, dilation, groups, output_padding, True)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _run(3, input, weight, bias, stride, padding, dilation, groups, output_padding, True)


def convolve2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """True convolution, written out rather than derived: flip both spatial axes, then correlate."""
    w = as_float32("weight", weight, (4,))
    return conv2d(input, np.ascontiguousarray(np.flip(w, axis=(2, 3))), bias, stride, padding,
                  dilation, groups)
