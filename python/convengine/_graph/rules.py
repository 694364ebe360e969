"""ONNX's shape and coordinate rules, each written once.

Sliding windows (Conv, ConvTranspose, DeformConv, MaxPool, AveragePool; torch's conv and pool
sizes are the same arithmetic): output sizes, explicit pads and auto_pad, ceil_mode, the
transposed conv's output_padding and output_shape. Resize and Upsample: output sizes from
scales or sizes (axes, keep_aspect_ratio_policy, the opset-10 form), the coordinate
transformations and the taps and weights of nearest, linear and cubic along one axis. Clip's
bounds, Softmax's axis by opset, Gemm's and MatMul's shapes, Dropout in inference, Cast targets.
The tensor ops' rules (Reshape, Shape, Pad, Split, Slice, Squeeze, Unsqueeze, Concat, Flatten,
Transpose, Gather) are rules_tensor.py's; both share the readers here (_a, _ints, _axis).

Pure functions of shapes and attribute values (a Node is read only for its attributes, with the
op table's defaults). Used by the numpy interpreter (evaluate.py, eval_*.py), shape inference
(shape_inference.py), the graph passes, the planner and convengine.functional. The Cython
reference writes its rules again on purpose (reference/_args.py), so the tests compare two
independent writings. A broken rule raises _Err (a ValueError) with the reason; the caller
names the node or argument.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from .._model_limits import DTYPES
from .ops import attr as _table_attr

# ONNX TensorProto data type numbers of the dtypes convengine stores
ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64,
               9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
               4: np.uint16}


class _Err(ValueError):
    """An op's inputs or attributes break its rule; eval_node and the planner prefix the node."""


# ---------------------------------------------------------------------------------------------
# reading attributes and inputs

def _a(node, name, default=None):
    """The node's attribute, else the op table's default, else `default`."""
    v = _table_attr(node, name)
    return default if v is None else v


def _ints(v, what="attribute"):
    """A list of ints from an int sequence or tensor (integral floats accepted), or None."""
    if v is None:
        return None
    arr = np.asarray(v)
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise _Err(f"{what} must be integers, got {v!r}")
    return [int(i) for i in arr.reshape(-1)]


