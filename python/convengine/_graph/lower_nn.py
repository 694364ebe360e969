"""Planner lowerings of the normalisation and reduction ops: `op_<OpType>(node, ins, where)`
methods mixed into `planner.Planner` (they use its tensor helpers: rt, out, new, cl, step).

Layouts: BatchNormalization runs on channels-last tensors (a (N, C) input as a broadcast Mul and
Add). LayerNormalization, LpNormalization, MeanVarianceNormalization and the Reduce* ops take
their input in whatever layout it has (the step iterates it in memory order, vectorised along
the innermost axis: over the normalised / reduced elements when that axis is one of them, over
neighbouring outputs otherwise) and write an output laid out like the input. So ConvNeXt's
`Transpose(0, 2, 3, 1) -> LayerNormalization(axis=-1) -> Transpose(0, 3, 1, 2)` on a
channels-last tensor is two views around one pass over each pixel's channels.
InstanceNormalization and GroupNormalization of a channels-last tensor run the channels-last
group-norm step (statistics vectorised over channels); other layouts the generic step over a
(N, G, C / G, *spatial) view. LRN works per pixel on channels-last tensors.

ArgMax / ArgMin results are int64 in ONNX; runtime tensors are float32, so the indices are held
as float32 (exact below 2^24) and may reach only graph outputs (which the session returns as
int64) through data-movement views; any other consumer is refused.
"""
from __future__ import annotations

import math

import numpy as np

from .ops import attr
from .rules import _axis, group_params, reduce_axes
from .views import T, PlanError, _broadcast, _cl_order, _layout_order

_INDEX_EXACT = 1 << 24                  # float32 holds every integer below this
# ops that only move an ArgMax result's values (so they stay indices)
_INDEX_VIEWS = {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Slice",
                "Split", "Gather"}


def _drop(t: T, axes):
    """t without its (size-1) axes `axes`."""
    keep = [i for i in range(t.rank) if i not in axes]
    return T(tuple(t.shape[i] for i in keep), tuple(t.strides[i] for i in keep), t.buf, t.offset,
             t.root)


