"""The tensor ops' ONNX rules, written once (_graph/rules_tensor.py; Gemm's, MatMul's and
Softmax's in _graph/rules.py) for the numpy interpreter and the planner: single-node models
built with onnx.helper run in the session (the planner's views and steps), the interpreter
and onnxruntime (the independent oracle) and must agree, on values and on refusals, which
name the node in convengine.

The cases marked "was:" are where the planner or the interpreter disagreed before the rules
were shared."""
import numpy as np
import pytest

from conftest import assert_close
import convengine as ce
from convengine._graph.evaluate import run_numpy
from convengine._graph.shape_inference import analyze
from convengine.model import ModelError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.capi.onnxruntime_pybind11_state import (  # noqa: E402
    Fail, InvalidArgument, InvalidGraph, RuntimeException)
from convengine.onnx_import import from_onnx  # noqa: E402

ORT_REFUSALS = (Fail, InvalidArgument, InvalidGraph, RuntimeException)
I = lambda *v: np.array(v, np.int64)  # noqa: E731


def _model(op, opset, inputs, inits, attrs, n_out=1):
    """One node `thenode` reading the float graph inputs `inputs` ({name: shape}) and then
    the initializers `inits` ({name: array}, "" for an absent input)."""
    names = list(inputs) + list(inits)
    outs = [f"y{i}" for i in range(n_out)]
    g = helper.make_graph(
        [helper.make_node(op, names, outs, name="thenode", **attrs)], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
        [numpy_helper.from_array(v, n) for n, v in inits.items() if n])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 10)
    return m


def _feeds(inputs):
    rng = np.random.default_rng(7)
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in inputs.items()}


def _ort(m, feeds):
    so = ort.SessionOptions()
    so.log_severity_level = 4
    return ort.InferenceSession(m.SerializeToString(), so,
                                providers=["CPUExecutionProvider"]).run(None, feeds)


def _all_three(m, feeds):
    model = from_onnx(m)
    ours = ce.InferenceSession(model).run(None, feeds)
    raw = ce.InferenceSession(model, optimize=False).run(None, feeds)
    ev = run_numpy(model, feeds)
    interp = [ev[o.name] for o in model.graph.outputs]
    return ours, raw, interp, _ort(m, feeds)


X = {"x": (2, 7, 6)}

