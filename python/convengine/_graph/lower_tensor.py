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
from .rules import pad_params, reshape_target
from .views import PlanError, T, _axis, _contig_strides, _layout_order


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

