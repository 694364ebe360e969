"""Constant folding of shape arithmetic and the fuse_pad pass: analyze() keeps the parts of a
Shape chain that do not depend on a symbolic batch constant, fold_constants turns them into
initializers (integer and float arithmetic through Shape, Gather, Cast, Div, Ceil, Range, Equal,
Where, ...), and fuse_pad moves TensorFlow-style "same" padding into the conv or pool that reads
it. Checked on hand-built graphs, on torch exports with a dynamic batch axis and on timm's
tf_* models."""
import io

import numpy as np
import pytest

import convengine as ce
from convengine.model import CUSTOM_DOMAIN, Graph, Model, Node, ValueInfo
from convengine._graph.evaluate import run_numpy
from convengine._graph.passes import optimize
from convengine._graph.passes_fold import fold_constants
from convengine._graph.passes_fuse import fuse_pad
from convengine._graph.shape_inference import Sym, analyze
from conftest import assert_close, pad_inputs

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _model(nodes, inputs, outputs, inits, opset=17):
    return Model(Graph(nodes, [ValueInfo(n, list(s)) for n, s in inputs],
                       [ValueInfo(n, None) for n in outputs], inits), opset=opset)


def I(*v):
    return np.array(v, np.int64)


def S(v):
    return np.array(v, np.int64)


def ops(m):
    return [n.op_type for n in m.graph.nodes]


def _same_pad_chain(x, axis, k, s, tag, nodes, inits):
    """TensorFlow 'same' padding of spatial `axis` of x, written as torch.onnx exports it from
    timm's pad_same: float arithmetic on the Shape, Ceil, Clip at 0; returns the names of the
    (begin, end) pad amounts (int64, shape (1,))."""
    f = lambda v: np.array(v, np.float32)
    inits.update({f"{tag}ax": np.array(axis, np.int64), f"{tag}s": f(s), f"{tag}k": f(k),
                  f"{tag}one": f(1), f"{tag}zero": f(0), f"{tag}two": S(2), f"{tag}u": I(0)})
    n = lambda op, ins, attrs=None: nodes.append(
        Node(op, ins, [f"{tag}{len(nodes)}"], f"{tag}{op}{len(nodes)}", attrs or {})) or \
        f"{tag}{len(nodes) - 1}"
    shape = n("Shape", [x])
    size = n("Gather", [shape, f"{tag}ax"])
    sf = n("Cast", [size], {"to": 1})
    q = n("Ceil", [n("Div", [sf, f"{tag}s"])])
    total = n("Sub", [n("Add", [n("Mul", [n("Sub", [q, f"{tag}one"]), f"{tag}s"]), f"{tag}k"]), sf])
    total = n("Cast", [n("Clip", [total, f"{tag}zero", ""])], {"to": 7})
    begin = n("Div", [total, f"{tag}two"])
    end = n("Sub", [total, begin])
    return n("Unsqueeze", [begin, f"{tag}u"]), n("Unsqueeze", [end, f"{tag}u"])


def _tf_same_model(batch="N", k=3, s=2, c=3):
    nodes, inits = [], {}
    hb, he = _same_pad_chain("x", 2, k, s, "h", nodes, inits)
    wb, we = _same_pad_chain("x", 3, k, s, "w", nodes, inits)
    inits.update({"z2": I(0, 0), "w": np.random.default_rng(0).standard_normal(
        (4, c, k, k)).astype(np.float32), "b": np.arange(4, dtype=np.float32)})
    nodes += [Node("Concat", ["z2", hb, wb, "z2", he, we], ["pads"], "pads", {"axis": 0}),
              Node("Pad", ["x", "pads"], ["xp"], "pad", {"mode": "constant"}),
              Node("Conv", ["xp", "w", "b"], ["y"], "conv", {"strides": [s, s]})]
    return _model(nodes, [("x", [batch, c, 11, 14])], ["y"], inits)


