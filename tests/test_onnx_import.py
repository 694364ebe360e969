"""from_onnx and from_torch.

The torch part exports ResNet-18, MobileNetV2 and ShuffleNetV2 x1.0 (written here after the
papers and torchvision's layer shapes; torchvision is not a dependency) at 1x3x224x224, converts,
saves, loads and runs them with and without the optimisation passes, and compares with torch:
|convengine - torch| <= TOL_REL * max|torch| + TOL_ABS elementwise on the logits (float32 through
18-56 conv layers; the passes fold BatchNorm and change the summation order). Measured: at most
3.6e-7 with logits up to 0.54, so the tolerance (6.4e-6 for ResNet-18) has a 15x margin.

The ONNX part builds small models with onnx.helper and checks each conversion rule: initializer
encodings and external data, dtype handling, attributes, symbolic dims, opset, the
unsupported-op report and broken input.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import convengine
from convengine import ModelError, reference
from conftest import HAVE_TORCH, needs_torch

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

TOL_REL = 1e-5
TOL_ABS = 1e-6


def make_model(nodes, inputs, outputs, initializers=(), opset=17, **kw):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], **kw)


def vi(name, shape, et=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, et, shape)


# ---------------------------------------------------------------------------------------------
# from_onnx: conversion rules

def test_graph_io_initializers_and_attributes():
    w = np.arange(4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3) / 100
    b = numpy_helper.from_array(np.array([1, 2, 3, 4], np.float32), "b")
    # typed fields instead of raw_data
    b_typed = helper.make_tensor("b2", TensorProto.FLOAT, [4], [0.5, 0.25, 0.0, -1.0])
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1, -1])
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1],
                         strides=[1, 1], auto_pad="NOTSET"),
        helper.make_node("Add", ["c", "b2_4d"], ["a"], name="add"),
        helper.make_node("Constant", [], ["b2_4d_shape"], name="k",
                         value=numpy_helper.from_array(np.array([1, 4, 1, 1], np.int64))),
        helper.make_node("Reshape", ["b2", "b2_4d_shape"], ["b2_4d"], name="reshape_b"),
        helper.make_node("LeakyRelu", ["a"], ["l"], name="leaky", alpha=0.2),
        helper.make_node("Reshape", ["l", "shape"], ["y"], name="flat"),
    ]
    # Reshape of b2 comes after its use: the importer sorts the nodes topologically.
    m = make_model(nodes, [vi("x", ["batch", 3, 5, 5]), vi("w", [4, 3, 3, 3])],
                   [vi("y", ["batch", 100])],
                   [numpy_helper.from_array(w, "w"), b, b_typed, shape],
                   producer_name="unit", producer_version="1.0", doc_string="docs")
    m.metadata_props.add(key="author", value="me")
    model = convengine.from_onnx(m)
    g = model.graph
    assert [v.name for v in g.inputs] == ["x"]          # 'w' is an initializer: not an input
    assert g.inputs[0].shape == ["batch", 3, 5, 5]      # symbolic dims stay strings
    assert g.outputs[0].shape == ["batch", 100] and g.outputs[0].dtype == "float32"
    np.testing.assert_array_equal(g.initializers["w"], w)
    np.testing.assert_array_equal(g.initializers["b2"], [0.5, 0.25, 0.0, -1.0])
    assert g.initializers["shape"].dtype == np.int64
    np.testing.assert_array_equal(g.initializers["shape"], [1, -1])
    ops = [n.op_type for n in g.nodes]
    assert ops.index("Reshape") < ops.index("Add")
    conv = next(n for n in g.nodes if n.name == "conv")
    assert conv.attrs == {"pads": [1, 1, 1, 1], "strides": [1, 1], "auto_pad": "NOTSET"}
    assert next(n for n in g.nodes if n.name == "leaky").attrs["alpha"] == pytest.approx(0.2)
    const = next(n for n in g.nodes if n.op_type == "Constant")
    assert const.attrs["value"].dtype == np.int64
    np.testing.assert_array_equal(const.attrs["value"], [1, 4, 1, 1])
    assert model.opset == 17 and model.producer == "unit 1.0" and model.doc == "docs"
    assert model.metadata == {"author": "me"}


def test_float16_and_float64_constants_read_through_a_cast():
    # a float16 / float64 weight of a float op is a type error (tests/test_onnx_validity.py);
    # Cast is the valid way, and the constant keeps its dtype for the Cast to convert
    w16 = np.random.default_rng(0).standard_normal((2, 3, 1, 1)).astype(np.float16)
    d64 = np.array([1.5, 2.5], np.float64)
    nodes = [helper.make_node("Cast", ["w"], ["wc"], to=TensorProto.FLOAT),
             helper.make_node("Conv", ["x", "wc"], ["y"]),
             helper.make_node("Cast", ["d"], ["dc"], to=TensorProto.FLOAT),
             helper.make_node("Constant", [], ["k"],
                              value=numpy_helper.from_array(np.array(0.5, np.float64))),
             helper.make_node("Cast", ["k"], ["kc"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["dc", "kc"], ["z"])]
    m = make_model(nodes, [vi("x", [1, 3, 2, 2])], [vi("y", [1, 2, 2, 2]), vi("z", [2])],
                   [numpy_helper.from_array(w16, "w"), numpy_helper.from_array(d64, "d")])
    model = convengine.from_onnx(m)
    g = model.graph
    assert g.initializers["w"].dtype == np.float16 and g.initializers["d"].dtype == np.float64
    x = np.random.default_rng(1).standard_normal((1, 3, 2, 2)).astype(np.float32)
    y, z = convengine.InferenceSession(model).run(None, {"x": x})
    want = np.einsum("oc,nchw->nohw", w16.astype(np.float32)[:, :, 0, 0], x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(z, np.float32([0.75, 1.25]))


def test_external_data_relative_to_model(tmp_path):
    w = np.random.default_rng(1).standard_normal((8, 3, 3, 3)).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [1, 3, 6, 6])],
                   [vi("y", [1, 8, 4, 4])], [numpy_helper.from_array(w, "w")])
    path = tmp_path / "m.onnx"
    onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.data", size_threshold=0)
    assert (tmp_path / "weights.data").exists()
    model = convengine.from_onnx(str(path))
    np.testing.assert_array_equal(model.graph.initializers["w"], w)
    # bytes have no folder: say so, or take base_dir=
    data = path.read_bytes()
    with pytest.raises(ModelError, match="external file"):
        convengine.from_onnx(data)
    model = convengine.from_onnx(data, base_dir=tmp_path)
    np.testing.assert_array_equal(model.graph.initializers["w"], w)


def _external_model(location, length=None):
    t = numpy_helper.from_array(np.zeros((2, 3, 1, 1), np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    if length is not None:
        t.external_data.add(key="length", value=str(length))
    return make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [1, 3, 2, 2])],
                      [vi("y", [1, 2, 2, 2])], [t])


@pytest.mark.parametrize("location, match", [
    ("../outside.bin", "escapes the model's folder"),
    ("/etc/passwd", "relative path"),
    ("missing.bin", "cannot read external data"),
    ("short.bin", "past the end"),
])
def test_external_data_errors(tmp_path, location, match):
    sub = tmp_path / "model"
    sub.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\0" * 24)
    (sub / "short.bin").write_bytes(b"\0" * 8)
    path = sub / "m.onnx"
    path.write_bytes(_external_model(location, 24).SerializeToString())
    with pytest.raises(ModelError, match=match):
        convengine.from_onnx(str(path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_external_data_not_a_regular_file(tmp_path, kind):
    """A FIFO named as external data (no length given) made from_onnx wait forever for a writer;
    it, and a folder, must be refused at once."""
    import signal
    if kind == "fifo":
        os.mkfifo(tmp_path / "w.bin")
    else:
        (tmp_path / "w.bin").mkdir()
    path = tmp_path / "m.onnx"
    path.write_bytes(_external_model("w.bin").SerializeToString())

    def hung(signum, frame):
        raise TimeoutError("from_onnx blocked on the external data file")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with pytest.raises(ModelError, match="'w.bin' is not a regular file"):
            convengine.from_onnx(str(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_unsupported_ops_are_all_listed():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="ok"),
             helper.make_node("Hardmax", ["a"], ["b"], name="hardmax_1"),
             helper.make_node("NonZero", ["b"], ["c"]),  # no name: named by position/output
             helper.make_node("FancyOp", ["a"], ["d"], name="custom", domain="com.example"),
             helper.make_node("Add", ["b", "d"], ["y"], name="add")]
    m = make_model(nodes, [vi("x", [1, 4])], [vi("y", [1, 4])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(ModelError) as e:
        convengine.from_onnx(m)
    msg = str(e.value)
    assert "3 node(s)" in msg
    assert "Hardmax at node 'hardmax_1'" in msg
    assert "NonZero at node #2 (output 'c')" in msg
    assert "FancyOp (domain 'com.example') at node 'custom'" in msg
    assert "Relu" not in msg and "Add" not in msg


def test_control_flow_and_graph_attributes():
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "body", [],
                             [vi("o", [1])])
    m = make_model([helper.make_node("If", ["c"], ["y"], name="branch", then_branch=body,
                                     else_branch=body)],
                   [vi("c", [], TensorProto.BOOL), vi("x", [1])], [vi("y", [1])])
    with pytest.raises(ModelError, match="If at node 'branch'"):
        convengine.from_onnx(m)
    relu = helper.make_node("Relu", ["x"], ["y"], name="r")
    relu.attribute.append(helper.make_attribute("sub", body))
    with pytest.raises(ModelError, match="node 'r'.*subgraph"):
        convengine.from_onnx(make_model([relu], [vi("x", [1])], [vi("y", [1])]))


def test_old_opset_attribute_forms_become_inputs():
    nodes = [helper.make_node("Slice", ["x"], ["s"], name="sl", starts=[1], ends=[3], axes=[1]),
             helper.make_node("Relu", ["s"], ["y"])]
    m = make_model(nodes, [vi("x", [2, 5])], [vi("y", [2, 2])], opset=9)
    model = convengine.from_onnx(m)
    sl = model.graph.nodes[0]
    assert model.opset == 9 and sl.attrs == {} and len(sl.inputs) == 4
    inits = model.graph.initializers
    assert [inits[n].tolist() for n in sl.inputs[1:]] == [[1], [3], [1]]


@pytest.mark.parametrize("opset", [17, 18])
def test_spatial_reduce_mean_becomes_global_pool(opset):
    def reduce(op, axes, keepdims, out):
        if opset >= 18:
            return [helper.make_node("Constant", [], [out + "_axes"],
                                     value=numpy_helper.from_array(np.array(axes, np.int64))),
                    helper.make_node(op, ["x", out + "_axes"], [out], name=out,
                                     keepdims=keepdims)]
        return [helper.make_node(op, ["x"], [out], name=out, axes=axes, keepdims=keepdims)]

    nodes = (reduce("ReduceMean", [2, 3], 0, "a") + reduce("ReduceMax", [-1, -2], 1, "b"))
    m = make_model(nodes, [vi("x", [2, 3, 4, 5])], [vi("a", [2, 3]), vi("b", [2, 3, 1, 1])],
                   opset=opset)
    g = convengine.from_onnx(m).graph
    ops = [(n.op_type, n.inputs, n.outputs) for n in g.nodes if n.op_type != "Constant"]
    assert ops[0][0] == "GlobalAveragePool" and ops[0][1] == ["x"]
    assert ops[1][0] == "Flatten" and ops[1][1] == ops[0][2] and ops[1][2] == ["a"]
    assert ops[2] == ("GlobalMaxPool", ["x"], ["b"])
    m = make_model(reduce("ReduceMean", [1], 1, "c"), [vi("x", [2, 3, 4, 5])],
                   [vi("c", [2, 1, 4, 5])], opset=opset)
    ops = [n.op_type for n in convengine.from_onnx(m).graph.nodes if n.op_type != "Constant"]
    assert ops == ["ReduceMean"]  # other axes stay a reduction (the runtime has them)


def test_legacy_broadcast_is_refused_as_onnxruntime_does():
    # Add-6 / Mul-6 with broadcast=1 are op versions onnxruntime has no kernel for
    nodes = [helper.make_node("Mul", ["x", "b"], ["m"], name="mul", broadcast=1, axis=1),
             helper.make_node("Add", ["m", "c"], ["y"], name="add", broadcast=1)]
    m = make_model(nodes, [vi("x", [2, 3, 4, 5])], [vi("y", [2, 3, 4, 5])],
                   [numpy_helper.from_array(np.float32([1, -2, 3]), "b"),
                    numpy_helper.from_array(np.float32([0.5] * 5), "c")], opset=6)
    with pytest.raises(ModelError, match=r"node 'mul' \(Mul\): opset 6 means Mul-6, which "
                       r"onnxruntime does not run \(it has Mul from opset 7\)"):
        convengine.from_onnx(m)


def test_unnamed_nodes_get_unique_names():
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Sigmoid", ["b"], ["c"], name="Relu_1"),
             helper.make_node("Tanh", ["c"], ["d"], name="act"),
             helper.make_node("Tanh", ["d"], ["y"], name="act")]
    g = convengine.from_onnx(make_model(nodes, [vi("x", [3])], [vi("y", [3])])).graph
    names = [n.name for n in g.nodes]
    assert len(set(names)) == 5 and all(names) and names[2:4] == ["Relu_1", "act"]


@pytest.mark.parametrize("data", [b"", b"not an onnx model at all \xff\xfe", b"\x0a\xff\xff"])
def test_bad_bytes(data):
    with pytest.raises(ModelError, match="not a valid ONNX model"):
        convengine.from_onnx(data)


def test_truncated_model_and_bad_arguments(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [vi("x", [1, 3, 5, 5])],
                   [vi("y", [1, 4, 3, 3])], [w])
    data = m.SerializeToString()
    with pytest.raises(ModelError):
        convengine.from_onnx(data[: len(data) // 2])
    with pytest.raises(ModelError, match="cannot read ONNX file"):
        convengine.from_onnx(str(tmp_path / "missing.onnx"))
    with pytest.raises(TypeError, match="path, bytes or an onnx.ModelProto"):
        convengine.from_onnx(42)


def test_bad_tensors_and_types():
    t = numpy_helper.from_array(np.ones((4,), np.float32), "w")
    t.raw_data = t.raw_data[:12]
    m = make_model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [4])], [vi("y", [4])],
                   [t])
    with pytest.raises(ModelError, match="initializer 'w': raw_data holds 12 bytes"):
        convengine.from_onnx(m)
    m = make_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [4], TensorProto.STRING)],
                   [vi("y", [4])])
    with pytest.raises(ModelError, match="graph input 'x': element type STRING"):
        convengine.from_onnx(m)
    huge = TensorProto(name="h", data_type=TensorProto.FLOAT, dims=[1 << 40, 1 << 40])
    m = make_model([helper.make_node("Add", ["x", "h"], ["y"])], [vi("x", [4])], [vi("y", [4])],
                   [huge])
    with pytest.raises(ModelError, match="initializer 'h'.*out of range"):
        convengine.from_onnx(m)
    m = make_model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1] * 9)], [vi("y", None)])
    with pytest.raises(ModelError, match="graph input 'x' shape: rank 9"):
        convengine.from_onnx(m)
    # a dangling tensor: validate_model names it
    m = make_model([helper.make_node("Relu", ["nowhere"], ["y"], name="r")], [vi("x", [4])],
                   [vi("y", [4])])
    with pytest.raises(ModelError, match="'nowhere'"):
        convengine.from_onnx(m)


def test_missing_optional_dependencies(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        convengine.from_onnx(b"")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        convengine.from_torch(object(), ())


def test_import_then_run_small_model(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["y"])]
    m = make_model(nodes, [vi("x", [2, 3, 7, 7])], [vi("y", [2, 6])],
                   [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    ort = pytest.importorskip("onnxruntime")
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    model = convengine.from_onnx(str(path))
    model.save(tmp_path / "m.json")
    for optimize in (True, False):
        sess = convengine.InferenceSession(convengine.load(tmp_path / "m.json"), optimize=optimize)
        got = sess.run(None, {"x": x})
        np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# torch models (after torchvision's definitions; written here)

if HAVE_TORCH:
    import torch
    from torch import nn

    def _bn(c):
        return nn.BatchNorm2d(c)

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = _bn(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = _bn(cout)
            self.relu = nn.ReLU(inplace=True)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _bn(cout))

        def forward(self, x):
            idt = x if self.down is None else self.down(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + idt)

    class ResNet18(nn.Module):
        def __init__(self, classes=1000):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), _bn(64),
                                      nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
            layers, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, classes)

        def forward(self, x):
            x = self.pool(self.layers(self.stem(x)))
            return self.fc(torch.flatten(x, 1))

    def _conv_bn_relu6(cin, cout, k, stride, groups=1):
        return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                             _bn(cout), nn.ReLU6(inplace=True))

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            layers = [] if expand == 1 else [_conv_bn_relu6(cin, hidden, 1, 1)]
            layers += [_conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                       nn.Conv2d(hidden, cout, 1, bias=False), _bn(cout)]
            self.conv = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    class MobileNetV2(nn.Module):
        SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                    (6, 160, 3, 2), (6, 320, 1, 1))

        def __init__(self, classes=1000):
            super().__init__()
            layers, cin = [_conv_bn_relu6(3, 32, 3, 2)], 32
            for t, c, n, s in self.SETTINGS:
                for i in range(n):
                    layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                    cin = c
            layers.append(_conv_bn_relu6(cin, 1280, 1, 1))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, classes))

        def forward(self, x):
            x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
            return self.classifier(torch.flatten(x, 1))

    def channel_shuffle(x, groups):
        b, c, h, w = x.size()
        x = x.view(b, groups, c // groups, h, w)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(b, c, h, w)

    class ShuffleUnit(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.stride = stride
            branch = cout // 2
            if stride > 1:
                self.branch1 = nn.Sequential(
                    nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), _bn(cin),
                    nn.Conv2d(cin, branch, 1, bias=False), _bn(branch), nn.ReLU(inplace=True))
            else:
                self.branch1 = nn.Sequential()
            c2 = cin if stride > 1 else branch
            self.branch2 = nn.Sequential(
                nn.Conv2d(c2, branch, 1, bias=False), _bn(branch), nn.ReLU(inplace=True),
                nn.Conv2d(branch, branch, 3, stride, 1, groups=branch, bias=False), _bn(branch),
                nn.Conv2d(branch, branch, 1, bias=False), _bn(branch), nn.ReLU(inplace=True))

        def forward(self, x):
            if self.stride == 1:
                x1, x2 = x.chunk(2, dim=1)
                out = torch.cat((x1, self.branch2(x2)), dim=1)
            else:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            return channel_shuffle(out, 2)

    class ShuffleNetV2(nn.Module):
        def __init__(self, repeats=(4, 8, 4), channels=(24, 116, 232, 464, 1024), classes=1000):
            super().__init__()
            self.conv1 = nn.Sequential(nn.Conv2d(3, channels[0], 3, 2, 1, bias=False),
                                       _bn(channels[0]), nn.ReLU(inplace=True))
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            stages, cin = [], channels[0]
            for n, cout in zip(repeats, channels[1:4]):
                stages += [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1)
                                                         for _ in range(n - 1)]
                cin = cout
            self.stages = nn.Sequential(*stages)
            self.conv5 = nn.Sequential(nn.Conv2d(cin, channels[4], 1, bias=False),
                                       _bn(channels[4]), nn.ReLU(inplace=True))
            self.fc = nn.Linear(channels[4], classes)

        def forward(self, x):
            x = self.conv5(self.stages(self.maxpool(self.conv1(x))))
            return self.fc(x.mean([2, 3]))

    def _randomize_bn(module, seed):
        g = torch.Generator().manual_seed(seed)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)
        return module

    TORCH_MODELS = {"resnet18": ResNet18, "mobilenet_v2": MobileNetV2,
                    "shufflenet_v2_x1_0": ShuffleNetV2}
else:
    TORCH_MODELS = {"resnet18": None, "mobilenet_v2": None, "shufflenet_v2_x1_0": None}


_EXPORTED = {}


def _exported(name, tmp_path_factory, keep_bn):
    """(saved model path, input, torch output), exported once per model and BN variant."""
    key = (name, keep_bn)
    if key not in _EXPORTED:
        torch.manual_seed(0)
        module = _randomize_bn(TORCH_MODELS[name](), 1).eval()
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            want = module(x).numpy()
        # do_constant_folding=False keeps BatchNormalization nodes for the folding pass
        model = convengine.from_torch(module, x, do_constant_folding=not keep_bn)
        assert not module.training
        ops = {n.op_type for n in model.graph.nodes}
        assert ("BatchNormalization" in ops) == keep_bn
        folder = tmp_path_factory.mktemp(name)
        model.save(folder / f"{name}.json")
        _EXPORTED[key] = (folder / f"{name}.json", x.numpy(), want)
    return _EXPORTED[key]


@needs_torch
@pytest.mark.parametrize("optimize", [True, False], ids=["optimized", "unoptimized"])
@pytest.mark.parametrize("keep_bn", [False, True], ids=["bn-folded-by-torch", "bn-nodes"])
@pytest.mark.parametrize("name", list(TORCH_MODELS))
def test_torch_model_round_trip(name, keep_bn, optimize, tmp_path_factory):
    path, x, want = _exported(name, tmp_path_factory, keep_bn)
    model = convengine.load(path)
    sess = convengine.InferenceSession(model, optimize=optimize)
    (got,) = sess.run(None, {"input": x})
    ops = {n.op_type for n in sess.model.graph.nodes}
    if optimize:
        assert not ops & {"BatchNormalization", "Relu", "Clip", "Shape", "Gather"}, ops
        assert "FusedConv" in ops
        if name == "shufflenet_v2_x1_0":
            assert "ChannelShuffle" in ops
    else:
        assert "FusedConv" not in ops and ("BatchNormalization" in ops) == keep_bn
    assert got.shape == want.shape == (1, 1000)
    err = np.abs(got - want).max()
    tol = TOL_REL * np.abs(want).max() + TOL_ABS
    assert err <= tol, f"{name}: max |convengine - torch| = {err:.3g} > {tol:.3g}"
    assert np.argmax(got) == np.argmax(want)


@needs_torch
def test_channel_shuffle_export_graph():
    class Shuffle(nn.Module):
        def forward(self, x):
            a, b = x.chunk(2, dim=1)
            return channel_shuffle(torch.cat((a, torch.relu(b)), 1), 2)

    x = torch.randn(2, 8, 5, 5)
    model = convengine.from_torch(Shuffle(), x)
    ops = [n.op_type for n in model.graph.nodes]
    assert "Transpose" in ops and "Reshape" in ops
    sess = convengine.InferenceSession(model)
    with torch.no_grad():
        want = Shuffle()(x).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], want, rtol=0, atol=0)


@needs_torch
def test_from_torch_restores_training_mode_and_names():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    m.train()
    model = convengine.from_torch(m, (torch.randn(1, 3, 6, 6),))
    assert m.training
    assert [v.name for v in model.graph.inputs] == ["input"]
    assert [v.name for v in model.graph.outputs] == ["output"]
    assert model.graph.inputs[0].shape == [1, 3, 6, 6] and model.opset == 17
    model = convengine.from_torch(m, torch.randn(1, 3, 6, 6), input_names=["image"],
                                  opset_version=18)
    assert [v.name for v in model.graph.inputs] == ["image"] and model.opset == 18
    with pytest.raises(TypeError, match="torch.nn.Module"):
        convengine.from_torch(lambda x: x, torch.randn(1))
    with pytest.raises(TypeError, match="example_inputs"):
        convengine.from_torch(m, ())


@needs_torch
def test_from_torch_unsupported_op_lists_nodes():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.atan(x) + torch.det(x.view(2, 2)) + torch.atan(x * 2)

    with pytest.raises(ModelError) as e:
        convengine.from_torch(Odd(), torch.randn(1, 4))
    msg = str(e.value)
    assert msg.count("Atan at node") == 2 and msg.count("Det at node") == 1


@needs_torch
def test_dynamic_batch_dim_param(tmp_path):
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    model = convengine.from_torch(m, torch.randn(1, 3, 6, 6),
                                  dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    assert model.graph.inputs[0].shape == ["N", 3, 6, 6]
    assert model.graph.outputs[0].shape[0] == "N"
    model.save(tmp_path / "m.json")
    assert convengine.load(tmp_path / "m.json").graph.inputs[0].shape == ["N", 3, 6, 6]



def test_constant_of_shape_computes_pads_like_ort():
    # torch's exporter computes the pads of padding_mode='reflect' with ConstantOfShape,
    # Concat, Reshape, Slice, Transpose and Cast: all constant, folded at plan time.
    rng = np.random.default_rng(5)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    ints = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)  # noqa: E731
    nodes = [helper.make_node("ConstantOfShape", ["n"], ["zeros"],
                              value=helper.make_tensor("v", TensorProto.INT64, [1], [0])),
             helper.make_node("Concat", ["hw", "zeros"], ["p8"], axis=0),
             helper.make_node("Reshape", ["p8", "s42"], ["p42"]),
             helper.make_node("Slice", ["p42", "st", "en", "ax", "step"], ["rev"]),
             helper.make_node("Transpose", ["rev"], ["tr"], perm=[1, 0]),
             helper.make_node("Reshape", ["tr", "flat"], ["pads"]),
             helper.make_node("Cast", ["pads"], ["pads64"], to=TensorProto.INT64),
             helper.make_node("Pad", ["x", "pads64"], ["xp"], mode="reflect"),
             helper.make_node("Conv", ["xp", "w"], ["y"]),
             helper.make_node("ConstantOfShape", ["two"], ["f"],
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])),
             helper.make_node("Mul", ["y", "f"], ["out"])]
    inits = [ints("n", [4]), ints("hw", [1, 2, 2, 1]), ints("s42", [-1, 2]),
             ints("st", [-1]), ints("en", [-(1 << 62)]), ints("ax", [0]), ints("step", [-1]),
             ints("flat", [-1]), ints("two", [1]), numpy_helper.from_array(w, "w")]
    m = make_model(nodes, [vi("x", [2, 3, 6, 7])], [vi("out", [2, 5, None, None])], inits)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    xp = np.pad(x, [(0, 0), (0, 0), (2, 1), (1, 2)], mode="reflect")
    want = 0.5 * reference.conv2d(xp, w)
    model = convengine.from_onnx(m)
    for optimize in (True, False):
        got = convengine.InferenceSession(model, optimize=optimize).run(None, {"x": x})[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    ort = pytest.importorskip("onnxruntime")
    got = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) \
        .run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, value, match", [
    ([-1, 4], None, "ConstantOfShape.*non-negative"),
    ([1 << 20, 1 << 20], None, "more than"),
    ([[2, 2]], None, "1-D integer"),
    ([2], np.array([1.0, 2.0], np.float32), "one element"),
])
def test_constant_of_shape_refuses_bad_shapes(shape, value, match):
    attrs = {} if value is None else {"value": numpy_helper.from_array(value, "v")}
    nodes = [helper.make_node("ConstantOfShape", ["s"], ["c"], **attrs),
             helper.make_node("Add", ["x", "c"], ["y"])]
    m = make_model(nodes, [vi("x", [1])], [vi("y", None)],
                   [numpy_helper.from_array(np.array(shape, np.int64), "s")])
    with pytest.raises(ModelError, match=match):
        convengine.InferenceSession(convengine.from_onnx(m)).run(None, {"x": np.ones(1, np.float32)})


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_from_torch_padding_modes(mode, nd):
    torch.manual_seed(nd)
    conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[nd - 1]
    m = nn.Sequential(conv(3, 4, 3, padding=(2, 1, 1)[:nd], stride=(1, 2, 1)[:nd],
                           padding_mode=mode), nn.ReLU()).eval()
    x = torch.randn(2, 3, *(7, 6, 5)[:nd])
    with torch.no_grad():
        want = m(x).numpy()
    model = convengine.from_torch(m, (x,))
    got = convengine.InferenceSession(model).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