AGREE = [
    # Split: sizes by opset
    ("split_attr_even", "Split", 11, X, {}, dict(axis=2), 3),
    ("split_equal_13", "Split", 13, X, {}, dict(axis=1), 7),
    ("split_input", "Split", 13, X, {"s": I(3, 0, 4)}, dict(axis=1), 3),
    ("split_attr_sizes", "Split", 11, X, {}, dict(axis=-1, split=[1, 5]), 2),
    ("split_num_outputs_smaller_last", "Split", 18, X, {}, dict(axis=1, num_outputs=3), 3),
    ("split_num_outputs_empty_last", "Split", 18, X, {}, dict(axis=2, num_outputs=4), 4),
    ("split_num_outputs_one", "Split", 18, X, {}, dict(axis=1, num_outputs=1), 1),
    ("split_input_18", "Split", 18, X, {"s": I(2, 5)}, dict(axis=1), 2),
    # Slice: clamping, negative steps, default axes and steps, INT64 extremes
    ("slice_clamped", "Slice", 13, X, {"s": I(-100, 2), "e": I(100, -1)}, {}, 1),
    ("slice_negative_steps", "Slice", 13, X,
     {"s": I(-1, 8, 3), "e": I(-100, 0, -100), "a": I(2, 1, 0), "t": I(-2, -3, -1)}, {}, 1),
    ("slice_int64_extremes", "Slice", 13, X,
     {"s": I(1, -1), "e": I(2 ** 63 - 1, -(2 ** 63)), "a": I(1, 2), "t": I(3, -2)}, {}, 1),
    ("slice_reverse_all", "Slice", 13, X, {"s": I(-1), "e": I(-(2 ** 63)), "a": I(-2),
                                             "t": I(-1)}, {}, 1),
    ("slice_step_past_end", "Slice", 13, X, {"s": I(4), "e": I(6), "a": I(1), "t": I(100)},
     {}, 1),
    # was: both sliced like numpy, whose start before the axis with a negative step selects
    # nothing; ONNX clamps it to 0 (element 0 is kept)
    ("slice_negative_step_start_before_axis", "Slice", 13, X,
     {"s": I(-10, -100), "e": I(-8, -200), "a": I(1, 2), "t": I(-2, -1)}, {}, 1),
    # Squeeze / Unsqueeze: axes by opset
    ("squeeze_attr", "Squeeze", 11, {"x": (2, 1, 6, 1)}, {}, dict(axes=[-1]), 1),
    ("squeeze_input", "Squeeze", 13, {"x": (2, 1, 6, 1)}, {"a": I(1, 3)}, {}, 1),
    ("squeeze_none", "Squeeze", 13, {"x": (2, 1, 6, 1)}, {}, {}, 1),
    # was: an empty axes input squeezed nothing in both (onnxruntime: every size-1 axis)
    ("squeeze_empty_axes", "Squeeze", 13, {"x": (2, 1, 6, 1)}, {"a": I()}, {}, 1),
    ("unsqueeze_attr", "Unsqueeze", 11, X, {}, dict(axes=[0, 4]), 1),
    ("unsqueeze_input", "Unsqueeze", 13, X, {"a": I(-1, 1)}, {}, 1),
    ("unsqueeze_unsorted", "Unsqueeze", 13, X, {"a": I(4, 0)}, {}, 1),
    # Concat, Flatten, Transpose, Gather
    ("flatten_0", "Flatten", 13, X, {}, dict(axis=0), 1),
    ("flatten_end", "Flatten", 13, X, {}, dict(axis=3), 1),
    ("flatten_negative", "Flatten", 13, X, {}, dict(axis=-1), 1),
    ("transpose_default", "Transpose", 13, X, {}, {}, 1),
    ("gather_int32_negative", "Gather", 13, X, {"i": np.array([0, -1, 3], np.int32)},
     dict(axis=1), 1),
    ("gather_scalar", "Gather", 13, X, {"i": np.array(-2, np.int64)}, dict(axis=-1), 1),
    ("gather_2d", "Gather", 13, X, {"i": I(1, 0, 5, 5).reshape(2, 2)}, dict(axis=2), 1),
    # Softmax's axis by opset: 1 and 2-D coercion before 13, -1 after
    ("softmax_11_default", "Softmax", 11, X, {}, {}, 1),
    ("softmax_11_axis2", "Softmax", 11, X, {}, dict(axis=2), 1),
    ("softmax_13_default", "Softmax", 13, X, {}, {}, 1),
    ("softmax_13_axis1", "Softmax", 13, X, {}, dict(axis=1), 1),
    ("logsoftmax_11_default", "LogSoftmax", 11, X, {}, {}, 1),
    # Gemm / MatMul shapes
    ("gemm_trans_runtime_b", "Gemm", 13, {"a": (5, 3), "b": (4, 5)}, {},
     dict(transA=1, transB=1), 1),
    ("gemm_trans_const_b", "Gemm", 13, {"a": (5, 3)}, {"b": np.ones((4, 5), np.float32)},
     dict(transA=1, transB=1, alpha=0.5), 1),
    ("matmul_1d_a", "MatMul", 13, {"a": (4,), "b": (2, 4, 6)}, {}, {}, 1),
    ("matmul_1d_b", "MatMul", 13, {"a": (2, 3, 4), "b": (4,)}, {}, {}, 1),
    ("matmul_broadcast", "MatMul", 13, {"a": (3, 1, 2, 4), "b": (2, 4, 5)}, {}, {}, 1),
]


@pytest.mark.parametrize("name,op,opset,inputs,inits,attrs,n_out", AGREE,
                         ids=[c[0] for c in AGREE])
