"""ONNX files onnxruntime refuses are refused by from_onnx too, with a ModelError naming the
node (issue 20, item 5). Each case is checked against onnxruntime on the same bytes."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import convengine  # noqa: E402
from convengine import ModelError  # noqa: E402


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def ort_refuses(m):
    ort = pytest.importorskip("onnxruntime")
    try:
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001
        return True
    return False


def refused(m, match):
    assert ort_refuses(m)
    with pytest.raises(ModelError, match=match):
        convengine.from_onnx(m.SerializeToString())


def accepted(m, feeds):
    assert not ort_refuses(m)
    return convengine.InferenceSession(convengine.from_onnx(m.SerializeToString())).run(None,
                                                                                      feeds)


X = vi("x", [1, 2, 3, 4])


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceMax", "ReduceSum", "ReduceL2"])
@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_axis_out_of_range(op, opset):
    # ReduceMean / ReduceMax over [2, 99] became a GlobalAveragePool (99 wrapped to 3)
    if opset >= 18 or op == "ReduceSum":
        nodes = [helper.make_node(op, ["x", "ax"], ["y"], name="r")]
        inits = [numpy_helper.from_array(np.array([2, 99], np.int64), "ax")]
    else:
        nodes, inits = [helper.make_node(op, ["x"], ["y"], name="r", axes=[2, 99])], []
    refused(make_model(nodes, [X], [vi("y", None)], inits, opset=opset),
            rf"node 'r' \({op}\): axis must be in \[-rank, rank-1\]. Input rank was 4")


def test_opset_newer_than_onnx_knows():
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="n")], [X], [vi("y", None)],
                   opset=99)
    refused(m, f"default-domain opset 99 is newer than the installed onnx package knows "
               f"\\(at most {onnx.defs.onnx_opset_version()}\\)")


def test_opset_1_op_version_onnxruntime_does_not_run():
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="n")], [X], [vi("y", None)],
                   opset=1)
    refused(m, r"node 'n' \(Relu\): opset 1 means Relu-1, which onnxruntime does not run "
               r"\(it has Relu from opset 6\)")


def test_old_opset_forms_onnxruntime_runs_still_work():
    # Reshape-1 (shape attribute) and Conv-1 at opset 1: onnxruntime runs both
    w = np.random.default_rng(0).standard_normal((2, 2, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="c"),
             helper.make_node("Reshape", ["c"], ["y"], name="r", shape=[1, 24])]
    m = make_model(nodes, [X], [vi("y", None)], [numpy_helper.from_array(w, "w")], opset=1)
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32)
    (y,) = accepted(m, {"x": x})
    np.testing.assert_allclose(y, np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x).reshape(1, 24),
                               rtol=1e-5, atol=1e-6)


def test_op_newer_than_the_opset():
    m = make_model([helper.make_node("Gelu", ["x"], ["y"], name="g")], [X], [vi("y", None)],
                   opset=17)
    refused(m, r"node 'g' \(Gelu\): opset 17 has no Gelu")


def test_ir_version_newer_than_onnx_knows():
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="n")], [X], [vi("y", None)],
                   ir=99)
    refused(m, f"ir_version 99 is newer than the installed onnx package supports "
               f"\\(at most {onnx.IR_VERSION}\\)")


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "VALID"])
def test_conv_auto_pad_with_pads(op, auto_pad):
    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
    m = make_model([helper.make_node(op, ["x", "w"], ["y"], name="c", auto_pad=auto_pad,
                                     pads=[1, 1, 1, 1])], [X], [vi("y", None)], [w])
    refused(m, rf"node 'c' \({op}\): auto_pad={auto_pad} and explicit pads cannot be used "
               "together")


def test_pool_auto_pad_with_pads_follows_onnxruntime():
    # onnxruntime's pools take both and ignore the pads: so does convengine
    m = make_model([helper.make_node("MaxPool", ["x"], ["y"], name="p", auto_pad="SAME_UPPER",
                                     pads=[1, 0, 0, 0], kernel_shape=[3, 3], strides=[2, 2])],
                   [X], [vi("y", None)])
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4)).astype(np.float32)
    (y,) = accepted(m, {"x": x})
    ort = pytest.importorskip("onnxruntime")
    want = ort.InferenceSession(m.SerializeToString(),
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype, name", [(np.float16, "float16"), (np.float64, "double")])
def test_conv_weight_of_another_float_type(dtype, name):
    # the weight was converted to float32 silently
    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), dtype), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], [X],
                   [vi("y", None)], [w])
    refused(m, rf"node 'c' \(Conv\): W has inconsistent type tensor\({name}\) \(inputs: x "
               rf"float, w {name}; onnxruntime refuses mixed types: a Cast node converts\)")


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_constant_of_another_float_type_in_arithmetic(dtype):
    nodes = [helper.make_node("Constant", [], ["k"],
                              value=numpy_helper.from_array(np.ones(1, dtype))),
             helper.make_node("Mul", ["x", "k"], ["y"], name="m")]
    refused(make_model(nodes, [X], [vi("y", None)]), r"node 'm' \(Mul\): B has inconsistent type")


def test_float64_weight_through_a_cast_works():
    w = np.random.default_rng(3).standard_normal((2, 2, 1, 1))
    nodes = [helper.make_node("Cast", ["w"], ["wf"], to=TensorProto.FLOAT),
             helper.make_node("Conv", ["x", "wf"], ["y"], name="c")]
    m = make_model(nodes, [X], [vi("y", None)], [numpy_helper.from_array(w, "w")])
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 4)).astype(np.float32)
    (y,) = accepted(m, {"x": x})
    want = np.einsum("oc,nchw->nohw", w[:, :, 0, 0].astype(np.float32), x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