class NormLowering:
    # ------------------------------------------------------------------ reductions
    def _reduce(self, node, ins, where):
        x = ins[0]
        axes_in = None
        if len(node.inputs) > 1 and node.inputs[1]:
            axes_in = np.asarray(self.const(node.inputs[1], where, "axes"))
        axes = reduce_axes(node, axes_in, x.rank)
        keep = bool(int(attr(node, "keepdims")))
        self._reduce_step(node, x, axes, keep, node.op_type, False, where)

    def _reduce_step(self, node, x, axes, keep, op, last, where):
        kshape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        yk = self.new(kshape, _layout_order(x), name=None if not keep else node.outputs[0])
        self.step("add_reduce", node.name or where, [op, x, yk, list(axes), last], [x], [yk], op)
        y = yk if keep else _drop(yk, axes)
        self.set_view(node, 0, y)
        return y

    op_ReduceMean = op_ReduceSum = op_ReduceMax = op_ReduceMin = op_ReduceL1 = op_ReduceL2 = \
        op_ReduceProd = op_ReduceSumSquare = op_ReduceLogSum = op_ReduceLogSumExp = _reduce

    def _arg(self, node, ins, where):
        x = ins[0]
        if x.rank == 0:
            raise PlanError(f"{where}: data must have rank >= 1")
        axis = _axis(attr(node, "axis"), x.rank)
        if x.shape[axis] > _INDEX_EXACT:
            raise PlanError(f"{where}: axis {axis} has {x.shape[axis]} entries; indices are held "
                            f"as float32, exact below {_INDEX_EXACT}")
        self._index_consumers(node, where)
        self._reduce_step(node, x, [axis], bool(int(attr(node, "keepdims"))), node.op_type,
                          bool(int(attr(node, "select_last_index"))), where)

    op_ArgMax = op_ArgMin = _arg

    def _index_consumers(self, node, where):
        """Marks the tensors that carry this node's indices (its output and data-movement views
        of it); refuses any consumer that would compute with them."""
        ints = self.__dict__.setdefault("int64_tensors", set())
        frontier = [node.outputs[0]]
        while frontier:
            t = frontier.pop()
            ints.add(t)
            for n in self.g.nodes:
                if t not in n.inputs:
                    continue
                if n.op_type in _INDEX_VIEWS and not n.domain and n.inputs[0] == t:
                    frontier.extend(o for o in n.outputs if o)
                    continue
                raise PlanError(
                    f"{where}: its int64 output reaches node {n.name or n.op_type} ({n.op_type}), "
                    f"which convengine cannot run on int64 tensors: ArgMax / ArgMin indices "
                    f"may only reach graph outputs, through data-movement views")

    # ------------------------------------------------------------------ normalisation
    def op_BatchNormalization(self, node, ins, where):
        if int(attr(node, "training_mode") or 0):
            raise PlanError(f"{where}: training_mode=1 is not supported (inference only)")
        if not isinstance(ins[0], T):  # a constant X (the constant folder left it): fuzz
            raise PlanError(f"{where}: input X is a constant; only a computed tensor is "
                            "normalised at run time")
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

    def _param(self, node, i, shape, where, what):
        """Input i (constant or runtime) viewed with `shape` by unidirectional broadcasting."""
        t = self.rt(node.inputs[i], where)
        try:
            ok = tuple(np.broadcast_shapes(tuple(t.shape), tuple(shape))) == tuple(shape)
        except ValueError:
            ok = False
        if not ok or t.rank > len(shape):
            raise PlanError(f"{where}: {what} of shape {list(t.shape)} does not broadcast to "
                            f"{list(shape)}")
        return t

    def op_LayerNormalization(self, node, ins, where):
        x = ins[0]
        if x.rank == 0:
            raise PlanError(f"{where}: X must have rank >= 1")
        axis = _axis(attr(node, "axis"), x.rank)
        norm_shape = x.shape[axis:]
        g = _broadcast(self._param(node, 1, norm_shape, where, "Scale"), x.shape)
        b = None
        if len(node.inputs) > 2 and node.inputs[2]:
            b = _broadcast(self._param(node, 2, norm_shape, where, "B"), x.shape)
        y = self.out(node, 0, x.shape, _layout_order(x))
        stats = [None, None]
        sshape = tuple(x.shape[:axis]) + (1,) * (x.rank - axis)
        for i in (1, 2):
            if len(node.outputs) > i and node.outputs[i]:
                if int(attr(node, "stash_type")) != 1:
                    raise PlanError(f"{where}: Mean / InvStdDev outputs with stash_type "
                                    f"{attr(node, 'stash_type')}: convengine computes them in "
                                    "float32 (stash_type 1)")
                stats[i - 1] = self.out(node, i, sshape)
        self.step("add_norm", node.name or where,
                  ["LayerNormalization", "layer", x, y, list(range(axis, x.rank)),
                   float(attr(node, "epsilon")), g, b, *stats],
                  [t for t in (x, g, b) if t is not None], [y] + [s for s in stats if s is not None])

    def _channel_param(self, node, i, c, where, what):
        t = self.rt(node.inputs[i], where)
        if tuple(t.shape) != (c,):
            raise PlanError(f"{where}: {what} has shape {list(t.shape)}, expected [{c}] (one "
                            "value per channel)")
        return t

    def op_InstanceNormalization(self, node, ins, where):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: input must have shape (N, C, D1, ...), got {list(x.shape)}")
        c = x.shape[1]
        g = self._channel_param(node, 1, c, where, "scale")
        b = self._channel_param(node, 2, c, where, "B")
        self._group_norm(node, x, c, g, b, float(attr(node, "epsilon")), where)

    def op_GroupNormalization(self, node, ins, where):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: X must have shape (N, C, D1, ...), got {list(x.shape)}")
        groups = int(attr(node, "num_groups"))
        c = x.shape[1]
        if groups < 1 or c % groups:
            raise PlanError(f"{where}: num_groups {groups} does not divide the {c} channels")
        ps = []
        for i, what in ((1, "scale"), (2, "bias")):
            v = self.vals.get(node.inputs[i])
            if isinstance(v, np.ndarray):  # per group (opset 18) or per channel (21), by shape
                v = group_params(v, c, groups, what).astype(np.float32)
                ps.append(self.const_t(f"{node.inputs[i]}/per_channel/{c}", v))
                continue
            t = self.rt(node.inputs[i], where)
            if tuple(t.shape) == (c,):
                ps.append(t)
            elif tuple(t.shape) == (groups,):  # per group at run time: a (C,) view, stride 0 within a group
                ps.append(("group", t))
            else:
                raise PlanError(f"{where}: {what} has shape {list(t.shape)}, expected [{groups}] "
                                f"(per group, opset 18) or [{c}] (per channel, opset 21)")
        self._group_norm(node, x, groups, ps[0], ps[1], float(attr(node, "epsilon")), where)

    def _group_norm(self, node, x, groups, g, b, eps, where):
        c = x.shape[1]
        name = node.name or where
        per_channel = not isinstance(g, tuple) and not isinstance(b, tuple)
        if x.is_cl() and per_channel:
            y = self.out(node, 0, x.shape, _layout_order(x))
            self.step("add_group_norm", name, [node.op_type, x, y, groups, eps, g, b], [x, g, b],
                      [y], node.op_type)
            return
        # (N, G, C / G, *spatial) views, normalised over every axis after G
        cg = c // groups
        y = self.out(node, 0, x.shape, _layout_order(x))

        def split(t):
            return T((t.shape[0], groups, cg, *t.shape[2:]),
                     (t.strides[0], cg * t.strides[1], t.strides[1], *t.strides[2:]),
                     t.buf, t.offset, t.root)
        xv, yv = split(x), split(y)
        shape = xv.shape
        pv = []
        for p in (g, b):
            if isinstance(p, tuple):  # one value per group
                t = p[1]
                pv.append(T(shape, (0, t.strides[0], 0) + (0,) * (len(shape) - 3), t.buf,
                            t.offset, t.root))
            else:
                pv.append(T(shape, (0, cg * p.strides[0], p.strides[0]) + (0,) * (len(shape) - 3),
                            p.buf, p.offset, p.root))
        self.step("add_norm", name,
                  [node.op_type, "layer", xv, yv, list(range(2, len(shape))), eps, pv[0], pv[1],
                   None, None], [xv, pv[0], pv[1]], [yv], node.op_type)

    def op_LpNormalization(self, node, ins, where):
        x = ins[0]
        if x.rank == 0:
            raise PlanError(f"{where}: input must have rank >= 1")
        axis = _axis(attr(node, "axis"), x.rank)
        p = int(attr(node, "p"))
        if p not in (1, 2):
            raise PlanError(f"{where}: p must be 1 or 2, got {p}")
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step("add_norm", node.name or where,
                  ["LpNormalization", f"lp{p}", x, y, [axis], 0.0, None, None, None, None],
                  [x], [y])

    def op_MeanVarianceNormalization(self, node, ins, where):
        x = ins[0]
        axes = sorted(_axis(a, x.rank) for a in attr(node, "axes"))
        if len(set(axes)) != len(axes):
            raise PlanError(f"{where}: axes {axes} repeat an axis")
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step("add_norm", node.name or where,
                  ["MeanVarianceNormalization", "mvn", x, y, axes, 1e-9, None, None, None, None],
                  [x], [y])

    def op_LRN(self, node, ins, where):
        x = ins[0]
        if x.rank < 3:
            raise PlanError(f"{where}: X must have shape (N, C, D1, ...), got {list(x.shape)}")
        size = int(attr(node, "size"))
        if size < 1:
            raise PlanError(f"{where}: size must be >= 1, got {size}")
        xin = self.cl(x, where)
        y = self.out(node, 0, x.shape, _layout_order(xin))
        vals = [float(attr(node, k)) for k in ("alpha", "beta", "bias")]
        if not all(math.isfinite(v) for v in vals):
            raise PlanError(f"{where}: alpha, beta and bias must be finite, got {vals}")
        self.step("add_lrn", node.name or where, [xin, y, size, *vals], [xin], [y])
