"""Small hand-built graphs for the graph tests: the builder G, conv() and ops(), check() (a
pass leaves its input alone, its result validates and computes the same outputs) and
onnx_to_model (ONNX bytes -> Model without the importer)."""
import copy
import math

import numpy as np

from convengine._graph.evaluate import run_numpy
from convengine._graph.validate import validate_model
from convengine.model import Graph, Model, Node, ValueInfo
from conftest import assert_close, randn


class G:
    """A tiny graph builder: tensors get generated names unless given."""

    def __init__(self, opset=17):
        self.nodes, self.inputs, self.inits, self.opset, self.k = [], [], {}, opset, 0

    def input(self, shape, name=None, dtype="float32"):
        name = name or f"in{len(self.inputs)}"
        self.inputs.append(ValueInfo(name, list(shape), dtype))
        return name

    def init(self, arr, name=None):
        name = name or f"w{len(self.inits)}"
        self.inits[name] = np.asarray(arr)
        return name

    def __call__(self, op, *inputs, outputs=1, domain="", name=None, **attrs):
        outs = [f"t{self.k}_{i}" for i in range(outputs)] if isinstance(outputs, int) else outputs
        self.k += 1
        self.nodes.append(Node(op, list(inputs), list(outs), name or f"n{self.k}", attrs, domain))
        return outs[0] if len(outs) == 1 else outs

    def model(self, *outputs):
        return Model(Graph(list(self.nodes), list(self.inputs),
                           [ValueInfo(o) for o in outputs], dict(self.inits)), self.opset)


def conv(g, rng, x, cin, cout, k=3, bias=True, group=1, **attrs):
    w = g.init(randn(rng, cout, cin // group, k, k) * (1.0 / math.sqrt(cin // group * k * k)))
    ins = [x, w] + ([g.init(randn(rng, cout))] if bias else [])
    pads = attrs.pop("pads", [k // 2] * 4)
    return g("Conv", *ins, pads=pads, group=group, **attrs)


def ops(model):
    return [n.op_type for n in model.graph.nodes]


def _canon(n):
    attrs = {k: (v.tolist(), str(v.dtype)) if isinstance(v, np.ndarray) else v
             for k, v in n.attrs.items()}
    return (n.op_type, list(n.inputs), list(n.outputs), n.name, n.domain, attrs)


def snapshot(model):
    return ([_canon(n) for n in model.graph.nodes],
            {k: v.copy() for k, v in model.graph.initializers.items()},
            copy.deepcopy(model.graph.outputs))


def assert_unchanged(model, snap):
    nodes, inits, outs = snap
    assert [_canon(n) for n in model.graph.nodes] == nodes
    assert set(model.graph.initializers) == set(inits)
    for k, v in inits.items():
        np.testing.assert_array_equal(model.graph.initializers[k], v)
    assert model.graph.outputs == outs


def feeds_for(model, rng):
    return {v.name: randn(rng, *v.shape) for v in model.graph.inputs}


def check(pass_fn, model, rng, atol=1e-5, rtol=1e-4):
    """Runs the pass; checks the input model is untouched, the result validates and computes
    the same outputs. Returns the new model."""
    validate_model(model)
    snap = snapshot(model)
    new = pass_fn(model)
    assert new is not model
    assert_unchanged(model, snap)
    validate_model(new)
    assert [v.name for v in new.graph.outputs] == [v.name for v in model.graph.outputs]
    feeds = feeds_for(model, rng)
    want = run_numpy(model, feeds)
    got = run_numpy(new, feeds)
    for name in want:
        assert_close(got[name], want[name], atol=atol, rtol=rtol, what=name)
    return new


def onnx_to_model(data):
    """A minimal ONNX -> Model conversion for these tests (not the importer)."""
    import onnx
    from onnx import helper, numpy_helper
    p = onnx.load_from_string(data)
    g = p.graph

    def vi(v):
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in t.shape.dim]
        return ValueInfo(v.name, dims, str(helper.tensor_dtype_to_np_dtype(t.elem_type)))

    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    nodes = []
    for n in g.node:
        attrs = {}
        for a in n.attribute:
            v = helper.get_attribute_value(a)
            if isinstance(v, onnx.TensorProto):
                v = numpy_helper.to_array(v)
            elif isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, list):
                v = list(v)
            attrs[a.name] = v
        nodes.append(Node(n.op_type, list(n.input), list(n.output), n.name, attrs, n.domain))
    opset = max(o.version for o in p.opset_import if o.domain in ("", "ai.onnx"))
    return Model(Graph(nodes, [vi(v) for v in g.input if v.name not in inits],
                       [vi(v) for v in g.output], inits), opset)
