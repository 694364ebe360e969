"""The planner: turns a (validated, optimised) Model and concrete input shapes into a C++ plan.

For every node it infers output shapes, folds what is constant (shape subgraphs included),
picks each tensor's memory layout, records one step per runtime op, then gives every
activation an offset in one arena by liveness (tensors whose lifetimes do not overlap share
memory) and emits the steps into `_native.Plan`.

Tensors are strided views in their logical (ONNX) axis order. Conv-family ops want
channels-last tensors ((N, C, *spatial) with C innermost); generic ops take any strides, so
Transpose, Slice, Split, Squeeze/Unsqueeze, Identity and most Reshapes are views and cost
nothing. A Concat along channels is planned zero-copy: its producers write straight into
slices of its output buffer.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _native
from .._functional._checks import MAX_ELEMENTS
from ..model import Model, ModelError
from . import evaluate
from .lower_data import DataLowering
from .lower_math import MathLowering
from .lower_nn import NormLowering
from .ops import attr
from .rules import (clip_bounds, conv_geometry, pad_params, pool_geometry, reshape_target,
                    resize_params, resize_taps, shape_value, span, transposed_out, window_out)
from .views import (ALIGN, ARENA, CONSTS, PlanError, Root, Step, T, _axis, _broadcast, _cl_order,
                    _cl_view, _contig_strides, _ints, _layout_order, _nonempty)

_ALIAS_CHANNELS = 128  # channels-last tensors of depthwise convs with C % this get a padded pixel

_ACT_OPS = {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh"}
_VIEW_OPS = {"Identity", "Dropout", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
             "Slice", "Split", "Gather"}


class Planner(MathLowering, NormLowering, DataLowering):
    def __init__(self, model: Model, input_shapes: dict, algorithms=None, concat_slots=None,
                 default_algorithm="auto"):
        self.model = model
        self.g = model.graph
        self.opset = model.opset
        self.algorithms = algorithms or {}
        self.default_algorithm = default_algorithm
        self.steps: list[Step] = []
        self.vals: dict = {}          # name -> T or np.ndarray (constant)
        self.cl_cache: dict = {}
        self.slots = concat_slots or {}   # tensor name -> (concat output name, axis offset)
        self.shapes: dict = {}
        self.input_shapes = input_shapes
        self.consts: list = []        # (np.ndarray) added to the constant pool, in order
        self.const_offset = 0
        self.const_refs: dict = {}
        self.info: dict = {}          # node name -> dict(algorithm, ...)
        self.depthwise_io: set = set()

    # ------------------------------------------------------------------ tensors
    def new(self, shape, order=None, name=None):
        shape = tuple(int(d) for d in shape)
        what, n = f"tensor {name or '(intermediate)'}", math.prod(shape)
        if any(d < 0 for d in shape):
            raise PlanError(f"{what} has a negative size {shape}")
        if n > MAX_ELEMENTS:
            raise PlanError(f"{what} of shape {shape} has {n} elements, more than the limit of "
                            f"{MAX_ELEMENTS}")
        if n == 0:
            raise PlanError(f"{what} of shape {shape} is empty: zero-size tensors are not supported")
        if name is not None and name in self.slots:
            return self._slot_view(name, shape, order)
        strides = _contig_strides(shape, order)
        size = max(1, math.prod(shape))
        if name in self.depthwise_io and 3 <= len(shape) <= 5 and shape[1] % _ALIAS_CHANNELS == 0 \
                and math.prod(shape[2:]) > 1 and T(shape, strides).is_cl():
            # A pixel stride of C % 128 == 0 floats puts every pixel of a row into 1-8 of the
            # 64 L1 sets, and the depthwise kernels walk 8-channel strips along the row: one more
            # line (16 floats) spreads them over all 64. mobilenet_v1's 512-channel 3x3 at 14x14
            # went from 0.130 to 0.057 ms (whole model -5.5%, 1 thread, Zen 3).
            acc, strides = shape[1] + ALIGN, [0, 1] + [0] * (len(shape) - 2)
            for ax in reversed(range(2, len(shape))):
                strides[ax] = acc
                acc *= shape[ax]
            strides[0], size = acc, shape[0] * acc
        root = Root(size=(size + ALIGN - 1) // ALIGN * ALIGN)
        return T(shape, tuple(strides), ARENA, 0, root)

    def _slot_view(self, name, shape, order):
        cname, off = self.slots[name]
        parent = self.vals.get(cname)
        if parent is None:
            cshape = self.known_shapes[cname]
            parent = self.new(cshape, _cl_order(len(cshape)) if 3 <= len(cshape) <= 5 else None,
                              name=cname)
            self.vals[cname] = parent
        return T(shape, parent.strides, parent.buf, parent.offset + off * parent.strides[1],
                 parent.root)

    def const_t(self, name, arr):
        """The constant-pool tensor of constant `name` (added once, however many nodes use it)."""
        t = self.const_refs.get(name)
        if t is None:
            a = np.ascontiguousarray(arr, dtype=np.float32)
            t = T(a.shape, _contig_strides(a.shape), CONSTS, self.const_offset)
            self.consts.append(a)
            self.const_offset += (a.size + ALIGN - 1) // ALIGN * ALIGN
            self.const_refs[name] = t
        return t

    def rt(self, name, where):
        """The runtime tensor of `name` (a constant becomes a constant-pool tensor)."""
        v = self.vals.get(name)
        if v is None:
            raise PlanError(f"{where}: tensor {name!r} is not available")
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "fiub":
                raise PlanError(f"{where}: tensor {name!r} has dtype {v.dtype}")
            return self.const_t(name, v)
        return v

    def const(self, name, where, what="input"):
        v = self.vals.get(name)
        if not isinstance(v, np.ndarray):
            raise PlanError(f"{where}: {what} {name!r} must be a constant (initializer)")
        if what == "weight":
            _nonempty(v, name, where, what)
        return v

    def cl(self, t: T, where):
        if t.is_cl():
            return t
        key = id(t)
        if key in self.cl_cache:
            return self.cl_cache[key]
        out = self.new(t.shape, _cl_order(t.rank))
        self.step("add_copy", where + "/to_channels_last", ["Relayout", t, out], [t], [out])
        self.cl_cache[key] = out
        return out

    def contiguous(self, t: T, where):
        if t.is_contiguous():
            return t
        out = self.new(t.shape)
        self.step("add_copy", where + "/contiguous", ["Relayout", t, out], [t], [out])
        return out

    def step(self, method, name, args, reads, writes, op=None):
        self.steps.append(Step(method, name, args, reads, writes, op))

    def out(self, node, i, shape, order=None):
        name = node.outputs[i]
        t = self.new(shape, order, name=name)
        self.vals[name] = t
        self.shapes[name] = tuple(shape)
        return t

    def set_view(self, node, i, t):
        self.vals[node.outputs[i]] = t
        self.shapes[node.outputs[i]] = tuple(t.shape)

    # ------------------------------------------------------------------ driver
    def run(self):
        g = self.g
        self.depthwise_io = _depthwise_io(g)
        for name, arr in g.initializers.items():
            self.vals[name] = arr
            self.shapes[name] = tuple(arr.shape)
        for i, vi in enumerate(g.inputs):
            if vi.name in g.initializers:
                continue
            shape = tuple(self.input_shapes[vi.name])
            if math.prod(shape) > MAX_ELEMENTS:
                raise PlanError(f"input {vi.name!r}: shape {list(shape)} has more than "
                                f"{MAX_ELEMENTS} elements")
            self.vals[vi.name] = T(shape, _contig_strides(shape), 2 + self.input_index[vi.name], 0)
            self.shapes[vi.name] = shape
        for node in g.nodes:
            where = f"node {node.name or node.op_type} ({node.op_type})"
            try:
                self.node(node, where)
            except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                    OverflowError) as e:
                # PlanError / ModelError messages that already name a node keep their text
                msg = str(e)
                raise PlanError(msg if isinstance(e, ModelError) and msg.startswith("node ")
                                else f"{where}: {msg}") from None

    def node(self, node, where):
        op = node.op_type
        ins = [self.vals.get(n) if n else None for n in node.inputs]
        for n, v in zip(node.inputs, ins):
            if n and v is None:
                raise PlanError(f"{where}: input {n!r} is not available")
        if op == "Constant":
            return self._constant(node, where)
        if op == "Shape" and isinstance(ins[0], T):
            self.vals[node.outputs[0]] = shape_value(ins[0].shape, node)
            return
        if all(v is None or isinstance(v, np.ndarray) for v in ins) and op not in ("Dropout",):
            return self._fold(node, ins, where)
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise PlanError(f"{where}: op {op} is not supported on runtime tensors")
        fn(node, ins, where)

    def _constant(self, node, where):
        for k in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            v = node.attrs.get(k)
            if v is not None:
                dt = np.float32 if "float" in k else (np.int64 if "int" in k else None)
                self.vals[node.outputs[0]] = np.asarray(v, dtype=dt)
                return
        raise PlanError(f"{where}: Constant without a supported value attribute")

    def _fold(self, node, ins, where):
        outs = evaluate.eval_node(node, ins, self.opset)
        for name, v in zip(node.outputs, outs):
            if name:
                self.vals[name] = np.asarray(v)
                self.shapes[name] = np.asarray(v).shape

    # ------------------------------------------------------------------ convolutions
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

    def op_BatchNormalization(self, node, ins, where):
        if int(attr(node, "training_mode") or 0):
            raise PlanError(f"{where}: training_mode=1 is not supported (inference only)")
        if ins[0].rank < 2:
            raise PlanError(f"{where}: input must have shape (N, C, ...), got {ins[0].shape}")
        params = [np.ascontiguousarray(self.const(n, where), np.float32) for n in node.inputs[1:5]]
        for v, what in zip(params, ("scale", "B", "input_mean", "input_var")):
            if v.shape != (ins[0].shape[1],):
                raise PlanError(f"{where}: {what} has shape {v.shape}, expected "
                                f"({ins[0].shape[1]},), one value per channel")
        scale, bias, mean, var = params
        if ins[0].rank == 2:  # (N, C): y = x * a + c, per channel, in two broadcast steps
            x, name = ins[0], node.name or where
            a = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + float(attr(node, "epsilon")))
            c = bias - mean.astype(np.float64) * a
            ta, tc = (_broadcast(self.const_t(f"{name}/{k}", v.astype(np.float32)), x.shape)
                      for k, v in (("a", a), ("c", c)))
            tmp = self.new(x.shape)
            self.step("add_binary", name, ["Mul", x, ta, tmp], [x], [tmp])
            y = self.out(node, 0, x.shape)
            self.step("add_binary", name, ["Add", tmp, tc, y], [tmp], [y])
            return
        x = self.cl(ins[0], where)
        y = self.out(node, 0, x.shape, _cl_order(x.rank))
        self.step("add_batchnorm", node.name or where,
                  [x, y, mean, var, scale, bias, float(attr(node, "epsilon"))], [x], [y])

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

    # ------------------------------------------------------------------ pooling / resize
    def _pool(self, node, ins, where, is_max):
        x = self.cl(ins[0], where)
        k, win = pool_geometry(node, x.shape)
        s, d, osp = win.strides, win.dilations, win.out
        pb, pe = list(win.pad_begin), list(win.pad_end)
        ceil = bool(attr(node, "ceil_mode"))
        cip = bool(attr(node, "count_include_pad")) if not is_max else False
        y = self.out(node, 0, (x.shape[0], x.shape[1], *osp), _cl_order(x.rank))
        if len(node.outputs) > 1 and node.outputs[1]:
            raise PlanError(f"{where}: MaxPool's Indices output is not supported")
        # the C++ builder picks the 2-D kernel or the n-d window pool
        self.step("add_pool", node.name or where, [x, y, is_max, k, s, d, pb, pe, ceil, cip],
                  [x], [y])

    def op_MaxPool(self, node, ins, where):
        self._pool(node, ins, where, True)

    def op_AveragePool(self, node, ins, where):
        self._pool(node, ins, where, False)

    def _global_pool(self, node, ins, where, is_max):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: input must have spatial axes, got shape {x.shape}")
        x = self.cl(x, where)
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.rank - 2)
        y = self.out(node, 0, shape, _cl_order(x.rank))
        self.step("add_global_pool", node.name or where, [x, y, is_max], [x], [y])

    def op_GlobalAveragePool(self, node, ins, where):
        self._global_pool(node, ins, where, False)

    def op_GlobalMaxPool(self, node, ins, where):
        self._global_pool(node, ins, where, True)

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

    # ------------------------------------------------------------------ element-wise
    def _unary(self, node, ins, where, act):
        x = ins[0]
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step("add_unary", node.name or where, [node.op_type, x, y, *act], [x], [y])

    def op_Relu(self, node, ins, where):
        self._unary(node, ins, where, ("none", 0.0, 0.0, 0.0, np.inf))

    def op_LeakyRelu(self, node, ins, where):
        self._unary(node, ins, where, ("leaky_relu", float(attr(node, "alpha")), 0.0, -np.inf, np.inf))

    def op_Clip(self, node, ins, where):
        bounds = [self.const(node.inputs[i], where, what) if len(node.inputs) > i and node.inputs[i]
                  else None for i, what in ((1, "min"), (2, "max"))]
        lo, hi = clip_bounds(node, [ins[0]] + bounds, None)
        for v, what in ((lo, "min"), (hi, "max")):
            if v is not None and math.isnan(v):
                raise PlanError(f"{where}: Clip {what} is NaN")
        lo = -np.inf if lo is None else lo
        hi = np.inf if hi is None else hi
        if lo > hi:  # ONNX: every output is max
            lo = hi
        self._unary(node, ins, where, ("none", 0.0, 0.0, float(lo), float(hi)))

    def op_HardSwish(self, node, ins, where):
        self._unary(node, ins, where, ("hardswish", 0.0, 0.0, -np.inf, np.inf))

    def op_HardSigmoid(self, node, ins, where):
        self._unary(node, ins, where, ("hardsigmoid", float(attr(node, "alpha")),
                                       float(attr(node, "beta")), -np.inf, np.inf))

    def op_Sigmoid(self, node, ins, where):
        self._unary(node, ins, where, ("sigmoid", 0.0, 0.0, -np.inf, np.inf))

    def op_Tanh(self, node, ins, where):
        self._unary(node, ins, where, ("tanh", 0.0, 0.0, -np.inf, np.inf))

    def _binary(self, node, ins, where):
        a = self.rt(node.inputs[0], where)
        b = self.rt(node.inputs[1], where)
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        ref = a if tuple(a.shape) == shape and a.buf != CONSTS else (
            b if tuple(b.shape) == shape else a)
        if tuple(ref.shape) == shape:
            order = _layout_order(ref)
        else:
            order = None
        y = self.out(node, 0, shape, order)
        self.step("add_binary", node.name or where,
                  [node.op_type, _broadcast(a, shape), _broadcast(b, shape), y], [a, b], [y])

    op_Add = op_Sub = op_Mul = op_Div = _binary

    def op_Softmax(self, node, ins, where):
        self._softmax(node, ins, where, "add_softmax")

    def _softmax(self, node, ins, where, method):
        """Softmax / LogSoftmax (`method` the plan's step) along one axis; below opset 13 the
        input is coerced to 2-D, (prod(:axis), prod(axis:))."""
        x = ins[0]
        axis = int(attr(node, "axis"))
        if self.opset < 13 and "axis" not in node.attrs:
            axis = 1
        axis = _axis(axis, x.rank, where)
        name = node.name or where
        if self.opset < 13 and axis != x.rank - 1:
            xc = self.contiguous(x, where)
            n = math.prod(x.shape[axis:])
            flat = T((math.prod(x.shape[:axis]), n), (n, 1), xc.buf, xc.offset, xc.root)
            y = self.out(node, 0, x.shape)
            yf = T(flat.shape, flat.strides, y.buf, y.offset, y.root)
            self.step(method, name, [flat, yf, 1], [flat], [yf])
            return
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step(method, name, [x, y, axis], [x], [y])

    # ------------------------------------------------------------------ linear algebra
    def op_Gemm(self, node, ins, where):
        a = self.rt(node.inputs[0], where)
        if a.rank != 2:
            raise PlanError(f"{where}: Gemm input A must be 2D, got {a.shape}")
        ta, tb = int(attr(node, "transA")), int(attr(node, "transB"))
        alpha, beta = float(attr(node, "alpha")), float(attr(node, "beta"))
        if ta:
            a = T(a.shape[::-1], a.strides[::-1], a.buf, a.offset, a.root)
        bv = self.vals.get(node.inputs[1])
        if isinstance(bv, np.ndarray):
            _nonempty(bv, node.inputs[1], where, "B")
        c = None
        if len(node.inputs) > 2 and node.inputs[2]:
            c = self.vals.get(node.inputs[2])
        m, k = a.shape
        if isinstance(bv, np.ndarray):
            bmat = bv.T if tb else bv
            if bmat.ndim != 2 or bmat.shape[0] != k:
                raise PlanError(f"{where}: B shape {bv.shape} does not match A {a.shape}")
            n = bmat.shape[1]
            w = np.ascontiguousarray((alpha * bmat.astype(np.float64)).T, np.float32)[:, :, None]
            bias = None
            rest = None
            if c is not None:
                if isinstance(c, np.ndarray) and c.size in (1, n) and (c.ndim < 2 or c.shape[0] == 1):
                    bias = np.broadcast_to((beta * c.astype(np.float64)).reshape(-1),
                                           (n,)).astype(np.float32)
                else:
                    rest = c
            x3 = T((1, k, m), (0, a.strides[1], a.strides[0]), a.buf, a.offset, a.root)
            x3 = self.cl(x3, where)
            yname = node.outputs[0]
            y = self.new((m, n), name=None)
            y3 = T((1, n, m), (0, 1, n), y.buf, y.offset, y.root)
            algo = self.algorithms.get(node.name, self.default_algorithm)
            self.step("add_conv", node.name or where,
                      [x3, y3, None, w, bias, 1, [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                       [0, 0, 0], False, algo, "none", 0.0, 0.0, -np.inf, np.inf], [x3], [y3],
                      "Gemm")
            if rest is not None:
                ct = self.rt(node.inputs[2], where)
                if beta != 1.0:
                    raise PlanError(f"{where}: Gemm with a runtime C and beta != 1 is not supported")
                out = self.new((m, n), name=yname)
                self.step("add_binary", (node.name or where) + "/C",
                          ["Add", y, _broadcast(ct, (m, n)), out], [y, ct], [out])
                y = out
            self.vals[yname] = y
            self.shapes[yname] = (m, n)
            return
        b = self.rt(node.inputs[1], where)
        if tb:
            b = T(b.shape[::-1], b.strides[::-1], b.buf, b.offset, b.root)
        if alpha != 1.0 or (c is not None):
            raise PlanError(f"{where}: Gemm with a runtime B supports alpha 1 and no C only")
        y = self.out(node, 0, (m, b.shape[1]))
        self.step("add_matmul", node.name or where, [a, b, y], [a, b], [y])

    def op_MatMul(self, node, ins, where):
        a = self.rt(node.inputs[0], where)
        bv = self.vals.get(node.inputs[1])
        if isinstance(bv, np.ndarray):
            _nonempty(bv, node.inputs[1], where, "B")
        if isinstance(bv, np.ndarray) and bv.ndim == 2 and a.rank >= 2 and a.is_contiguous():
            k, n = bv.shape
            if a.shape[-1] != k:
                raise PlanError(f"{where}: shapes {a.shape} and {bv.shape} do not match")
            m = math.prod(a.shape[:-1])
            w = np.ascontiguousarray(bv.T, np.float32)[:, :, None]
            x3 = T((1, k, m), (0, 1, k), a.buf, a.offset, a.root)
            shape = (*a.shape[:-1], n)
            y = self.out(node, 0, shape)
            y3 = T((1, n, m), (0, 1, n), y.buf, y.offset, y.root)
            self.step("add_conv", node.name or where,
                      [x3, y3, None, w, None, 1, [1, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 0],
                       [0, 0, 0], False, self.algorithms.get(node.name, self.default_algorithm),
                       "none", 0.0, 0.0, -np.inf, np.inf], [x3], [y3], "MatMul")
            return
        b = self.rt(node.inputs[1], where)
        squeeze = []
        if a.rank == 1:
            a = T((1, a.shape[0]), (0, a.strides[0]), a.buf, a.offset, a.root)
            squeeze.append(-2)
        if b.rank == 1:
            b = T((b.shape[0], 1), (b.strides[0], 0), b.buf, b.offset, b.root)
            squeeze.append(-1)
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        if a.shape[-1] != b.shape[-2]:
            raise PlanError(f"{where}: shapes {a.shape} and {b.shape} do not match")
        shape = (*batch, a.shape[-2], b.shape[-1])
        y = self.new(shape)
        self.step("add_matmul", node.name or where,
                  [_broadcast(a, (*batch, *a.shape[-2:])), _broadcast(b, (*batch, *b.shape[-2:])), y],
                  [a, b], [y])
        if squeeze:
            keep = [i for i in range(len(shape)) if i - len(shape) not in squeeze]
            y = T(tuple(shape[i] for i in keep), tuple(y.strides[i] for i in keep), y.buf, y.offset,
                  y.root)
        self.set_view(node, 0, y)

    # ------------------------------------------------------------------ views and copies
    def _reshape_to(self, node, x, shape, where):
        shape = tuple(int(d) for d in shape)
        if math.prod(shape) != math.prod(x.shape):
            raise PlanError(f"{where}: cannot reshape {x.shape} to {shape}")
        xc = self.contiguous(x, where)
        self.set_view(node, 0, T(shape, _contig_strides(shape), xc.buf, xc.offset, xc.root))

    def op_Reshape(self, node, ins, where):
        x = ins[0]
        spec = [int(v) for v in np.asarray(self.const(node.inputs[1], where, "shape")).reshape(-1)]
        shape = reshape_target(x.shape, spec, bool(attr(node, "allowzero")))
        self._reshape_to(node, x, shape, where)

    def op_Flatten(self, node, ins, where):
        x = ins[0]
        axis = int(attr(node, "axis"))
        if not -x.rank <= axis <= x.rank:
            raise PlanError(f"{where}: axis {axis} out of range")
        if axis < 0:
            axis += x.rank
        self._reshape_to(node, x, (math.prod(x.shape[:axis]), math.prod(x.shape[axis:])), where)

    def _axes(self, node, where, rank):
        axes = attr(node, "axes")
        if len(node.inputs) > 1 and node.inputs[1]:
            axes = [int(v) for v in np.asarray(self.const(node.inputs[1], where, "axes")).reshape(-1)]
        if axes is None:
            return None
        axes = [_axis(a, rank, where) for a in axes]
        if len(set(axes)) != len(axes):
            raise PlanError(f"{where}: axes {axes} repeat")
        return axes

    def op_Squeeze(self, node, ins, where):
        x = ins[0]
        axes = self._axes(node, where, x.rank)
        if axes is None:
            axes = [i for i, d in enumerate(x.shape) if d == 1]
        for a in axes:
            if x.shape[a] != 1:
                raise PlanError(f"{where}: cannot squeeze axis {a} of size {x.shape[a]}")
        keep = [i for i in range(x.rank) if i not in axes]
        self.set_view(node, 0, T(tuple(x.shape[i] for i in keep), tuple(x.strides[i] for i in keep),
                                 x.buf, x.offset, x.root))

    def op_Unsqueeze(self, node, ins, where):
        x = ins[0]
        axes = self._axes(node, where, x.rank + len(self._axes_raw(node, where)))
        shape, strides = list(x.shape), list(x.strides)
        for a in sorted(axes):
            shape.insert(a, 1)
            strides.insert(a, 0)
        self.set_view(node, 0, T(tuple(shape), tuple(strides), x.buf, x.offset, x.root))

    def _axes_raw(self, node, where):
        axes = attr(node, "axes")
        if len(node.inputs) > 1 and node.inputs[1]:
            axes = np.asarray(self.const(node.inputs[1], where, "axes")).reshape(-1)
        if axes is None:
            raise PlanError(f"{where}: Unsqueeze needs axes")
        return list(axes)

    def op_Transpose(self, node, ins, where):
        x = ins[0]
        perm = attr(node, "perm")
        perm = list(range(x.rank))[::-1] if perm is None else [int(p) for p in perm]
        if sorted(perm) != list(range(x.rank)):
            raise PlanError(f"{where}: perm {perm} is not a permutation of {x.rank} axes")
        self.set_view(node, 0, T(tuple(x.shape[p] for p in perm), tuple(x.strides[p] for p in perm),
                                 x.buf, x.offset, x.root))

    def op_Identity(self, node, ins, where):
        self.set_view(node, 0, ins[0])

    def op_Dropout(self, node, ins, where):
        x = self.rt(node.inputs[0], where)
        self.set_view(node, 0, x)
        if len(node.outputs) > 1 and node.outputs[1]:
            self.vals[node.outputs[1]] = np.ones(x.shape, bool)

    def op_Slice(self, node, ins, where):
        x = ins[0]
        get = lambda i: ([int(v) for v in np.asarray(self.const(node.inputs[i], where)).reshape(-1)]
                         if len(node.inputs) > i and node.inputs[i] else None)
        starts, ends, axes, steps = get(1), get(2), get(3), get(4)
        axes = list(range(len(starts))) if axes is None else [_axis(a, x.rank, where) for a in axes]
        steps = [1] * len(starts) if steps is None else steps
        if not len(starts) == len(ends) == len(axes) == len(steps):
            raise PlanError(f"{where}: starts, ends, axes and steps differ in length "
                            f"({len(starts)}, {len(ends)}, {len(axes)}, {len(steps)})")
        if len(set(axes)) != len(axes):
            raise PlanError(f"{where}: axes {axes} repeat an axis")
        shape, strides, offset = list(x.shape), list(x.strides), x.offset
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            if sp == 0:
                raise PlanError(f"{where}: slice step 0")
            idx = range(shape[ax])[slice(st, en, sp)]
            n = len(idx)
            if n:
                offset += idx.start * strides[ax]
            shape[ax] = n
            if n > 1:  # a length-1 axis keeps its stride (a huge step would overflow it)
                strides[ax] *= sp
        self.set_view(node, 0, T(tuple(shape), tuple(strides), x.buf, offset, x.root))

    def op_Split(self, node, ins, where):
        x = ins[0]
        axis = _axis(attr(node, "axis"), x.rank, where)
        split = attr(node, "split")
        if len(node.inputs) > 1 and node.inputs[1]:
            split = [int(v) for v in np.asarray(self.const(node.inputs[1], where)).reshape(-1)]
        n = len(node.outputs)
        if split is None:
            size = x.shape[axis]
            per = -(-size // n)
            split = [min(per, size - i * per) for i in range(n)]
        if sum(split) != x.shape[axis] or len(split) != n or min(split) < 0:
            raise PlanError(f"{where}: split {split} does not divide axis of size {x.shape[axis]}")
        off = 0
        for i, s in enumerate(split):
            shape = list(x.shape)
            shape[axis] = s
            self.set_view(node, i, T(tuple(shape), x.strides, x.buf, x.offset + off * x.strides[axis],
                                     x.root))
            off += s

    def op_Gather(self, node, ins, where):
        x = ins[0]
        idx = self.const(node.inputs[1], where, "indices")
        axis = _axis(attr(node, "axis"), x.rank, where)
        if idx.ndim != 0:
            flat = [int(v) for v in np.asarray(idx).reshape(-1)]
            if len(flat) > 4096:
                raise PlanError(f"{where}: Gather of more than 4096 runtime slices")
            shape = x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1:]
            y = self.out(node, 0, shape)
            inner = T(x.shape[:axis] + (len(flat),) + x.shape[axis + 1:], None, y.buf, y.offset, y.root)
            inner.strides = _contig_strides(inner.shape)
            for j, i in enumerate(flat):
                if not -x.shape[axis] <= i < x.shape[axis]:
                    raise PlanError(f"{where}: index {i} out of range")
                i %= x.shape[axis]
                keep = [a for a in range(x.rank) if a != axis]
                src = T(tuple(x.shape[a] for a in keep), tuple(x.strides[a] for a in keep), x.buf,
                        x.offset + i * x.strides[axis], x.root)
                dst = T(src.shape, tuple(inner.strides[a] for a in keep), y.buf,
                        y.offset + j * inner.strides[axis], y.root)
                self.step("add_copy", f"{node.name or where}/{j}", ["Gather", src, dst], [src], [dst])
            return
        i = int(idx)
        if not -x.shape[axis] <= i < x.shape[axis]:
            raise PlanError(f"{where}: index {i} out of range")
        i %= x.shape[axis]
        keep = [a for a in range(x.rank) if a != axis]
        self.set_view(node, 0, T(tuple(x.shape[a] for a in keep), tuple(x.strides[a] for a in keep),
                                 x.buf, x.offset + i * x.strides[axis], x.root))

    def op_Concat(self, node, ins, where):
        ts = [self.rt(n, where) for n in node.inputs]
        r = ts[0].rank
        axis = int(attr(node, "axis"))
        if not -r <= axis < r:
            raise PlanError(f"{where}: axis {axis} out of range for rank {r}")
        axis %= r
        for t in ts:
            if t.rank != r or any(t.shape[i] != ts[0].shape[i] for i in range(r) if i != axis):
                raise PlanError(f"{where}: input shapes {[t.shape for t in ts]} differ off the "
                                f"concat axis")
        shape = list(ts[0].shape)
        shape[axis] = sum(t.shape[axis] for t in ts)
        name = node.outputs[0]
        y = self.vals.get(name) if name in self.slot_parents else None
        if y is None:
            y = self.out(node, 0, shape, _concat_order(ts, axis))
        else:
            self.shapes[name] = tuple(shape)
        off = 0
        for n, t in zip(node.inputs, ts):
            dst = T(t.shape, y.strides, y.buf, y.offset + off * y.strides[axis], y.root)
            if not (n in self.slots and self.slots[n][0] == name):
                self.step("add_copy", f"{node.name or where}/{n}", ["Concat", t, dst], [t], [dst])
            off += t.shape[axis]

    def op_Pad(self, node, ins, where):
        x = ins[0]
        consts = [None] + [self.const(n, where, w) if n else None
                           for n, w in zip(node.inputs[1:], ("pads", "constant_value", "axes"))]
        mode, pb, pe, value = pad_params(node, x.rank, consts, self.opset)
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise PlanError(f"{where}: Pad mode {mode!r} is not supported")
        pads, value = pb + pe, float(value)
        # Negative pads crop: pad a view of the kept part.
        keep = [x.shape[i] - max(0, -pb[i]) - max(0, -pe[i]) for i in range(x.rank)]
        if any(k <= 0 for k in keep):
            raise PlanError(f"{where}: pads {pads} crop input of shape {x.shape} to nothing")
        x = T(tuple(keep), x.strides, x.buf,
              x.offset + sum(max(0, -pb[i]) * x.strides[i] for i in range(x.rank)), x.root)
        pb, pe = [max(0, p) for p in pb], [max(0, p) for p in pe]
        if mode == "reflect" and any(max(pb[i], pe[i]) >= x.shape[i] for i in range(x.rank)
                                     if pb[i] or pe[i]):
            raise PlanError(f"{where}: reflect pads {pads} must be smaller than the padded "
                            f"axes of input shape {x.shape}")
        shape = tuple(x.shape[i] + pb[i] + pe[i] for i in range(x.rank))
        y = self.out(node, 0, shape, _layout_order(x) if 3 <= x.rank <= 5 else None)
        name = node.name or where
        if mode == "constant" and any(pb + pe):
            self.step("add_fill", name + "/fill", ["Pad", y, value], [], [y])

        def view(lo, ext, strides=y.strides):  # the block of y at index lo, extent ext
            off = sum(lo[i] * y.strides[i] for i in range(y.rank))
            return T(tuple(ext), tuple(strides), y.buf, y.offset + off, y.root)
        mid = view(pb, x.shape)
        self.step("add_copy", name, ["Pad", x, mid], [x], [mid])
        if mode == "constant":
            return
        # Axis by axis, each border slab is copied from inside y: slabs span the whole of the
        # axes already padded and the input's part of the others. A few copies per side: edge
        # repeats one row (stride 0), reflect reads backwards (negative stride), wrap copies
        # whole periods from the filled part, which doubles each time.
        for a in range(x.rank):
            n, sa = x.shape[a], y.strides[a]
            lo, ext = list(pb), list(x.shape)
            for b in range(a):
                lo[b], ext[b] = 0, shape[b]

            def copy(d, src, cnt, src_stride=sa):
                lo_d, lo_s, e, st = list(lo), list(lo), list(ext), list(y.strides)
                lo_d[a], lo_s[a], e[a], st[a] = d, src, cnt, src_stride
                dst, s = view(lo_d, e), view(lo_s, e, st)
                self.step("add_copy", f"{name}/{mode}{a}_{d}", ["Pad", s, dst], [s], [dst])
            if mode == "edge":
                if pb[a]:
                    copy(0, pb[a], pb[a], 0)
                if pe[a]:
                    copy(pb[a] + n, pb[a] + n - 1, pe[a], 0)
            elif mode == "reflect":
                if pb[a]:
                    copy(0, 2 * pb[a], pb[a], -sa)
                if pe[a]:
                    copy(pb[a] + n, pb[a] + n - 2, pe[a], -sa)
            else:  # [low, hi) is filled; copy whole periods of it outwards
                low, hi = pb[a], pb[a] + n
                while hi < shape[a]:
                    period = (hi - low) // n * n
                    cnt = min(period, shape[a] - hi)
                    copy(hi, hi - period, cnt)
                    hi += cnt
                while low > 0:
                    period = (hi - low) // n * n
                    cnt = min(period, low)
                    copy(low - cnt, low - cnt + period, cnt)
                    low -= cnt

    # ------------------------------------------------------------------ outputs
    def finish(self):
        self.out_refs = []
        for j, vi in enumerate(self.g.outputs):
            v = self.vals.get(vi.name)
            if v is None:
                raise PlanError(f"graph output {vi.name!r} was not computed")
            t = self.rt(vi.name, "graph output")
            dst = T(t.shape, _contig_strides(t.shape), 2 + self.n_inputs + j, 0)
            self.step("add_copy", f"output/{vi.name}", ["Output", t, dst], [t], [dst])
            self.out_refs.append(dst)


def _concat_order(ts, axis):
    """Memory order of a Concat's output: channels-last for a channel concat (the next conv
    wants it); otherwise (a stack of unit axes, any other axis) the first input's order with
    the concat axis moved outside the others (after the batch), so every input is one block. torch.stack(dim=1) of channels-last maps (SK-Net, ResNeSt split
    attention) put its new axis innermost under the channel rule: the attention Mul then ran
    rows of 2 elements (skresnet18: 8 ms of Mul)."""
    r = len(ts[0].shape)
    t0 = ts[0]
    if 3 <= r <= 5 and axis == 1 and any(t.shape[1] > 1 for t in ts):
        return _cl_order(r)
    base = [a for a in _layout_order(t0) if a != axis]
    pos = 1 if base and base[0] == 0 and axis != 0 else 0
    return base[:pos] + [axis] + base[pos:]


def _depthwise_io(g) -> set:
    """Names of the inputs and outputs of depthwise convolutions (weight (C * m, 1, k...),
    group > 1)."""
    names = set()
    for n in g.nodes:
        if n.op_type in ("Conv", "FusedConv") and len(n.inputs) > 1 and int(attr(n, "group") or 1) > 1:
            w = g.initializers.get(n.inputs[1])
            if w is not None and w.ndim >= 3 and w.shape[1] == 1:
                names.add(n.inputs[0])
                names.update(n.outputs)
    return names


# Longest Resize output axis: its index and weight tables are built in float64 here.
MAX_RESIZE_AXIS = 1 << 24


# ---------------------------------------------------------------------- whole-plan assembly

def _concat_slots(model: Model, shapes: dict, vals: dict):
    """Concat inputs whose producers can write straight into the concat's output."""
    g = model.graph
    consumers: dict = {}
    producer = {}
    for n in g.nodes:
        for t in n.inputs:
            consumers[t] = consumers.get(t, 0) + 1
        for t in n.outputs:
            producer[t] = n
    outputs = {v.name for v in g.outputs}
    slots = {}
    for n in g.nodes:
        if n.op_type != "Concat" or n.domain:
            continue
        if n.outputs[0] not in shapes:
            continue
        r = len(shapes[n.outputs[0]])
        axis = int(attr(n, "axis")) % max(r, 1)
        if not (3 <= r <= 5 and axis == 1):
            continue
        off = 0
        seen = set()
        for t in n.inputs:
            p = producer.get(t)
            ok = (p is not None and p.op_type not in _VIEW_OPS and p.op_type != "Concat"
                  and consumers.get(t) == 1 and t not in outputs and t not in seen
                  and len(p.outputs) == 1 and not isinstance(vals.get(t), np.ndarray)
                  and t in shapes)
            if ok:
                slots[t] = (n.outputs[0], off)
            seen.add(t)
            if t not in shapes:
                break
            off += shapes[t][1]
    return slots


