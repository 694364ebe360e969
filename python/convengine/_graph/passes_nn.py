"""Graph passes of the normalisation ops (registered into passes.PASSES, before the residual
and activation fusions):

| pass | rewrites |
|---|---|
| `fuse_layer_norm` | a layer norm written out, `m = ReduceMean(x, axes)`, `d = x - m`, `v = ReduceMean(d^2, axes)` (Pow 2 or d * d), `d / Sqrt(v + eps)` (or `d * Reciprocal(...)`, `d * (1 / ...)`), then optionally `* W` and `+ B` with constants: over the channel axis 1 (timm / ConvNeXt `LayerNorm2d` fallbacks, EdgeNeXt) -> `Transpose(0, 2, .., 1) -> LayerNormalization(axis=-1) -> Transpose(0, r-1, 1, ..)`, which the planner runs as one pass per pixel of the channels-last tensor; over trailing axes -> `LayerNormalization(axis)` |
| `fuse_group_norm` | what torch exports for nn.GroupNorm below opset 18, `Reshape(x, (N, G, -1)) -> InstanceNormalization(s, b) -> Reshape(back to x's shape)`, then optionally `* gamma` and `+ beta` per channel -> `GroupNormalization(x, scale, bias)` with per-channel scale and bias (the opset-21 form; the planner and evaluator tell it from opset 18's per-group form by its shape) |
"""
from __future__ import annotations

import numpy as np

from ..model import Node
from .rewrite import needs_info, remove_nodes, replace_node, rewrite_pass, unique_name
from .rules import reduce_axes

_ONNX = ("", "ai.onnx")


def _op(n, *types):
    return n is not None and n.op_type in types and n.domain in _ONNX


def _consumers(g, idx, t):
    return [g.nodes[i] for i in idx.uses.get(t, ())]


def _only(g, idx, t, *types):
    """The single node reading `t` (a private tensor) when its op is one of `types`."""
    if not idx.private(t):
        return None
    n = g.nodes[idx.uses[t][0]]
    return n if _op(n, *types) else None


def _other(n, t):
    """The other input of a binary node that reads `t` once."""
    if len(n.inputs) != 2 or n.inputs.count(t) != 1:
        return None
    return n.inputs[1] if n.inputs[0] == t else n.inputs[0]


def _scalar(idx, t):
    v = idx.const(t)
    if v is None or v.size != 1 or v.dtype.kind not in "fiu":
        return None
    return float(np.asarray(v).reshape(-1)[0])


def _mean_axes(g, idx, n, rank):
    """Sorted axes of a keepdims ReduceMean with constant axes, else None."""
    if not _op(n, "ReduceMean") or not int(n.attrs.get("keepdims", 1)):
        return None
    axes_in = None
    if len(n.inputs) > 1 and n.inputs[1]:
        axes_in = idx.const(n.inputs[1])
        if axes_in is None:
            return None
    try:
        axes = reduce_axes(n, axes_in, rank)
    except Exception:  # noqa: BLE001 - a malformed node is not this pattern
        return None
    return axes or None


def _affine(g, idx, t):
    """Optional `* W` then `+ B` (either operand order, constant W / B) after tensor t: returns
    (W or None, B or None, nodes, output name)."""
    nodes = []

    def constant_operand(t, op):
        n = _only(g, idx, t, op)
        o = None if n is None else _other(n, t)
        if o is None or idx.const(o) is None:
            return None, t
        nodes.append(n)
        return idx.const(o), n.outputs[0]

    w, t = constant_operand(t, "Mul")
    b, t = constant_operand(t, "Add")
    return w, b, nodes, t


def _per_channel(v, rank, c):
    """v (broadcasting against a rank-`rank` tensor) as (C,) when it varies only along axis 1."""
    v = np.asarray(v, np.float64)
    if v.ndim > rank:
        return None
    shape = (1,) * (rank - v.ndim) + v.shape
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, c):
        return None
    return np.broadcast_to(v.reshape(-1), (c,)).copy()


