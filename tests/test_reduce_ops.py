"""Reduce* and ArgMax / ArgMin: the numpy reference against onnxruntime, the runtime steps
against the reference (every axis set of ranks 1-5, keepdims 0/1, noop_with_empty_axes,
channels-last inputs from a conv, both ISAs, 1 and 2 threads), graph-level runs against
onnxruntime, int64 index outputs, constant folding of integer and float64 weights."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import convengine  # noqa: E402
from convengine import ModelError  # noqa: E402
from convengine._graph import evaluate, passes_fold  # noqa: E402
from convengine.model import Graph, Model, Node, ValueInfo  # noqa: E402
from conftest import assert_close, num_threads  # noqa: E402

REDUCE = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2",
          "ReduceProd", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")


def _input(op, x):
    """Inputs each op is defined on: positive for ReduceLogSum, near 1 for ReduceProd."""
    if op == "ReduceLogSum":
        return np.abs(x) + 0.25
    if op == "ReduceProd":
        return (1.0 + 0.1 * x).astype(np.float32)
    return x


def reduce_node(op, src, out, axes, keepdims, opset, noop=0):
    """The node (and its axes Constant) in the form of `opset`: an axes input from 18 (ReduceSum
    13), an attribute before."""
    attrs = {"keepdims": keepdims}
    if noop:
        attrs["noop_with_empty_axes"] = 1
    if opset >= 18 or (op == "ReduceSum" and opset >= 13):
        if axes is None:
            return [helper.make_node(op, [src], [out], name=out, **attrs)]
        c = helper.make_node("Constant", [], [out + "_axes"],
                             value=numpy_helper.from_array(np.array(axes, np.int64)))
        return [c, helper.make_node(op, [src, out + "_axes"], [out], name=out, **attrs)]
    if axes:
        attrs["axes"] = axes
    return [helper.make_node(op, [src], [out], name=out, **attrs)]


def make(nodes, x_shape, outs, inits=(), opset=18, int_outs=()):
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(o, TensorProto.INT64 if o in int_outs else
                                       TensorProto.FLOAT, None) for o in outs], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def conv_front(x_shape, rng):
    """A 1x1-ish conv making the reduced tensor channels-last (the engine's conv layout)."""
    c, r = x_shape[1], len(x_shape)
    w = (rng.standard_normal((c, c) + (1,) * (r - 2)) / np.sqrt(c)).astype(np.float32)
    return [helper.make_node("Conv", ["x", "w"], ["h"])], [numpy_helper.from_array(w, "w")]


def run_ort(m, x):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})


def check_session(m, x, rtol=2e-5):
    """Session outputs against the numpy reference of the same imported model."""
    cm = convengine.from_onnx(m.SerializeToString())
    ref = evaluate.run_numpy(cm, {"x": x})
    got = convengine.InferenceSession(cm).run(None, {"x": x})
    for (name, r), a in zip(ref.items(), got, strict=True):
        assert a.dtype == r.dtype, f"{name}: dtype {a.dtype}, expected {r.dtype}"
        if r.dtype.kind in "iu":
            np.testing.assert_array_equal(a, r, err_msg=name)
        else:
            scale = max(1.0, float(np.abs(r).max()))
            assert_close(a, r, atol=rtol * scale, rtol=rtol, what=name)
    return got


# ---------------------------------------------------------------------------------------------
# the numpy reference against onnxruntime

@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("opset", [13, 18])
def test_reference_matches_onnxruntime(op, opset, rng):
    x = _input(op, rng.standard_normal((2, 3, 5, 4)).astype(np.float32))
    nodes, outs = [], []
    cases = [([1], 1), ([0, 2], 0), ([-1, -3], 1), ([3, 0, 1], 0), (None, 1), (None, 0)]
    for i, (axes, kd) in enumerate(cases):
        nodes += reduce_node(op, "x", f"y{i}", axes, kd, opset)
        outs.append(f"y{i}")
    if opset >= 18 or op == "ReduceSum":  # noop_with_empty_axes: each element alone
        nodes += reduce_node(op, "x", "noop", None, 1, opset, noop=1)
        outs.append("noop")
    m = make(nodes, x.shape, outs, opset=opset)
    want = run_ort(m, x)
    got = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x})
    for o, w in zip(outs, want, strict=True):
        assert got[o].shape == w.shape, o
        assert_close(got[o], w, atol=1e-5, rtol=1e-5, what=f"{op} {o}")


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_arg_reference_matches_onnxruntime(op, rng):
    x = np.round(2 * rng.standard_normal((3, 4, 5))).astype(np.float32)  # ties
    nodes, outs = [], []
    for i, (axis, kd, last) in enumerate(itertools.product([0, 1, 2, -1], [0, 1], [0, 1])):
        nodes.append(helper.make_node(op, ["x"], [f"y{i}"], axis=axis, keepdims=kd,
                                      select_last_index=last))
        outs.append(f"y{i}")
    m = make(nodes, x.shape, outs, opset=13, int_outs=outs)
    want = run_ort(m, x)
    got = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x})
    for o, w in zip(outs, want, strict=True):
        assert got[o].dtype == np.int64
        np.testing.assert_array_equal(got[o], w, err_msg=o)


