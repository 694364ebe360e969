"""The pass that finds activations written out in primitive ops (what torch.onnx.export writes
before opset 20 / 18): GELU in its erf and tanh forms, Mish and Softsign become Gelu, Mish and
Softsign nodes, which fuse_activation can then put into a conv's epilogue.
"""
from __future__ import annotations

import math

import numpy as np

from ..model import Node
from .rewrite import needs_info, remove_nodes, replace_node, rewrite_pass

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


@needs_info(True)
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
        replace_node(g, last, Node(op, [x], [out], last.name, attrs))
        remove_nodes(g, [k for k in nodes if k is not last])
        return True
    return False


detect_activations = rewrite_pass(_detect_activations)
