"""Graph inputs found by a hostile-input sweep that crashed (SIGFPE, SIGSEGV), leaked
an internal TypeError, or silently computed something else (an out-of-range axis taken modulo
the rank): each now raises a ModelError naming the node and the problem, or runs correctly."""
import numpy as np
import pytest

import convengine as ce
from convengine.model import Graph, Model, ModelError, Node, ValueInfo

X = np.random.default_rng(0).random((1, 4, 8, 8), dtype=np.float32)


def I(*v):
    return np.array(v, np.int64)


def _m(nodes, outs, inits=None):
    return Model(Graph(nodes, [ValueInfo("x", [1, 4, 8, 8])], [ValueInfo(o, None) for o in outs],
                       inits or {}))


@pytest.mark.parametrize("op,inputs,attrs,inits,match", [
    ("Conv", ["x", "w"], {}, {"w": np.ones((0, 4, 3, 3), np.float32)}, "weight 'w'.*empty"),
    ("Conv", ["x", "w"], {}, {"w": np.ones((0, 4, 1, 1), np.float32)}, "weight 'w'.*empty"),
    ("Conv", ["x", "w"], {"group": 4}, {"w": np.ones((0, 1, 3, 3), np.float32)}, "empty"),
    ("ConvTranspose", ["x", "w"], {}, {"w": np.ones((4, 0, 3, 3), np.float32)}, "empty"),
    ("MatMul", ["x", "b"], {}, {"b": np.ones((8, 0), np.float32)}, "B 'b'.*empty"),
])
@pytest.mark.parametrize("optimize", [True, False])
def test_empty_weights(op, inputs, attrs, inits, match, optimize):
    m = _m([Node(op, inputs, ["y"], "n", attrs)], ["y"], inits)
    with pytest.raises(ModelError, match="node n.*" + match):
        ce.InferenceSession(m, optimize=optimize)


def test_empty_gemm_b():
    m = _m([Node("Flatten", ["x"], ["f"], "f"), Node("Gemm", ["f", "b"], ["y"], "g")], ["y"],
           {"b": np.ones((256, 0), np.float32)})
    with pytest.raises(ModelError, match="node g.*empty"):
        ce.InferenceSession(m)


@pytest.mark.parametrize("node,inits", [
    (Node("Gather", ["x", "i"], ["y"], "n", {"axis": 7}), {"i": I(2)}),
    (Node("Gather", ["x", "i"], ["y"], "n", {"axis": -5}), {"i": I(2)}),
    (Node("Split", ["x"], ["y", "z"], "n", {"axis": 9}), {}),
    (Node("Split", ["x"], ["y", "z"], "n", {"axis": -9}), {}),
    (Node("Slice", ["x", "s", "e", "a"], ["y"], "n"), {"s": I(0), "e": I(2), "a": I(6)}),
    (Node("Resize", ["x", "", "", "sz"], ["y"], "n", {"axes": [5]}), {"sz": I(16)}),
])
def test_axis_out_of_range_is_an_error_not_another_axis(node, inits):
    with pytest.raises(ModelError, match="node n.*axis -?[0-9]+ out of range for rank 4"):
        ce.InferenceSession(_m([node], node.outputs, inits))


@pytest.mark.parametrize("inits,match", [
    ({"s": I(0, 0), "e": I(2), "a": I(2, 3)}, "differ in length"),
    ({"s": I(0, 1), "e": I(2, 3), "a": I(2, 2)}, "repeat an axis"),
])
def test_malformed_slice(inits, match):
    m = _m([Node("Slice", ["x", "s", "e", "a"], ["y"], "n")], ["y"], inits)
    with pytest.raises(ModelError, match=match):
        ce.InferenceSession(m)


