"""Planner lowerings of the tensor ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
Identity, Dropout, Slice, Split and Gather with a scalar index are views of their input (a new
shape and strides over the same memory, no step); Gather with index tensors, Concat and Pad
copy. `op_<OpType>(node, ins, where)` methods mixed into `planner.Planner`.

A Concat along the channels of 3D-5D tensors is zero-copy when memory.concat_slots found its
producers: they already wrote into their slices of the output, and only the other inputs are
copied. Pad fills its output, copies the input into the middle, then builds the reflect / edge
/ wrap borders from copies inside the output.
"""
from __future__ import annotations

import math

import numpy as np

from .memory import concat_order
from .ops import attr
from .rules_tensor import (concat_shape, flatten_shape, gather_params, pad_params, reshape_target,
                           slice_ranges, split_parts, squeeze_axes, transpose_perm,
                           unsqueeze_axes)
from .views import PlanError, T, _contig_strides, _layout_order


class TensorLowering:
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
        self._reshape_to(node, ins[0], flatten_shape(node, ins[0].shape), where)

    def _opt_const(self, node, i, where, what):
        """The value of optional constant input i, None when absent."""
        n = node.inputs[i] if len(node.inputs) > i else ""
        return self.const(n, where, what) if n else None

    def op_Squeeze(self, node, ins, where):
        x = ins[0]
        axes = squeeze_axes(node, x.shape, self._opt_const(node, 1, where, "axes"))
        keep = [i for i in range(x.rank) if i not in axes]
        self.set_view(node, 0, T(tuple(x.shape[i] for i in keep), tuple(x.strides[i] for i in keep),
                                 x.buf, x.offset, x.root))

    def op_Unsqueeze(self, node, ins, where):
        x = ins[0]
        shape, strides = list(x.shape), list(x.strides)
        for a in unsqueeze_axes(node, x.rank, self._opt_const(node, 1, where, "axes")):
            shape.insert(a, 1)
            strides.insert(a, 0)
        self.set_view(node, 0, T(tuple(shape), tuple(strides), x.buf, x.offset, x.root))

    def op_Transpose(self, node, ins, where):
        x = ins[0]
        perm = transpose_perm(node, x.rank)
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
        ranges = slice_ranges(x.shape, *(self._opt_const(node, i, where, what) for i, what in
                                         enumerate(("starts", "ends", "axes", "steps"), 1)))
        shape, strides, offset = list(x.shape), list(x.strides), x.offset
        for ax, first, step, n in ranges:
            if n:
                offset += first * strides[ax]
            shape[ax] = n
            if n > 1:  # a length-1 axis keeps its stride (a huge step would overflow it)
                strides[ax] *= step
        self.set_view(node, 0, T(tuple(shape), tuple(strides), x.buf, offset, x.root))

    def op_Split(self, node, ins, where):
        x = ins[0]
        axis, split = split_parts(node, x.shape, self._opt_const(node, 1, where, "split"),
                                  self.opset)
        off = 0
        for i, s in enumerate(split):
            shape = list(x.shape)
            shape[axis] = s
            self.set_view(node, i, T(tuple(shape), x.strides, x.buf, x.offset + off * x.strides[axis],
                                     x.root))
            off += s

    def op_Gather(self, node, ins, where):
        x = ins[0]
        axis, idx = gather_params(node, x.shape, self.const(node.inputs[1], where, "indices"))
        keep = [a for a in range(x.rank) if a != axis]
        if idx.ndim == 0:
            self.set_view(node, 0, T(tuple(x.shape[a] for a in keep),
                                     tuple(x.strides[a] for a in keep),
                                     x.buf, x.offset + int(idx) * x.strides[axis], x.root))
            return
        flat = [int(v) for v in idx.reshape(-1)]
        if len(flat) > 4096:
            raise PlanError(f"{where}: Gather of more than 4096 runtime slices")
        shape = x.shape[:axis] + tuple(idx.shape) + x.shape[axis + 1:]
        y = self.out(node, 0, shape)
        inner = _contig_strides(x.shape[:axis] + (len(flat),) + x.shape[axis + 1:])
        for j, i in enumerate(flat):
            src = T(tuple(x.shape[a] for a in keep), tuple(x.strides[a] for a in keep), x.buf,
                    x.offset + i * x.strides[axis], x.root)
            dst = T(src.shape, tuple(inner[a] for a in keep), y.buf, y.offset + j * inner[axis],
                    y.root)
            self.step("add_copy", f"{node.name or where}/{j}", ["Gather", src, dst], [src], [dst])

    def op_Concat(self, node, ins, where):
        ts = [self.rt(n, where) for n in node.inputs]
        axis, shape = concat_shape(node, [t.shape for t in ts])
        name = node.outputs[0]
        y = self.vals.get(name) if name in self.slot_parents else None
        if y is None:
            y = self.out(node, 0, shape, concat_order(ts, axis))
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
        mode, pb, pe, value = pad_params(node, x.shape, consts, self.opset)
        pads, value = pb + pe, float(value)
        # Negative pads crop: pad a view of the kept part.
        keep = [x.shape[i] - max(0, -pb[i]) - max(0, -pe[i]) for i in range(x.rank)]
        if any(k <= 0 for k in keep):
            raise PlanError(f"{where}: pads {pads} crop input of shape {x.shape} to nothing")
        x = T(tuple(keep), x.strides, x.buf,
              x.offset + sum(max(0, -pb[i]) * x.strides[i] for i in range(x.rank)), x.root)
        pb, pe = [max(0, p) for p in pb], [max(0, p) for p in pe]
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

