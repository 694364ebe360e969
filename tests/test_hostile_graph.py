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