@pytest.mark.parametrize("batch", ["N", 2])
def test_tf_same_chain_folds_with_a_symbolic_batch(rng, batch):
    m = _tf_same_model(batch)
    folded = optimize(m)
    assert ops(folded) == ["Conv"]
    conv = folded.graph.nodes[0]
    # 11 at stride 2, k 3: total pad 2 -> (1, 1); 14: total 1 -> (0, 1)
    assert conv.inputs[0] == "x" and conv.attrs["pads"] == [1, 0, 1, 1]
    for n in ((1, 3) if batch == "N" else (2,)):
        x = rng.standard_normal((n, 3, 11, 14)).astype(np.float32)
        want = run_numpy(_tf_same_model(n), {"x": x})["y"]
        assert_close(run_numpy(folded, {"x": x})["y"], want, atol=1e-5, rtol=1e-5)
        for opt in (True, False):   # the planner folds the chain on its own too
            got = ce.InferenceSession(m, optimize=opt).run(None, {"x": x})[0]
            assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_analyze_marks_only_the_symbolic_elements():
    nodes = [Node("Shape", ["x"], ["s"], "shape"),
             Node("Gather", ["s", "i2"], ["h"], "g2"), Node("Gather", ["s", "i0"], ["n"], "g0"),
             Node("Slice", ["s", "st", "en"], ["hw"], "slice"),
             Node("Gather", ["s", "j0"], ["n1"], "g0v"), Node("Gather", ["s", "j2"], ["h1"], "g2v"),
             Node("Concat", ["n1", "h1"], ["nh"], "cat", {"axis": 0}),
             Node("Gather", ["nh", "i1"], ["h2"], "g_nh"),
             Node("Mul", ["nh", "two"], ["nh2"], "mul"),
             Node("Gather", ["nh2", "i1"], ["h3"], "g3"),
             Node("Size", ["x"], ["size"], "size"), Node("Shape", ["y"], ["sy"], "shape_y"),
             Node("Relu", ["x"], ["y"], "relu"), Node("Reshape", ["s", "m1"], ["sr"], "rs"),
             Node("Gather", ["sr", "i3"], ["w"], "g_w"),
             Node("Range", ["i0", "h", "i1"], ["r"], "range"),
             Node("Range", ["i0", "n", "i1"], ["rn"], "range_n")]
    inits = {"i0": S(0), "i1": S(1), "i2": S(2), "i3": S(3), "st": I(2), "en": I(4),
             "two": S(2), "m1": I(-1), "j0": I(0), "j2": I(2)}
    m = _model(nodes, [("x", ["N", 3, 5, 7])], ["size"], inits)
    info = analyze(m)
    const = {t: info[t].value for t in info if info[t].value is not None and t not in inits}
    assert int(const["h"]) == 5 and const["hw"].tolist() == [5, 7] and int(const["h2"]) == 5
    assert int(const["h3"]) == 10 and int(const["w"]) == 7
    assert const["r"].tolist() == [0, 1, 2, 3, 4]
    for t in ("s", "n", "n1", "nh", "nh2", "size", "sy", "sr", "rn"):
        assert t not in const, t
    assert isinstance(info["s"].shape, tuple) and info["y"].shape[0] == info["x"].shape[0]
    assert isinstance(info["x"].shape[0], Sym)