def build(model: Model, input_shapes: dict, algorithms=None, zero_copy_concat=True,
          default_algorithm="auto", keep_file=False):
    """Plans `model` for the given input shapes; returns a PlannedModel, whose plan the C++
    builder made from the compiled-model file the planner wrote (kept as .file with
    keep_file)."""
    names = [v.name for v in model.graph.inputs if v.name not in model.graph.initializers]
    idx = {n: i for i, n in enumerate(names)}

    def plan(slots, known=None):
        p = Planner(model, input_shapes, algorithms, slots, default_algorithm)
        p.known_shapes = known or {}
        p.input_index = idx
        p.n_inputs = len(names)
        p.slot_parents = {c for c, _ in slots.values()}
        p.run()
        p.finish()
        return p

    p = plan({})
    if zero_copy_concat:
        slots = _concat_slots(model, p.shapes, p.vals)
        if slots:
            p = plan(slots, p.shapes)
    return PlannedModel(p, names, algorithms, keep_file)


class PlannedModel:
    def __init__(self, p: Planner, input_names, algorithms, keep_file=False):
        self.input_names = input_names
        self.input_shapes = [tuple(p.input_shapes[n]) for n in input_names]
        self.output_names = [v.name for v in p.g.outputs]
        self.output_shapes = [tuple(t.shape) for t in p.out_refs]
        # Constant outputs (a Shape, a folded int subgraph) keep their dtype: the engine's own
        # output buffers are float32.
        self.const_outputs = {j: v for j, v in ((j, p.vals.get(vi.name))
                                                for j, vi in enumerate(p.g.outputs))
                              if isinstance(v, np.ndarray) and v.dtype != np.float32}
        # int64 outputs computed at run time (ArgMax / ArgMin indices, held as exact float32)
        ints = getattr(p, "int64_tensors", set())
        self.int64_outputs = [j for j, vi in enumerate(p.g.outputs)
                              if vi.name in ints and j not in self.const_outputs]
        steps = p.steps
        # liveness of arena roots
        roots = []
        for i, st in enumerate(steps):
            for t in st.reads + st.writes:
                if t is not None and t.root is not None:
                    r = t.root
                    if r.last < 0:
                        roots.append(r)
                    r.first = min(r.first, i)
                    r.last = max(r.last, i)
        placed = []
        for r in sorted(roots, key=lambda r: (-r.size, r.first)):
            cands = sorted((q.offset, q.offset + q.size) for q in placed
                           if not (q.last < r.first or r.last < q.first))
            off = 0
            for lo, hi in cands:
                if off + r.size <= lo:
                    break
                off = max(off, hi)
            r.offset = off
            placed.append(r)
        self.arena_floats = max((r.offset + r.size for r in placed), default=0)
        w = _native.ModelWriter()
        w.set_producer(f"convengine {_version()}")
        for name, shape in zip(self.input_names, self.input_shapes):
            w.add_input(name, "float32", list(shape))
        # integer outputs hold exact integers in float32 (ArgMax indices, a folded Shape)
        ints = set(self.int64_outputs) | {j for j, v in self.const_outputs.items()
                                          if v.dtype.kind in "iub"}
        for j, (name, shape) in enumerate(zip(self.output_names, self.output_shapes)):
            w.add_output(name, "int64" if j in ints else "float32", list(shape))
        w.set_arena_floats(self.arena_floats)
        for a in p.consts:
            w.add_pool_constant(a)
        for st in steps:
            args = [a.ref() if isinstance(a, T) else
                    [v.ref() for v in a] if isinstance(a, list) and a and isinstance(a[0], T)
                    else a for a in st.args]
            w.add_step(st.method, st.name, st.op or "", args)
        self.file = w.finish()
        try:
            self.plan = _native.load_compiled(self.file)
        except ValueError as e:
            raise PlanError(str(e)) from None
        if not keep_file:
            self.file = None
        self.rows = []
        for st, (name, op, algo, flops) in zip(steps, self.plan.steps()):
            params = sum(int(a.size) for a in st.args if isinstance(a, np.ndarray)) if st.method in (
                "add_conv", "add_deform", "add_local", "add_batchnorm", "add_squeeze_excite") else 0
            self.rows.append(dict(node=st.name, method=st.method, op=op, params=params,
                                  algorithm=algo, mflops=flops / 1e6,
                                  inputs=[tuple(t.shape) for t in st.reads if t is not None],
                                  outputs=[tuple(t.shape) for t in st.writes]))
        self.weights_bytes = sum(int(a.nbytes) for a in p.g.initializers.values())


class LoadedPlan:
    """A PlannedModel's interface over a compiled model loaded from a file (no graph: steps
    name their nodes, shapes and parameters are not recorded)."""

    def __init__(self, compiled):
        self.plan = compiled
        self.file = None
        self.input_names = [n for n, _, _ in compiled.inputs]
        self.input_shapes = [tuple(s) for _, _, s in compiled.inputs]
        self.output_names = [n for n, _, _ in compiled.outputs]
        self.output_shapes = [tuple(s) for _, _, s in compiled.outputs]
        self.const_outputs = {}
        self.int64_outputs = [j for j, (_, dt, _) in enumerate(compiled.outputs) if dt == "int64"]
        self.arena_floats = compiled.arena_floats
        self.weights_bytes = 4 * compiled.constant_floats
        self.rows = [dict(node=name, method=None, op=op, params=None, algorithm=algo,
                          mflops=flops / 1e6, inputs=[], outputs=[])
                     for name, op, algo, flops in compiled.steps()]


def _version():
    from .. import __version__
    return __version__