@pytest.mark.parametrize("s,e,st", [(0, 8, 2 ** 62), (2 ** 62, -2 ** 62, -3), (-2 ** 62, 2 ** 62, 3)])
def test_slice_with_huge_starts_and_steps_runs(s, e, st):
    m = _m([Node("Slice", ["x", "s", "e", "a", "st"], ["y"], "n")], ["y"],
           {"s": I(s), "e": I(e), "a": I(2), "st": I(st)})
    (y,) = ce.InferenceSession(m).run(None, {"x": X})
    np.testing.assert_array_equal(y, X[:, :, s:e:st])


def test_names_that_are_not_utf8():
    m = _m([Node("Relu", ["x"], ["a\ud800"], "n")], ["a\ud800"])
    with pytest.raises(ModelError, match="UTF-8"):
        ce.InferenceSession(m)


BN = {k: np.linspace(0.5, 1.5, 4, dtype=np.float32) for k in "sbmv"}


@pytest.mark.parametrize("optimize", [True, False])
def test_batchnorm_training_mode_is_refused(optimize):
    m = _m([Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "n", {"training_mode": 1})],
           ["y"], BN)
    with pytest.raises(ModelError, match="node n.*training_mode=1"):
        ce.InferenceSession(m, optimize=optimize)


def test_batchnorm_rank2_runs_and_rank1_is_refused():
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    m = Model(Graph([Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "n")],
                    [ValueInfo("x", [3, 4])], [ValueInfo("y", None)], BN))
    y = ce.InferenceSession(m).run(None, {"x": x})[0]
    s, b, mu, v = (BN[k] for k in "sbmv")
    np.testing.assert_allclose(y, (x - mu) / np.sqrt(v + 1e-5) * s + b, rtol=1e-5, atol=1e-6)
    m1 = Model(Graph([Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "n")],
                     [ValueInfo("x", [4])], [ValueInfo("y", None)], BN))
    with pytest.raises(ModelError, match="node n.*shape \\(N, C, ...\\)"):
        ce.InferenceSession(m1)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("shape", [(2, 2), (1, 4), (4, 1, 1)])
