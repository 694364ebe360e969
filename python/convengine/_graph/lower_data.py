"""Planner lowerings of the data movement, sampling and shape arithmetic ops:
`op_<OpType>(node, ins, where)` methods mixed into `planner.Planner` (they use its tensor helpers:
rt, out, new, cl, step). A node whose inputs are all constant never gets here (the planner folds
it with the numpy reference); these are the forms with a run-time tensor.

- Expand is a view with stride 0 on the broadcast axes (consumers that need a dense or
  channels-last tensor copy it, as they copy any view); Tile, DepthToSpace and SpaceToDepth are
  one strided copy each, through views of up to 8 axes (a repeated axis becomes (repeats, size)
  with source stride 0; a block axis of DepthToSpace becomes (size, block)).
- GatherElements and GatherND with constant indices are one step reading x through a table
  of element offsets (run-time indices are refused).
- EyeLike and Size read only their input's shape: they are constants at plan time.
- Comparisons and logical ops on run-time tensors give masks of 0.0 / 1.0 (runtime tensors are
  float32), accepted only where every reader is a Where condition, possibly through Not / And /
  Or / Xor / Equal or as the values of a Where whose result is used so; anything else that
  would read a run-time bool (Cast, arithmetic, a graph output) is refused by name.
"""
from __future__ import annotations

import math

import numpy as np

from .eval_data import COMPARISONS, LOGICAL
from .ops import attr
from .rules import _axis
from .rules_resize import grid_sample_params
from .rules_tensor import (block_size, expand_shape, gather_elements_index, gather_nd_index,
                           tile_repeats)
from .views import CONSTS, PlanError, T, _broadcast, _cl_order, _layout_order

_MAX_COPY_STEPS = 256   # views of more than 8 axes are copied in this many pieces at most