def test_fold_constants_integer_and_float64_arithmetic():
    # int64 and float64 shape arithmetic through the data ops and the existing ones, folded and
    # compared with onnxruntime running the unfolded graph
    from onnx import helper, numpy_helper
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i2"], ["h"]),
        helper.make_node("Cast", ["h"], ["hd"], to=11),
        helper.make_node("Div", ["hd", "three"], ["q"]),
        helper.make_node("Ceil", ["q"], ["qc"]),
        helper.make_node("Floor", ["q"], ["qf"]),
        helper.make_node("Sub", ["qc", "qf"], ["frac"]),
        helper.make_node("Cast", ["qc"], ["qi"], to=7),
        helper.make_node("Div", ["neg7", "qi"], ["dv"]),          # int division truncates
        helper.make_node("Mod", ["neg7", "qi"], ["md"]),          # the divisor's sign
        helper.make_node("Range", ["i0", "qi", "i1"], ["r"]),
        helper.make_node("Equal", ["r", "md"], ["eq"]),
        helper.make_node("Where", ["eq", "r", "dv"], ["wh"]),
        helper.make_node("CumSum", ["wh", "i0"], ["cs"]),
        helper.make_node("Cast", ["cs"], ["csf"], to=1),
        helper.make_node("Cast", ["frac"], ["fracf"], to=1),
        helper.make_node("Mul", ["csf", "fracf"], ["scale"]),
        helper.make_node("Add", ["x", "scale"], ["y"]),
    ]
    inits = {"i0": S(0), "i1": S(1), "i2": S(2), "three": np.array(3.0, np.float64),
             "neg7": S(-7)}
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 2, 8, 3])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 10
    m = ce.from_onnx(proto.SerializeToString())
    folded = fold_constants(m)
    assert ops(optimize(m)) == ["Add"]
    # h = 8: 8 / 3 -> ceil 3, floor 2; -7 / 3 -> -2 (truncated), -7 mod 3 -> 2; Range(0, 3)
    # == 2 at [2] -> Where [-2, -2, 2] -> CumSum [-2, -4, -2], times ceil - floor = 1
    assert folded.graph.initializers["scale"].tolist() == [-2.0, -4.0, -2.0]
    x = np.random.default_rng(1).standard_normal((3, 2, 8, 3)).astype(np.float32)
    want = ort.InferenceSession(proto.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(ce.InferenceSession(m).run(None, {"x": x})[0], want)


# ---------------------------------------------------------------------------- fuse_pad

def _pad_model(pads, consumer="Conv", value=None, mode="constant", opset=17, axes=None,
               conv_attrs=None, extra_reader=False):
    rng = np.random.default_rng(3)
    inits = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32)}
    ins = ["x"]
    attrs = {"mode": mode}
    if opset < 11:
        attrs["pads"] = list(pads)
        if value is not None:
            attrs["value"] = float(value)
    else:
        pinits, pins = pad_inputs(pads, value, axes)
        inits.update(pinits)
        ins += pins
    nodes = [Node("Pad", ins, ["xp"], "pad", attrs)]
    if consumer in ("Conv", "FusedConv"):
        nodes.append(Node(consumer, ["xp", "w"], ["y"], "conv", dict(conv_attrs or {}),
                          CUSTOM_DOMAIN if consumer == "FusedConv" else ""))
    elif consumer == "ConvTranspose":
        inits["w"] = inits["w"].transpose(1, 0, 2, 3).copy()
        nodes.append(Node("ConvTranspose", ["xp", "w"], ["y"], "convt"))
    else:
        nodes.append(Node(consumer, ["xp"], ["y"], "pool",
                          {"kernel_shape": [3, 2], "strides": [2, 1], **(conv_attrs or {})}))
    outs = ["y"]
    if extra_reader:
        nodes.append(Node("Relu", ["xp"], ["r"], "relu"))
        outs.append("r")
    return _model(nodes, [("x", [2, 3, 7, 6])], outs, inits, opset)


FUSED = [
    ("conv", dict(pads=[0, 0, 1, 2, 0, 0, 2, 0]), [1, 2, 2, 0]),
    ("conv-own-pads", dict(pads=[0, 0, 0, 1, 0, 0, 1, 1], conv_attrs={"pads": [1, 0, 2, 3]}),
     [1, 1, 3, 4]),
    ("conv-valid", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], conv_attrs={"auto_pad": "VALID"}),
     [1, 1, 1, 1]),
    ("fused-conv", dict(pads=[0, 0, 2, 0, 0, 0, 0, 1], consumer="FusedConv"), [2, 0, 0, 1]),
    ("value-0", dict(pads=[0, 0, 1, 0, 0, 0, 1, 0], value=0.0), [1, 0, 1, 0]),
    ("axes", dict(pads=[1, 2, 0, 1], axes=[2, 3]), [1, 2, 0, 1]),
    ("neg-axes", dict(pads=[2, 1, 0, 1], axes=[-1, -2]), [1, 2, 1, 0]),
    ("opset10", dict(pads=[0, 0, 1, 1, 0, 0, 0, 2], opset=10), [1, 1, 0, 2]),
    ("maxpool", dict(pads=[0, 0, 1, 0, 0, 0, 1, 1], consumer="MaxPool", value=-np.inf),
     [1, 0, 1, 1]),
    ("avgpool", dict(pads=[0, 0, 0, 1, 0, 0, 1, 0], consumer="AveragePool",
                     conv_attrs={"count_include_pad": 1, "ceil_mode": 1}), [0, 1, 1, 0]),
]
NOT_FUSED = [
    ("nonzero", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.5)),
    ("channels", dict(pads=[0, 1, 1, 1, 0, 0, 1, 1])),
    ("negative", dict(pads=[0, 0, -1, 1, 0, 0, 1, 1])),
    ("reflect", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="reflect")),
    ("two-readers", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], extra_reader=True)),
    ("conv-transpose", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], consumer="ConvTranspose")),
    ("same-upper", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], conv_attrs={"auto_pad": "SAME_UPPER"})),
    ("maxpool-zero", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], consumer="MaxPool")),
    ("avgpool-exclude", dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], consumer="AveragePool")),
]


