"""FusedConv epilogues, as the passes read and write them: the epilogue a FusedConv computes
after its sum (activation with alpha and beta, then a clamp; a residual is its fourth input),
a Conv turned into a FusedConv, the epilogue an activation node computes (also SiLU and
HardSwish written as x * gate(x)), and one epilogue applied after another.
"""
from __future__ import annotations

import math

from ..model import CUSTOM_DOMAIN, Node
from .ops import attr
from .rules import _Err, clip_bounds

_CONV_ATTRS = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
EPILOGUE_DEFAULTS = {"activation": "none", "alpha": 0.0, "beta": 0.0,
                     "clip_min": -math.inf, "clip_max": math.inf}


def to_fused(conv: Node) -> Node:
    """A FusedConv equivalent to a Conv (a FusedConv is returned as it is)."""
    if conv.op_type == "FusedConv":
        return conv
    attrs = {k: v for k, v in conv.attrs.items() if k in _CONV_ATTRS}
    return Node("FusedConv", list(conv.inputs), list(conv.outputs), conv.name, attrs,
                CUSTOM_DOMAIN)


def epilogue_of(n: Node):
    return {k: attr(n, k) if n.op_type == "FusedConv" else d
            for k, d in EPILOGUE_DEFAULTS.items()}


def is_conv(n):
    return n is not None and (n.op_type == "Conv" and n.domain in ("", "ai.onnx") or
                              n.op_type == "FusedConv" and n.domain == CUSTOM_DOMAIN)


def is_plain_conv(n):
    """A Conv, or a FusedConv with no activation, clamp or residual yet."""
    if not is_conv(n):
        return False
    if n.op_type == "Conv":
        return True
    e = epilogue_of(n)
    return (e["activation"] == "none" and e["clip_min"] == -math.inf and
            e["clip_max"] == math.inf and (len(n.inputs) < 4 or not n.inputs[3]))


def set_epilogue(n: Node, e):
    for k, d in EPILOGUE_DEFAULTS.items():
        v = e[k]
        if isinstance(v, (int, float)):
            v = float(v)
        if v == d:
            n.attrs.pop(k, None)
        else:
            n.attrs[k] = v


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


def activation_of(g, n, opset):
    """The epilogue (activation, alpha, beta, clip_min, clip_max) a one-input activation node
    computes, else None."""
    if n.domain not in ("", "ai.onnx"):
        return None
    op = n.op_type
    e = dict(EPILOGUE_DEFAULTS)
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


def compose(first, then):
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


def gated_self_product(g, idx, t, opset):
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
            return dict(EPILOGUE_DEFAULTS, activation="silu"), [gate, mul]
        if abs(float(attr(gate, "alpha")) - 1 / 6) < 1e-6 and \
                abs(float(attr(gate, "beta")) - 0.5) < 1e-7:
            return dict(EPILOGUE_DEFAULTS, activation="hardswish"), [gate, mul]
    return None


def following_activation(g, idx, t, opset):
    """The activation applied to t by its consumers: (epilogue, nodes to remove, output)."""
    gp = gated_self_product(g, idx, t, opset)
    if gp is not None:
        e, nodes = gp
        return e, nodes, nodes[1].outputs[0]
    if not idx.private(t):
        return None
    a = g.nodes[idx.uses[t][0]]
    if not a.inputs or a.inputs[0] != t:
        return None
    e = activation_of(g, a, opset)
    if e is None:
        return None
    return e, [a], a.outputs[0]
