"""The planner's driver: turns a (validated, optimised) Model and concrete input shapes into a
C++ plan.

`Planner` walks the nodes in order: it folds what is constant (shape subgraphs included) with
the numpy interpreter, and hands each node with a run-time input to its lowering, an
`op_<OpType>` method of the mixins lower_conv.py, lower_pool.py, lower_resize.py,
lower_math.py, lower_nn.py, lower_linear.py, lower_tensor.py and lower_data.py. It owns the
tensor helpers those use: `new` (a fresh arena tensor: element limits, a concat slot, the
padded pixel stride of depthwise convs), `out` / `set_view` (a node's output), `rt` / `const` /
`const_t` (run-time and constant inputs, the constant pool), `cl` / `contiguous` (copies to
the layout a step needs), `step` (one C++ step). `build` plans twice when memory.concat_slots
finds Concat inputs that can be written in place, then compiled.PlannedModel places the arena
and writes and loads the compiled model.

Tensors are strided views in their logical (ONNX) axis order (views.py). Conv-family ops want
channels-last tensors ((N, C, *spatial) with C innermost); generic ops take any strides, so
Transpose, Slice, Split, Squeeze/Unsqueeze, Identity and most Reshapes are views and cost
nothing. A Concat along channels is planned zero-copy: its producers write straight into
slices of its output buffer.
"""
from __future__ import annotations

import math

import numpy as np

from .._functional._checks import MAX_ELEMENTS
from ..model import Model, ModelError
from . import evaluate
from .compiled import PlannedModel
from .lower_conv import ConvLowering
from .lower_data import DataLowering
from .lower_linear import LinearLowering
from .lower_math import MathLowering
from .lower_nn import NormLowering
from .lower_pool import PoolLowering
from .lower_resize import ResizeLowering
from .lower_tensor import TensorLowering
from .memory import concat_slots
from .ops import attr
from .rules_tensor import shape_value
from .views import (ALIGN, ARENA, CONSTS, PlanError, Root, Step, T, _cl_order, _contig_strides,
                    _nonempty)

_ALIAS_CHANNELS = 128  # channels-last tensors of depthwise convs with C % this get a padded pixel


class Planner(ConvLowering, PoolLowering, ResizeLowering, MathLowering, NormLowering,
              LinearLowering, TensorLowering, DataLowering):
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
        slots = concat_slots(model, p.shapes, p.vals)
        if slots:
            p = plan(slots, p.shapes)
    return PlannedModel(p, names, keep_file)
