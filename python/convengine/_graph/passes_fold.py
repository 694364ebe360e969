"""Passes that fold: constant subgraphs into initializers (fold_constants), no-op nodes away
(eliminate_identity), a BatchNormalization or a per-channel Mul / Div / Add / Sub into the
weights and bias of the conv before it (fold_batchnorm, fold_channel_affine) or of the convs a
channel Concat joins (fold_batchnorm_through_concat), the sum of two
convs of one input into one conv (merge_parallel_convs), one value into a
clamped conv's weights, bias and clamp (fold_clamp_affine), and nodes that reach no output away
(eliminate_dead_nodes).
"""
from __future__ import annotations

import numpy as np

from ..model import Model, Node
from .epilogue import epilogue_of, is_conv, is_plain_conv, set_epilogue
from .ops import attr
from .rewrite import (finish_pass, needs_info, remove_nodes, rename_input, rewrite_pass,
                      unique_name, used_names)
from .rules import _Err, cast_dtype, dropout_is_identity
from .shape_inference import analyze


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
    for t in used_names(g):
        if t not in g.initializers and t not in inputs and t in info and \
                info[t].value is not None:
            g.initializers[t] = info[t].value
    return finish_pass(model, m)


@needs_info(True)
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
            remove_nodes(g, [n])
            rename_input(g, y, x)
            return True
        p = idx.node_of(x)
        if p is not None and x not in idx.outputs:
            remove_nodes(g, [n])
            p.outputs = [y if t == x else t for t in p.outputs]
            rename_input(g, x, y)
            return True
    return False


eliminate_identity = rewrite_pass(_eliminate_identity)


def _inference_bn(idx, bn):
    """An inference-mode ONNX BatchNormalization whose extra (training) outputs nothing reads."""
    return bn.op_type == "BatchNormalization" and bn.domain in ("", "ai.onnx") and \
        not int(attr(bn, "training_mode") or 0) and \
        not any(t and (idx.uses.get(t) or t in idx.outputs) for t in bn.outputs[1:])


def _bn_affine(bn, params):
    """(s, shift), float64, with BatchNormalization(x) = x * s + shift per channel; params are
    its constant scale, B, mean and var."""
    scale, beta, mean, var = (p.astype(np.float64) for p in params)
    s = scale / np.sqrt(var + float(attr(bn, "epsilon")))
    return s, beta - mean * s


@needs_info(False)
def _fold_batchnorm(m, idx, info):
    """BatchNormalization right after a Conv / ConvTranspose / DeformConv (whose output nothing
    else reads) is folded into the conv's weights and bias: computed in float64, rounded
    once."""
    g = m.graph
    for bn in g.nodes:
        if not _inference_bn(idx, bn):
            continue
        t = bn.inputs[0]
        conv = idx.node_of(t)
        if conv is None or not idx.private(t):
            continue
        onnx_op = conv.domain in ("", "ai.onnx")
        transposed = conv.op_type == "ConvTranspose" and onnx_op
        deform = conv.op_type == "DeformConv" and onnx_op
        if not (transposed or deform or is_plain_conv(conv)):
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
        s, shift = _bn_affine(bn, params)
        b64 = np.zeros(c_out) if b is None else b.astype(np.float64)
        _rescale_conv(g, conv, w, bi, transposed, s, b64 * s + shift, bn, "bn")
        return True
    return False


def _rescale_conv(g, conv, w, bi, transposed, s, b_new, node, tag):
    """`conv` (weight w, bias at input bi) absorbs the element-wise `node` after it: its
    weights scaled by s per output channel and its bias b_new (float64, rounded once to w's
    dtype) as new initializers named with `tag`; it writes node's output and node goes."""
    _scale_conv_weights(g, conv, w, bi, transposed, s, b_new, tag)
    conv.outputs = [node.outputs[0]]
    remove_nodes(g, [node])