# ---------------------------------------------------------------------------------------------
# runtime steps against the reference

SHAPES = [(13,), (3, 7), (2, 5, 11), (2, 7, 3, 5), (2, 3, 4, 1, 5)]


def all_axis_sets(rank):
    for k in range(1, rank + 1):
        yield from itertools.combinations(range(rank), k)


@pytest.mark.parametrize("shape,front", [(s, f) for s in SHAPES for f in ("input", "conv")
                                         if f == "input" or len(s) >= 3],
                         ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else v)
@pytest.mark.parametrize("threads", [1, 2])
def test_every_axis_set(shape, front, threads, isa, rng):
    r = len(shape)
    x = rng.standard_normal(shape).astype(np.float32)
    nodes, inits, src = [], [], "x"
    if front == "conv":
        nodes, inits = conv_front(shape, rng)
        src = "h"
    ops = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceLogSumExp"]
    outs = []
    for j, axes in enumerate(all_axis_sets(r)):
        op = ops[j % len(ops)]
        neg = [a - r if (a + j) % 2 else a for a in axes]  # negative forms too
        kd = j % 2
        nodes += reduce_node(op, src, f"y{j}", neg, kd, 18)
        outs.append(f"y{j}")
    with num_threads(threads):
        check_session(make(nodes, shape, outs, inits), x)


@pytest.mark.parametrize("op", REDUCE)
@pytest.mark.parametrize("opset", [13, 18])
def test_each_op_on_channels_last(op, opset, isa, rng):
    shape = (2, 11, 5, 6)
    x = _input(op, rng.standard_normal(shape).astype(np.float32))
    nodes, inits = conv_front(shape, rng) if op not in ("ReduceLogSum", "ReduceProd") else ([], [])
    src = "h" if nodes else "x"
    outs = []
    for i, (axes, kd) in enumerate([([1], 1), ([2], 0), ([0, 3], 1), ([1, 2, 3], 0), (None, 1)]):
        nodes += reduce_node(op, src, f"y{i}", axes, kd, opset)
        outs.append(f"y{i}")
    if opset >= 18:
        nodes += reduce_node(op, src, "noop", None, 1, opset, noop=1)
        outs.append("noop")
    check_session(make(nodes, shape, outs, inits, opset=opset), x)


@pytest.mark.parametrize("threads", [1, 2])
def test_large_reductions_split_across_threads(threads, isa, rng):
    """Few outputs over many elements: the reduced positions are split into parts (partial
    results merged), vertically (channels-last over the pixels) and horizontally (everything)."""
    shape = (1, 19, 97, 61)
    x = rng.standard_normal(shape).astype(np.float32) + 3.0
    nodes, inits = conv_front(shape, rng)
    nodes.append(helper.make_node("Relu", ["h"], ["hr"]))
    outs = []
    for i, (op, axes) in enumerate([("ReduceSum", [2, 3]), ("ReduceMax", [0, 2, 3]),
                                    ("ReduceSum", None), ("ReduceL2", [1, 2, 3]),
                                    ("ReduceLogSumExp", [2, 3]), ("ReduceMean", [3])]):
        nodes += reduce_node(op, "hr", f"y{i}", axes, 1, 18)
        outs.append(f"y{i}")
    nodes += reduce_node("ReduceSum", "x", "flat", None, 0, 18)
    outs.append("flat")
    with num_threads(threads):
        check_session(make(nodes, shape, outs, inits), x, rtol=5e-5)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("front", ["input", "conv"])
def test_arg_steps_return_int64(op, front, isa, rng):
    shape = (2, 6, 5, 7)
    x = np.round(2 * rng.standard_normal(shape)).astype(np.float32)
    nodes, inits, src = [], [], "x"
    if front == "conv":
        w = np.zeros((6, 6, 1, 1), np.float32)
        w[np.arange(6), np.arange(6)] = 1  # identity conv: keeps the ties
        nodes = [helper.make_node("Conv", ["x", "w"], ["h"])]
        inits, src = [numpy_helper.from_array(w, "w")], "h"
    outs = []
    for i, (axis, kd, last) in enumerate(itertools.product([0, 1, 2, -1], [0, 1], [0, 1])):
        nodes.append(helper.make_node(op, [src], [f"y{i}"], axis=axis, keepdims=kd,
                                      select_last_index=last))
        outs.append(f"y{i}")
    nodes.append(helper.make_node(op, [src], ["a"], axis=1))
    nodes.append(helper.make_node("Flatten", ["a"], ["z"], axis=1))  # a view keeps the indices
    outs.append("z")
    m = make(nodes, shape, outs, inits, opset=13, int_outs=outs)
    got = check_session(m, x)
    want = run_ort(m, x)
    for o, a, w in zip(outs, got, want, strict=True):
        np.testing.assert_array_equal(a, w, err_msg=o)