def _trailing(v, rank, norm_shape):
    """v as an array of norm_shape when it broadcasts into x's trailing axes only."""
    v = np.asarray(v, np.float64)
    k = len(norm_shape)
    if v.ndim > rank or any(d != 1 for d in v.shape[:max(0, v.ndim - k)]):
        return None
    v = v.reshape(v.shape[max(0, v.ndim - k):])
    try:
        return np.broadcast_to(v, norm_shape).copy()
    except ValueError:
        return None


@needs_info(True)
def _fuse_layer_norm(m, idx, info):
    """A layer norm written with ReduceMean / Sub / Pow / Sqrt / Div (+ Mul, Add) becomes
    LayerNormalization (with Transposes around it when it normalises the channel axis)."""
    g = m.graph
    for r1 in g.nodes:
        if not _op(r1, "ReduceMean"):
            continue
        x = r1.inputs[0]
        xi = info.get(x)
        if xi is None or xi.shape is None or idx.const(x) is not None:
            continue
        rank = len(xi.shape)
        axes = _mean_axes(g, idx, r1, rank)
        if axes is None:
            continue
        mu = r1.outputs[0]
        sub = _only(g, idx, mu, "Sub")
        if sub is None or sub.inputs != [x, mu]:
            continue
        d = sub.outputs[0]
        users = _consumers(g, idx, d)
        if d in idx.outputs or not 2 <= len(users) <= 3:
            continue
        sq = next((n for n in users if _op(n, "Pow") and n.inputs[0] == d and
                   _scalar(idx, n.inputs[1]) == 2.0 or
                   _op(n, "Mul") and n.inputs == [d, d]), None)
        div = next((n for n in users if _op(n, "Div") and n.inputs[0] == d or
                    _op(n, "Mul") and n is not sq and _other(n, d) is not None), None)
        if sq is None or div is None or len(users) != (3 if sq.inputs == [d, d] else 2):
            continue
        r2 = _only(g, idx, sq.outputs[0], "ReduceMean")
        if r2 is None or _mean_axes(g, idx, r2, rank) != axes:
            continue
        add = _only(g, idx, r2.outputs[0], "Add")
        eps = _scalar(idx, _other(add, r2.outputs[0])) if add is not None else None
        if eps is None or not eps >= 0:
            continue
        sqrt = _only(g, idx, add.outputs[0], "Sqrt")
        if sqrt is None:
            continue
        s = sqrt.outputs[0]
        chain = []
        if _op(div, "Div"):
            if div.inputs != [d, s] or not idx.private(s):
                continue
        else:  # d * Reciprocal(sqrt(...)) or d * (1 / sqrt(...)) (torch's rsqrt)
            rec = _only(g, idx, s, "Reciprocal", "Div")
            if rec is None or _other(div, d) != rec.outputs[0] or not idx.private(rec.outputs[0]):
                continue
            if rec.op_type == "Div" and (rec.inputs[1] != s or _scalar(idx, rec.inputs[0]) != 1.0):
                continue
            chain.append(rec)
        w, b, aff, out = _affine(g, idx, div.outputs[0])
        shape = xi.shape
        if axes == [1] and rank >= 3 and isinstance(shape[1], (int, np.integer)):
            c = int(shape[1])
            scale = _per_channel(w, rank, c) if w is not None else np.ones(c)
            bias = _per_channel(b, rank, c) if b is not None else np.zeros(c)
            transposed = True
        elif axes == list(range(axes[0], rank)) and \
                all(isinstance(v, (int, np.integer)) for v in shape[axes[0]:]):
            norm_shape = tuple(int(v) for v in shape[axes[0]:])
            scale = _trailing(w, rank, norm_shape) if w is not None else np.ones(norm_shape)
            bias = _trailing(b, rank, norm_shape) if b is not None else np.zeros(norm_shape)
            transposed = False
        else:
            continue
        if scale is None or bias is None:
            continue
        name = r1.name or sub.name
        sname, bname = unique_name(g, f"{name}/ln_scale"), unique_name(g, f"{name}/ln_bias")
        g.initializers[sname] = scale.astype(np.float32)
        g.initializers[bname] = bias.astype(np.float32)
        last = aff[-1] if aff else div
        if transposed:
            t1, t2 = unique_name(g, f"{name}/channels_last"), unique_name(g, f"{name}/layer_norm")
            new = [Node("Transpose", [x], [t1], t1, {"perm": [0, *range(2, rank), 1]}),
                   Node("LayerNormalization", [t1, sname, bname], [t2], name,
                        {"axis": -1, "epsilon": eps}),
                   Node("Transpose", [t2], [out], unique_name(g, f"{name}/channels_first"),
                        {"perm": [0, rank - 1, *range(1, rank - 1)]})]
        else:
            new = [Node("LayerNormalization", [x, sname, bname], [out], name,
                        {"axis": axes[0], "epsilon": eps})]
        pos = g.nodes.index(last)
        g.nodes[pos:pos + 1] = new
        remove_nodes(g, [r1, sub, sq, r2, add, sqrt, div, *chain, *aff[:-1]] if aff else
                        [r1, sub, sq, r2, add, sqrt, *chain])
        return True
    return False


