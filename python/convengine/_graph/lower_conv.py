"""Planner lowerings of the convolution family: Conv, ConvTranspose, FusedConv (a conv with its
activation and residual add fused by the passes), DeformConv, LocalConv, and the custom blocks
that run on channels-last maps, SqueezeExcite and ChannelShuffle: `op_<OpType>(node, ins,
where)` methods mixed into `planner.Planner` (they use its tensor helpers: rt, const, out, cl,
step).

Every op here reads and writes channels-last tensors ((N, C, *spatial), C innermost; `cl()`
copies a tensor in another layout once) and is one C++ step whose weights are constants of the
graph. Window geometry (output sizes, pads, auto_pad, output_shape) comes from rules.py; the
C++ builder picks the convolution algorithm unless the session forces one by node name.
"""
from __future__ import annotations

import numpy as np

from .ops import attr
from .rules import conv_geometry, span, transposed_out, window_out
from .views import PlanError, _cl_order, _ints


class ConvLowering:
    @staticmethod
    def _pad3(v, fill):
        return [fill] * (3 - len(v)) + list(v)

    def _conv(self, node, ins, where, transposed, act=("none", 0.0, 0.0, -np.inf, np.inf),
              residual=None):
        x = ins[0]
        w = self.const(node.inputs[1], where, "weight")
        b = self.const(node.inputs[2], where, "bias") if len(node.inputs) > 2 and node.inputs[2] else None
        w = np.ascontiguousarray(w, dtype=np.float32)
        if w.ndim != x.rank:
            raise PlanError(f"{where}: weight rank {w.ndim} differs from input rank {x.rank}")
        if not 1 <= x.rank - 2 <= 3:
            raise PlanError(f"{where}: input must have 1-3 spatial axes, got shape {x.shape}")
        group, win, c_out = conv_geometry(node, x.shape, w.shape, transposed)
        strides, dil, osp = win.strides, win.dilations, win.out
        pb, pe = list(win.pad_begin), list(win.pad_end)
        outp = [0] * len(osp)
        if transposed:
            # The engine's size rule: out = (in - 1) * stride - pads + span + output_padding,
            # pads >= 0; an output longer than that (negative end pad) is output padding.
            for i in range(len(osp)):
                pe[i] = max(pe[i], 0)
                outp[i] = osp[i] - transposed_out(x.shape[2 + i], span(w.shape[2 + i], dil[i]),
                                                  strides[i], pb[i], pe[i])
        if b is not None:
            b = np.ascontiguousarray(b, dtype=np.float32).reshape(-1)
            if b.shape[0] != c_out:
                raise PlanError(f"{where}: bias has {b.shape[0]} entries, expected {c_out}")
        xin = self.cl(x, where)
        shape = (x.shape[0], c_out, *osp)
        res = None
        if residual is not None:
            if tuple(residual.shape) != shape:
                raise PlanError(f"{where}: residual shape {residual.shape} differs from the "
                                f"output {shape}")
            res = self.cl(residual, where)
        y = self.out(node, 0, shape, _cl_order(len(shape)))
        algo = self.algorithms.get(node.name, self.default_algorithm)
        self.step("add_conv", node.name or where,
                  [xin, y, res, w, b, group, self._pad3(strides, 1), self._pad3(dil, 1),
                   self._pad3(pb, 0), self._pad3(pe, 0), self._pad3(outp, 0), transposed, algo,
                   *act], [xin] + ([res] if res is not None else []), [y], node.op_type)

    def op_Conv(self, node, ins, where):
        self._conv(node, ins, where, False)

    def op_ConvTranspose(self, node, ins, where):
        self._conv(node, ins, where, True)

    def op_FusedConv(self, node, ins, where):
        act = (attr(node, "activation"), float(attr(node, "alpha")), float(attr(node, "beta")),
               float(attr(node, "clip_min")), float(attr(node, "clip_max")))
        res = None
        if len(node.inputs) > 3 and node.inputs[3]:
            res = self.rt(node.inputs[3], where)
        self._conv(node, ins, where, False, act, res)

    def op_DeformConv(self, node, ins, where):
        x = self.cl(ins[0], where)
        w = np.ascontiguousarray(self.const(node.inputs[1], where, "weight"), np.float32)
        if x.rank != 4:
            raise PlanError(f"{where}: DeformConv supports 2D inputs only")
        if w.ndim != 4:
            raise PlanError(f"{where}: weight must be (C_out, C_in / group, kH, kW), got {w.shape}")
        b = None
        if len(node.inputs) > 3 and node.inputs[3]:
            b = np.ascontiguousarray(self.const(node.inputs[3], where, "bias"), np.float32)
        strides = _ints(attr(node, "strides"), 2, 1, "strides", where)
        dil = _ints(attr(node, "dilations"), 2, 1, "dilations", where)
        pads = _ints(attr(node, "pads"), 4, 0, "pads", where)
        osp = [window_out(x.shape[2 + i], span(w.shape[2 + i], dil[i]), strides[i], pads[i],
                          pads[2 + i]) for i in range(2)]
        if min(osp) < 1:
            raise PlanError(f"{where}: output size {osp} is below 1 (input {list(x.shape[2:])}, "
                            f"kernel {list(w.shape[2:])}, pads {pads}, dilations {dil})")
        taps = int(attr(node, "offset_group")) * w.shape[2] * w.shape[3]
        ts = {}
        for i, what, ch, desc in ((2, "offset", 2 * taps, "2 x offset_group x kH x kW"),
                                  (4, "mask", taps, "offset_group x kH x kW")):
            if len(node.inputs) > i and node.inputs[i]:
                t = self.rt(node.inputs[i], where)
                want = (x.shape[0], ch, *osp)
                if tuple(t.shape) != want:
                    raise PlanError(f"{where}: {what} must have shape {list(want)} (N, {desc}, "
                                    f"output H, output W), got {list(t.shape)}")
                ts[what] = self.cl(t, where)
        off, mask = ts.get("offset"), ts.get("mask")
        y = self.out(node, 0, (x.shape[0], w.shape[0], *osp), _cl_order(4))
        self.step("add_deform", node.name or where,
                  [x, off, mask, y, w, b, strides, pads[:2], pads[2:], dil,
                   int(attr(node, "group")), int(attr(node, "offset_group"))],
                  [x, off] + ([mask] if mask is not None else []), [y])

    def op_LocalConv(self, node, ins, where):
        x = self.cl(ins[0], where)
        w = np.ascontiguousarray(self.const(node.inputs[1], where, "weight"), np.float32)
        b = None
        if len(node.inputs) > 2 and node.inputs[2]:
            b = np.ascontiguousarray(self.const(node.inputs[2], where, "bias"), np.float32)
        if w.ndim != 6:
            raise PlanError(f"{where}: LocalConv weight must be (out_h, out_w, c_out, c_in, kh, kw)")
        k = list(w.shape[4:])
        strides = _ints(attr(node, "strides"), 2, 1, "strides", where)
        dil = _ints(attr(node, "dilations"), 2, 1, "dilations", where)
        pads = _ints(attr(node, "pads"), 4, 0, "pads", where)
        y = self.out(node, 0, (x.shape[0], w.shape[2], w.shape[0], w.shape[1]), _cl_order(4))
        self.step("add_local", node.name or where,
                  [x, y, w, b, k, strides, pads[:2], pads[2:], dil], [x], [y])

    def op_SqueezeExcite(self, node, ins, where):
        x = self.cl(ins[0], where)
        w1, b1, w2, b2 = (np.ascontiguousarray(self.const(n, where), np.float32)
                          for n in node.inputs[1:5])
        y = self.out(node, 0, x.shape, _cl_order(x.rank))
        self.step("add_squeeze_excite", node.name or where,
                  [x, y, w1.reshape(w1.shape[0], -1), b1.reshape(-1), w2.reshape(w2.shape[0], -1),
                   b2.reshape(-1), attr(node, "activation"), float(attr(node, "alpha")),
                   float(attr(node, "beta")), float(attr(node, "clip_min")),
                   float(attr(node, "clip_max")), attr(node, "gate"),
                   float(attr(node, "gate_alpha")), float(attr(node, "gate_beta"))], [x], [y])

    def op_ChannelShuffle(self, node, ins, where):
        x = self.cl(ins[0], where)
        y = self.out(node, 0, x.shape, _cl_order(x.rank))
        self.step("add_shuffle", node.name or where, [x, y, int(attr(node, "group"))], [x], [y])
