"""`to_onnx(model)`: the graph as an onnx.ModelProto (weights inline), so that onnxruntime can
run the same model and weights. Optional dependency onnx. Custom-domain ops are exported under
their domain; onnxruntime cannot run those."""
from __future__ import annotations

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

    nodes = []
    for n in g.nodes:
        attrs = {}
        for k, v in n.attrs.items():
            attrs[k] = numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v
        nodes.append(helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name or None,
                                      domain=n.domain or None, **attrs))
    inits = [numpy_helper.from_array(np.asarray(a), name) for name, a in g.initializers.items()]
    graph = helper.make_graph(nodes, g.name, [vi(v) for v in g.inputs if v.name not in g.initializers],
                              [vi(v) for v in g.outputs], inits)
    opsets = [helper.make_opsetid("", max(int(model.opset), 13))]
    if any(n.domain == CUSTOM_DOMAIN for n in g.nodes):
        opsets.append(helper.make_opsetid(CUSTOM_DOMAIN, 1))
    m = helper.make_model(graph, opset_imports=opsets, producer_name=model.producer or "convengine")
    m.ir_version = min(m.ir_version, 9)
    return m
