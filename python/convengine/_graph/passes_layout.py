"""Graph passes that move channel-last MLPs onto the convolution paths (registered into
passes.PASSES after the normalisation passes, before the folds and fusions that want a conv):

| pass | rewrites |
|---|---|
| `matmul_to_conv` | `MatMul(x, B)` with B a constant (K, N) matrix and x of static rank 3-5 (a linear layer on channels-last tokens: ConvNeXt's MLP with `conv_mlp=False`, EdgeNeXt, MetaFormers) -> `Transpose(x, channels to axis 1) -> Conv 1x1 (W = B^T) -> Transpose back`; the planner runs both Transposes as views and the conv on the channels-last memory x already has |
| `sink_transposes` | an element-wise op reading a private Transpose (unary; binary with a constant, or with a Transpose of the same perm) runs before it: `E(Transpose(x, p), c) -> Transpose(E(x, c'), p)`, c' the constant brought into x's axis order; two Transposes in a row become one, or none when they cancel. So the bias Add, activation, layer scale and residual Add after such a conv reach it, and fold_channel_affine, fuse_residual and fuse_activation fuse them |
"""
from __future__ import annotations

import numpy as np

from ..model import Node
from .rewrite import needs_info, remove_nodes, rewrite_pass, unique_name
from .rules_tensor import transpose_perm
from .shape_inference import TensorInfo

_ONNX = ("", "ai.onnx")
_UNARY = {"Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Gelu",
          "Mish", "Softplus", "Softsign", "Elu", "Selu", "Celu", "ThresholdedRelu", "Erf", "Exp",
          "Log", "Sqrt", "Abs", "Neg", "Reciprocal", "Sin", "Cos", "Floor", "Ceil", "Round",
          "Sign"}
_BINARY = {"Add", "Sub", "Mul", "Div", "Pow", "Min", "Max", "Sum", "Mean", "PRelu"}


def _perm(n, rank):
    """The Transpose's perm (rules_tensor.transpose_perm); None when it does not fit the rank
    (the node is left alone: the planner refuses it by name)."""
    try:
        return transpose_perm(n, rank)
    except ValueError:
        return None


@needs_info(True)
def _matmul_to_conv(m, idx, info):
    g = m.graph
    for n in g.nodes:
        if n.op_type != "MatMul" or n.domain not in _ONNX:
            continue
        b = idx.const(n.inputs[1])
        x = info.get(n.inputs[0])
        if b is None or b.ndim != 2 or b.size == 0 or b.dtype.kind != "f" or x is None or \
                x.shape is None:
            continue
        r = len(x.shape)
        if not 3 <= r <= 5 or x.shape[-1] != b.shape[0]:
            continue
        to_c = [0, r - 1, *range(1, r - 1)]
        back = [0, *range(2, r), 1]
        w = np.ascontiguousarray(b.T).reshape(b.shape[1], b.shape[0], *([1] * (r - 2)))
        wn = unique_name(g, f"{n.inputs[1]}_conv")
        g.initializers[wn] = w
        base = n.name or n.outputs[0]
        xt, yt = unique_name(g, f"{base}/to_channels"), unique_name(g, f"{base}/conv")
        new = [Node("Transpose", [n.inputs[0]], [xt], f"{base}/to_channels", {"perm": to_c}),
               Node("Conv", [xt, wn], [yt], base, {}),
               Node("Transpose", [yt], list(n.outputs), f"{base}/from_channels", {"perm": back})]
        i = g.nodes.index(n)
        g.nodes[i:i + 1] = new
        return True
    return False


matmul_to_conv = rewrite_pass(_matmul_to_conv)


def _transpose_of(g, idx, t):
    """The Transpose node producing private tensor `t`, or None."""
    n = idx.node_of(t)
    if n is None or n.op_type != "Transpose" or n.domain not in _ONNX or not idx.private(t):
        return None
    return n


@needs_info(True)
def _sink_transposes(m, idx, info):
    g = m.graph
    for e in g.nodes:
        if e.domain not in _ONNX:
            continue
        # two Transposes in a row
        if e.op_type == "Transpose":
            t0 = _transpose_of(g, idx, e.inputs[0])
            x = info.get(t0.inputs[0]) if t0 is not None else None
            if x is None or x.shape is None:
                continue
            r = len(x.shape)
            p0, p1 = _perm(t0, r), _perm(e, r)
            if p0 is None or p1 is None:
                continue
            comp = [p0[k] for k in p1]
            src, out = t0.inputs[0], e.outputs[0]
            producer = idx.node_of(src)
            if comp == list(range(r)) and out in idx.outputs and (
                    producer is None or not idx.private(src)):
                continue  # the graph output's name has nowhere to go
            remove_nodes(g, [t0])
            if comp == list(range(r)):
                remove_nodes(g, [e])
                if out in idx.outputs:  # the producer writes the output's name itself
                    producer.outputs = [out if v == src else v for v in producer.outputs]
                else:
                    for n in g.nodes:
                        n.inputs = [src if v == out else v for v in n.inputs]
            else:
                e.inputs, e.attrs = [t0.inputs[0]], {"perm": comp}
            return True
        unary = e.op_type in _UNARY and len([v for v in e.inputs if v]) >= 1
        if not (unary or e.op_type in _BINARY and len(e.inputs) == 2):
            continue
        for k, t in enumerate(e.inputs[:1] if unary else e.inputs):
            tr = _transpose_of(g, idx, t)
            if tr is None:
                continue
            x = info.get(tr.inputs[0])
            if x is None or x.shape is None:
                continue
            r = len(x.shape)
            p = _perm(tr, r)
            if p is None:
                continue
            inv = list(np.argsort(p))
            ins = list(e.inputs)
            ins[k] = tr.inputs[0]
            if not unary:
                o = e.inputs[1 - k]
                c = idx.const(o)
                if c is not None:
                    if c.ndim > r:
                        continue
                    cx = np.ascontiguousarray(c.reshape((1,) * (r - c.ndim) + c.shape).transpose(inv))
                    cn = unique_name(g, f"{o}_t")
                    g.initializers[cn] = cx
                    ins[1 - k] = cn
                else:
                    other = _transpose_of(g, idx, o)
                    xo = info.get(other.inputs[0]) if other is not None else None
                    if other is None or other is tr or xo is None or xo.shape is None or \
                            len(xo.shape) != r or _perm(other, r) != p:
                        continue
                    ins[1 - k] = other.inputs[0]
                    remove_nodes(g, [other])
            elif any(v and idx.const(v) is None for v in e.inputs[1:]):
                continue  # Clip with run-time bounds
            mid = unique_name(g, f"{e.outputs[0]}/pre_transpose")
            info[mid] = TensorInfo(tuple(x.shape), x.dtype)  # the rank is what later steps read
            out = e.outputs[0]
            e.inputs, e.outputs = ins, [mid]
            i = g.nodes.index(e)
            g.nodes.insert(i + 1, Node("Transpose", [mid], [out], f"{e.name or out}/transpose",
                                       {"perm": p}))
            remove_nodes(g, [tr])
            return True
    return False


sink_transposes = rewrite_pass(_sink_transposes)

LAYOUT_PASSES = [("matmul_to_conv", matmul_to_conv), ("sink_transposes", sink_transposes)]
