"""Reference convolutions with the signatures of convengine.functional: arguments checked by
_args, computed by the Cython loops of _ref_conv on NCDHW (1D and 2D get unit axes)."""
import numpy as np

from . import _args, _ref_conv


def _run(n, input, weight, bias, stride, padding, dilation, groups, output_padding, transposed):
    x = _args.floats("input", input, (n + 2,))
    w = _args.floats("weight", weight, (n + 2,))
    b = None if bias is None else _args.floats("bias", bias, (1,))
    a = _args.conv(x, w, b, n, stride, padding, dilation, groups, output_padding, transposed)
    lift = lambda t, fill: (fill,) * (3 - n) + tuple(t)
    as5 = lambda t: np.ascontiguousarray(t.reshape(t.shape[:2] + lift(t.shape[2:], 1)))
    fn = _ref_conv.conv_transpose3d if transposed else _ref_conv.conv3d
    y = fn(as5(x), as5(w), b, a.groups, lift(a.stride, 1), lift(a.dilation, 1),
           lift(a.pad_begin, 0), lift(a.out, 1))
    return y.reshape((x.shape[0], a.c_out) + a.out)


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
    w = _args.floats("weight", weight, (4,))
    return conv2d(input, np.ascontiguousarray(np.flip(w, axis=(2, 3))), bias, stride, padding,
                  dilation, groups)
