"""numpy reference (ONNX semantics) of the pooling ops, registered into the interpreter's op
table (eval_registry.py): MaxPool (with its Indices output), AveragePool, LpPool,
GlobalAveragePool, GlobalMaxPool and GlobalLpPool. The window geometry (pads, auto_pad,
ceil_mode) and LpPool's p come from rules.py."""
from __future__ import annotations

import itertools

import numpy as np

from .eval_registry import _float_input, _need, _op
from .rules import Window, _a, _Err, lp_pool_p, pool_geometry


def _global_pool(fn):
    def run(node, ins, opset):
        x = _need(ins[0], "X")
        if x.ndim < 3:
            raise _Err(f"input must have rank >= 3, got {x.shape}")
        return [fn(x, axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)]
    return run


_op("GlobalAveragePool")(_global_pool(
    lambda x, axis, keepdims: x.astype(np.float64).mean(axis=axis, keepdims=keepdims)))
_op("GlobalMaxPool")(_global_pool(np.max))


@_op("GlobalLpPool")
def _e_global_lppool(node, ins, opset):
    p = lp_pool_p(node)
    return _global_pool(lambda x, axis, keepdims: (np.abs(x.astype(np.float64)) ** p).sum(
        axis=axis, keepdims=keepdims) ** (1.0 / p))(node, ins, opset)


@_op("LpPool")
def _e_lppool(node, ins, opset):
    """(sum over the window of |x|^p)^(1/p); padding counts as zeros."""
    x = _float_input(_need(ins[0], "X"))
    p = lp_pool_p(node)
    k, win = pool_geometry(node, x.shape)
    acc = 0.0
    for _, v in _windows(np.abs(x.astype(np.float64)) ** p, k, win, 0.0):
        acc = acc + v
    return [(acc ** (1.0 / p)).astype(x.dtype)]


def _windows(x, k, win, fill):
    """Yields (tap index tuple, strided view of the padded input) for every kernel tap."""
    need = [max(0, (o - 1) * s + (kk - 1) * d + 1 - i - b) for o, s, kk, d, i, b in
            zip(win.out, win.strides, k, win.dilations, x.shape[2:], win.pad_begin)]
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(win.pad_begin, need)), constant_values=fill)
    for tap in itertools.product(*[range(kk) for kk in k]):
        sl = tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in
                   zip(tap, win.dilations, win.out, win.strides))
        yield tap, xp[(slice(None), slice(None)) + sl]


@_op("MaxPool")
def _e_maxpool(node, ins, opset):
    x = _need(ins[0], "X")
    k, win = pool_geometry(node, x.shape)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    want_idx = len(node.outputs) > 1 and node.outputs[1] != ""
    best = None
    arg = None
    in_sp = x.shape[2:]
    for tap, v in _windows(x, k, win, fill):
        if best is None:
            best = v.copy()
            if want_idx:
                arg = np.broadcast_to(_flat_index(tap, win, in_sp, node), v.shape).copy()
            continue
        better = v > best
        best = np.where(better, v, best)
        if want_idx:
            arg = np.where(better, _flat_index(tap, win, in_sp, node), arg)
    outs = [best.astype(x.dtype, copy=False)]
    if want_idx:
        n, c = x.shape[:2]
        plane = int(np.prod(in_sp))
        base = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * plane
        outs.append(arg + base.reshape((n, c) + (1,) * len(in_sp)))
    return outs


def _flat_index(tap, win, in_sp, node):
    """Flat input index (row-major, or column-major for storage_order=1) of every output's tap;
    clamped into the input (a padded position never wins against a real one)."""
    coords = []
    for ax, (t, d, o, s, b, n) in enumerate(zip(tap, win.dilations, win.out, win.strides,
                                               win.pad_begin, in_sp)):
        c = np.clip(np.arange(o) * s - b + t * d, 0, n - 1)
        shape = [1] * len(in_sp)
        shape[ax] = o
        coords.append(c.reshape(shape))
    order = range(len(in_sp)) if not int(_a(node, "storage_order", 0)) else \
        reversed(range(len(in_sp)))
    idx = 0
    for ax in order:
        idx = idx * in_sp[ax] + coords[ax]
    return idx


@_op("AveragePool")
def _e_avgpool(node, ins, opset):
    x = _float_input(_need(ins[0], "X"))
    k, win = pool_geometry(node, x.shape)
    include = bool(_a(node, "count_include_pad", 0))
    in_sp = x.shape[2:]
    # the count: real input positions, or with count_include_pad every position of the padded
    # input (pads included, the ceil_mode overhang past the end pad excluded)
    if include:
        region = np.ones([b + n + e for b, n, e in zip(win.pad_begin, in_sp, win.pad_end)])
        ones_win = Window(win.strides, win.dilations, [0] * len(in_sp), [0] * len(in_sp),
                          win.out)
        cnt_src = region[None, None]
    else:
        cnt_src = np.ones((1, 1) + in_sp)
        ones_win = win
    total = 0
    for _, v in _windows(x.astype(np.float64), k, win, 0.0):
        total = total + v
    count = 0
    for _, v in _windows(cnt_src, k, ones_win, 0.0):
        count = count + v
    with np.errstate(invalid="ignore", divide="ignore"):
        return [(total / count).astype(x.dtype)]