def test_session_interpreter_and_onnxruntime_agree(name, op, opset, inputs, inits, attrs, n_out):
    feeds = _feeds(inputs)
    ours, raw, interp, ref = _all_three(_model(op, opset, inputs, inits, attrs, n_out), feeds)
    assert len(ours) == len(raw) == len(interp) == len(ref) == n_out
    for o, r0, e, r in zip(ours, raw, interp, ref):
        assert o.shape == r0.shape == e.shape == r.shape
        assert_close(o, r)
        assert_close(r0, r)
        assert_close(e, r)


def test_concat_negative_axis_agrees():
    inputs = {"a": (2, 3, 4), "b": (2, 5, 4)}
    feeds = _feeds(inputs)
    ours, raw, interp, ref = _all_three(_model("Concat", 13, inputs, {}, dict(axis=-2)), feeds)
    for o in (ours, raw, interp):
        assert_close(o[0], ref[0])


REFUSED = [
    # was: the planner split 7 into (3, 3, 1) where ONNX requires equal parts
    ("split_uneven_11", "Split", 11, X, {}, dict(axis=1), 3, "does not split evenly"),
    ("split_uneven_13", "Split", 13, X, {}, dict(axis=1), 3, "does not split evenly"),
    # was: both accepted an opset-18 Split with neither split nor num_outputs
    ("split_18_neither", "Split", 18, X, {}, dict(axis=2), 3, "neither the split input"),
    # was: the interpreter gave (2, 2, 1, 0), the planner refused with a negative part
    ("split_num_outputs_negative_last", "Split", 18, {"x": (2, 5)}, {},
     dict(axis=1, num_outputs=4), 4, "num_outputs 4 parts of 2"),
    # was: both accepted split and num_outputs together
    ("split_both", "Split", 18, X, {"s": I(3, 4)}, dict(axis=1, num_outputs=2), 2,
     "both split"),
    ("split_sum", "Split", 13, X, {"s": I(3, 3)}, dict(axis=1), 2, "does not divide"),
    # was: the planner read float indices as integers
    ("gather_float_indices", "Gather", 13, X, {"i": np.array([0, 1], np.float32)},
     dict(axis=1), 1, "indices must be integers"),
    ("gather_out_of_range", "Gather", 13, X, {"i": I(0, 7)}, dict(axis=1), 1, "out of range"),
    ("slice_step_0", "Slice", 13, X, {"s": I(0), "e": I(2), "a": I(1), "t": I(0)}, {}, 1,
     "steps must not be 0"),
    ("slice_repeated_axis", "Slice", 13, X, {"s": I(0, 1), "e": I(2, 3), "a": I(1, -2)}, {}, 1,
     "repeat an axis"),
    ("squeeze_not_one", "Squeeze", 13, X, {"a": I(1)}, {}, 1, "cannot squeeze axis 1"),
    ("unsqueeze_repeat", "Unsqueeze", 13, X, {"a": I(1, -4)}, {}, 1, "repeat"),
    ("transpose_short_perm", "Transpose", 13, X, {}, dict(perm=[1, 0]), 1, "not a permutation"),
    ("flatten_axis", "Flatten", 13, X, {}, dict(axis=4), 1, "axis 4 out of range"),
    ("concat_axis", "Concat", 13, X, {}, dict(axis=3), 1, "axis 3 out of range"),
    # was: the session's message came from the C++ matmul step without the node's op
    ("gemm_inner", "Gemm", 13, {"a": (3, 4), "b": (5, 6)}, {}, {}, 1, "inner dimensions differ"),
    ("gemm_rank", "Gemm", 13, {"a": (3, 4), "b": (4, 6, 1)}, {}, {}, 1, "must be 2D"),
    ("matmul_inner", "MatMul", 13, {"a": (2, 3, 4), "b": (5, 6)}, {}, {}, 1, "do not match"),
    ("matmul_batch", "MatMul", 13, {"a": (2, 3, 4), "b": (3, 4, 6)}, {}, {}, 1,
     "do not broadcast"),
]


