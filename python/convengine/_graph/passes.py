"""Graph optimisation passes (docs/ARCHITECTURE.md, "Graph passes").

Each pass is a function Model -> Model that returns a new Model and never modifies its input:
nodes are copied (Model.copy) and changed weights are new arrays under new names. `PASSES`
lists them in the order `optimize` runs them; `optimize(model, disabled=(...))` skips passes
by name. Every rewrite keeps the graph's tensor names at its outputs (a fused node takes the
name of the last tensor it replaces), so graph outputs and the names a user asks for survive.
"""
from __future__ import annotations

import collections
import math

import numpy as np

from ..model import CUSTOM_DOMAIN, Model, Node
from .rules import _Err, cast_dtype, clip_bounds, dropout_is_identity
from .shape_inference import analyze
from .ops import attr

__all__ = ["PASSES", "optimize"]

_CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
_EPILOGUE_DEFAULTS = {"activation": "none", "alpha": 0.0, "beta": 0.0,
                      "clip_min": -math.inf, "clip_max": math.inf}


# ---------------------------------------------------------------------------------------------
# graph helpers

class _Index:
    """Producers, consumers and graph outputs of a graph (rebuilt after every rewrite)."""

    def __init__(self, g):
        self.g = g
        self.producer = {}
        self.uses = collections.defaultdict(list)
        for i, n in enumerate(g.nodes):
            for t in n.outputs:
                if t:
                    self.producer[t] = i
            for t in n.inputs:
                if t:
                    self.uses[t].append(i)
        self.outputs = {v.name for v in g.outputs}
        self.inputs = {v.name for v in g.inputs}

    def node_of(self, t):
        i = self.producer.get(t)
        return None if i is None else self.g.nodes[i]

    def private(self, t):
        """True when `t` is used by exactly one node input and is not a graph output."""
        return len(self.uses.get(t, ())) == 1 and t not in self.outputs

    def const(self, t):
        return self.g.initializers.get(t) if t else None


def _unique(g, base):
    taken = set(g.initializers) | {v.name for v in g.inputs} | \
        {t for n in g.nodes for t in n.outputs}
    name, k = base, 1
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    return name


def _used_names(g):
    used = {t for n in g.nodes for t in n.inputs if t}
    return used | {v.name for v in g.outputs}


def _finish(before: Model, after: Model) -> Model:
    """Drops the initializers that `after` no longer uses but `before` did (weights a pass
    replaced); initializers already unused before are eliminate_dead_nodes' business."""
    was = _used_names(before.graph)
    now = _used_names(after.graph)
    after.graph.initializers = {k: v for k, v in after.graph.initializers.items()
                                if k in now or k not in was}
    return after


def _rewrite(pass_fn):
    """Runs `find(model_copy, index, info)` until it finds nothing; each call applies one
    rewrite to the copy and returns True."""
    def run(model: Model) -> Model:
        m = model.copy()
        info = analyze(m) if pass_fn.needs_info else None
        limit = 4 * len(m.graph.nodes) + 16
        while limit and pass_fn(m, _Index(m.graph), info):
            limit -= 1
        return _finish(model, m)
    run.__name__ = pass_fn.__name__
    run.__doc__ = pass_fn.__doc__
    return run


def _needs_info(flag):
    def deco(fn):
        fn.needs_info = flag
        return fn
    return deco


def _remove(g, nodes):
    ids = {id(n) for n in nodes}
    g.nodes = [n for n in g.nodes if id(n) not in ids]


def _rename_input(g, old, new):
    for n in g.nodes:
        n.inputs = [new if t == old else t for t in n.inputs]


def _to_fused(conv: Node) -> Node:
    """A FusedConv equivalent to a Conv (a FusedConv is returned as it is)."""
    if conv.op_type == "FusedConv":
        return conv
    attrs = {k: v for k, v in conv.attrs.items() if k in _CONV_ATTRS}
    return Node("FusedConv", list(conv.inputs), list(conv.outputs), conv.name, attrs,
                CUSTOM_DOMAIN)


def _epilogue(n: Node):
    return {k: attr(n, k) if n.op_type == "FusedConv" else d
            for k, d in _EPILOGUE_DEFAULTS.items()}


def _is_conv(n):
    return n is not None and (n.op_type == "Conv" and n.domain in ("", "ai.onnx") or
                              n.op_type == "FusedConv" and n.domain == CUSTOM_DOMAIN)


def _plain(n):
    """A Conv, or a FusedConv with no activation, clamp or residual yet."""
    if not _is_conv(n):
        return False
    if n.op_type == "Conv":
        return True
    e = _epilogue(n)
    return (e["activation"] == "none" and e["clip_min"] == -math.inf and
            e["clip_max"] == math.inf and (len(n.inputs) < 4 or not n.inputs[3]))


def _set_epilogue(n: Node, e):
    for k, d in _EPILOGUE_DEFAULTS.items():
        v = e[k]
        if isinstance(v, (int, float)):
            v = float(v)
        if v == d:
            n.attrs.pop(k, None)
        else:
            n.attrs[k] = v


def _replace_node(g, old: Node, new: Node):
    g.nodes[g.nodes.index(old)] = new


# ---------------------------------------------------------------------------------------------
# activations as epilogues

def _const_clip(g, n, opset):
    """(lo, hi) of a Clip with constant bounds (missing side: -inf / inf), else None."""
    ins = [None]
    for t in n.inputs[1:]:
        if not t:
            ins.append(None)
        elif t in g.initializers:
            ins.append(g.initializers[t])
        else:
            return None
    try:
        lo, hi = clip_bounds(n, ins, opset)
    except _Err:
        return None
    return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))


