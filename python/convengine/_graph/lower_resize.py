"""Planner lowering of Resize and Upsample: `op_Resize(node, ins, where)` mixed into
`planner.Planner`. The output size, scales and modes are rules.resize_params; the per-axis
index and weight tables the C++ step reads are rules.resize_taps (the numpy interpreter
samples through the same taps), in float32. Only the spatial axes of a 3D, 4D or 5D tensor
are resized: 4D is one 2D step, 3D runs as (N, C, 1, L), 5D as two 2D steps on channels-last
views ((H, W) with the depth in the batch, then D with H x W merged; every mode is separable).
"""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from .rules_resize import resize_params, resize_taps
from .views import PlanError, _cl_order, _cl_view

# Longest Resize output axis: its index and weight tables are built in float64 here.
MAX_RESIZE_AXIS = 1 << 24


class ResizeLowering:
    def op_Resize(self, node, ins, where):
        x = ins[0]
        what = ("scales",) if node.op_type == "Upsample" or self.opset < 11 else \
            ("roi", "scales", "sizes")
        consts = [None] + [self.const(n, where, w) if n else None
                           for n, w in zip(node.inputs[1:], what)]
        p = resize_params(node, x.shape, consts, self.opset)
        r, out, mode = x.rank, p.out, p.mode
        if not 3 <= r <= 5 or out[0] != x.shape[0] or out[1] != x.shape[1]:
            raise PlanError(f"{where}: only the spatial axes of a 3D, 4D or 5D tensor can be "
                            f"resized (input {list(x.shape)}, output {out})")
        if min(out) < 1:
            raise PlanError(f"{where}: output size {out} is below 1")
        if math.prod(out) > MAX_ELEMENTS or max(out[2:]) > MAX_RESIZE_AXIS:
            raise PlanError(f"{where}: output size {out} is too large (at most {MAX_ELEMENTS} "
                            f"elements, {MAX_RESIZE_AXIS} along an axis)")
        if mode not in ("nearest", "linear", "cubic"):
            raise PlanError(f"{where}: Resize mode {mode!r} is not supported")
        if p.ctm == "tf_crop_and_resize":
            raise PlanError(f"{where}: tf_crop_and_resize is not supported")
        xin = self.cl(x, where)
        y = self.out(node, 0, tuple(out), _cl_order(r))
        name = node.name or where

        def tables(n_in, n_out, scale):
            idx, w, _ = resize_taps(n_in, n_out, scale, mode, p.ctm, p.nearest_mode, p.cubic_a,
                                    p.exclude_outside)
            w = w.astype(np.float32)
            if mode == "cubic":
                return [idx.reshape(-1).tolist(), w.reshape(-1).tolist()]
            if mode == "nearest":
                return [idx[:, 0].tolist(), idx[:, 0].tolist(), w[:, 0].tolist(),
                        np.zeros(n_out, np.float32).tolist()]
            return [idx[:, 0].tolist(), idx[:, 1].tolist(), w[:, 0].tolist(), w[:, 1].tolist()]

        def resize2d(step_name, src, dst, ax_h, ax_w):
            # ax_*: (n_in, n_out, scale) of the two axes of the 4D channels-last views
            t = tables(*ax_h) + tables(*ax_w)
            if mode == "cubic":
                self.step("add_resize_cubic", step_name, [src, dst, *t], [src], [dst])
            else:
                self.step("add_resize", step_name, [src, dst, mode != "nearest", *t], [src], [dst])

        sh, scl = x.shape, [float(v) for v in p.scales]
        if r == 4:
            resize2d(name, xin, y, (sh[2], out[2], scl[2]), (sh[3], out[3], scl[3]))
        elif r == 3:  # (N, C, L) as (N, C, 1, L)
            resize2d(name, _cl_view(xin, (sh[0], sh[1], 1, sh[2])), _cl_view(y, (out[0], out[1], 1, out[2])),
                     (1, 1, 1.0), (sh[2], out[2], scl[2]))
        else:  # separable: (H, W) with the depth axis in the batch, then D with H x W merged
            mid = self.new((sh[0], sh[1], sh[2], out[3], out[4]), _cl_order(5))
            resize2d(name, _cl_view(xin, (sh[0] * sh[2], sh[1], sh[3], sh[4])),
                     _cl_view(mid, (sh[0] * sh[2], sh[1], out[3], out[4])),
                     (sh[3], out[3], scl[3]), (sh[4], out[4], scl[4]))
            hw = out[3] * out[4]
            resize2d(name + "/depth", _cl_view(mid, (sh[0], sh[1], sh[2], hw)),
                     _cl_view(y, (out[0], out[1], out[2], hw)), (sh[2], out[2], scl[2]), (hw, hw, 1.0))

    op_Upsample = op_Resize