def test_arg_index_feeding_arithmetic_is_refused(rng):
    nodes = [helper.make_node("ArgMax", ["x"], ["a"], axis=1, name="am"),
             helper.make_node("Cast", ["a"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["f", "x"], ["y"])]
    m = make(nodes, (2, 3), ["y"], opset=13)
    with pytest.raises(ModelError, match=r"node am \(ArgMax\).*int64 output reaches .*Cast"):
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))


def test_non_spatial_reduce_mean_now_runs_and_spatial_stays_a_global_pool(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    nodes = reduce_node("ReduceMean", "x", "c", [1], 1, 18) + \
        reduce_node("ReduceMean", "x", "s", [2, 3], 0, 18)
    m = make(nodes, x.shape, ["c", "s"])
    cm = convengine.from_onnx(m.SerializeToString())
    assert [n.op_type for n in cm.graph.nodes if n.op_type != "Constant"] == \
        ["ReduceMean", "GlobalAveragePool", "Flatten"]
    got = convengine.InferenceSession(cm).run(None, {"x": x})
    for a, w in zip(got, run_ort(m, x), strict=True):
        assert_close(a, w, atol=1e-6, rtol=1e-5)


def test_bad_axes_are_refused(rng):
    m = make(reduce_node("ReduceSum", "x", "y", [1, -2], 1, 18), (2, 3, 4), ["y"])
    with pytest.raises(ModelError, match="axes .* repeat"):
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))
    m = make(reduce_node("ReduceMax", "x", "y", [3], 1, 18), (2, 3, 4), ["y"])
    with pytest.raises(ModelError, match=r"node 'y' \(ReduceMax\): axis must be in \[-rank, "
                       r"rank-1\]"):  # from_onnx refuses it, as onnxruntime
        convengine.from_onnx(m.SerializeToString())
    with pytest.raises(ModelError, match="axes 3 is out of range"):  # the planner too
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString(), validate=False))


# ---------------------------------------------------------------------------------------------
# constant folding (NF-Net weight standardisation reduces its weights)

@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float64, np.float32])
def test_reductions_of_constants_fold(dtype, rng):
    w = (rng.integers(-5, 6, (4, 3, 3, 3)) if np.dtype(dtype).kind == "i"
         else rng.standard_normal((4, 3, 3, 3))).astype(dtype)
    nodes = [Node("ReduceMean", ["w", "ax"], ["m"], "mean", {"keepdims": 1}),
             Node("ReduceSum", ["w"], ["s"], "sum", {"keepdims": 0}),
             Node("ReduceMax", ["w", "ax"], ["mx"], "max", {}),
             Node("ArgMax", ["w"], ["am"], "am", {"axis": 1}),
             Node("ReduceL1", ["w", "ax"], ["l1"], "l1", {})]
    g = Graph(nodes, [ValueInfo("x", [1])], [ValueInfo(n, None) for n in
                                             ("m", "s", "mx", "am", "l1")],
              {"w": w, "ax": np.array([1, 2, 3], np.int64)})
    folded = passes_fold.fold_constants(Model(g, opset=18))
    assert not folded.graph.nodes
    v = folded.graph.initializers
    ax = (1, 2, 3)
    want_m = w.astype(np.float64).mean(axis=ax, keepdims=True)
    if np.dtype(dtype).kind == "i":
        want_m = np.trunc(want_m)
    np.testing.assert_allclose(v["m"], want_m.astype(dtype), rtol=1e-6, atol=1e-7)
    assert v["m"].dtype == dtype and v["s"].dtype == dtype and v["am"].dtype == np.int64
    np.testing.assert_allclose(v["s"], w.astype(np.float64).sum().astype(dtype), rtol=1e-6)
    np.testing.assert_array_equal(v["mx"], w.max(axis=ax, keepdims=True))
    np.testing.assert_array_equal(v["am"], np.argmax(w, axis=1)[:, None])
    np.testing.assert_allclose(v["l1"], np.abs(w).sum(axis=ax, keepdims=True).astype(dtype),
                               rtol=1e-6)