def _activation_of(g, n, opset):
    """The epilogue (activation, alpha, beta, clip_min, clip_max) a one-input activation node
    computes, else None."""
    if n.domain not in ("", "ai.onnx"):
        return None
    op = n.op_type
    e = dict(_EPILOGUE_DEFAULTS)
    if op == "Relu":
        e["clip_min"] = 0.0
    elif op == "Clip":
        b = _const_clip(g, n, opset)
        if b is None:
            return None
        e["clip_min"], e["clip_max"] = b
    elif op == "LeakyRelu":
        e.update(activation="leaky_relu", alpha=float(attr(n, "alpha")))
    elif op == "HardSigmoid":
        e.update(activation="hardsigmoid", alpha=float(attr(n, "alpha")),
                 beta=float(attr(n, "beta")))
    elif op == "HardSwish":
        e["activation"] = "hardswish"
    elif op == "Sigmoid":
        e["activation"] = "sigmoid"
    elif op == "Tanh":
        e["activation"] = "tanh"
    elif op == "Gelu":
        approx = attr(n, "approximate")
        if approx not in ("none", "tanh"):
            return None
        e["activation"] = "gelu" if approx == "none" else "gelu_tanh"
    elif op in ("Mish", "Softplus", "Softsign"):
        e["activation"] = op.lower()
    elif op in ("Elu", "ThresholdedRelu"):
        e.update(activation="elu" if op == "Elu" else "thresholded_relu",
                 alpha=float(attr(n, "alpha")))
    elif op == "Celu":
        if not float(attr(n, "alpha")) > 0:
            return None
        e.update(activation="celu", alpha=float(attr(n, "alpha")))
    elif op == "Selu":
        e.update(activation="selu", alpha=float(attr(n, "alpha")), beta=float(attr(n, "gamma")))
    else:
        return None
    return e


def _compose(first, then):
    """The epilogue of `then` applied after `first`, when one epilogue can express it."""
    clamp_only = then["activation"] == "none"
    if clamp_only:
        lo = max(first["clip_min"], then["clip_min"])
        hi = min(first["clip_max"], then["clip_max"])
        if lo > hi:
            return None
        return dict(first, clip_min=lo, clip_max=hi)
    if first["activation"] == "none" and first["clip_min"] == -math.inf and \
            first["clip_max"] == math.inf:
        return dict(then)
    return None


def _gated_self_product(g, idx, t, opset):
    """For a tensor t used by exactly Sigmoid(t) (or HardSigmoid(t) with alpha 1/6, beta 0.5)
    and Mul(t, that), returns (epilogue, [gate node, mul node]): SiLU or HardSwish."""
    uses = idx.uses.get(t, [])
    if len(uses) != 2 or t in idx.outputs or uses[0] == uses[1]:
        return None
    a, b = (g.nodes[i] for i in uses)
    for gate, mul in ((a, b), (b, a)):
        if mul.op_type != "Mul" or gate.op_type not in ("Sigmoid", "HardSigmoid") or \
                gate.domain not in ("", "ai.onnx") or mul.domain not in ("", "ai.onnx"):
            continue
        s = gate.outputs[0]
        if sorted(mul.inputs) != sorted([t, s]) or not idx.private(s):
            continue
        if gate.op_type == "Sigmoid":
            return dict(_EPILOGUE_DEFAULTS, activation="silu"), [gate, mul]
        if abs(float(attr(gate, "alpha")) - 1 / 6) < 1e-6 and \
                abs(float(attr(gate, "beta")) - 0.5) < 1e-7:
            return dict(_EPILOGUE_DEFAULTS, activation="hardswish"), [gate, mul]
    return None


def _following_activation(g, idx, t, opset):
    """The activation applied to t by its consumers: (epilogue, nodes to remove, output)."""
    gp = _gated_self_product(g, idx, t, opset)
    if gp is not None:
        e, nodes = gp
        return e, nodes, nodes[1].outputs[0]
    if not idx.private(t):
        return None
    a = g.nodes[idx.uses[t][0]]
    if not a.inputs or a.inputs[0] != t:
        return None
    e = _activation_of(g, a, opset)
    if e is None:
        return None
    return e, [a], a.outputs[0]


# ---------------------------------------------------------------------------------------------
# GELU and Mish written out in primitive ops (what torch.onnx.export writes before opset 20 / 18)

_SQRT2 = math.sqrt(2.0)
_GELU_TANH_C = math.sqrt(2.0 / math.pi)


