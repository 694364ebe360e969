"""Planner lowerings of the element-wise ops: the activations the conv epilogue also knows
(Relu, LeakyRelu, Clip, HardSwish, HardSigmoid, Sigmoid, Tanh), the four arithmetic ops, the
float math ops (Erf, Gelu, Exp, Log, Pow, PRelu, Min / Max / Sum / Mean, ...) and Softmax /
LogSoftmax: `op_<OpType>(node, ins, where)` methods mixed into `planner.Planner` (they use its
tensor helpers: rt, out, new, cl, step).

Every op here is one C++ step over strided views (engine/steps_math.h): the output takes the
memory order of the input it has the shape of, so a channels-last conv output stays
channels-last and its rows run C innermost. Inputs are broadcast views (stride 0) of the
output's shape. Constant operands (a PRelu slope, a Pow exponent) enter the plan's constant
pool once; a constant scalar exponent selects Pow's kernel at plan time."""
from __future__ import annotations

import math

import numpy as np

from .ops import attr
from .rules import clip_bounds, softmax_axis
from .views import CONSTS, PlanError, T, _broadcast, _layout_order

# ONNX op -> kernel kind of add_math_unary, for the ops without attributes
_UNARY = {"Erf": "erf", "Mish": "mish", "Softplus": "softplus", "Softsign": "softsign",
          "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs", "Neg": "neg",
          "Reciprocal": "reciprocal", "Sin": "sin", "Cos": "cos"}
_VARIADIC = {"Min": "min", "Max": "max", "Sum": "sum", "Mean": "mean"}


def _full_shape_ref(ts, shape):
    """The first runtime (else any) operand with the output's shape: its layout is kept."""
    full = [t for t in ts if tuple(t.shape) == tuple(shape)]
    runtime = [t for t in full if t.buf != CONSTS]
    return (runtime or full or [None])[0]


class MathLowering:
    def _math_unary(self, node, ins, where, kind, alpha=0.0, beta=0.0):
        x = self.rt(node.inputs[0], where)
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step("add_math_unary", node.name or where,
                  [node.op_type, kind, x, y, float(alpha), float(beta)], [x], [y])

    def op_Gelu(self, node, ins, where):
        approx = attr(node, "approximate")
        if approx not in ("none", "tanh"):
            raise PlanError(f"{where}: approximate must be 'none' or 'tanh', got {approx!r}")
        self._math_unary(node, ins, where, "gelu" if approx == "none" else "gelu_tanh")

    def op_Elu(self, node, ins, where):
        self._math_unary(node, ins, where, "elu", attr(node, "alpha"))

    def op_Selu(self, node, ins, where):
        self._math_unary(node, ins, where, "selu", attr(node, "alpha"), attr(node, "gamma"))

    def op_Celu(self, node, ins, where):
        alpha = float(attr(node, "alpha"))
        if not alpha > 0:
            raise PlanError(f"{where}: Celu alpha must be positive, got {alpha}")
        self._math_unary(node, ins, where, "celu", alpha)

    def op_ThresholdedRelu(self, node, ins, where):
        self._math_unary(node, ins, where, "thresholded_relu", attr(node, "alpha"))

    def op_PRelu(self, node, ins, where):
        x = self.rt(node.inputs[0], where)
        s = self.rt(node.inputs[1], where)
        try:
            ok = tuple(np.broadcast_shapes(tuple(x.shape), tuple(s.shape))) == tuple(x.shape)
        except ValueError:
            ok = False
        if not ok:
            raise PlanError(f"{where}: slope of shape {list(s.shape)} does not broadcast to the "
                            f"input shape {list(x.shape)} (unidirectional broadcasting)")
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step("add_math_binary", node.name or where,
                  ["PRelu", "prelu", x, _broadcast(s, x.shape), y], [x, s], [y])

    def op_Pow(self, node, ins, where):
        bv = self.vals.get(node.inputs[0])
        if isinstance(bv, np.ndarray) and bv.dtype.kind != "f":
            raise PlanError(f"{where}: an integer base ({bv.dtype}) with a runtime exponent "
                            "gives an integer tensor at run time; convengine computes in float32")
        a = self.rt(node.inputs[0], where)
        ev = self.vals.get(node.inputs[1])
        eshape = ev.shape if isinstance(ev, np.ndarray) else self.rt(node.inputs[1], where).shape
        try:
            shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(eshape)))
        except ValueError:
            raise PlanError(f"{where}: shapes {list(a.shape)} and {list(eshape)} do not "
                            "broadcast") from None
        ref = a if tuple(a.shape) == shape else None
        y = self.out(node, 0, shape, _layout_order(ref) if ref is not None else None)
        name = node.name or where
        if isinstance(ev, np.ndarray) and ev.size == 1:
            e = float(np.asarray(ev).reshape(-1)[0])
            self.step("add_math_unary", name, ["Pow", "pow", _broadcast(a, shape), y, e, 0.0],
                      [a], [y])
            return
        b = self.rt(node.inputs[1], where)
        self.step("add_math_binary", name,
                  ["Pow", "pow", _broadcast(a, shape), _broadcast(b, shape), y], [a, b], [y])

    def _variadic(self, node, ins, where):
        ts = [self.rt(n, where) for n in node.inputs if n]
        if not ts:
            raise PlanError(f"{where}: {node.op_type} needs at least one input")
        try:
            shape = tuple(np.broadcast_shapes(*[tuple(t.shape) for t in ts]))
        except ValueError:
            raise PlanError(f"{where}: shapes {[list(t.shape) for t in ts]} do not "
                            "broadcast") from None
        ref = _full_shape_ref(ts, shape)
        y = self.out(node, 0, shape, _layout_order(ref) if ref is not None else None)
        self.step("add_variadic", node.name or where,
                  [node.op_type, _VARIADIC[node.op_type], [_broadcast(t, shape) for t in ts], y],
                  ts, [y])

    op_Min = op_Max = op_Sum = op_Mean = _variadic

    def op_LogSoftmax(self, node, ins, where):
        self._softmax(node, ins, where, "add_log_softmax")

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
        axis, flat = softmax_axis(node, x.rank, self.opset)
        name = node.name or where
        if flat and axis != x.rank - 1:
            xc = self.contiguous(x, where)
            n = math.prod(x.shape[axis:])
            flat = T((math.prod(x.shape[:axis]), n), (n, 1), xc.buf, xc.offset, xc.root)
            y = self.out(node, 0, x.shape)
            yf = T(flat.shape, flat.strides, y.buf, y.offset, y.root)
            self.step(method, name, [flat, yf, 1], [flat], [yf])
            return
        y = self.out(node, 0, x.shape, _layout_order(x))
        self.step(method, name, [x, y, axis], [x], [y])


def _unary_method(kind):
    def method(self, node, ins, where):
        self._math_unary(node, ins, where, kind)
    return method


for _op, _kind in _UNARY.items():
    setattr(MathLowering, "op_" + _op, _unary_method(_kind))