class DataLowering:
    # ------------------------------------------------------------------ helpers
    def _masks(self):
        """Names of the run-time tensors that hold a bool as a 0/1 float mask."""
        return self.__dict__.setdefault("_data_masks", set())

    def _copy_view(self, src: T, dst: T, name, op):
        """Copies src into dst (same shape, any strides) in as few steps as the 8-axis limit of a
        step allows: size-1 axes dropped, axes contiguous in both merged."""
        shape, ss, ds = [], [], []
        for d, a, b in zip(dst.shape, src.strides, dst.strides):
            if d == 1:
                continue
            if shape and ss[-1] == a * d and ds[-1] == b * d:
                shape[-1] *= d
                ss[-1], ds[-1] = a, b
            else:
                shape.append(d)
                ss.append(a)
                ds.append(b)
        if not shape:
            shape, ss, ds = [1], [1], [1]
        outer = shape[:max(0, len(shape) - 8)]
        if math.prod(outer) > _MAX_COPY_STEPS:
            raise PlanError(f"{name}: a copy over {len(shape)} axes of {shape} would take "
                            f"{math.prod(outer)} steps")
        k = len(outer)
        for idx in np.ndindex(*outer) if outer else [()]:
            so = sum(i * s for i, s in zip(idx, ss))
            do = sum(i * s for i, s in zip(idx, ds))
            s = T(tuple(shape[k:]), tuple(ss[k:]), src.buf, src.offset + so, src.root)
            d = T(tuple(shape[k:]), tuple(ds[k:]), dst.buf, dst.offset + do, dst.root)
            tag = "".join(f"/{i}" for i in idx)
            self.step("add_copy", name + tag, [op, s, d], [s], [d])

    def _out_like(self, node, shape, like: T):
        """A new output tensor laid out like `like` when it has the same rank (channels-last
        stays channels-last), else row-major."""
        order = _layout_order(like) if like.rank == len(shape) else None
        if order is not None and 3 <= like.rank <= 5 and like.is_cl():
            order = _cl_order(like.rank)
        return self.out(node, 0, shape, order)

    def _view_out(self, node, view: T, where):
        """Makes `view` the node's output; a copy when a concat slot waits for the output."""
        if node.outputs[0] in self.slots:
            y = self.out(node, 0, view.shape, _cl_order(view.rank))
            self._copy_view(view, y, node.name or where, node.op_type)
        else:
            self.set_view(node, 0, view)

    def _check_mask_readers(self, name, where, seen=None):
        """A run-time bool may only decide a Where (possibly through logical ops)."""
        seen = set() if seen is None else seen
        if name in seen:
            return
        seen.add(name)
        if name in {v.name for v in self.g.outputs}:
            raise PlanError(f"{where}: its bool output {name!r} is a graph output computed at "
                            f"run time; convengine computes in float32 and runs bool tensors "
                            f"only as Where conditions")
        for n in self.g.nodes:
            if name not in n.inputs:
                continue
            if n.op_type == "Where":
                if any(i > 0 for i, t in enumerate(n.inputs) if t == name):
                    self._check_mask_readers(n.outputs[0], where, seen)   # a bool result
                continue
            if n.op_type in LOGICAL or n.op_type == "Equal":
                self._check_mask_readers(n.outputs[0], where, seen)
                continue
            raise PlanError(f"{where}: its bool output {name!r} is read by node "
                            f"{n.name or n.op_type} ({n.op_type}); at run time convengine "
                            f"computes in float32 and runs bool tensors only as Where "
                            f"conditions (possibly through Not, And, Or, Xor, Equal)")

    def _mask_out(self, node, shape, like, where):
        self._check_mask_readers(node.outputs[0], where)
        y = self._out_like(node, shape, like)
        self._masks().add(node.outputs[0])
        return y

    # ------------------------------------------------------------------ element-wise
    def _data_unary(self, node, ins, where):
        x = ins[0]
        if node.op_type == "Not" and node.inputs[0] not in self._masks():
            raise PlanError(f"{where}: input {node.inputs[0]!r} is not a bool tensor")
        if node.op_type == "Not":
            y = self._mask_out(node, x.shape, x, where)
        else:
            y = self._out_like(node, x.shape, x)
        self.step("add_data_unary", node.name or where, [node.op_type, x, y], [x], [y])

    op_Floor = op_Ceil = op_Round = op_Sign = op_Not = _data_unary

    def _data_binary(self, node, ins, where, kind=None):
        a = self.rt(node.inputs[0], where)
        b = self.rt(node.inputs[1], where)
        shape = tuple(np.broadcast_shapes(a.shape, b.shape))
        like = a if tuple(a.shape) == shape and a.buf != CONSTS else b
        if node.op_type in COMPARISONS or node.op_type in LOGICAL:
            bools = [t in self._masks() or (isinstance(v, np.ndarray) and v.dtype == np.bool_)
                     for t, v in zip(node.inputs, ins)]
            want = [True, True] if node.op_type in LOGICAL else \
                [bools[0], bools[0]] if node.op_type == "Equal" else [False, False]
            for t, is_bool, ok in zip(node.inputs, bools, want):
                if is_bool != ok:
                    raise PlanError(f"{where}: input {t!r} is "
                                    f"{'a bool' if is_bool else 'not a bool'} tensor")
            y = self._mask_out(node, shape, like, where)
        else:
            y = self._out_like(node, shape, like)
        self.step("add_data_binary", node.name or where,
                  [kind or node.op_type, _broadcast(a, shape), _broadcast(b, shape), y], [a, b],
                  [y])

    op_Equal = op_Less = op_LessOrEqual = op_Greater = op_GreaterOrEqual = _data_binary
    op_And = op_Or = op_Xor = _data_binary

    def op_Mod(self, node, ins, where):
        for t, v in zip(node.inputs, ins):
            if isinstance(v, np.ndarray) and v.dtype.kind != "f":
                raise PlanError(f"{where}: input {t!r} is {v.dtype} and the other a float32 "
                                f"run-time tensor")
        if int(attr(node, "fmod")):
            return self._data_binary(node, ins, where, "Fmod")
        if self.opset < 28:
            raise PlanError(f"{where}: fmod must be 1 for floating-point inputs (before opset 28)")
        self._data_binary(node, ins, where, "Mod")

    def op_Where(self, node, ins, where):
        cname = node.inputs[0]
        c = ins[0]
        if isinstance(c, np.ndarray):
            if c.dtype != np.bool_:
                raise PlanError(f"{where}: condition {cname!r} must be bool, got {c.dtype}")
        elif cname not in self._masks():
            raise PlanError(f"{where}: condition {cname!r} is not a bool tensor")
        # the values: float32, or bool (masks and bool constants) giving a mask
        bools = [t in self._masks() or (isinstance(v, np.ndarray) and v.dtype == np.bool_)
                 for t, v in zip(node.inputs[1:], ins[1:])]
        for t, v in zip(node.inputs[1:], ins[1:]):
            if isinstance(v, np.ndarray) and v.dtype.kind not in "fb":
                raise PlanError(f"{where}: {t!r} holds {v.dtype} values chosen at run time; "
                                f"convengine computes in float32 (other dtypes only in "
                                f"constants)")
        if bools[0] != bools[1]:
            raise PlanError(f"{where}: X and Y differ in dtype (one is bool)")
        ts = [self.rt(t, where) for t in node.inputs]
        shape = tuple(np.broadcast_shapes(*(t.shape for t in ts)))
        if isinstance(c, np.ndarray) and (c.all() or not c.any()):
            # one side wins everywhere: a (broadcast) view of it
            if bools[0]:
                self._check_mask_readers(node.outputs[0], where)
                self._masks().add(node.outputs[0])
            return self._view_out(node, _broadcast(ts[1] if c.all() else ts[2], shape), where)
        like = next((t for t in ts[1:] if tuple(t.shape) == shape and t.buf != CONSTS), ts[1])
        y = self._mask_out(node, shape, like, where) if bools[0] else \
            self._out_like(node, shape, like)
        self.step("add_where", node.name or where, [*(_broadcast(t, shape) for t in ts), y],
                  ts, [y])

    def op_CumSum(self, node, ins, where):
        x = ins[0]
        ax = np.asarray(self.const(node.inputs[1], where, "axis"))
        if ax.size != 1 or ax.dtype.kind not in "iu":
            raise PlanError(f"{where}: axis must be an integer scalar, got {ax.dtype} of shape "
                            f"{list(ax.shape)}")
        axis = _axis(int(ax.reshape(-1)[0]), x.rank)
        y = self._out_like(node, x.shape, x)
        self.step("add_cumsum", node.name or where,
                  [x, y, axis, bool(attr(node, "exclusive")), bool(attr(node, "reverse"))],
                  [x], [y])

    # ------------------------------------------------------------------ data movement
    def op_Expand(self, node, ins, where):
        x = ins[0]
        spec = np.asarray(self.const(node.inputs[1], where, "shape"))
        if spec.dtype.kind not in "iu" or spec.ndim != 1:
            raise PlanError(f"{where}: shape must be a 1-D integer tensor, got {spec.dtype} of "
                            f"shape {list(spec.shape)}")
        shape = expand_shape(x.shape, [int(d) for d in spec])
        self.new(shape, name=None)   # the element limit and empty shapes, as for any tensor
        self._view_out(node, _broadcast(x, shape), where)

    def op_Tile(self, node, ins, where):
        x = ins[0]
        reps = tile_repeats(node, x.shape, self.const(node.inputs[1], where, "repeats"))
        shape = tuple(d * r for d, r in zip(x.shape, reps))
        y = self._out_like(node, shape, x)
        # axis a of y as (repeat, index): y[r * d + i] at r * d * ys + i * ys, from x[i]
        vs, ss, ds = [], [], []
        for d, r, xs, ys in zip(x.shape, reps, x.strides, y.strides):
            if r > 1 and d > 1:
                vs += [r, d]
                ss += [0, xs]
                ds += [d * ys, ys]
            else:
                vs.append(d * r)
                ss.append(0 if d == 1 else xs)
                ds.append(ys)
        self._copy_view(T(tuple(vs), tuple(ss), x.buf, x.offset, x.root),
                        T(tuple(vs), tuple(ds), y.buf, y.offset, y.root), node.name or where,
                        "Tile")

    def op_DepthToSpace(self, node, ins, where):
        x = ins[0]
        b = block_size(node, x.shape, False)
        n, c, h, w = x.shape
        co = c // (b * b)
        y = self._out_like(node, (n, co, h * b, w * b), x)
        s0, s1, s2, s3 = x.strides
        if attr(node, "mode") == "CRD":    # channel c * b^2 + i * b + j
            src = (s0, b * b * s1, s2, b * s1, s3, s1)
        else:                              # DCR: channel (i * b + j) * co + c
            src = (s0, s1, s2, b * co * s1, s3, co * s1)
        t0, t1, t2, t3 = y.strides
        vshape = (n, co, h, b, w, b)
        self._copy_view(T(vshape, src, x.buf, x.offset, x.root),
                        T(vshape, (t0, t1, b * t2, t2, b * t3, t3), y.buf, y.offset, y.root),
                        node.name or where, "DepthToSpace")

    def op_SpaceToDepth(self, node, ins, where):
        x = ins[0]
        b = block_size(node, x.shape, True)
        n, c, h, w = x.shape
        y = self._out_like(node, (n, c * b * b, h // b, w // b), x)
        s0, s1, s2, s3 = x.strides
        t0, t1, t2, t3 = y.strides
        vshape = (n, c, h // b, b, w // b, b)
        if attr(node, "mode") == "CRD":    # y channel channel * b^2 + i * b + j
            dst = (t0, b * b * t1, t2, b * t1, t3, t1)
        else:                              # DCR: y channel (i * b + j) * c + channel
            dst = (t0, t1, t2, b * c * t1, t3, c * t1)
        self._copy_view(T(vshape, (s0, s1, b * s2, s2, b * s3, s3), x.buf, x.offset, x.root),
                        T(vshape, dst, y.buf, y.offset, y.root), node.name or where,
                        "SpaceToDepth")

    # ------------------------------------------------------------------ sampling
    def op_GridSample(self, node, ins, where):
        x = ins[0]
        grid = self.rt(node.inputs[1], where)
        mode, pad, align, shape = grid_sample_params(node, x.shape, grid.shape)
        if not 3 <= x.rank <= 5:
            raise PlanError(f"{where}: input must have 1-3 spatial axes, got shape {x.shape}")
        xin = self.cl(x, where)
        y = self.out(node, 0, shape, _cl_order(len(shape)))
        self.step("add_grid_sample", node.name or where, [xin, grid, y, mode, pad, bool(align)],
                  [xin, grid], [y])

    # ------------------------------------------------------------------ gathers
    def _index_gather(self, node, ins, where, index_fn):
        x = self.rt(node.inputs[0], where)
        idx = self.const(node.inputs[1], where, "indices")
        off = sum(i * s for i, s in zip(index_fn(node, x.shape, idx), x.strides))
        y = self.out(node, 0, off.shape)
        self.step("add_index_gather", node.name or where, [node.op_type, x, y, off.reshape(-1)],
                  [x], [y])

    def op_GatherElements(self, node, ins, where):
        self._index_gather(node, ins, where, gather_elements_index)

    def op_GatherND(self, node, ins, where):
        self._index_gather(node, ins, where, gather_nd_index)

    # ------------------------------------------------------------------ shape arithmetic
    def op_EyeLike(self, node, ins, where):
        self._fold(node, [np.broadcast_to(np.zeros((), np.float32), ins[0].shape)], where)

    def op_Size(self, node, ins, where):
        self._fold(node, [np.broadcast_to(np.zeros((), np.float32), ins[0].shape)], where)

    def op_Range(self, node, ins, where):
        raise PlanError(f"{where}: Range with run-time inputs is not supported (its length "
                        f"would depend on the values)")