class _Pattern:
    """Matching helpers over one graph: constants read from initializers (size-1 float arrays
    whose broadcasting cannot change the other operand's shape), private tensors and their
    single consumers."""

    def __init__(self, g, idx, info):
        self.g, self.idx, self.info = g, idx, info

    def scalar(self, t, want, x):
        """True when t is a constant close to `want` (float32 rounding) that broadcasts
        against x without changing x's shape."""
        v = self.g.initializers.get(t)
        if v is None or v.size != 1 or v.dtype.kind != "f":
            return False
        if v.ndim:
            xi = self.info.get(x)
            if xi is None or xi.shape is None or len(xi.shape) < v.ndim:
                return False
        return abs(float(v.reshape(())) - want) <= 1e-6 * abs(want)

    def node(self, t, op):
        """The producer of t if it is a default-domain `op` node and t is private."""
        n = self.idx.node_of(t)
        if n is None or n.op_type != op or n.domain not in ("", "ai.onnx") or \
                not self.idx.private(t):
            return None
        return n

    def consumer(self, t, op):
        """The single consumer of t if it is a default-domain `op` node and t is private."""
        if not self.idx.private(t):
            return None
        n = self.g.nodes[self.idx.uses[t][0]]
        return n if n.op_type == op and n.domain in ("", "ai.onnx") else None

    def other(self, n, t):
        """The other input of a two-input node n that reads t once, else None."""
        if len(n.inputs) != 2 or n.inputs.count(t) != 1:
            return None
        return n.inputs[1 - n.inputs.index(t)]

    def is_scale(self, n, factor, x):
        """True when node n computes x * factor (either order) or x / (1 / factor)."""
        if n.domain not in ("", "ai.onnx") or len(n.inputs) != 2:
            return False
        if n.op_type == "Mul":
            o = self.other(n, x)
            return o is not None and self.scalar(o, factor, x)
        return n.op_type == "Div" and n.inputs[0] == x and self.scalar(n.inputs[1], 1 / factor, x)

    def scaled_by(self, t, factor, x):
        """The node computing t = x * factor when t is private, else None."""
        n = self.idx.node_of(t)
        if n is None or not self.idx.private(t) or not self.is_scale(n, factor, x):
            return None
        return n

    def half_product(self, v, x):
        """The nodes computing 0.5 * x * v in any order and association (two Mul, or a Mul and
        a Div by 2), v private: (nodes, output tensor), else None."""
        m1 = self.consumer(v, "Mul")
        if m1 is None:
            return None
        o = self.other(m1, v)
        if o is None:
            return None
        p = m1.outputs[0]
        if o == x:                                   # (x v) * 0.5 or (x v) / 2
            for op in ("Mul", "Div"):
                m2 = self.consumer(p, op)
                if m2 is not None and self.is_scale(m2, 0.5, p):
                    return [m1, m2], m2.outputs[0]
            return None
        if self.scalar(o, 0.5, v):                   # (v 0.5) x
            m2 = self.consumer(p, "Mul")
            if m2 is not None and self.other(m2, p) == x:
                return [m1, m2], m2.outputs[0]
            return None
        w = self.scaled_by(o, 0.5, x)                # (x 0.5) v
        if w is not None:
            return [w, m1], p
        return None

    def one_plus(self, t, x):
        """(Add node, output) of 1 + t, t private."""
        a = self.consumer(t, "Add")
        if a is None:
            return None
        o = self.other(a, t)
        return (a, a.outputs[0]) if o is not None and self.scalar(o, 1.0, x) else None

    def half_x_one_plus(self, t, x):
        """The nodes computing x / 2 (1 + t) (the end of both GELU forms), t private:
        (nodes, output tensor), else None."""
        one = self.one_plus(t, x)
        if one is None:
            return None
        tail = self.half_product(one[1], x)
        if tail is None:
            return None
        return [one[0]] + tail[0], tail[1]


def _match_gelu_erf(p, erf):
    """x / 2 (1 + erf(x / sqrt 2)) from its Erf node: (x, nodes, output) or None."""
    u = erf.inputs[0]
    d = p.idx.node_of(u)
    if d is None or not p.idx.private(u) or d.domain not in ("", "ai.onnx"):
        return None
    if d.op_type == "Div":
        x = d.inputs[0]
    elif d.op_type == "Mul" and len(d.inputs) == 2:
        x = next((c for c, o in (d.inputs, d.inputs[::-1]) if p.scalar(o, 1 / _SQRT2, c)), None)
    else:
        return None
    if x is None or p.scaled_by(u, 1 / _SQRT2, x) is not d:
        return None
    end = p.half_x_one_plus(erf.outputs[0], x)
    if end is None:
        return None
    return x, [d, erf] + end[0], end[1]


def _cube_of(p, t):
    """(x, nodes) when t = x^3 (Pow(x, 3), x * (x * x) or (x * x) * x), t private."""
    n = p.idx.node_of(t)
    if n is None or not p.idx.private(t) or n.domain not in ("", "ai.onnx"):
        return None
    if n.op_type == "Pow" and p.scalar(n.inputs[1], 3.0, n.inputs[0]):
        return n.inputs[0], [n]
    if n.op_type != "Mul" or len(n.inputs) != 2:
        return None
    for x, sq in (n.inputs, n.inputs[::-1]):
        s = p.node(sq, "Mul")
        if s is not None and s.inputs == [x, x] and x != sq:
            return x, [s, n]
    return None


def _match_gelu_tanh(p, tanh):
    """x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) from its Tanh node."""
    s5 = tanh.inputs[0]
    mb = p.node(s5, "Mul")
    if mb is None or len(mb.inputs) != 2:
        return None
    for s4, c in (mb.inputs, mb.inputs[::-1]):
        add = p.node(s4, "Add")
        if add is None or len(add.inputs) != 2:
            continue
        for x, s3 in (add.inputs, add.inputs[::-1]):
            if not p.scalar(c, _GELU_TANH_C, x):
                continue
            mk = p.node(s3, "Mul")
            if mk is None or len(mk.inputs) != 2:
                continue
            for cube, k in (mk.inputs, mk.inputs[::-1]):
                if not p.scalar(k, 0.044715, x):
                    continue
                cu = _cube_of(p, cube)
                if cu is None or cu[0] != x:
                    continue
                end = p.half_x_one_plus(tanh.outputs[0], x)
                if end is None:
                    return None
                return x, cu[1] + [mk, add, mb, tanh] + end[0], end[1]
    return None


def _match_mish(p, softplus):
    """x * tanh(softplus(x)) from its Softplus node."""
    x = softplus.inputs[0]
    t = p.consumer(softplus.outputs[0], "Tanh")
    if t is None:
        return None
    m = p.consumer(t.outputs[0], "Mul")
    if m is None or p.other(m, t.outputs[0]) != x:
        return None
    return x, [softplus, t, m], m.outputs[0]


def _match_softsign(p, ab):
    """x / (1 + |x|) from its Abs node (torch's export of Softsign)."""
    x = ab.inputs[0]
    one = p.one_plus(ab.outputs[0], x)
    if one is None:
        return None
    d = p.consumer(one[1], "Div")
    if d is None or d.inputs != [x, one[1]]:
        return None
    return x, [ab, one[0], d], d.outputs[0]