def _axis(a, rank, what="axis", allow_end=False):
    """A possibly negative axis as an index in [0, rank) ([0, rank] with allow_end)."""
    a = int(a)
    hi = rank + 1 if allow_end else rank
    if not -rank <= a < hi:
        raise _Err(f"axis {a} out of range for rank {rank}" if what == "axis" else
                   f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def _in(ins, i):
    return ins[i] if i < len(ins) else None


# ---------------------------------------------------------------------------------------------
# sliding windows

@dataclasses.dataclass
class Window:
    strides: list
    dilations: list
    pad_begin: list
    pad_end: list
    out: list


def span(kernel, dilation):
    """Input extent of one dilated window."""
    return (kernel - 1) * dilation + 1


def window_out(n_in, win_span, stride, pad_begin, pad_end, ceil_mode=False):
    """Number of windows along an axis (ONNX Conv / pooling, torch's conv and pooling output
    size): floor((n_in + pads - span) / stride) + 1, with ceil_mode the ceiling less a last
    window that would start in the end padding; 0 when no window fits."""
    padded = n_in + pad_begin + pad_end
    if ceil_mode:
        o = -(-(padded - win_span) // stride) + 1
        if (o - 1) * stride >= n_in + pad_begin:
            o -= 1
    else:
        o = (padded - win_span) // stride + 1
    return max(o, 0)


def same_pads(n_in, win_span, stride, upper=True):
    """auto_pad SAME_UPPER / SAME_LOWER (torch's padding='same' is SAME_UPPER at stride 1):
    (output size ceil(n_in / stride), begin pad, end pad), the odd pad at the end for UPPER."""
    out = -(-n_in // stride)
    total = max(0, (out - 1) * stride + win_span - n_in)
    begin = total // 2 if upper else (total + 1) // 2
    return out, begin, total - begin


def transposed_out(n_in, win_span, stride, pad_begin, pad_end, output_padding=0):
    """Output size of a transposed convolution along an axis (ONNX, torch)."""
    return stride * (n_in - 1) + output_padding + win_span - pad_begin - pad_end


def window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad, ceil_mode=False,
                    what="Conv") -> Window:
    """ONNX output size and pads of a sliding window (Conv, DeformConv, MaxPool, AveragePool)."""
    n = len(in_sp)
    strides = list(strides) if strides else [1] * n
    dilations = list(dilations) if dilations else [1] * n
    if len(kernel) != n or len(strides) != n or len(dilations) != n:
        raise _Err(f"{what}: kernel {list(kernel)}, strides {strides} and dilations {dilations} "
                   f"must each have {n} values (spatial rank of the input)")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or any(k < 1 for k in kernel):
        raise _Err(f"{what}: kernel, strides and dilations must be >= 1")
    spans = [span(k, d) for k, d in zip(kernel, dilations)]
    auto_pad = auto_pad or "NOTSET"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        same = [same_pads(i, sp, s, auto_pad == "SAME_UPPER")
                for i, sp, s in zip(in_sp, spans, strides)]
        return Window(strides, dilations, [b for _, b, _ in same], [e for _, _, e in same],
                      [o for o, _, _ in same])
    if auto_pad == "VALID":
        pb = pe = [0] * n
    elif auto_pad == "NOTSET":
        pads = list(pads) if pads else [0] * (2 * n)
        if len(pads) != 2 * n:
            raise _Err(f"{what}: pads {pads} must have {2 * n} values")
        if any(p < 0 for p in pads):
            raise _Err(f"{what}: pads {pads} must be >= 0")
        pb, pe = pads[:n], pads[n:]
    else:
        raise _Err(f"{what}: unknown auto_pad {auto_pad!r}")
    for i in range(n):
        padded = in_sp[i] + pb[i] + pe[i]
        # with ceil_mode a window may overhang the padded input's end (torch and ORT clip it)
        if padded + (strides[i] - 1 if ceil_mode else 0) < spans[i]:
            raise _Err(f"{what}: window {spans[i]} (kernel {kernel[i]}, dilation {dilations[i]}) "
                       f"is larger than the padded input {padded} on spatial axis {i}")
    out = [window_out(i, sp, s, b, e, ceil_mode)
           for i, sp, s, b, e in zip(in_sp, spans, strides, pb, pe)]
    return Window(strides, dilations, pb, pe, out)


def conv_geometry(node, x_shape, w_shape, transposed=False):
    """(group, Window, c_out) of a Conv / FusedConv / ConvTranspose with input and weight shapes.
    A transposed conv's pads may come out negative at the end (an output_shape longer than the
    full output: extra output padding)."""
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3 (N, C, spatial...), got shape {tuple(x_shape)}")
    if len(w_shape) != nd + 2:
        raise _Err(f"weight must have rank {nd + 2}, got shape {tuple(w_shape)}")
    group = int(_a(node, "group", 1))
    if group < 1:
        raise _Err(f"group must be >= 1, got {group}")
    kernel = list(w_shape[2:])
    ks = _ints(_a(node, "kernel_shape"))
    if ks is not None and ks != kernel:
        raise _Err(f"kernel_shape {ks} does not match the weight shape {tuple(w_shape)}")
    c = x_shape[1]
    if c % group:
        raise _Err(f"input channels {c} are not divisible by group {group}")
    if transposed:
        if w_shape[0] != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 0 must equal the input channels {c}")
        c_out = w_shape[1] * group
    else:
        if w_shape[1] * group != c:
            raise _Err(f"weight shape {tuple(w_shape)}: dim 1 times group {group} must equal "
                       f"the input channels {c}")
        c_out = w_shape[0]
        if c_out % group:
            raise _Err(f"output channels {c_out} are not divisible by group {group}")
    strides = _ints(_a(node, "strides"))
    dilations = _ints(_a(node, "dilations"))
    pads = _ints(_a(node, "pads"))
    auto_pad = _a(node, "auto_pad", "NOTSET")
    in_sp = list(x_shape[2:])
    if not transposed:
        return group, window_geometry(in_sp, kernel, strides, dilations, pads, auto_pad), c_out
    strides = strides or [1] * nd
    dilations = dilations or [1] * nd
    if len(strides) != nd or len(dilations) != nd:
        raise _Err(f"strides {strides} and dilations {dilations} must have {nd} values")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
        raise _Err("strides and dilations must be >= 1")
    opad = _ints(_a(node, "output_padding")) or [0] * nd
    if len(opad) != nd:
        raise _Err(f"output_padding {opad} must have {nd} values")
    full = [transposed_out(i, span(k, d), s, 0, 0, op)
            for i, k, d, s, op in zip(in_sp, kernel, dilations, strides, opad)]
    out_shape = _ints(_a(node, "output_shape"))
    if out_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if out_shape is not None:
            if len(out_shape) == nd + 2:
                out_shape = out_shape[2:]
            if len(out_shape) != nd:
                raise _Err(f"output_shape {out_shape} must have {nd} values")
            out = out_shape
        else:
            out = [i * s for i, s in zip(in_sp, strides)]
        total = [f - o for f, o in zip(full, out)]
        for t, st, o in zip(total, strides, out):
            if -t >= st:
                raise _Err(f"output_shape {out} is larger than any input of this size can "
                           f"produce (full output {full}, strides {strides})")
        # the odd pixel is cut at the end for SAME_UPPER, at the start otherwise
        # a negative total (an output larger than the full one) extends the end, as
        # output_padding does
        if auto_pad == "SAME_UPPER":
            pb = [max(0, t // 2) for t in total]
        else:
            pb = [max(0, t - t // 2) for t in total]
        pe = [t - b for t, b in zip(total, pb)]
    else:
        if auto_pad == "VALID":
            pads = [0] * (2 * nd)
        elif auto_pad != "NOTSET":
            raise _Err(f"unknown auto_pad {auto_pad!r}")
        pads = pads or [0] * (2 * nd)
        if len(pads) != 2 * nd or any(p < 0 for p in pads):
            raise _Err(f"pads {pads} must be {2 * nd} values >= 0")
        pb, pe = pads[:nd], pads[nd:]
        out = [f - b - e for f, b, e in zip(full, pb, pe)]
    if any(o < 1 for o in out):
        raise _Err(f"output spatial size {out} is empty")
    return group, Window(strides, dilations, pb, pe, out), c_out


def pool_geometry(node, x_shape):
    """(kernel, Window) of a MaxPool / AveragePool."""
    nd = len(x_shape) - 2
    if nd < 1:
        raise _Err(f"input must have rank >= 3, got shape {tuple(x_shape)}")
    k = _ints(_a(node, "kernel_shape"))
    if k is None or len(k) != nd:
        raise _Err(f"kernel_shape {k} must have {nd} values")
    return k, window_geometry(list(x_shape[2:]), k, _ints(_a(node, "strides")),
                              _ints(_a(node, "dilations")), _ints(_a(node, "pads")),
                              _a(node, "auto_pad", "NOTSET"), bool(_a(node, "ceil_mode", 0)),
                              node.op_type)


# ---------------------------------------------------------------------------------------------
# element-wise, linear algebra, dtypes

def cast_dtype(to):
    """The numpy dtype of a Cast's `to` (an ONNX TensorProto number or a dtype name)."""
    if isinstance(to, str):
        if to not in DTYPES:
            raise _Err(f"unknown Cast target {to!r}")
        return DTYPES[to]
    if int(to) not in ONNX_DTYPES:
        raise _Err(f"unsupported Cast target type {to}")
    return np.dtype(ONNX_DTYPES[int(to)])


def clip_bounds(node, ins, opset):
    """(min, max) of a Clip node as numbers (None for a side without a bound), from its
    inputs (opset >= 11) or its attributes."""
    lo, hi = _in(ins, 1), _in(ins, 2)
    if lo is None and len(node.inputs) < 2 and node.attrs.get("min") is not None:
        lo = node.attrs["min"]
    if hi is None and len(node.inputs) < 3 and node.attrs.get("max") is not None:
        hi = node.attrs["max"]
    out = []
    for v, what in ((lo, "min"), (hi, "max")):
        if v is not None:
            v = np.asarray(v)
            if v.size != 1:
                raise _Err(f"Clip {what} must be a scalar, got shape {v.shape}")
            v = v.reshape(()).item()
        out.append(v)
    return out


def dropout_is_identity(node, ins, opset) -> bool | None:
    """True when a Dropout passes its input through (inference), None when that depends on a
    runtime input."""
    if int(node.attrs.get("is_test", 1)) == 0 and opset < 7:
        return False
    tm = _in(ins, 2)
    if len(node.inputs) > 2 and node.inputs[2] and tm is None:
        return None
    return tm is None or not bool(np.asarray(tm).reshape(-1)[0])


def softmax_axis(node, rank, opset):
    """(axis, flat) of a Softmax / LogSoftmax: the axis defaults to -1 from opset 13 and to 1
    before; before opset 13 (flat True) the input is taken as the 2-D
    (prod(shape[:axis]), prod(shape[axis:])) and normalised along its second axis."""
    if rank == 0:
        raise _Err("input must have rank >= 1")
    axis = node.attrs.get("axis")
    if axis is None:
        axis = -1 if opset >= 13 else 1
    return _axis(int(axis), rank), opset < 13


def gemm_shapes(node, a_shape, b_shape):
    """(M, K, N) of a Gemm: A' = transpose(A) with transA is (M, K), B' = transpose(B) with
    transB is (K, N)."""
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise _Err(f"A and B must be 2D, got {tuple(a_shape)} and {tuple(b_shape)}")
    m, k = a_shape[::-1] if int(_a(node, "transA", 0)) else a_shape
    kb, n = b_shape[::-1] if int(_a(node, "transB", 0)) else b_shape
    if k != kb:
        raise _Err(f"inner dimensions differ: A' {(m, k)}, B' {(kb, n)}")
    return m, k, n


def matmul_shape(a_shape, b_shape):
    """MatMul's output shape (numpy's matmul): a 1-D A is a row (1, K), a 1-D B a column
    (K, 1), whose axis the output drops; the batch axes broadcast."""
    a, b = tuple(a_shape), tuple(b_shape)
    if not a or not b:
        raise _Err(f"operands must have rank >= 1, got {a} and {b}")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise _Err(f"shapes {a} and {b} do not match")
    try:
        batch = tuple(np.broadcast_shapes(a2[:-2], b2[:-2]))
    except ValueError:
        raise _Err(f"batch axes of {a} and {b} do not broadcast") from None
    return batch + ((a2[-2],) if len(a) > 1 else ()) + ((b2[-1],) if len(b) > 1 else ())


# ---------------------------------------------------------------------------------------------
# Resize / Upsample

class ResizeParams(NamedTuple):
    mode: str               # nearest, linear, cubic
    out: list               # output shape
    scales: np.ndarray      # per axis, float32 (sizes / input with sizes given)
    ctm: str                # coordinate_transformation_mode
    nearest_mode: str       # ... or "simple" (Upsample and opset-10 Resize)
    roi: np.ndarray | None  # tf_crop_and_resize: [starts..., ends...] of every axis
    cubic_a: float = -0.75
    exclude_outside: bool = False


def _resize_scales(scales, r, x_shape):
    scales = np.asarray(scales, np.float32).reshape(-1)
    if scales.size != r:
        raise _Err(f"scales {scales.tolist()} must have {r} values")
    return [int(np.float32(d) * s) for d, s in zip(x_shape, scales)], scales


def resize_params(node, x_shape, ins, opset) -> ResizeParams:
    """The output shape and per-axis scales of a Resize or Upsample from its constant inputs
    `ins` (None where absent; ins[0], the data, is not read). As onnxruntime: an output size is
    int(float32(n_in) * scale); with sizes, the scale is float32(size) / float32(n_in)."""
    r = len(x_shape)
    mode = _a(node, "mode", "nearest")
    if node.op_type == "Upsample":
        scales = _in(ins, 1) if len(node.inputs) > 1 else node.attrs.get("scales")
        if scales is None:
            raise _Err("scales are missing")
        out, scales = _resize_scales(scales, r, x_shape)
        mode = "linear" if mode == "bilinear" else mode
        return ResizeParams(mode, out, scales, "asymmetric", "simple", None)
    if opset < 11:
        scales = _in(ins, 1)
        if scales is None:
            raise _Err("scales is missing")
        out, scales = _resize_scales(scales, r, x_shape)
        return ResizeParams(mode, out, scales, "asymmetric", "simple", None)
    roi, scales, sizes = _in(ins, 1), _in(ins, 2), _in(ins, 3)
    if scales is not None and np.size(scales) == 0:
        scales = None
    if sizes is not None and np.size(sizes) == 0:
        sizes = None
    if (scales is None) == (sizes is None):
        raise _Err("exactly one of scales and sizes must be given")
    axes = _ints(_a(node, "axes"))
    for a in axes or ():
        if not -r <= a < r:
            raise _Err(f"axis {a} out of range for rank {r}")
    axes = list(range(r)) if axes is None else [a % r for a in axes]
    full_scales = np.ones(r, np.float32)
    out = list(x_shape)
    if scales is not None:
        scales = np.asarray(scales, np.float32).reshape(-1)
        if scales.size != len(axes) or np.any(scales <= 0):
            raise _Err(f"scales {scales.tolist()} must be {len(axes)} positive values")
        for a, s in zip(axes, scales):
            full_scales[a] = s
            out[a] = int(np.float32(x_shape[a]) * s)
    else:
        sizes = _ints(sizes, "sizes")
        if len(sizes) != len(axes) or any(s < 1 for s in sizes):
            raise _Err(f"sizes {sizes} must be {len(axes)} positive values")
        policy = _a(node, "keep_aspect_ratio_policy", "stretch")
        if policy == "stretch":
            for a, s in zip(axes, sizes):
                out[a] = s
                full_scales[a] = np.float32(s) / np.float32(x_shape[a])
        elif policy in ("not_larger", "not_smaller"):
            ratios = [np.float32(s) / np.float32(x_shape[a]) for a, s in zip(axes, sizes)]
            sc = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                full_scales[a] = sc
                out[a] = int(np.floor(np.float32(x_shape[a]) * sc + np.float32(0.5)))
        else:
            raise _Err(f"unknown keep_aspect_ratio_policy {policy!r}")
    ctm = _a(node, "coordinate_transformation_mode", "half_pixel")
    roi_full = None
    if ctm == "tf_crop_and_resize":
        if roi is None:
            raise _Err("roi is missing")
        roi_v = np.asarray(roi, np.float32).reshape(-1)
        if roi_v.size != 2 * len(axes):
            raise _Err(f"roi must have {2 * len(axes)} values")
        roi_full = np.array([0.0] * r + [1.0] * r, np.float32)
        for i, a in enumerate(axes):
            roi_full[a], roi_full[r + a] = roi_v[i], roi_v[len(axes) + i]
    if int(_a(node, "antialias", 0)):
        raise _Err("antialias=1 is not supported")
    return ResizeParams(mode, out, full_scales, ctm,
                        _a(node, "nearest_mode", "round_prefer_floor"), roi_full,
                        float(_a(node, "cubic_coeff_a", -0.75)),
                        bool(_a(node, "exclude_outside", 0)))


def resize_coords(n_in, n_out, scale, ctm, roi_start=0.0, roi_end=1.0):
    """Source coordinate (float32) of every output index along one axis.

    As onnxruntime: in float32 (float64 moves exact ties: 5 -> 3 with scale 0.6 and half_pixel
    puts output 1 at 1.9999999, which 'floor' sends to 1 instead of 2; half_pixel_symmetric is
    ORT's mix of the two), and with the integer
    output length n_out wherever the formula has the resized length (align_corners,
    pytorch_half_pixel, tf_crop_and_resize), also when scales are given: torch's align_corners
    and the ONNX text's length_resized. The ONNX reference implementation divides by the
    unrounded n_in * scale there, which differs when that is not an integer."""
    f = np.float32
    x = np.arange(n_out, dtype=np.float32)
    scale = f(scale)
    zeros = np.zeros(n_out, np.float32)
    if ctm == "half_pixel":
        return (x + f(0.5)) / scale - f(0.5)
    if ctm == "pytorch_half_pixel":
        return (x + f(0.5)) / scale - f(0.5) if n_out > 1 else zeros
    if ctm == "half_pixel_symmetric":  # onnxruntime computes the sum in float64
        adj = f(n_out) / (scale * f(n_in))
        offset = f(n_in) / f(2) * (f(1) - adj)
        return (np.float64(offset) + (x + 0.5) / np.float64(scale) - 0.5).astype(np.float32)
    if ctm == "align_corners":
        return x * f(n_in - 1) / f(n_out - 1) if n_out > 1 else zeros
    if ctm == "asymmetric":
        return x / scale
    if ctm == "tf_crop_and_resize":
        rs, re = f(roi_start), f(roi_end)
        if n_out > 1:
            return rs * f(n_in - 1) + x * (re - rs) * f(n_in - 1) / f(n_out - 1)
        return np.full(n_out, f(0.5) * (rs + re) * f(n_in - 1), np.float32)
    raise _Err(f"unknown coordinate_transformation_mode {ctm!r}")


def nearest_index(x, nearest_mode, scale):
    """Resize 'nearest': the source index of coordinates x (not yet clamped into the input).
    'simple' (Upsample, opset-10 Resize) is ceil when downsampling, else floor."""
    fl = np.floor(x)
    half = (x - fl) == 0.5
    if nearest_mode == "round_prefer_floor":
        i = np.where(half, fl, np.round(x))
    elif nearest_mode == "round_prefer_ceil":
        i = np.where(half, fl + 1, np.round(x))
    elif nearest_mode == "floor":
        i = fl
    elif nearest_mode == "ceil":
        i = np.ceil(x)
    elif nearest_mode == "simple":
        i = np.ceil(x) if scale < 1 else fl
    else:
        raise _Err(f"unknown nearest_mode {nearest_mode!r}")
    return i.astype(np.int64)


def cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights (coefficient a) of the 4 taps floor(x) - 1 .. floor(x) + 2,
    t = x - floor(x): shape t.shape + (4,)."""
    d = np.stack([t + 1, t, 1 - t, 2 - t], axis=-1)
    return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                    ((a * d - 5 * a) * d + 8 * a) * d - 4 * a)


def resize_taps(n_in, n_out, scale, mode, ctm, nearest_mode="round_prefer_floor", cubic_a=-0.75,
                exclude_outside=False, roi=(0.0, 1.0)):
    """Resize along one axis as taps: (indices (n_out, k) int64 inside the input, weights
    (n_out, k) float64, outside (n_out,) bool), k = 1 for nearest, 2 for linear, 4 for cubic.
    Output o is sum_j weights[o, j] * input[indices[o, j]], or extrapolation_value where
    `outside` (tf_crop_and_resize coordinates outside the input).

    linear clamps the coordinate into the input first (onnxruntime, torch): at the border the
    second tap has weight 0. cubic reads the border for taps outside the input (ONNX, torch);
    with exclude_outside their weight is dropped and the rest renormalised."""
    x = resize_coords(n_in, n_out, scale, ctm, *roi)
    outside = (x < 0) | (x > n_in - 1) if ctm == "tf_crop_and_resize" else np.zeros(n_out, bool)
    if mode == "nearest":
        idx = nearest_index(x, nearest_mode, scale)[:, None]
        return np.clip(idx, 0, n_in - 1), np.ones((n_out, 1)), outside
    xd = x.astype(np.float64)
    if mode == "linear":
        xc = np.clip(xd, 0, n_in - 1)
        i0 = np.floor(xc).astype(np.int64)
        w1 = xc - i0
        idx = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], axis=1)
        return idx, np.stack([1 - w1, w1], axis=1), outside
    if mode == "cubic":
        fl = np.floor(xd)
        w = cubic_weights(xd - fl, cubic_a)
        idx = fl.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
        if exclude_outside:
            w = np.where((idx >= 0) & (idx < n_in), w, 0.0)
            s = w.sum(axis=1, keepdims=True)
            w = np.divide(w, s, out=np.zeros_like(w), where=s != 0)
        return np.clip(idx, 0, n_in - 1), w, outside
    raise _Err(f"unknown mode {mode!r}")
