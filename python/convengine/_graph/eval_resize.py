"""numpy reference (ONNX semantics, onnxruntime's arithmetic) of Resize and Upsample, registered
into the interpreter's op table (eval_registry.py). Output sizes, coordinate transformations
and the per-axis taps come from rules_resize.py (the planner builds its tables from the same taps);
here each resized axis is a dense (output x input) matrix applied in float64."""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from .eval_registry import _need, _op
from .rules import _a, _Err
from .rules_resize import resize_params, resize_taps


def _axis_matrix(n_in, idx, w):
    """The (output x input) float64 matrix of one axis' taps."""
    m = np.zeros((idx.shape[0], n_in))
    np.add.at(m, (np.arange(idx.shape[0])[:, None], idx), w)
    return m


@_op("Resize", "Upsample")
def _e_resize(node, ins, opset):
    x = _need(ins[0], "X")
    p = resize_params(node, x.shape, ins, opset)
    out = p.out
    if math.prod(out) > MAX_ELEMENTS or any(o * n > MAX_ELEMENTS // 8 for o, n in zip(out, x.shape)):
        raise _Err(f"output size {list(out)} is too large (at most {MAX_ELEMENTS} elements, "
                   f"and {MAX_ELEMENTS // 8} per axis' output x input interpolation matrix)")
    y = x.astype(np.float64)
    r = x.ndim
    outside_any = None
    crop = p.ctm == "tf_crop_and_resize"
    for a in range(r):
        if out[a] == x.shape[a] and p.scales[a] == 1 and not crop:
            continue
        roi = (p.roi[a], p.roi[r + a]) if crop else (0.0, 1.0)
        idx, w, outside = resize_taps(x.shape[a], out[a], p.scales[a], p.mode, p.ctm,
                                      p.nearest_mode, p.cubic_a, p.exclude_outside, roi)
        m = _axis_matrix(x.shape[a], idx, w)
        y = np.moveaxis(np.tensordot(m, y, axes=([1], [a])), 0, a)
        if outside.any():
            shape = [1] * r
            shape[a] = out[a]
            o = outside.reshape(shape)
            outside_any = o if outside_any is None else (outside_any | o)
    if outside_any is not None:
        y = np.where(outside_any, float(_a(node, "extrapolation_value", 0.0)), y)
    if x.dtype.kind != "f":
        y = np.round(y)
    return [y.astype(x.dtype)]