@_needs_info(True)
def _detect_activations(m, idx, info):
    """GELU (x / 2 (1 + erf(x / sqrt 2)), the Div by sqrt 2 or Mul by 1 / sqrt 2, the product
    with x and 0.5 in any order), tanh-approximate GELU (torch's export: x * x * x or
    Pow(x, 3)), Mish (x * tanh(softplus(x))) and Softsign (x / (1 + |x|)) in primitive ops
    become Gelu / Mish / Softsign nodes."""
    g = m.graph
    p = _Pattern(g, idx, info)
    for n in g.nodes:
        if n.domain not in ("", "ai.onnx"):
            continue
        if n.op_type == "Erf":
            found, op, attrs = _match_gelu_erf(p, n), "Gelu", {}
        elif n.op_type == "Tanh":
            found, op, attrs = _match_gelu_tanh(p, n), "Gelu", {"approximate": "tanh"}
        elif n.op_type == "Softplus":
            found, op, attrs = _match_mish(p, n), "Mish", {}
        elif n.op_type == "Abs":
            found, op, attrs = _match_softsign(p, n), "Softsign", {}
        else:
            continue
        if found is None:
            continue
        x, nodes, out = found
        xi = info.get(x)
        if xi is None or xi.dtype is None or np.dtype(xi.dtype).kind != "f":
            continue
        last = max(nodes, key=g.nodes.index)
        _replace_node(g, last, Node(op, [x], [out], last.name, attrs))
        _remove(g, [k for k in nodes if k is not last])
        return True
    return False


detect_activations = _rewrite(_detect_activations)


# ---------------------------------------------------------------------------------------------
# the passes

def fold_constants(model: Model) -> Model:
    """Evaluates every node whose inputs are all constant (initializers, Constant nodes, their
    results, and Shape of a tensor whose shape is static) and turns the results that are
    still needed into initializers."""
    m = model.copy()
    g = m.graph
    info = analyze(m, fold=True)
    keep = []
    for n in g.nodes:
        outs = [t for t in n.outputs if t]
        if outs and all(info.get(t) is not None and info[t].value is not None for t in outs):
            continue
        keep.append(n)
    g.nodes = keep
    inputs = {v.name for v in g.inputs}
    for t in _used_names(g):
        if t not in g.initializers and t not in inputs and t in info and \
                info[t].value is not None:
            g.initializers[t] = info[t].value
    return _finish(model, m)


@_needs_info(True)
def _eliminate_identity(m, idx, info):
    """Removes Identity, inference Dropout, Cast to the same dtype and Reshape to the same
    static shape; consumers read the input instead (or, when the removed node's output is a
    graph output, the input's producer writes that name)."""
    g = m.graph
    for n in g.nodes:
        if n.domain not in ("", "ai.onnx") or not n.inputs or not n.inputs[0]:
            continue
        x, y = n.inputs[0], n.outputs[0]
        op = n.op_type
        if op == "Identity":
            pass
        elif op == "Dropout":
            if any(t and idx.uses.get(t) or t in idx.outputs for t in n.outputs[1:]):
                continue
            ins = [None] + [g.initializers.get(t) for t in n.inputs[1:]]
            if not dropout_is_identity(n, ins, m.opset):
                continue
        elif op == "Cast":
            xi = info.get(x)
            try:
                if xi is None or xi.dtype is None or np.dtype(xi.dtype) != cast_dtype(
                        attr(n, "to")):
                    continue
            except _Err:
                continue
        elif op == "Reshape":
            xi, yi = info.get(x), info.get(y)
            if xi is None or yi is None or xi.shape is None or xi.shape != yi.shape:
                continue
        else:
            continue
        if y not in idx.outputs:
            _remove(g, [n])
            _rename_input(g, y, x)
            return True
        p = idx.node_of(x)
        if p is not None and x not in idx.outputs:
            _remove(g, [n])
            p.outputs = [y if t == x else t for t in p.outputs]
            _rename_input(g, x, y)
            return True
    return False


eliminate_identity = _rewrite(_eliminate_identity)


def _const_pads(m, pad):
    """(axes or None for all, pads, value) of a constant-mode Pad whose pads, value and axes
    are constants, else None."""
    g = m.graph
    if (attr(pad, "mode") or "constant") != "constant":
        return None
    if m.opset < 11 or (len(pad.inputs) < 2 and pad.attrs.get("pads") is not None):
        pads, value, axes = attr(pad, "pads"), float(attr(pad, "value") or 0.0), None
    else:
        got = [g.initializers.get(pad.inputs[i]) if len(pad.inputs) > i and pad.inputs[i]
               else False for i in (1, 2, 3)]
        if any(v is None for v in got) or got[0] is False:
            return None
        pads, cv, axes = got
        value = 0.0 if cv is False or cv.size == 0 else float(cv.reshape(-1)[0])
        axes = None if axes is False else [int(a) for a in axes.reshape(-1)]
    if pads is None:
        return None
    return axes, [int(p) for p in np.asarray(pads).reshape(-1)], value


