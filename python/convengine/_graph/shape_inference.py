"""Shape inference: `analyze(model)` walks the graph once and knows, per tensor, its value when
it is a constant (initializers, Constant nodes, nodes of constants, Shape of a static shape)
and otherwise its shape and dtype as far as the graph input shapes are static; symbolic input
dimensions become `Sym`. The passes read shapes from it.

The shape rule of each op: shape-preserving and broadcasting ops by table here, convolutions,
pooling and Resize through rules.py and rules_resize.py, everything else by evaluating the op on zero-stride
stand-ins of its inputs (evaluate.eval_node).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..model import DTYPES, Model, ModelError
from .evaluate import eval_node
from .rules import (_a, _ints, cast_dtype, conv_geometry, gemm_shapes, matmul_shape,
                    pool_geometry, window_geometry)
from .rules_resize import resize_params
from .rules_tensor import shape_value

__all__ = ["analyze", "TensorInfo", "Sym"]


@dataclasses.dataclass
class TensorInfo:
    shape: tuple | None = None      # None: unknown; dims are ints or Sym
    dtype: np.dtype | None = None
    value: np.ndarray | None = None  # set for constants


# ops whose (first) output has the shape of their first input
_SAME = {
    "Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Softmax",
    "LogSoftmax", "Erf", "Gelu", "Mish", "Softplus", "Softsign", "Exp", "Log", "Sqrt", "Abs",
    "Neg", "Reciprocal", "Sin", "Cos", "Elu", "Celu", "Selu", "ThresholdedRelu", "PRelu",
    "Floor", "Ceil", "Round", "Sign", "Not", "CumSum", "BatchNormalization",
    "LayerNormalization", "InstanceNormalization", "GroupNormalization", "LpNormalization",
    "LRN", "MeanVarianceNormalization", "Identity", "ChannelShuffle", "SqueezeExcite"}
_BROADCAST = {"Add", "Sub", "Mul", "Div", "Pow"}
# inputs whose values (not only shapes) decide the output shape
_SHAPE_INPUTS = {"Reshape": (1,), "Slice": (1, 2, 3, 4), "Pad": (1, 3), "Split": (1,),
                 "Squeeze": (1,), "Unsqueeze": (1,), "Resize": (2, 3), "Upsample": (1,)}
FOLD_LIMIT = 1 << 24    # constants larger than this many elements are not folded


def _static(shape):
    return shape is not None and all(isinstance(d, (int, np.integer)) for d in shape)


def _infer_node(node, infos, opset):
    """Output (shape, dtype) pairs of a node whose inputs are not all constant."""
    op = node.op_type
    x = infos[0] if infos else None
    if op in _SAME:
        return [(x.shape, x.dtype)]
    if op == "Dropout":
        return [(x.shape, x.dtype), (x.shape, np.dtype(np.bool_))]
    if op == "Cast":
        return [(x.shape, cast_dtype(_a(node, "to")))]
    if x is None or x.shape is None:
        return None
    if op in _BROADCAST:
        b = infos[1]
        if b.shape is None:
            return None
        return [(tuple(np.broadcast_shapes(x.shape, b.shape)), x.dtype)]
    if op in ("Conv", "FusedConv", "ConvTranspose"):
        w = infos[1]
        if w.shape is None:
            return None
        _, win, c_out = conv_geometry(node, x.shape, w.shape, op == "ConvTranspose")
        return [((x.shape[0], c_out) + tuple(win.out), x.dtype)]
    if op == "DeformConv":
        w = infos[1]
        if w.shape is None:
            return None
        win = window_geometry(list(x.shape[2:]), list(w.shape[2:]), _ints(_a(node, "strides")),
                              _ints(_a(node, "dilations")), _ints(_a(node, "pads")), "NOTSET",
                              what="DeformConv")
        return [((x.shape[0], w.shape[0]) + tuple(win.out), x.dtype)]
    if op == "LocalConv":
        w = infos[1]
        if w.shape is None or len(w.shape) != 6:
            return None
        return [((x.shape[0], w.shape[2], w.shape[0], w.shape[1]), x.dtype)]
    if op in ("MaxPool", "AveragePool", "LpPool"):
        _, win = pool_geometry(node, x.shape)
        shape = tuple(x.shape[:2]) + tuple(win.out)
        return [(shape, x.dtype), (shape, np.dtype(np.int64))]
    if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        return [(tuple(x.shape[:2]) + (1,) * (len(x.shape) - 2), x.dtype)]
    if op == "Gemm":
        b = infos[1]
        if b.shape is None:
            return None
        m, _, n = gemm_shapes(node, x.shape, b.shape)
        return [((m, n), x.dtype)]
    if op == "MatMul":
        b = infos[1]
        if b.shape is None:
            return None
        return [(matmul_shape(x.shape, b.shape), x.dtype)]
    if op in ("Resize", "Upsample"):
        ins = [None if i is None else i.value for i in infos]
        for k in _SHAPE_INPUTS[op]:
            if k < len(node.inputs) and node.inputs[k] and ins[k] is None:
                return None
        _, out, *_ = resize_params(node, x.shape, ins, opset)
        return [(tuple(out), x.dtype)]
    # cheap data-movement ops: evaluate on zero-stride stand-ins
    for k in _SHAPE_INPUTS.get(op, ()):
        if k < len(infos) and infos[k] is not None and infos[k].value is None:
            return None
    stand = []
    for i in infos:
        if i is None:
            stand.append(None)
        elif i.value is not None:
            stand.append(i.value)
        elif _static(i.shape) and i.dtype is not None:
            stand.append(np.broadcast_to(np.zeros((), i.dtype), i.shape))
        else:
            return None
    outs = eval_node(node, stand, opset)
    return [(None, None) if o is None else (o.shape, o.dtype) for o in outs]


class Sym:
    """A dimension that depends on a symbolic graph input dimension (the batch, typically).
    Two Sym compare equal when they took the same sizes in both probes of analyze(), i.e.
    when they are the same function of the symbolic sizes."""
    __slots__ = ("probes",)

    def __init__(self, probes):
        self.probes = tuple(probes)

    def __eq__(self, other):
        return isinstance(other, Sym) and other.probes == self.probes

    def __hash__(self):
        return hash(("Sym",) + self.probes)

    def __repr__(self):
        return "Sym" + repr(self.probes)


def _analyze_once(model, input_shapes, fold):
    g = model.graph
    info = {}
    for vi in g.inputs:
        shape = input_shapes.get(vi.name)
        info[vi.name] = TensorInfo(shape, DTYPES.get(vi.dtype))
    for name, arr in g.initializers.items():
        info[name] = TensorInfo(tuple(arr.shape), arr.dtype, arr)
    for node in g.nodes:
        ins = [info.get(t) if t else None for t in node.inputs]
        present = all(i is not None for i, t in zip(ins, node.inputs) if t)
        outs = None
        if fold and present and all(i.value is not None for i in ins if i is not None):
            try:
                vals = eval_node(node, [None if i is None else i.value for i in ins],
                                 model.opset)
                if all(v is None or v.size <= FOLD_LIMIT for v in vals):
                    outs = [TensorInfo(None if v is None else tuple(v.shape),
                                       None if v is None else v.dtype, v) for v in vals]
            except ModelError:
                outs = None
        elif fold and node.op_type == "Shape" and ins and ins[0] is not None and \
                _static(ins[0].shape):
            v = shape_value(ins[0].shape, node)
            outs = [TensorInfo(v.shape, v.dtype, v)]
        if outs is None:
            try:
                res = _infer_node(node, ins, model.opset) if present else None
            except (ValueError, TypeError, IndexError):
                res = None
            if res is None:
                outs = [TensorInfo() for _ in node.outputs]
            else:
                outs = []
                for k in range(len(node.outputs)):
                    s, d = res[k] if k < len(res) else (None, None)
                    outs.append(TensorInfo(tuple(s) if _static(s) else None, d))
        for t, o in zip(node.outputs, outs):
            if t:
                info[t] = o
    return info


def analyze(model: Model, fold=True) -> dict:
    """{tensor name: TensorInfo} for every tensor of the graph: values of the constants (with
    fold=True also of every node whose inputs are constants, and of Shape of a static shape),
    shapes and dtypes of the rest.

    Symbolic input dimensions (a str or None in a graph input's shape) are probed: the graph
    is analysed twice with different sizes substituted; dimensions that differ become `Sym`
    (equal when they depend on the symbols the same way). Which elements of a value depend on
    a symbol is tracked per element: Shape marks its Sym dimensions, data movement (Gather,
    Slice, Concat, Reshape, Unsqueeze, ...) moves the marks with the elements, element-wise
    ops merge them by broadcasting, and any other op with a marked input is marked whole. A
    value none of whose elements is marked (and that both probes agree on) is a constant: the
    spatial part of Shape(x) with a symbolic batch, Gather(Shape(x), 2) and the arithmetic on
    it fold; Shape(x)[0] and what is computed from it do not."""
    g = model.graph
    symbols = []
    for vi in g.inputs:
        for d in vi.shape or ():
            if not isinstance(d, (int, np.integer)) and d not in symbols:
                symbols.append(d)

    def shapes(probe):
        out = {}
        for vi in g.inputs:
            if vi.shape is None:
                out[vi.name] = None
            else:
                out[vi.name] = tuple(int(d) if isinstance(d, (int, np.integer)) else
                                     probe[symbols.index(d)] for d in vi.shape)
        return out

    if not symbols:
        return _analyze_once(model, shapes(()), fold)
    n = len(symbols)
    a = _analyze_once(model, shapes([2 + k for k in range(n)]), fold)
    b = _analyze_once(model, shapes([3 + n + k for k in range(n)]), fold)
    merged = {}
    for t in [vi.name for vi in g.inputs] + list(g.initializers):
        ia, ib = a.get(t), b.get(t)
        if ia is not None and ib is not None:
            merged[t] = TensorInfo(_merge_shape(ia.shape, ib.shape), ia.dtype, ia.value)
    # Which elements of each computed value depend on a symbol: None (none), a bool mask of
    # the value's shape, or _ALL (the tensor is not a constant). A value is a constant when
    # none of its elements does and both probes agree on it.
    marks = {vi.name: _ALL for vi in g.inputs if vi.name not in g.initializers}
    for node in g.nodes:
        outs = [t for t in node.outputs if t]
        try:
            out_marks = _symbol_marks(node, marks, a, merged, model.opset)
        except (ValueError, TypeError, IndexError):
            out_marks = [_ALL] * len(node.outputs)
        for t, m in zip(node.outputs, out_marks):
            if not t:
                continue
            ia, ib = a.get(t), b.get(t)
            if ia is None or ib is None:
                continue
            same = ia.value is not None and ib.value is not None and \
                ia.value.shape == ib.value.shape
            if not same or (m is not _ALL and m is not None and m.shape != ia.value.shape):
                m = _ALL
            elif m is None and not np.array_equal(ia.value, ib.value,
                                                  equal_nan=ia.value.dtype.kind == "f"):
                m = _ALL
            if m is not _ALL and m is not None and not m.any():
                m = None
            marks[t] = m
            merged[t] = TensorInfo(_merge_shape(ia.shape, ib.shape), ia.dtype,
                                   ia.value if m is None else None)
        for t in outs:
            marks.setdefault(t, _ALL)
    return merged


def _merge_shape(sa, sb):
    if sa is None or sb is None or len(sa) != len(sb):
        return None
    return tuple(x if x == y else Sym((x, y)) for x, y in zip(sa, sb))


_ALL = object()
# Ops whose output elements are copies of their inputs' elements (at the data positions; the
# other inputs are indices and shapes): the symbol marks move with the data.
_MOVES = {"Gather": (0,), "Slice": (0,), "Squeeze": (0,), "Unsqueeze": (0,), "Reshape": (0,),
          "Flatten": (0,), "Transpose": (0,), "Identity": (0,), "Split": (0,), "Expand": (0,),
          "Tile": (0,), "Concat": None}
# Ops whose output element depends only on the inputs' elements at the same (broadcast) index.
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Min", "Max", "Sum", "Mean", "Neg",
                "Abs", "Floor", "Ceil", "Round", "Sign", "Sqrt", "Reciprocal", "Exp", "Log",
                "Sin", "Cos", "Relu", "Clip", "Cast", "Equal", "Less", "LessOrEqual", "Greater",
                "GreaterOrEqual", "And", "Or", "Xor", "Not", "Where"}


def _symbol_marks(node, marks, probe, merged, opset):
    """The symbol marks (see analyze) of a node's outputs from its inputs' marks."""
    op = node.op_type
    names = [t for t in node.inputs if t]
    ins = [marks.get(t) for t in names]
    if node.domain not in ("", "ai.onnx"):
        return [None if all(m is None for m in ins) else _ALL] * len(node.outputs)
    if op in ("Shape", "Size"):
        info = merged.get(names[0])
        if info is None or info.shape is None:
            return [_ALL]
        sym = tuple(isinstance(d, Sym) for d in info.shape)
        if op == "Size":
            return [np.array(any(sym))]
        return [shape_value(sym, node).astype(bool)]
    if all(m is None for m in ins):
        return [None] * len(node.outputs)
    if any(m is _ALL for m in ins):
        return [_ALL] * len(node.outputs)

    def value(t):
        return probe[t].value if t in probe else None

    if op in _ELEMENTWISE:
        outs = [value(t) for t in node.outputs if t]
        if not outs or outs[0] is None:
            return [_ALL] * len(node.outputs)
        shape = outs[0].shape
        m = np.zeros(shape, bool)
        for t, mk in zip(names, ins):
            if mk is not None:
                m = m | np.broadcast_to(mk, shape)
        return [m]
    if op in _MOVES:
        args = []
        for i, t in enumerate(node.inputs):
            if not t:
                args.append(None)
            elif _is_data(op, i):
                mk, v = marks.get(t), value(t)
                if v is None:
                    return [_ALL] * len(node.outputs)
                args.append(np.zeros(v.shape, bool) if mk is None else mk)
            elif marks.get(t) is not None:   # an index or shape that depends on a symbol
                return [_ALL] * len(node.outputs)
            else:
                args.append(value(t))
        return eval_node(node, args, opset)
    return [_ALL] * len(node.outputs)


def _is_data(op, i):
    pos = _MOVES[op]
    return pos is None or i in pos
