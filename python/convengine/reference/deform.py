"""Reference deform_conv2d and local_conv2d with the signatures of convengine.functional:
arguments checked by _args, computed by the Cython loops of _ref_deform."""
from __future__ import annotations

from . import _args, _ref_deform


def deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    """See convengine.functional.deform_conv2d."""
    a = _args.deform(input, offset, weight, bias, stride, padding, dilation, mask)
    # Trailing pads only set the output size (a.out); sampling positions use the leading pads.
    return _ref_deform.deform_conv2d(a.x, a.offset, a.weight, a.bias, a.mask, a.groups,
                                     a.offset_groups, a.stride[0], a.stride[1], a.pad_begin[0],
                                     a.pad_begin[1], a.dilation[0], a.dilation[1], a.out[0],
                                     a.out[1])


def local_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1):
    """See convengine.functional.local_conv2d."""
    a = _args.local(input, weight, bias, stride, padding, dilation)
    return _ref_deform.local_conv2d(a.x, a.weight, a.bias, a.stride[0], a.stride[1],
                                    a.pad_begin[0], a.pad_begin[1], a.dilation[0], a.dilation[1])