@pytest.mark.parametrize("name,op,opset,inputs,inits,attrs,n_out,match", REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_refusals_agree_and_name_the_node(name, op, opset, inputs, inits, attrs, n_out, match):
    m = _model(op, opset, inputs, inits, attrs, n_out)
    feeds = _feeds(inputs)
    with pytest.raises(ORT_REFUSALS):
        _ort(m, feeds)
    try:  # from_onnx refuses much of it as onnxruntime does; unchecked, the planner and the
        from_onnx(m)  # numpy evaluator refuse the same and name the node
    except ModelError as e:
        assert f"node 'thenode' ({op}): " in str(e)
    model = from_onnx(m, validate=False)
    for optimize in (True, False):
        with pytest.raises(ModelError, match=f"node thenode \\({op}\\): .*{match}"):
            ce.InferenceSession(model, optimize=optimize).run(None, feeds)
    with pytest.raises(ModelError, match=f"node 'thenode' \\({op}\\): .*{match}"):
        run_numpy(model, feeds)


@pytest.mark.parametrize("op,a,b,attrs", [("Gemm", (3, 4), (5, 6), {}),
                                          ("Gemm", (3, 4), (6, 5), dict(transB=1)),
                                          ("MatMul", (2, 3, 4), (5, 6), {})])
def test_shape_inference_knows_no_shape_for_a_bad_product(op, a, b, attrs):
    """was: shape inference gave the product a shape ((3, 6), (2, 3, 6)) ONNX refuses."""
    with pytest.raises(ModelError, match=f"node 'thenode' \\({op}\\): "):
        from_onnx(_model(op, 13, {"a": a, "b": b}, {}, attrs))
    model = from_onnx(_model(op, 13, {"a": a, "b": b}, {}, attrs), validate=False)
    assert analyze(model)["y0"].shape is None
    good = from_onnx(_model(op, 13, {"a": a, "b": b[:-2] + (a[-1], b[-1])}, {}, {}))
    assert analyze(good)["y0"].shape is not None


def _slice_cases():
    """Deterministic random slices of a (5, 9) tensor: starts and ends past both ends of the
    axes, steps of both signs, one or both axes."""
    rng = np.random.default_rng(21)
    cases = []
    for _ in range(48):
        k = int(rng.integers(1, 3))
        axes = [int(a) for a in rng.permutation([0, -1])[:k]]
        steps = rng.choice([-3, -2, -1, 1, 2, 3], k)
        starts = rng.integers(-7, 7, k)
        ends = starts + steps * rng.integers(0, 8, k)  # a third of the slices are empty
        cases.append((I(*starts), I(*ends), I(*axes), I(*steps)))
    return cases


@pytest.mark.parametrize("starts,ends,axes,steps", _slice_cases())
def test_slice_sweep_agrees(starts, ends, axes, steps):
    inputs = {"x": (5, 9)}
    m = _model("Slice", 13, inputs, {"s": starts, "e": ends, "a": axes, "t": steps}, {})
    feeds = _feeds(inputs)
    ours, raw, interp, (ref,) = _all_three(m, feeds)
    for o in (ours[0], raw[0], interp[0]):
        assert o.shape == ref.shape
        assert_close(o, ref)


def test_a_short_perm_after_a_transpose_is_refused_as_written():
    """The layout pass reads perm by the same rule: a perm that does not fit the rank leaves the
    Transpose pair alone (was: merged into a perm the model never had), so the refusal names
    the node and the perm it was given, as the interpreter's and onnxruntime's do."""
    g = helper.make_graph(
        [helper.make_node("Transpose", ["x"], ["t"], name="first", perm=[1, 0, 2]),
         helper.make_node("Transpose", ["t"], ["y"], name="thenode", perm=[1, 0])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = min(m.ir_version, 10)
    feeds = _feeds({"x": (2, 3, 4)})
    with pytest.raises(ORT_REFUSALS):
        _ort(m, feeds)
    model = from_onnx(m)
    match = r"node thenode \(Transpose\): perm \[1, 0\] is not a permutation of 3 axes"
    for optimize in (True, False):
        with pytest.raises(ModelError, match=match):
            ce.InferenceSession(model, optimize=optimize)
    with pytest.raises(ModelError, match="node 'thenode' .*perm \\[1, 0\\]"):
        run_numpy(model, feeds)