def _scale_conv_weights(g, conv, w, bi, transposed, s, b_new, tag):
    """The weights and bias of _rescale_conv, the node's output unchanged."""
    group = int(attr(conv, "group") or 1)
    c_out = len(s)
    w64 = w.astype(np.float64)
    if transposed:  # (c_in, c_out / group, k...): the output channels are per group
        shape = (group, w.shape[0] // group, c_out // group) + w.shape[2:]
        w_new = (w64.reshape(shape) *
                 s.reshape((group, 1, c_out // group) + (1,) * (w.ndim - 2))).reshape(w.shape)
    else:  # in place: one float64 array fewer (the same products)
        w_new = w64
        w_new *= s.reshape((-1,) + (1,) * (w.ndim - 1))
    wn = unique_name(g, f"{conv.inputs[1]}_{tag}")
    g.initializers[wn] = w_new.astype(w.dtype)
    bname = unique_name(g, f"{conv.name or conv.outputs[0]}_bias_{tag}")
    g.initializers[bname] = b_new.astype(w.dtype)
    ins = list(conv.inputs) + [""] * max(0, bi + 1 - len(conv.inputs))
    ins[1], ins[bi] = wn, bname
    conv.inputs = ins


fold_batchnorm = rewrite_pass(_fold_batchnorm)


def channel_concat_of_convs(g, idx, info, cat):
    """For a Concat along axis 1 (rank >= 3) of distinct conv outputs that nothing else reads
    (MixNet's MixedConv: the parts of a Split through convs of several kernel sizes), the
    convs and their channel counts; else None."""
    if cat.op_type != "Concat" or cat.domain not in ("", "ai.onnx") or not cat.inputs or \
            cat.outputs[0] in idx.outputs:
        return None
    yi = info.get(cat.outputs[0])
    if yi is None or yi.shape is None or len(yi.shape) < 3 or yi.dtype is None or \
            np.dtype(yi.dtype).kind != "f":
        return None
    axis = attr(cat, "axis")
    if axis is None or int(axis) % len(yi.shape) != 1:
        return None
    if any(not t for t in cat.inputs) or len(set(cat.inputs)) != len(cat.inputs):
        return None
    convs, sizes = [], []
    for t in cat.inputs:
        c, ti = idx.node_of(t), info.get(t)
        if not is_conv(c) or not idx.private(t) or ti is None or ti.shape is None or \
                not isinstance(ti.shape[1], (int, np.integer)):
            return None
        convs.append(c)
        sizes.append(int(ti.shape[1]))
    return convs, sizes


@needs_info(True)
def _fold_batchnorm_through_concat(m, idx, info):
    """BatchNormalization after a channel Concat of convs (channel_concat_of_convs) folds its
    channel slice into each conv (float64, rounded once); the Concat writes its output."""
    g = m.graph
    for cat in g.nodes:
        found = channel_concat_of_convs(g, idx, info, cat)
        y = cat.outputs[0]
        if found is None or not idx.private(y):
            continue
        bn = g.nodes[idx.uses[y][0]]
        if not _inference_bn(idx, bn) or bn.inputs[0] != y:
            continue
        convs, sizes = found
        params = [idx.const(p) for p in bn.inputs[1:5]]
        if any(p is None or p.shape != (sum(sizes),) for p in params):
            continue
        parts = []
        for c in convs:
            w = idx.const(c.inputs[1])
            has_b = len(c.inputs) > 2 and bool(c.inputs[2])
            b = idx.const(c.inputs[2]) if has_b else None
            if not is_plain_conv(c) or w is None or w.dtype.kind != "f" or w.ndim < 3 or \
                    (has_b and b is None):
                break
            parts.append((c, w, b))
        if len(parts) != len(convs):
            continue
        s, shift = _bn_affine(bn, params)
        c0 = 0
        for (c, w, b), k in zip(parts, sizes):
            sl = slice(c0, c0 + k)
            b64 = np.zeros(k) if b is None else b.astype(np.float64)
            _scale_conv_weights(g, c, w, 2, False, s[sl], b64 * s[sl] + shift[sl], "bn")
            c0 += k
        cat.outputs = [bn.outputs[0]]
        remove_nodes(g, [bn])
        return True
    return False


fold_batchnorm_through_concat = rewrite_pass(_fold_batchnorm_through_concat)


def _conv_window(conv, w):
    """(group, strides, dilations, pads begin, pads end) of a plain ONNX Conv with explicit
    pads, as tuples over the spatial axes; None for auto_pad other than NOTSET."""
    if (attr(conv, "auto_pad") or "NOTSET") != "NOTSET":
        return None
    r = w.ndim - 2
    pads = list(attr(conv, "pads") or [0] * (2 * r))
    ks = attr(conv, "kernel_shape")
    if len(pads) != 2 * r or (ks is not None and list(ks) != list(w.shape[2:])):
        return None
    return (int(attr(conv, "group") or 1), tuple(attr(conv, "strides") or [1] * r),
            tuple(attr(conv, "dilations") or [1] * r), tuple(pads[:r]), tuple(pads[r:]))


def _embed_offsets(big, wb, small, ws):
    """Per spatial axis, where the kernel of `small` sits inside that of `big` so that both
    convs read the same input pixels for every output pixel (same group, strides and
    dilations, same output size), else None."""
    gb, sb, db, pb, eb = big
    gs, ss, ds, ps, es = small
    if (gb, sb, db) != (gs, ss, ds) or wb.shape[:2] != ws.shape[:2]:
        return None
    offs = []
    for a in range(wb.ndim - 2):
        kb, k = wb.shape[2 + a], ws.shape[2 + a]
        lead = pb[a] - ps[a]  # the small window starts lead input pixels later
        if lead < 0 or lead % db[a]:
            return None
        off = lead // db[a]
        if off + k > kb or eb[a] - es[a] != (kb - k - off) * db[a]:
            return None
        offs.append(off)
    return offs


def _sum_terms(idx, info, t, shape, adds, terms):
    """The terms of the sum that tensor t is, through Adds of same-shape tensors that only the
    sum reads (their nodes to `adds`)."""
    n = idx.node_of(t)
    ti = info.get(t)
    if n is not None and n.op_type == "Add" and n.domain in ("", "ai.onnx") and \
            len(n.inputs) == 2 and ti is not None and ti.shape == shape and \
            (not adds or idx.private(t)):
        adds.append(n)
        for u in n.inputs:
            _sum_terms(idx, info, u, shape, adds, terms)
    else:
        terms.append(t)


def _conv_term(idx, info, shape, t):
    """(conv, weight, bias, window) for a sum term made by a plain ONNX Conv with constant
    float weights that only the sum reads, of the sum's shape; else None."""
    c = idx.node_of(t)
    ti = info.get(t)
    if c is None or c.op_type != "Conv" or c.domain not in ("", "ai.onnx") or \
            not idx.private(t) or ti is None or ti.shape != shape:
        return None
    w = idx.const(c.inputs[1])
    if w is None or w.dtype.kind != "f" or w.ndim < 3:
        return None
    has_b = len(c.inputs) > 2 and c.inputs[2]
    bias = idx.const(c.inputs[2]) if has_b else np.zeros(w.shape[0], w.dtype)
    win = _conv_window(c, w)
    if bias is None or bias.shape != (w.shape[0],) or win is None:
        return None
    return c, w, bias, win


def _identity_term(idx, info, shape, t, x):
    """(scale, shift, nodes) when sum term t is x itself (1, 0) or an inference
    BatchNormalization of x that only the sum reads (its per-channel affine, float64), else
    None."""
    ti = info.get(t)
    if ti is None or ti.shape != shape:
        return None
    c = shape[1]
    if t == x:
        return np.ones(c), np.zeros(c), []
    bn = idx.node_of(t)
    if bn is None or not _inference_bn(idx, bn) or bn.inputs[0] != x or not idx.private(t):
        return None
    params = [idx.const(p) for p in bn.inputs[1:5]]
    if any(p is None or p.shape != (c,) for p in params):
        return None
    return (*_bn_affine(bn, params), [bn])


def _mergeable_terms(idx, info, shape, a_t, b_t):
    """For two sum terms one conv can compute (see _merge_parallel_convs): (conv whose
    attributes the merged conv takes, nodes the merge removes, weight, bias), else None."""
    a = _conv_term(idx, info, shape, a_t)
    b = _conv_term(idx, info, shape, b_t)
    if a is None and b is None or a_t == b_t:
        return None
    if a is None or b is None:  # x itself or BN(x) beside a conv of x: a diagonal 1x1 kernel
        (conv, w, bias, win), other = (a, b_t) if a is not None else (b, a_t)
        ident = _identity_term(idx, info, shape, other, conv.inputs[0])
        group = win[0]
        if ident is None or w.shape[0] != w.shape[1] * group:
            return None
        s, shift, nodes = ident
        cg = w.shape[1]
        w_id = np.zeros(w.shape[:2] + (1,) * (w.ndim - 2))
        oc = np.arange(w.shape[0])
        w_id[oc, oc % cg] = s.reshape((-1,) + (1,) * (w.ndim - 2))
        zeros = (0,) * (w.ndim - 2)
        win_id = (group, win[1], win[2], zeros, zeros)
        b = (None, w_id, shift, win_id)
        a = (conv, w, bias, win)
        nodes = [conv] + nodes
    else:
        if a[0].inputs[0] != b[0].inputs[0] or a[1].dtype != b[1].dtype or a[1].ndim != b[1].ndim:
            return None
        if not all(x >= y for x, y in zip(a[1].shape, b[1].shape)):
            a, b = b, a
        nodes = [a[0], b[0]]
    offs = _embed_offsets(a[3], a[1], b[3], b[1])
    if offs is None:
        return None
    w = a[1].astype(np.float64)
    w[(slice(None), slice(None)) + tuple(slice(o, o + k) for o, k in zip(offs, b[1].shape[2:]))] \
        += b[1]
    dtype = a[1].dtype
    return a[0], nodes, w.astype(dtype), (a[2].astype(np.float64) + b[2]).astype(dtype)


@needs_info(True)
def _merge_parallel_convs(m, idx, info):
    """Two terms of a sum (an Add, or a tree of Adds of same-shape tensors read only by it)
    made by Convs of the same input x, with the same group, strides and dilations, each read
    only by the sum, where one kernel fits inside the other at an offset that makes both read
    the same input pixels (a 1x1 or 3x3 branch beside a 3x3 with matching pads: MobileOne,
    RepVGG, ACNet and other re-parameterisable blocks run before re-parameterisation) -> one
    Conv(x, W1 + W2 placed inside, b1 + b2), summed in float64, rounded once; the sum's other
    terms are added to it in their order. A term x itself or an inference BatchNormalization
    of x (RepVGG's identity branch) beside a conv of x with as many outputs as inputs is a 1x1
    conv with a diagonal kernel. Runs after fold_batchnorm, which leaves each conv branch a
    biased conv."""
    g = m.graph
    for root in g.nodes:
        if root.op_type != "Add" or root.domain not in ("", "ai.onnx"):
            continue
        ri = info.get(root.outputs[0])
        if ri is None or ri.shape is None:
            continue
        adds, terms = [], []
        _sum_terms(idx, info, root.outputs[0], ri.shape, adds, terms)
        found = next(((i, j, r) for i in range(len(terms)) for j in range(i + 1, len(terms))
                      for r in [_mergeable_terms(idx, info, ri.shape, terms[i], terms[j])] if r),
                     None)
        if found is None:
            continue
        i, j, (big, removed, w, bias) = found
        wn = unique_name(g, f"{big.inputs[1]}_merged")
        bn = unique_name(g, f"{big.name or big.outputs[0]}_bias_merged")
        g.initializers[wn], g.initializers[bn] = w, bias
        rest = [t for k, t in enumerate(terms) if k not in (i, j)]
        out = root.outputs[0]
        conv_out = unique_name(g, f"{big.outputs[0]}_merged") if rest else out
        new = [Node("Conv", [big.inputs[0], wn, bn], [conv_out], big.name, dict(big.attrs),
                    big.domain)]
        info[conv_out] = ri  # the sum's shape and dtype, for the next merge in this pass
        acc = conv_out
        for k, t in enumerate(rest):
            o = out if k == len(rest) - 1 else unique_name(g, f"{out}_sum{k}")
            new.append(Node("Add", [acc, t], [o], f"{root.name or out}_sum{k}"))
            info[o] = ri
            acc = o
        at = g.nodes.index(root)
        g.nodes[at:at + 1] = new
        remove_nodes(g, [n for n in adds if n is not root] + removed)
        return True
    return False


merge_parallel_convs = rewrite_pass(_merge_parallel_convs)


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


def _affine(op, k, v):
    """(scale, shift) with op applied to a conv output (operand k) and the constant v equal to
    conv * scale + shift, or None (v / conv; division by zero)."""
    if op == "Mul":
        return v, np.zeros_like(v)
    if op == "Div":
        return (1.0 / v, np.zeros_like(v)) if k == 0 and np.all(v != 0) else None
    if op == "Add":
        return np.ones_like(v), v
    return (np.ones_like(v), -v) if k == 0 else (-np.ones_like(v), v)  # conv - c, c - conv


def _affine_after_conv(m, idx, clamped):
    """The first Mul / Div / Add / Sub of a conv output that only it reads by a constant the
    conv can absorb: (node, conv, weight, bias or None, scale, shift), else None. With
    `clamped`, the conv is a FusedConv whose epilogue is a clamp only and the constant one
    value; otherwise a plain Conv / ConvTranspose / FusedConv and one value or one per output
    channel."""
    g = m.graph
    for n in g.nodes:
        if n.op_type not in ("Mul", "Div", "Add", "Sub") or n.domain not in ("", "ai.onnx"):
            continue
        for k in (0, 1):
            t, c = n.inputs[k], idx.const(n.inputs[1 - k])
            conv = idx.node_of(t)
            if conv is None or not idx.private(t) or c is None:
                continue
            transposed = conv.op_type == "ConvTranspose" and conv.domain in ("", "ai.onnx")
            if clamped:
                e = epilogue_of(conv)
                if conv.op_type != "FusedConv" or not is_conv(conv) or \
                        e["activation"] != "none" or (len(conv.inputs) > 3 and conv.inputs[3]):
                    continue
            elif not (transposed or is_plain_conv(conv)):
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
            if clamped and not np.all(v == v[0]):
                continue
            aff = _affine(n.op_type, k, v)
            # a clamp's bounds move only under a finite, non-zero scale and a finite shift
            if aff is None or clamped and not (aff[0][0] != 0 and np.isfinite(aff[0][0]) and
                                               np.isfinite(aff[1][0])):
                continue
            return n, conv, w, b, transposed, aff[0], aff[1]
    return None


@needs_info(False)
def _fold_channel_affine(m, idx, info):
    """Mul, Div, Add or Sub of a conv's output (read by nothing else) by a constant that is
    one value or one per output channel (ConvNeXt's layer scale, NF-Nets' gains, a bias added
    apart) is folded into the conv's weights and bias: in float64, rounded once."""
    found = _affine_after_conv(m, idx, clamped=False)
    if found is None:
        return False
    n, conv, w, b, transposed, s, shift = found
    b64 = np.zeros(len(s)) if b is None else b.astype(np.float64)
    _rescale_conv(m.graph, conv, w, 2, transposed, s, b64 * s + shift, n, n.op_type.lower())
    return True


fold_channel_affine = rewrite_pass(_fold_channel_affine)


@needs_info(False)
def _fold_clamp_affine(m, idx, info):
    """Mul, Div, Add or Sub by one constant value of the output of a FusedConv whose epilogue
    is a clamp only (Relu, Clip; no residual), read by nothing else: s * clamp(z, lo, hi) + b
    is clamp(s * z + b, s * lo + b, s * hi + b) (the bounds swapped for s < 0), so the conv's
    weights, bias and clamp absorb it (HGNetV2's learnable affine after each ReLU)."""
    found = _affine_after_conv(m, idx, clamped=True)
    if found is None:
        return False
    n, conv, w, b, _, s, shift = found
    s0, b0 = float(s[0]), float(shift[0])
    e = epilogue_of(conv)
    lo, hi = s0 * e["clip_min"] + b0, s0 * e["clip_max"] + b0
    b64 = np.zeros(len(s)) if b is None else b.astype(np.float64)
    _rescale_conv(m.graph, conv, w, 2, False, s, b64 * s + shift, n, n.op_type.lower())
    set_epilogue(conv, dict(e, clip_min=min(lo, hi), clip_max=max(lo, hi)))
    return True


fold_clamp_affine = rewrite_pass(_fold_clamp_affine)


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