@_needs_info(False)
def _fuse_pad(m, idx, info):
    """A constant-mode Pad of the spatial axes only, by non-negative amounts, whose output only
    a Conv / FusedConv reads (value 0), a MaxPool (value -inf) or an AveragePool with
    count_include_pad=1 (value 0), becomes that node's own (possibly asymmetric) pads:
    TensorFlow-style "same" padding (timm's Conv2dSame, MaxPool2dSame, AvgPool2dSame) runs as
    one conv or pool with no padded copy of its input."""
    g = m.graph
    for pad in g.nodes:
        if pad.op_type != "Pad" or pad.domain not in ("", "ai.onnx") or not pad.inputs[0]:
            continue
        t = pad.outputs[0]
        user = g.nodes[idx.uses[t][0]] if idx.private(t) else None
        if user is None or user.inputs[0] != t:
            continue
        if _is_conv(user):
            w = idx.const(user.inputs[1]) if len(user.inputs) > 1 else None
            rank, want = (None if w is None else w.ndim), 0.0
        elif user.op_type in ("MaxPool", "AveragePool") and user.domain in ("", "ai.onnx") \
                and not (len(user.outputs) > 1 and user.outputs[1]):
            # a max ignores -inf padding; an average counting its pads counts zeros
            if user.op_type == "AveragePool" and not attr(user, "count_include_pad"):
                continue
            ks = attr(user, "kernel_shape")
            rank = None if ks is None else len(ks) + 2
            want = -math.inf if user.op_type == "MaxPool" else 0.0
        else:
            continue
        found = _const_pads(m, pad)
        if found is None or rank is None or (attr(user, "auto_pad") or "NOTSET") not in (
                "NOTSET", "VALID"):
            continue
        axes, pads, value = found
        axes = list(range(rank)) if axes is None else axes
        if value != want or len(pads) != 2 * len(axes) or \
                any(not -rank <= a < rank for a in axes):
            continue
        axes = [a % rank for a in axes]
        begin, end = [0] * rank, [0] * rank
        for i, a in enumerate(axes):
            begin[a], end[a] = pads[i], pads[len(axes) + i]
        if any(begin[:2] + end[:2]) or min(begin + end) < 0:
            continue
        nd = rank - 2
        own = [int(p) for p in (attr(user, "pads") or [0] * (2 * nd))] \
            if (attr(user, "auto_pad") or "NOTSET") == "NOTSET" else [0] * (2 * nd)
        if len(own) != 2 * nd:
            continue
        user.attrs["pads"] = [own[i] + begin[2 + i] for i in range(nd)] + \
            [own[nd + i] + end[2 + i] for i in range(nd)]
        user.attrs.pop("auto_pad", None)
        user.inputs = [pad.inputs[0]] + list(user.inputs[1:])
        _remove(g, [pad])
        return True
    return False


fuse_pad = _rewrite(_fuse_pad)


@_needs_info(False)
def _fold_batchnorm(m, idx, info):
    """BatchNormalization right after a Conv / ConvTranspose / DeformConv (whose output nothing
    else reads) is folded into the conv's weights and bias: computed in float64, rounded
    once."""
    g = m.graph
    for bn in g.nodes:
        if bn.op_type != "BatchNormalization" or bn.domain not in ("", "ai.onnx"):
            continue
        if int(attr(bn, "training_mode") or 0) or \
                any(t and (idx.uses.get(t) or t in idx.outputs) for t in bn.outputs[1:]):
            continue
        t = bn.inputs[0]
        conv = idx.node_of(t)
        if conv is None or not idx.private(t):
            continue
        onnx_op = conv.domain in ("", "ai.onnx")
        transposed = conv.op_type == "ConvTranspose" and onnx_op
        deform = conv.op_type == "DeformConv" and onnx_op
        if not (transposed or deform or _plain(conv)):
            continue
        bi = 3 if deform else 2
        params = [idx.const(p) for p in bn.inputs[1:5]]
        w = idx.const(conv.inputs[1])
        has_b = len(conv.inputs) > bi and conv.inputs[bi]
        b = idx.const(conv.inputs[bi]) if has_b else None
        if any(p is None for p in params) or w is None or w.dtype.kind != "f" or \
                (has_b and b is None):
            continue
        group = int(attr(conv, "group") or 1)
        c_out = w.shape[1] * group if transposed else w.shape[0]
        if any(p.shape != (c_out,) for p in params) or (b is not None and b.shape != (c_out,)):
            continue
        scale, beta, mean, var = (p.astype(np.float64) for p in params)
        s = scale / np.sqrt(var + float(attr(bn, "epsilon")))
        b64 = np.zeros(c_out) if b is None else b.astype(np.float64)
        _rescale_conv(g, conv, w, bi, transposed, s, (b64 - mean) * s + beta, bn, "bn")
        return True
    return False