@pytest.mark.parametrize("name,kw,want", FUSED, ids=[c[0] for c in FUSED])
def test_fuse_pad(rng, name, kw, want):
    m = _pad_model(**kw)
    out = fuse_pad(m)
    assert "Pad" not in ops(out)
    node = out.graph.nodes[0]
    assert node.inputs[0] == "x" and node.attrs["pads"] == want and "auto_pad" not in node.attrs
    assert "pads" not in out.graph.initializers
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    assert_close(run_numpy(out, {"x": x})["y"], run_numpy(m, {"x": x})["y"], atol=1e-5, rtol=1e-5)
    assert_close(ce.InferenceSession(m).run(None, {"x": x})[0], run_numpy(m, {"x": x})["y"],
                 atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name,kw", NOT_FUSED, ids=[c[0] for c in NOT_FUSED])
def test_fuse_pad_leaves_what_it_cannot_fold(name, kw):
    m = _pad_model(**kw)
    assert ops(fuse_pad(m)) == ops(m)


# ---------------------------------------------------------------------------- real exports

def _export(module, x, dynamic):
    import torch
    f = io.BytesIO()
    kw = {"dynamic_axes": {"input": {0: "N"}}} if dynamic else {}
    with torch.no_grad():
        torch.onnx.export(module, x, f, input_names=["input"], opset_version=17, dynamo=False,
                          **kw)
    return f.getvalue()


def _check_export(module, shape, dynamic, batches=(1, 3)):
    import torch
    data = _export(module, torch.randn(*shape), dynamic)
    m = ce.from_onnx(data)
    o = optimize(m)
    left = {op for op in ops(o)} & {"Shape", "Gather", "Ceil", "Pad", "Cast", "Div", "Concat",
                                     "Unsqueeze", "ConstantOfShape", "Clip"}
    assert not left, left
    for n in (batches if dynamic else (shape[0],)):
        x = torch.randn(n, *shape[1:])
        with torch.no_grad():
            want = module(x).numpy()
        got = ce.InferenceSession(m).run(None, {"input": x.numpy()})[0]
        assert_close(got, want, atol=2e-5 * float(np.abs(want).max()), rtol=1e-4)
    return o


@pytest.mark.parametrize("dynamic", [False, True])
def test_timm_same_padding_layers(dynamic):
    timm = pytest.importorskip("timm")
    import torch.nn as nn
    from timm.layers import create_conv2d, create_pool2d
    mod = nn.Sequential(create_conv2d(3, 8, 3, stride=2, padding="same"), nn.ReLU(),
                        create_conv2d(8, 8, 5, stride=2, padding="same", depthwise=True),
                        create_pool2d("max", 3, stride=2, padding="same"),
                        create_conv2d(8, 4, 4, stride=1, dilation=2, padding="same"),
                        create_pool2d("avg", 2, stride=2, padding="same")).eval()
    assert timm is not None
    o = _check_export(mod, (2, 3, 37, 30), dynamic)
    kinds = ops(o)
    assert kinds.count("MaxPool") == 1 and kinds.count("AveragePool") == 1
    assert [n.attrs.get("pads") for n in o.graph.nodes if n.op_type == "MaxPool"][0] != [0, 0, 0, 0]


@pytest.mark.parametrize("name", ["tf_mobilenetv3_small_100"])
def test_timm_tf_model_with_dynamic_batch(name):
    timm = pytest.importorskip("timm")
    mod = timm.create_model(name, pretrained=False).eval()
    _check_export(mod, (1, 3, 96, 112), True, batches=(2,))
