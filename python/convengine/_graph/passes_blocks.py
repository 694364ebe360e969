"""Passes that recognise whole blocks and replace them by one custom op: a channel shuffle
written as Reshape / Transpose / Reshape becomes ChannelShuffle (detect_channel_shuffle), a
squeeze-and-excite block becomes SqueezeExcite (fuse_squeeze_excite).
"""
from __future__ import annotations

import math

import numpy as np

from ..model import CUSTOM_DOMAIN, Node
from .epilogue import (EPILOGUE_DEFAULTS, activation_of, compose, epilogue_of, gated_self_product,
                       is_conv)
from .ops import attr
from .rewrite import needs_info, remove_nodes, replace_node, rewrite_pass, unique_name


@needs_info(True)
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
        replace_node(g, r1, shuffle)
        remove_nodes(g, [tr, r2])
        return True
    return False


detect_channel_shuffle = rewrite_pass(_detect_channel_shuffle)


_SHAPE_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def _se_linear(g, n, info, n_batch):
    """(W (out, in), B (out,), epilogue of a FusedConv) of a 1x1 Conv / FusedConv on a 1x1 map
    or of a Gemm with constant weights, else None."""
    if is_conv(n):
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
        return w2, b2, epilogue_of(n)
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
        return w2, (np.zeros(w2.shape[0]) if b is None else b), dict(EPILOGUE_DEFAULTS)
    return None


@needs_info(True)
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
                nm = unique_name(g, f"{base}_se_{suffix}")
                g.initializers[nm] = np.ascontiguousarray(arr, dtype=np.float32)
                names.append(nm)
            attrs = {k2: v for k2, v in act.items() if v != EPILOGUE_DEFAULTS[k2]}
            attrs.update(gate)
            se = Node("SqueezeExcite", [x] + names, [mul.outputs[0]], mul.name, attrs,
                      CUSTOM_DOMAIN)
            replace_node(g, mul, se)
            remove_nodes(g, chain)
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
    elif is_conv(p):
        e = epilogue_of(p)
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
    if lin2_node is not p and e2 != EPILOGUE_DEFAULTS:
        return None
    chain.append(lin2_node)
    # activation between the two linear layers
    t = skip_shapes(lin2_node.inputs[0])
    if t is None:
        return None
    act = dict(EPILOGUE_DEFAULTS)
    p = idx.node_of(t)
    if p is None:
        return None
    if p.op_type == "Mul" and p.domain in ("", "ai.onnx") and idx.private(t):
        # SiLU / HardSwish as u * gate(u)
        for u in p.inputs:
            gp = gated_self_product(g, idx, u, opset)
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
        e = activation_of(g, p, opset) if idx.private(t) else None
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
    if e1 != EPILOGUE_DEFAULTS:
        if act != EPILOGUE_DEFAULTS:
            act = compose(e1, act)
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


fuse_squeeze_excite = rewrite_pass(_fuse_squeeze_excite)
