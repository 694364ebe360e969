"""Passes that fuse into a conv or pool: a constant Pad into its pads (fuse_pad), a residual
Add into a FusedConv's fourth input (fuse_residual), and a following activation into its
epilogue (fuse_activation), also through a channel Concat of convs
(fuse_activation_through_concat).
"""
from __future__ import annotations

import math

import numpy as np

from .epilogue import (compose, epilogue_of, following_activation, is_conv, is_plain_conv,
                       set_epilogue, to_fused)
from .ops import attr
from .passes_fold import channel_concat_of_convs
from .rewrite import needs_info, remove_nodes, replace_node, rewrite_pass


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


@needs_info(False)
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
        if is_conv(user):
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
        remove_nodes(g, [pad])
        return True
    return False


fuse_pad = rewrite_pass(_fuse_pad)


@needs_info(False)
def _fuse_activation(m, idx, info):
    """A Conv / FusedConv followed by an activation its epilogue can compute (Relu, constant
    Clip, HardSwish, HardSigmoid, Sigmoid, LeakyRelu, Tanh, SiLU as x * sigmoid(x), Gelu,
    Mish, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu) becomes one FusedConv;
    Relu/Clip after a fused activation becomes its clamp."""
    g = m.graph
    for conv in g.nodes:
        if not is_conv(conv):
            continue
        t = conv.outputs[0]
        if t in idx.outputs:
            continue
        found = following_activation(g, idx, t, m.opset)
        if found is None:
            continue
        e, nodes, out = found
        new_e = compose(epilogue_of(conv), e)
        if new_e is None:
            continue
        fused = to_fused(conv)
        set_epilogue(fused, new_e)
        fused.outputs = [out]
        if fused is not conv:
            replace_node(g, conv, fused)
        remove_nodes(g, nodes)
        return True
    return False


fuse_activation = rewrite_pass(_fuse_activation)


@needs_info(True)
def _fuse_activation_through_concat(m, idx, info):
    """An activation after a channel Concat of convs (passes_fold.channel_concat_of_convs)
    goes into every conv's epilogue; the Concat writes the activation's output."""
    g = m.graph
    for cat in g.nodes:
        found = channel_concat_of_convs(g, idx, info, cat)
        if found is None:
            continue
        act = following_activation(g, idx, cat.outputs[0], m.opset)
        if act is None:
            continue
        e, nodes, out = act
        convs = found[0]
        new = [compose(epilogue_of(c), e) for c in convs]
        if any(ne is None for ne in new):
            continue
        for c, ne in zip(convs, new):
            fused = to_fused(c)
            set_epilogue(fused, ne)
            if fused is not c:
                replace_node(g, c, fused)
        cat.outputs = [out]
        remove_nodes(g, nodes)
        return True
    return False


fuse_activation_through_concat = rewrite_pass(_fuse_activation_through_concat)


@needs_info(True)
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
            if not is_plain_conv(conv) or not idx.private(t):
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
        fused = to_fused(conv)
        ins = list(conv.inputs[:3])
        while len(ins) < 3:
            ins.append("")
        fused.inputs = ins + [other]
        fused.outputs = [add.outputs[0]]
        if ready:
            replace_node(g, conv, fused)
            remove_nodes(g, [add])
        else:
            # the residual is made after the conv: the fused conv runs where the Add was
            remove_nodes(g, [conv])
            replace_node(g, add, fused)
        return True
    return False


fuse_residual = rewrite_pass(_fuse_residual)
