"""`to_onnx(model)`: the graph as an onnx.ModelProto (weights inline), so that onnxruntime can
run the same model and weights. Optional dependency onnx. Custom-domain ops are exported under
their domain; onnxruntime cannot run those. Gelu and Mish nodes (which the graph passes write
into models of any opset) are written out in primitive ops when the model's opset predates
them (Gelu: 20, Mish: 18), as torch.onnx.export does."""
from __future__ import annotations

import math

import numpy as np

from .model import CUSTOM_DOMAIN, Model


def to_onnx(model: Model):
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:  # pragma: no cover
        raise ImportError("to_onnx needs onnx: pip install onnx") from e
    g = model.graph
    types = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}

    def vi(v):
        shape = None if v.shape is None else [d if isinstance(d, int) else (d or "N") for d in v.shape]
        return helper.make_tensor_value_info(v.name, types.get(v.dtype, onnx.TensorProto.FLOAT), shape)

    nodes, inits = [], [numpy_helper.from_array(np.asarray(a), name)
                        for name, a in g.initializers.items()]
    opset = max(int(model.opset), 13)
    taken = set(g.initializers) | {t for n in g.nodes for t in n.outputs} | \
        {v.name for v in g.inputs}
    for n in g.nodes:
        if not n.domain and _SINCE.get(n.op_type, 0) > opset:
            nodes += _expand(helper, numpy_helper, n, inits, taken)
            continue
        attrs = {}
        for k, v in n.attrs.items():
            attrs[k] = numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v
        nodes.append(helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name or None,
                                      domain=n.domain or None, **attrs))
    graph = helper.make_graph(nodes, g.name, [vi(v) for v in g.inputs if v.name not in g.initializers],
                              [vi(v) for v in g.outputs], inits)
    opsets = [helper.make_opsetid("", opset)]
    if any(n.domain == CUSTOM_DOMAIN for n in g.nodes):
        opsets.append(helper.make_opsetid(CUSTOM_DOMAIN, 1))
    m = helper.make_model(graph, opset_imports=opsets, producer_name=model.producer or "convengine")
    m.ir_version = min(m.ir_version, 9)
    return m


_SINCE = {"Gelu": 20, "Mish": 18}


def _expand(helper, numpy_helper, n, inits, taken):
    """Primitive-op nodes computing Gelu / Mish node n (constants appended to inits)."""
    base = n.name or n.outputs[0]

    def fresh(tag):
        name, k = f"{base}/{tag}", 1
        while name in taken:
            name, k = f"{base}/{tag}_{k}", k + 1
        taken.add(name)
        return name

    def const(tag, v):
        name = fresh(tag)
        inits.append(numpy_helper.from_array(np.array(v, np.float32), name))
        return name

    def node(op, ins, out=None):
        out = out or fresh(op.lower())
        out_nodes.append(helper.make_node(op, ins, [out], name=fresh(f"{op}_node")))
        return out

    x, y = n.inputs[0], n.outputs[0]
    out_nodes = []
    if n.op_type == "Mish":
        node("Mul", [x, node("Tanh", [node("Softplus", [x])])], y)
        return out_nodes
    if n.attrs.get("approximate", "none") == "tanh":
        cube = node("Mul", [x, node("Mul", [x, x])])
        inner = node("Add", [x, node("Mul", [const("k", 0.044715), cube])])
        t = node("Tanh", [node("Mul", [const("c", math.sqrt(2 / math.pi)), inner])])
    else:
        t = node("Erf", [node("Div", [x, const("sqrt2", math.sqrt(2))])])
    v = node("Add", [t, const("one", 1.0)])
    node("Mul", [node("Mul", [x, v]), const("half", 0.5)], y)
    return out_nodes