def _rescale_conv(g, conv, w, bi, transposed, s, b_new, node, tag):
    """`conv` (weight w, bias at input bi) absorbs the element-wise `node` after it: its
    weights scaled by s per output channel and its bias b_new (float64, rounded once to w's
    dtype) as new initializers named with `tag`; it writes node's output and node goes."""
    group = int(attr(conv, "group") or 1)
    c_out = len(s)
    w64 = w.astype(np.float64)
    if transposed:  # (c_in, c_out / group, k...): the output channels are per group
        shape = (group, w.shape[0] // group, c_out // group) + w.shape[2:]
        w_new = (w64.reshape(shape) *
                 s.reshape((group, 1, c_out // group) + (1,) * (w.ndim - 2))).reshape(w.shape)
    else:
        w_new = w64 * s.reshape((-1,) + (1,) * (w.ndim - 1))
    wn = _unique(g, f"{conv.inputs[1]}_{tag}")
    g.initializers[wn] = w_new.astype(w.dtype)
    bname = _unique(g, f"{conv.name or conv.outputs[0]}_bias_{tag}")
    g.initializers[bname] = b_new.astype(w.dtype)
    ins = list(conv.inputs) + [""] * max(0, bi + 1 - len(conv.inputs))
    ins[1], ins[bi] = wn, bname
    conv.inputs = ins
    conv.outputs = [node.outputs[0]]
    _remove(g, [node])


fold_batchnorm = _rewrite(_fold_batchnorm)


def _per_channel(c, rank, c_out):
    """A constant operand of an element-wise op on a conv output of rank `rank` as c_out
    float64 values, or None when broadcasting it would change that output's shape or it
    varies along another axis than the channels."""
    if c is None or c.dtype.kind != "f" or c.ndim > rank:
        return None
    full = (1,) * (rank - c.ndim) + tuple(c.shape)
    if full[0] != 1 or any(d != 1 for d in full[2:]) or full[1] not in (1, c_out):
        return None
    return np.broadcast_to(c.astype(np.float64).reshape(-1), (c_out,))


@_needs_info(False)
def _fold_channel_affine(m, idx, info):
    """Mul, Div, Add or Sub of a conv's output (read by nothing else) by a constant that is
    one value or one per output channel (ConvNeXt's layer scale, NF-Nets' gains, a bias added
    apart) is folded into the conv's weights and bias: in float64, rounded once."""
    g = m.graph
    for n in g.nodes:
        if n.op_type not in ("Mul", "Div", "Add", "Sub") or n.domain not in ("", "ai.onnx"):
            continue
        for k in (0, 1):
            t, c = n.inputs[k], idx.const(n.inputs[1 - k])
            conv = idx.node_of(t)
            if conv is None or not idx.private(t) or c is None:
                continue
            if n.op_type == "Div" and k == 1:
                continue
            onnx_op = conv.domain in ("", "ai.onnx")
            transposed = conv.op_type == "ConvTranspose" and onnx_op
            if not (transposed or _plain(conv)):
                continue
            w = idx.const(conv.inputs[1])
            has_b = len(conv.inputs) > 2 and conv.inputs[2]
            b = idx.const(conv.inputs[2]) if has_b else None
            if w is None or w.dtype.kind != "f" or (has_b and b is None):
                continue
            group = int(attr(conv, "group") or 1)
            c_out = w.shape[1] * group if transposed else w.shape[0]
            v = _per_channel(c, w.ndim, c_out)
            if v is None or (b is not None and b.shape != (c_out,)):
                continue
            if n.op_type == "Div" and not np.all(v != 0):
                continue
            b64 = np.zeros(c_out) if b is None else b.astype(np.float64)
            s, shift = np.ones(c_out), np.zeros(c_out)
            if n.op_type == "Mul":
                s = v
            elif n.op_type == "Div":
                s = 1.0 / v
            elif n.op_type == "Add":
                shift = v
            elif k == 0:  # conv - c
                shift = -v
            else:  # c - conv
                s, shift = -np.ones(c_out), v
            _rescale_conv(g, conv, w, 2, transposed, s, b64 * s + shift, n, n.op_type.lower())
            return True
    return False


fold_channel_affine = _rewrite(_fold_channel_affine)


@_needs_info(False)
def _fuse_activation(m, idx, info):
    """A Conv / FusedConv followed by an activation its epilogue can compute (Relu, constant
    Clip, HardSwish, HardSigmoid, Sigmoid, LeakyRelu, Tanh, SiLU as x * sigmoid(x), Gelu,
    Mish, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu) becomes one FusedConv;
    Relu/Clip after a fused activation becomes its clamp."""
    g = m.graph
    for conv in g.nodes:
        if not _is_conv(conv):
            continue
        t = conv.outputs[0]
        if t in idx.outputs:
            continue
        found = _following_activation(g, idx, t, m.opset)
        if found is None:
            continue
        e, nodes, out = found
        new_e = _compose(_epilogue(conv), e)
        if new_e is None:
            continue
        fused = _to_fused(conv)
        _set_epilogue(fused, new_e)
        fused.outputs = [out]
        if fused is not conv:
            _replace_node(g, conv, fused)
        _remove(g, nodes)
        return True
    return False


fuse_activation = _rewrite(_fuse_activation)


@_needs_info(True)
def _fuse_residual(m, idx, info):
    """Add(conv_out, other) with conv_out from a Conv / FusedConv without an epilogue yet, read
    by nothing else, and `other` of the same shape (no broadcasting) becomes
    FusedConv(X, W, B, other). Preferred: a conv that runs after `other` exists (it stays in
    place; of two such convs the later one). Otherwise the fused conv moves to the Add's
    place."""
    g = m.graph
    for add in g.nodes:
        if add.op_type != "Add" or add.domain not in ("", "ai.onnx") or len(add.inputs) != 2:
            continue
        best = None
        for k in range(2):
            t, other = add.inputs[k], add.inputs[1 - k]
            if not t or not other or t == other:
                continue
            ci = idx.producer.get(t)
            if ci is None:
                continue
            conv = g.nodes[ci]
            if not _plain(conv) or not idx.private(t):
                continue
            ti, oi = info.get(t), info.get(other)
            if ti is None or oi is None or ti.shape is None or ti.shape != oi.shape or \
                    ti.dtype != oi.dtype:
                continue
            pi = idx.producer.get(other)
            ready = pi is None or pi < ci
            if best is None or (ready, ci) > (best[0], best[1]):
                best = (ready, ci, conv, other)
        if best is None:
            continue
        ready, _, conv, other = best
        fused = _to_fused(conv)
        ins = list(conv.inputs[:3])
        while len(ins) < 3:
            ins.append("")
        fused.inputs = ins + [other]
        fused.outputs = [add.outputs[0]]
        if ready:
            _replace_node(g, conv, fused)
            _remove(g, [add])
        else:
            # the residual is made after the conv: the fused conv runs where the Add was
            _remove(g, [conv])
            _replace_node(g, add, fused)
        return True
    return False


fuse_residual = _rewrite(_fuse_residual)


@_needs_info(True)
def _detect_channel_shuffle(m, idx, info):
    """Reshape (N, C, H, W) -> (N, g, C/g, H, W), Transpose(0, 2, 1, 3, 4), Reshape back to
    (N, C, H, W) becomes ChannelShuffle(group=g)."""
    g = m.graph
    for r1 in g.nodes:
        if r1.op_type != "Reshape" or r1.domain not in ("", "ai.onnx"):
            continue
        x, a = r1.inputs[0], r1.outputs[0]
        xi, ai = info.get(x), info.get(a)
        if xi is None or ai is None or xi.shape is None or ai.shape is None:
            continue
        if len(xi.shape) != 4 or len(ai.shape) != 5:
            continue
        n, c, h, w = xi.shape
        if not all(isinstance(d, int) for d in xi.shape[1:] + ai.shape[1:]):
            continue
        if ai.shape[0] != n or ai.shape[3:] != (h, w) or ai.shape[1] * ai.shape[2] != c:
            continue
        if not idx.private(a):
            continue
        tr = g.nodes[idx.uses[a][0]]
        if tr.op_type != "Transpose" or tr.domain not in ("", "ai.onnx") or \
                list(attr(tr, "perm") or []) != [0, 2, 1, 3, 4]:
            continue
        b = tr.outputs[0]
        if not idx.private(b):
            continue
        r2 = g.nodes[idx.uses[b][0]]
        if r2.op_type != "Reshape" or r2.domain not in ("", "ai.onnx") or r2.inputs[0] != b:
            continue
        yi = info.get(r2.outputs[0])
        if yi is None or yi.shape != xi.shape:
            continue
        shuffle = Node("ChannelShuffle", [x], [r2.outputs[0]], r1.name or tr.name or r2.name,
                       {"group": int(ai.shape[1])}, CUSTOM_DOMAIN)
        _replace_node(g, r1, shuffle)
        _remove(g, [tr, r2])
        return True
    return False


detect_channel_shuffle = _rewrite(_detect_channel_shuffle)


_SHAPE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _se_linear(g, n, info, n_batch):
    """(W (out, in), B (out,), epilogue of a FusedConv) of a 1x1 Conv / FusedConv on a 1x1 map
    or of a Gemm with constant weights, else None."""
    if _is_conv(n):
        w = g.initializers.get(n.inputs[1])
        if w is None or w.ndim != 4 or w.shape[2:] != (1, 1) or int(attr(n, "group") or 1) != 1:
            return None
        if len(n.inputs) > 3 and n.inputs[3]:
            return None
        xi = info.get(n.inputs[0])
        if xi is None or xi.shape is None or len(xi.shape) != 4 or xi.shape[2:] != (1, 1):
            return None
        oi = info.get(n.outputs[0])
        if oi is None or oi.shape != (n_batch, w.shape[0], 1, 1):
            return None
        b = g.initializers.get(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
        if len(n.inputs) > 2 and n.inputs[2] and b is None:
            return None
        w2 = w.reshape(w.shape[:2]).astype(np.float64)
        b2 = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        return w2, b2, _epilogue(n)
    if n.op_type == "Gemm" and n.domain in ("", "ai.onnx"):
        w = g.initializers.get(n.inputs[1])
        if w is None or w.ndim != 2 or int(attr(n, "transA")):
            return None
        xi = info.get(n.inputs[0])
        if xi is None or xi.shape is None or len(xi.shape) != 2:
            return None
        w2 = float(attr(n, "alpha")) * (w.astype(np.float64) if int(attr(n, "transB"))
                                        else w.astype(np.float64).T)
        b = None
        if len(n.inputs) > 2 and n.inputs[2]:
            c = g.initializers.get(n.inputs[2])
            if c is None or c.size != w2.shape[0] or (c.ndim == 2 and c.shape[0] != 1):
                return None
            b = float(attr(n, "beta")) * c.astype(np.float64).reshape(-1)
        return w2, (np.zeros(w2.shape[0]) if b is None else b), dict(_EPILOGUE_DEFAULTS)
    return None


@_needs_info(True)
def _fuse_squeeze_excite(m, idx, info):
    """Mul(x, gate(linear2(act(linear1(GlobalAveragePool(x)))))) -> SqueezeExcite, where
    linear is a 1x1 Conv or a Gemm (with Flatten/Reshape/Squeeze/Unsqueeze between them),
    act any epilogue activation (possibly already fused into the conv) and gate Sigmoid or
    HardSigmoid (also when fused into the second conv)."""
    g = m.graph
    for mul in g.nodes:
        if mul.op_type != "Mul" or mul.domain not in ("", "ai.onnx") or len(mul.inputs) != 2:
            continue
        for k in range(2):
            x, gt = mul.inputs[k], mul.inputs[1 - k]
            r = _match_se(g, idx, info, x, gt, m.opset)
            if r is None:
                continue
            mi = info.get(mul.outputs[0])
            if mi is None or mi.shape != info[x].shape:
                continue
            (w1, b1, act, w2, b2, gate, chain) = r
            base = mul.name or mul.outputs[0]
            names = []
            for suffix, arr in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)):
                nm = _unique(g, f"{base}_se_{suffix}")
                g.initializers[nm] = np.ascontiguousarray(arr, dtype=np.float32)
                names.append(nm)
            attrs = {k2: v for k2, v in act.items() if v != _EPILOGUE_DEFAULTS[k2]}
            attrs.update(gate)
            se = Node("SqueezeExcite", [x] + names, [mul.outputs[0]], mul.name, attrs,
                      CUSTOM_DOMAIN)
            _replace_node(g, mul, se)
            _remove(g, chain)
            return True
    return False


def _match_se(g, idx, info, x, gt, opset):
    xi = info.get(x)
    if xi is None or xi.shape is None or len(xi.shape) != 4 or xi.dtype != np.float32:
        return None
    n_b, c = xi.shape[:2]
    gi = info.get(gt)
    if gi is None or gi.shape != (n_b, c, 1, 1):
        return None
    chain = []

    def back(t, allow_shared=False):
        """The producer of t when t is private to its consumer (and not a graph output)."""
        p = idx.node_of(t)
        if p is None or (not allow_shared and not idx.private(t)):
            return None
        return p

    def skip_shapes(t):
        while True:
            p = back(t)
            if p is None or p.op_type not in _SHAPE_OPS or p.domain not in ("", "ai.onnx"):
                return t
            ti, si = info.get(t), info.get(p.inputs[0])
            if ti is None or si is None or ti.shape is None or si.shape is None:
                return None
            if not (_nk(ti.shape, n_b) and _nk(si.shape, n_b) and ti.shape[1] == si.shape[1]):
                return None
            chain.append(p)
            t = p.inputs[0]

    # gate
    t = skip_shapes(gt)
    if t is None:
        return None
    p = back(t)
    if p is None:
        return None
    gate = None
    lin2_node = None
    if p.op_type == "Sigmoid" and p.domain in ("", "ai.onnx"):
        gate = {"gate": "sigmoid"}
    elif p.op_type == "HardSigmoid" and p.domain in ("", "ai.onnx"):
        gate = {"gate": "hardsigmoid", "gate_alpha": float(attr(p, "alpha")),
                "gate_beta": float(attr(p, "beta"))}
    elif _is_conv(p):
        e = _epilogue(p)
        unclamped = e["clip_min"] == -math.inf and e["clip_max"] == math.inf
        if e["activation"] == "sigmoid" and unclamped:
            gate = {"gate": "sigmoid"}
        elif e["activation"] == "hardsigmoid" and unclamped:
            gate = {"gate": "hardsigmoid", "gate_alpha": e["alpha"], "gate_beta": e["beta"]}
        else:
            return None
        lin2_node = p
    else:
        return None
    if lin2_node is None:
        chain.append(p)
        t = skip_shapes(p.inputs[0])
        if t is None:
            return None
        lin2_node = back(t)
        if lin2_node is None:
            return None
    lin2 = _se_linear(g, lin2_node, info, n_b)
    if lin2 is None:
        return None
    w2, b2, e2 = lin2
    if lin2_node is not p and e2 != _EPILOGUE_DEFAULTS:
        return None
    chain.append(lin2_node)
    # activation between the two linear layers
    t = skip_shapes(lin2_node.inputs[0])
    if t is None:
        return None
    act = dict(_EPILOGUE_DEFAULTS)
    p = idx.node_of(t)
    if p is None:
        return None
    if p.op_type == "Mul" and p.domain in ("", "ai.onnx") and idx.private(t):
        # SiLU / HardSwish as u * gate(u)
        for u in p.inputs:
            gp = _gated_self_product(g, idx, u, opset)
            if gp is not None and gp[1][1] is p:
                act = gp[0]
                chain.extend(gp[1])
                t = u
                break
        else:
            return None
        lin1_node = idx.node_of(t)
        if lin1_node is None or t in idx.outputs:
            return None
    else:
        e = _activation_of(g, p, opset) if idx.private(t) else None
        if e is not None:
            act = e
            chain.append(p)
            t = skip_shapes(p.inputs[0])
            if t is None:
                return None
            lin1_node = back(t)
        else:
            lin1_node = back(t)
    if lin1_node is None:
        return None
    lin1 = _se_linear(g, lin1_node, info, n_b)
    if lin1 is None:
        return None
    w1, b1, e1 = lin1
    if e1 != _EPILOGUE_DEFAULTS:
        if act != _EPILOGUE_DEFAULTS:
            act = _compose(e1, act)
            if act is None:
                return None
        else:
            act = e1
    chain.append(lin1_node)
    t = skip_shapes(lin1_node.inputs[0])
    if t is None:
        return None
    gap = back(t)
    if gap is None or gap.op_type != "GlobalAveragePool" or gap.domain not in ("", "ai.onnx") \
            or gap.inputs[0] != x:
        return None
    chain.append(gap)
    mid = w1.shape[0]
    if w1.shape != (mid, c) or w2.shape != (c, mid) or b1.shape != (mid,) or b2.shape != (c,):
        return None
    return w1, b1, act, w2, b2, gate, chain


def _nk(shape, n_b):
    return len(shape) in (2, 4) and shape[0] == n_b and tuple(shape[2:]) in ((), (1, 1))


fuse_squeeze_excite = _rewrite(_fuse_squeeze_excite)


def eliminate_dead_nodes(model: Model) -> Model:
    """Drops the nodes none of whose outputs reaches a graph output, and the initializers
    nothing reads."""
    m = model.copy()
    g = m.graph
    live = {v.name for v in g.outputs}
    keep = []
    for n in reversed(g.nodes):
        if any(t in live for t in n.outputs if t):
            keep.append(n)
            live.update(t for t in n.inputs if t)
    g.nodes = keep[::-1]
    g.initializers = {k: v for k, v in g.initializers.items() if k in live}
    return m


from .passes_layout import LAYOUT_PASSES  # noqa: E402 (its passes use the helpers above)
from .passes_nn import NN_PASSES  # noqa: E402

PASSES = collections.OrderedDict([
    ("fold_constants", fold_constants),
    ("eliminate_identity", eliminate_identity),
    ("fuse_pad", fuse_pad),
    ("detect_activations", detect_activations),
    ("fold_batchnorm", fold_batchnorm),
    ("detect_channel_shuffle", detect_channel_shuffle),
    ("fuse_squeeze_excite", fuse_squeeze_excite),
    *NN_PASSES,
    *LAYOUT_PASSES,
    ("fold_channel_affine", fold_channel_affine),
    ("fuse_residual", fuse_residual),
    ("fuse_activation", fuse_activation),
    ("eliminate_dead_nodes", eliminate_dead_nodes),
])


def optimize(model: Model, disabled=()) -> Model:
    """Runs the passes of PASSES in order, except those named in `disabled`; returns a new
    Model (the input is not modified)."""
    if isinstance(disabled, str):
        disabled = (disabled,)
    unknown = sorted(set(disabled) - set(PASSES))
    if unknown:
        raise ValueError(f"unknown pass name(s) {unknown}; the passes are {list(PASSES)}")
    if not isinstance(model, Model):
        raise TypeError(f"optimize takes a convengine Model, got {type(model).__name__}")
    out = model
    for name, fn in PASSES.items():
        if name not in disabled:
            out = fn(out)
    if out is model:
        out = model.copy()
    return out