fuse_layer_norm = rewrite_pass(_fuse_layer_norm)


@needs_info(True)
def _fuse_group_norm(m, idx, info):
    """Reshape (N, C, ...) -> (N, G, -1), InstanceNormalization, Reshape back (+ per-channel
    Mul, Add) becomes GroupNormalization with per-channel scale and bias."""
    g = m.graph
    for r1 in g.nodes:
        if not _op(r1, "Reshape"):
            continue
        x, a = r1.inputs[0], r1.outputs[0]
        xi, ai = info.get(x), info.get(a)
        if xi is None or ai is None or xi.shape is None or ai.shape is None:
            continue
        xs, as_ = xi.shape, ai.shape
        if len(xs) < 3 or len(as_) != 3 or as_[0] != xs[0]:
            continue
        if not all(isinstance(v, (int, np.integer)) for v in (*xs[1:], *as_[1:])):
            continue
        c, groups = int(xs[1]), int(as_[1])
        if groups < 1 or c % groups or int(as_[2]) * groups != int(np.prod(xs[1:])):
            continue
        inorm = _only(g, idx, a, "InstanceNormalization")
        if inorm is None or inorm.inputs[0] != a:
            continue
        s, b = idx.const(inorm.inputs[1]), idx.const(inorm.inputs[2])
        if s is None or b is None or s.shape != (groups,) or b.shape != (groups,):
            continue
        r2 = _only(g, idx, inorm.outputs[0], "Reshape")
        if r2 is None or r2.inputs[0] != inorm.outputs[0]:
            continue
        yi = info.get(r2.outputs[0])
        if yi is None or yi.shape != xs:
            continue
        w, bb, aff, out = _affine(g, idx, r2.outputs[0])
        rank = len(xs)
        gamma = _per_channel(w, rank, c) if w is not None else np.ones(c)
        beta = _per_channel(bb, rank, c) if bb is not None else np.zeros(c)
        if gamma is None or beta is None:
            continue
        sg = np.repeat(np.asarray(s, np.float64), c // groups)
        bg = np.repeat(np.asarray(b, np.float64), c // groups)
        name = inorm.name or r1.name
        sname, bname = unique_name(g, f"{name}/gn_scale"), unique_name(g, f"{name}/gn_bias")
        g.initializers[sname] = (sg * gamma).astype(np.float32)
        g.initializers[bname] = (bg * gamma + beta).astype(np.float32)
        eps = float(inorm.attrs.get("epsilon", 1e-5))
        new = Node("GroupNormalization", [x, sname, bname], [out], name,
                   {"num_groups": groups, "epsilon": eps})
        last = aff[-1] if aff else r2
        replace_node(g, last, new)
        remove_nodes(g, [r1, inorm, r2, *aff[:-1]] if aff else [r1, inorm])
        return True
    return False


fuse_group_norm = rewrite_pass(_fuse_group_norm)

NN_PASSES = [("fuse_layer_norm", fuse_layer_norm), ("fuse_group_norm", fuse_group_norm)]