def test_batchnorm_params_must_have_one_value_per_channel(shape, optimize):
    # Four values for four channels, but not shaped (C,): ONNX requires (C,), so a (2, 2)
    # scale is an error, not silently flattened (folded into a conv or not).
    inits = dict(BN, s=BN["s"].reshape(shape), w=np.ones((4, 4, 1, 1), np.float32))
    m = _m([Node("Conv", ["x", "w"], ["c"], "c"),
            Node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"], "n")], ["y"], inits)
    with pytest.raises(ModelError, match=r"node n.*scale has shape \(%s\).*expected \(4,\)"
                       % ", ".join(map(str, shape))):
        ce.InferenceSession(m, optimize=optimize)


@pytest.mark.parametrize("inits,match", [
    ({"lo": np.array([0.0, 1.0], np.float32)}, "min must be a scalar"),
    ({"lo": np.array(np.nan, np.float32)}, "min is NaN"),
])
def test_clip_bounds_that_are_not_one_number(inits, match):
    m = _m([Node("Clip", ["x", "lo"], ["y"], "n")], ["y"], inits)
    with pytest.raises(ModelError, match="node n.*" + match):
        ce.InferenceSession(m)


@pytest.mark.parametrize("op,axes", [("Squeeze", (0, 0)), ("Squeeze", (0, -4)),
                                     ("Unsqueeze", (1, 1)), ("Unsqueeze", (0, -6))])
def test_repeated_squeeze_axes(op, axes):
    with pytest.raises(ModelError, match="node n.*repeat"):
        ce.InferenceSession(_m([Node(op, ["x", "a"], ["y"], "n")], ["y"], {"a": I(*axes)}))


def test_constant_outputs_keep_their_dtype():
    m = _m([Node("Shape", ["x"], ["s"], "n"), Node("Relu", ["x"], ["y"], "r")], ["s", "y"])
    s, y = ce.InferenceSession(m).run(None, {"x": X})
    assert s.dtype == np.int64 and s.tolist() == [1, 4, 8, 8]
    assert y.dtype == np.float32 and np.array_equal(y, np.maximum(X, 0))


def test_huge_broadcast_feed_is_refused_before_it_is_copied():
    m = Model(Graph([Node("Relu", ["x"], ["y"], "r")], [ValueInfo("x", ["N", 4, 8, 8])],
                    [ValueInfo("y", None)], {}))
    feed = np.broadcast_to(X, (1 << 30, 4, 8, 8))  # 2^38 elements, 1 TiB if copied
    with pytest.raises(ModelError, match="input 'x'.*more than"):
        ce.InferenceSession(m).run(None, {"x": feed})


@pytest.mark.parametrize("off,mask,match", [
    ((1, 2, 6, 6), None, r"offset must have shape \[1, 18, 6, 6\].*got \[1, 2, 6, 6\]"),
    ((1, 18, 2, 2), None, r"offset must have shape \[1, 18, 6, 6\]"),
    ((18, 6, 6), None, r"offset must have shape \[1, 18, 6, 6\].*got \[18, 6, 6\]"),
    ((1, 18, 6, 6), (1, 1, 6, 6), r"mask must have shape \[1, 9, 6, 6\]"),
])
def test_deform_offset_and_mask_shapes_are_named(off, mask, match):
    ins = [ValueInfo("x", [1, 4, 8, 8]), ValueInfo("off", list(off))]
    names = ["x", "w", "off"]
    if mask is not None:
        ins.append(ValueInfo("m", list(mask)))
        names += ["", "m"]
    m = Model(Graph([Node("DeformConv", names, ["y"], "n")], ins, [ValueInfo("y", None)],
                    {"w": np.ones((4, 4, 3, 3), np.float32)}))
    with pytest.raises(ModelError, match="node n.*" + match):
        ce.InferenceSession(m)


def test_deform_output_below_one_is_named():
    m = Model(Graph([Node("DeformConv", ["x", "w", "off"], ["y"], "n")],
                    [ValueInfo("x", [1, 4, 8, 8]), ValueInfo("off", [1, 162, 1, 1])],
                    [ValueInfo("y", None)], {"w": np.ones((4, 4, 9, 9), np.float32)}))
    with pytest.raises(ModelError, match=r"node n.*output size \[0, 0\] is below 1"):
        ce.InferenceSession(m)


def F(*v):
    return np.array(v, np.float32)


@pytest.mark.parametrize("node,inits,opset", [
    (Node("Resize", ["x", "", "sc"], ["y"], "n"), {"sc": F(1, 1, 1.7e38, 1)}, 13),
    (Node("Resize", ["x", "", "sc"], ["y"], "n"), {"sc": F(1, 1, np.inf, 1)}, 13),
    (Node("Resize", ["x", "", "sc"], ["y"], "n"), {"sc": F(1, 1, np.nan, 1)}, 13),
    (Node("Resize", ["x", "", "sc"], ["y"], "n", {"axes": [2]}), {"sc": F(3e38)}, 18),
    (Node("Resize", ["x", "sc"], ["y"], "n"), {"sc": F(1, 1, 1.7e38, 1)}, 10),
    (Node("Upsample", ["x", "sc"], ["y"], "n"), {"sc": F(1, 1, 1, np.nan)}, 9),
    (Node("Resize", ["x", "", "", "sz"], ["y"], "n",
          {"axes": [2, 3], "keep_aspect_ratio_policy": "not_smaller"}), {"sz": I(1, 2 ** 62)}, 18),
])
@pytest.mark.parametrize("optimize", [True, False])
def test_resize_scale_without_a_finite_size_is_named(node, inits, opset, optimize):
    """A scale of 1.7e38 times 8 overflows float32 (fuzz seed 14241 case 6068 raised a bare
    OverflowError from shape inference); NaN and inf scales likewise."""
    m = _m([node], node.outputs, inits)
    m.opset = opset
    with pytest.raises(ModelError, match="node n.*(scale|out of range|too large|exceeds)"):
        ce.InferenceSession(m, optimize=optimize)
