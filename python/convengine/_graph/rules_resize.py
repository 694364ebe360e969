"""ONNX's sampling rules, each written once: Resize and Upsample (output sizes from scales or
sizes, axes, keep_aspect_ratio_policy, the opset-10 form; the coordinate transformations,
computed in float32 as onnxruntime does; the taps and weights of nearest, linear and cubic along
one axis) and GridSample's modes and output shape.

Used by the numpy interpreter (eval_resize.py, eval_data.py), shape inference and the planner
(lower_resize.py builds the C++ step's per-axis tables from resize_taps, lower_data.py's
GridSample), so that both sample through the same taps. A broken rule raises rules._Err (a
ValueError) with the reason; the caller names the node.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .rules import _a, _Err, _in, _ints

GRID_MODES = {"bilinear": "linear", "linear": "linear", "nearest": "nearest",
              "bicubic": "cubic", "cubic": "cubic"}
GRID_PADDING = ("zeros", "border", "reflection")


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


def _scaled_size(n, s, round_half=False):
    """int(float32(n) * s) (+ 0.5 first with round_half), or the reason when it is not a size:
    a scale that is NaN, infinite or not positive, or a product past float32's range."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.float32(n) * np.float32(s)
        if round_half:
            v = np.floor(v + np.float32(0.5))
    if not (np.isfinite(s) and s > 0 and np.isfinite(v)):
        raise _Err(f"scale {float(s)!r} gives no finite output size for an axis of {n}")
    return int(v)


def _resize_scales(scales, r, x_shape):
    scales = np.asarray(scales, np.float32).reshape(-1)
    if scales.size != r:
        raise _Err(f"scales {scales.tolist()} must have {r} values")
    return [_scaled_size(d, s) for d, s in zip(x_shape, scales)], scales


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
        if scales.size != len(axes) or not np.all(scales > 0):
            raise _Err(f"scales {scales.tolist()} must be {len(axes)} positive values")
        for a, s in zip(axes, scales):
            full_scales[a] = s
            out[a] = _scaled_size(x_shape[a], s)
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
                out[a] = _scaled_size(x_shape[a], sc, round_half=True)
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


# ---------------------------------------------------------------------------------------------
# GridSample

def grid_sample_params(node, x_shape, grid_shape):
    """(mode in linear/nearest/cubic, padding_mode, align_corners, output shape) of a
    GridSample, checked (opset 16 and opset 20 mode names are both accepted)."""
    mode = _a(node, "mode", "bilinear")
    if mode not in GRID_MODES:
        raise _Err(f"mode must be one of {', '.join(GRID_MODES)}, got {mode!r}")
    mode = GRID_MODES[mode]
    pad = _a(node, "padding_mode", "zeros")
    if pad not in GRID_PADDING:
        raise _Err(f"padding_mode must be one of {', '.join(GRID_PADDING)}, got {pad!r}")
    align = int(_a(node, "align_corners", 0))
    if align not in (0, 1):
        raise _Err(f"align_corners must be 0 or 1, got {align}")
    r = len(x_shape) - 2
    if r < 1:
        raise _Err(f"input must have rank >= 3 (N, C, spatial...), got shape {tuple(x_shape)}")
    if len(grid_shape) != r + 2 or grid_shape[-1] != r or grid_shape[0] != x_shape[0]:
        raise _Err(f"grid must have shape (N={x_shape[0]}, *output spatial, {r}) for input "
                   f"{tuple(x_shape)}, got {tuple(grid_shape)}")
    return mode, pad, align, (x_shape[0], x_shape[1]) + tuple(grid_shape[1:-1])
