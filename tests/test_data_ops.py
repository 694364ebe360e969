"""The data-movement, sampling and shape-arithmetic ops (eval_data.py, lower_data.py,
engine/steps_data.cpp): the numpy reference against onnxruntime op by op (every dtype numpy
holds in constants), the run-time steps against the reference over awkward shapes (channels-last
inputs from a conv and plain NCHW inputs, both ISAs, 1 and 2 threads), whole graphs against
onnxruntime, GridSample against torch, and the errors."""
import math

import numpy as np
import pytest

import convengine as ce
from convengine.model import Graph, Model, ModelError, Node, ValueInfo
from convengine._graph.evaluate import eval_node, run_numpy
from conftest import assert_close, needs_torch, num_threads

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import helper, numpy_helper  # noqa: E402


def _ort_session(proto):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _proto(nodes, feeds, consts, outputs, opset):
    """An ONNX model: `feeds` {name: array} become graph inputs, `consts` initializers,
    `outputs` {name: dtype}."""
    vi = lambda n, a: helper.make_tensor_value_info(
        n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
    graph = helper.make_graph(
        nodes, "g", [vi(n, a) for n, a in feeds.items()],
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.dtype(d)), None)
         for n, d in outputs.items()],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in consts.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 10)
    return m


def ort_node(op, inputs, attrs, out_dtype, opset=17):
    """One node in onnxruntime; every input is a graph input."""
    names = [f"i{k}" if a is not None else "" for k, a in enumerate(inputs)]
    feeds = {n: a for n, a in zip(names, inputs) if a is not None}
    proto = _proto([helper.make_node(op, names, ["o"], **attrs)], feeds, {}, {"o": out_dtype},
                   opset)
    return _ort_session(proto).run(None, feeds)[0]


def ref_node(op, inputs, attrs, opset=17):
    node = Node(op, [f"i{k}" if a is not None else "" for k, a in enumerate(inputs)], ["o"], "n",
                dict(attrs))
    return eval_node(node, inputs, opset)[0]


def A(*v, dt=np.float32):
    return np.array(v, dt)


F, I64, I32 = np.float32, np.int64, np.int32
SPECIAL = A(-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 3.49, -3.51, 7.0, np.inf, -np.inf, np.nan,
            1e30, -1e-30)


def _r(seed, *shape, scale=3.0, dt=np.float32):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dt)


def _i(seed, *shape, lo=-9, hi=10, dt=np.int64):
    return np.random.default_rng(seed).integers(lo, hi, shape).astype(dt)


def _b(seed, *shape):
    return np.random.default_rng(seed).random(shape) < 0.5


# (id, op, inputs, attrs, opset)
REF_CASES = [
    *[(f"{op}-{dt.__name__}", op, [SPECIAL.astype(dt)], {}, 17)
      for op in ("Floor", "Ceil", "Round") for dt in (np.float32, np.float64)],
    ("Round-ties", "Round", [np.arange(-8, 8, dtype=F) + F(0.5)], {}, 17),
    ("Sign-f32", "Sign", [SPECIAL], {}, 17),
    ("Sign-f64", "Sign", [SPECIAL.astype(np.float64)], {}, 17),
    ("Sign-i64", "Sign", [_i(1, 3, 5)], {}, 17),
    ("Sign-i32", "Sign", [_i(2, 7, dt=I32)], {}, 17),
    ("Mod-i64", "Mod", [_i(3, 4, 5), _i(4, 5, lo=1, hi=7) * np.array([1, -1, 1, -1, 1])], {}, 17),
    ("Mod-i64-fmod", "Mod", [_i(5, 4, 5), _i(6, 1, 5, lo=1, hi=7) * np.array([1, -1, 1, -1, 1])],
     {"fmod": 1}, 17),
    ("Mod-i32-bcast", "Mod", [_i(7, 2, 3, 4, dt=I32), A(3, -4, 5, -2, dt=I32)], {}, 17),
    ("Mod-u8", "Mod", [_i(8, 9, lo=0, hi=255, dt=np.uint8), A(7, dt=np.uint8)], {}, 17),
    ("Mod-f32-fmod", "Mod", [_r(9, 3, 7), _r(10, 7) + F(0.1)], {"fmod": 1}, 17),
    ("Mod-f64-fmod", "Mod", [A(-4.0, 4.0, -5.5, 5.5, 0.0, -0.0, dt=np.float64),
                             A(2.0, -2.0, 2.0, -2.0, 3.0, 3.0, dt=np.float64)], {"fmod": 1}, 17),
    *[(f"{op}-{k}", op, ins, {}, 17) for op in ("Equal", "Less", "LessOrEqual", "Greater",
                                                 "GreaterOrEqual")
      for k, ins in (("f32", [SPECIAL, SPECIAL[::-1].copy()]),
                     ("f32-bcast", [_r(11, 3, 1, 5).round(), _r(12, 4, 1).round()]),
                     ("i64", [_i(13, 2, 6, lo=-2, hi=3), _i(14, 6, lo=-2, hi=3)]),
                     ("i32", [_i(15, 5, dt=I32), A(0, dt=I32)]),
                     ("f64", [SPECIAL.astype(np.float64), np.float64(0.5).reshape(())]))],
    ("Equal-bool", "Equal", [_b(16, 2, 3), _b(17, 3)], {}, 17),
    *[(op, op, [_b(18, 3, 1, 4), _b(19, 5, 1)], {}, 17) for op in ("And", "Or", "Xor")],
    ("Not", "Not", [_b(20, 4, 3)], {}, 17),
    ("Where-3way", "Where", [_b(21, 1, 4, 1), _r(22, 3, 1, 5), _r(23, 1, 1)], {}, 17),
    ("Where-i64", "Where", [_b(24, 5), _i(25, 2, 5), _i(26, 1)], {}, 17),
    ("Where-i32", "Where", [_b(27, 2, 3), _i(28, 3, dt=I32), _i(29, 2, 1, dt=I32)], {}, 17),
    ("Expand-grow", "Expand", [_r(30, 3, 1), A(2, 1, 6, dt=I64)], {}, 17),
    ("Expand-ones-keep", "Expand", [_r(31, 2, 3), A(1, 1, dt=I64)], {}, 17),
    ("Expand-scalar", "Expand", [np.float32(2.5).reshape(()), A(4, dt=I64)], {}, 17),
    ("Expand-bidir", "Expand", [_r(32, 1, 3, 1), A(4, 1, 5, dt=I64)], {}, 17),
    ("Expand-i64", "Expand", [_i(33, 1, 2), A(3, 2, dt=I64)], {}, 17),
    ("Expand-zero", "Expand", [_r(34, 2, 1), A(2, 0, dt=I64)], {}, 17),
    ("Tile-1d", "Tile", [_r(35, 5), A(3, dt=I64)], {}, 17),
    ("Tile-4d", "Tile", [_r(36, 2, 1, 3, 2), A(1, 3, 2, 2, dt=I64)], {}, 17),
    ("Tile-zero", "Tile", [_r(37, 2, 3), A(0, 2, dt=I64)], {}, 17),
    ("Tile-i32", "Tile", [_i(38, 2, 3, dt=I32), A(2, 1, dt=I64)], {}, 17),
    *[(f"DepthToSpace-{m}-{b}", "DepthToSpace", [_r(39, 2, 2 * b * b, 3, 5)],
       {"blocksize": b, "mode": m}, 17) for m in ("DCR", "CRD") for b in (1, 2, 3)],
    *[(f"SpaceToDepth-{b}", "SpaceToDepth", [_r(40, 2, 3, 3 * b, 2 * b)], {"blocksize": b}, 17)
      for b in (1, 2, 3)],
    ("Range-i64", "Range", [np.int64(3), np.int64(17), np.int64(4)], {}, 17),
    ("Range-i64-neg", "Range", [np.int64(10), np.int64(-3), np.int64(-3)], {}, 17),
    ("Range-i64-empty", "Range", [np.int64(5), np.int64(1), np.int64(2)], {}, 17),
    ("Range-i32", "Range", [np.int32(-7), np.int32(8), np.int32(5)], {}, 17),
    ("Range-f32", "Range", [np.float32(0.5), np.float32(3.2), np.float32(0.3)], {}, 17),
    ("Range-f64", "Range", [np.float64(1.0), np.float64(-2.0), np.float64(-0.25)], {}, 17),
    *[(f"EyeLike-{s[0]}x{s[1]}-k{k}", "EyeLike", [_r(41, *s)], {"k": k}, 17)
      for s in ((3, 5), (5, 3), (4, 4)) for k in (-6, -1, 0, 2, 7)],
    ("EyeLike-dtype-i64", "EyeLike", [_r(42, 3, 4)], {"dtype": 7}, 17),
    ("EyeLike-i32-in", "EyeLike", [_i(43, 2, 3, dt=I32)], {"k": 1}, 17),
    *[(f"CumSum-r{len(s)}-a{a}-e{e}-r{r}-{dt.__name__}", "CumSum",
       [(_r(44, *s) if dt == F else _i(44, *s, dt=dt)), np.array(a, I64)],
       {"exclusive": e, "reverse": r}, 17)
      for s in ((7,), (3, 5), (2, 3, 4)) for a in range(-len(s), len(s)) for e in (0, 1)
      for r in (0, 1) for dt in (F, I64)],
    ("CumSum-i32-axis", "CumSum", [_i(45, 3, 4, dt=I32), np.array(1, I32)], {}, 17),
    ("CumSum-f64", "CumSum", [_r(46, 4, 3, dt=np.float64), np.array(0, I64)], {"reverse": 1}, 17),
    *[(f"GatherElements-{k}-a{a}", "GatherElements", [d, i], {"axis": a}, 17)
      for k, d, i, axes in (
          ("1d", _r(48, 7), _i(49, 9, lo=-7, hi=7), (0, -1)),
          ("2d-smaller", _r(50, 4, 6), _i(51, 3, 5, lo=-4, hi=4), (0, 1)),
          ("3d", _i(52, 2, 3, 5, dt=I32), _i(53, 2, 3, 5, lo=-2, hi=2, dt=I32), (0, 1, 2, -2)),
          ("4d-f64", _r(54, 2, 3, 4, 5, dt=np.float64), _i(55, 2, 3, 4, 5, lo=0, hi=2),
           (0, 1, 2, 3)))
      for a in axes],
    *[(f"GatherND-b{b}-{k}", "GatherND", [d, i], {"batch_dims": b}, 17)
      for b, k, d, i in (
          (0, "full", _r(56, 3, 4), _i(57, 5, 2, lo=-3, hi=3)),
          (0, "slices", _r(58, 3, 4, 5), _i(59, 2, 2, 1, lo=-3, hi=3)),
          (0, "pairs-i32", _i(60, 3, 4, 5, dt=I32), _i(61, 6, 2, lo=0, hi=3)),
          (1, "batch", _r(62, 2, 3, 4), _i(63, 2, 5, 1, lo=-3, hi=3)),
          (1, "batch-full", _r(64, 2, 3, 4), _i(65, 2, 2, lo=0, hi=3)),
          (2, "two-batch", _r(66, 2, 3, 4, 5), _i(67, 2, 3, 7, 2, lo=0, hi=4)))],
    ("Size", "Size", [_r(47, 2, 3, 5)], {}, 17),
    ("Size-scalar", "Size", [np.float32(1).reshape(())], {}, 17),
]


@pytest.mark.parametrize("case", REF_CASES, ids=[c[0] for c in REF_CASES])
def test_reference_matches_onnxruntime(case):
    _, op, inputs, attrs, opset = case
    ins = [np.asarray(a) for a in inputs]
    got = ref_node(op, ins, attrs, opset)
    want = ort_node(op, ins, attrs, got.dtype, opset)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.shape)
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, equal_nan=True)
        # signed zeros and the rounding of ties must agree bit for bit where ORT is exact
        if op in ("Floor", "Ceil", "Round", "Sign"):
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    else:
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------------------ GridSample

def _grid(seed, n, out_sp, r, scale=1.3, specials=True):
    g = _r(seed, n, *out_sp, r, scale=scale)
    if specials:  # points on pixel centres, corners, exact ties and far outside
        flat = g.reshape(-1)
        k = min(flat.size, 10)
        flat[:k] = A(-1, 1, 0, 3.0, -2.5, 1.0000001, -1.0000001, 0.5, -7.25, 25.0)[:k]
    return g


GS_MODES = [("bilinear", "linear"), ("nearest", "nearest"), ("bicubic", "cubic")]
GS_PADS = ("zeros", "border", "reflection")


@pytest.mark.parametrize("rank", [4, 5])
@pytest.mark.parametrize("mode", GS_MODES, ids=[m[1] for m in GS_MODES])
@pytest.mark.parametrize("pad", GS_PADS)
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_reference_matches_onnxruntime(rank, mode, pad, align):
    if rank == 5 and mode[1] == "cubic":
        pytest.skip("onnxruntime has no 3-D cubic GridSample")
    sp = (5, 7) if rank == 4 else (3, 4, 5)
    x = _r(50 + rank, 2, 3, *sp, scale=1.0)
    g = _grid(60 + rank, 2, (4, 6, 5)[:rank - 2], rank - 2)
    for opset, name in ((16, mode[0]), (20, mode[1])):
        if rank == 5 and opset == 16:
            continue
        attrs = {"mode": name, "padding_mode": pad, "align_corners": align}
        got = ref_node("GridSample", [x, g], attrs, opset)
        want = ort_node("GridSample", [x, g], attrs, np.float32, opset)
        assert_close(got, want, atol=3e-6, rtol=1e-5, what=f"opset {opset}")


@needs_torch
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("pad", GS_PADS)
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_session_matches_torch(mode, pad, align):
    import torch
    import torch.nn.functional as tF
    x = _r(70, 2, 17, 6, 9, scale=1.0)
    # no exact ties: torch reflects a nearest coordinate before rounding it, onnxruntime after
    g = _grid(71, 2, (5, 7), 2, specials=False)
    m = _model([Node("GridSample", ["x", "g"], ["y"], "gs",
                     {"mode": mode, "padding_mode": pad, "align_corners": align})],
               [("x", x.shape), ("g", g.shape)], ["y"], {})
    got = ce.InferenceSession(m).run(None, {"x": x, "g": g})[0]
    want = tF.grid_sample(torch.from_numpy(x), torch.from_numpy(g), mode=mode, padding_mode=pad,
                          align_corners=bool(align)).numpy()
    assert_close(got, want, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------ sessions

def _model(nodes, inputs, outputs, inits, opset=17):
    return Model(Graph(nodes, [ValueInfo(n, list(s)) for n, s in inputs],
                       [ValueInfo(n, None) for n in outputs], inits), opset=opset)


def _identity_conv(c, rank):
    return np.eye(c, dtype=np.float32).reshape((c, c) + (1,) * (rank - 2))


def _session_vs_reference(nodes, x, outputs, inits, cl, threads=1, opset=17, extra=None,
                          atol=0.0, rtol=0.0):
    """Runs `nodes` reading "x0" in a session and in the numpy reference. With cl, x0 is the
    output of an identity 1x1 conv of x (channels-last, exact), else x itself."""
    inits = dict(inits)
    nodes = list(nodes)
    if cl:
        inits["wid"] = _identity_conv(x.shape[1], x.ndim)
        nodes.insert(0, Node("Conv", ["x", "wid"], ["x0"], "id_conv"))
    else:
        nodes.insert(0, Node("Identity", ["x"], ["x0"], "ident"))
    feeds = {"x": x, **(extra or {})}
    m = _model(nodes, [(k, v.shape) for k, v in feeds.items()], outputs, inits, opset)
    want = run_numpy(m, feeds)
    with num_threads(threads):
        got = ce.InferenceSession(m).run(None, feeds)
    for name, g in zip(outputs, got, strict=True):
        w = want[name]
        assert g.shape == w.shape, f"{name}: {g.shape} vs {w.shape}"
        if atol == 0 and rtol == 0:
            np.testing.assert_array_equal(g, w.astype(np.float32), err_msg=name)
        else:
            assert_close(g, w, atol=atol, rtol=rtol, what=name)
    return got


SHAPES4 = [(1, 1, 1, 1), (2, 3, 5, 7), (1, 17, 13, 3), (3, 5, 1, 11)]


@pytest.mark.parametrize("shape", SHAPES4)
@pytest.mark.parametrize("cl", [False, True])
def test_rounding_and_sign(rng, isa, shape, cl):
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    x.reshape(-1)[:min(x.size, SPECIAL.size)] = SPECIAL[:min(x.size, SPECIAL.size)]
    if cl:  # an identity conv turns inf * 0 into NaN: keep the input finite
        x = np.nan_to_num(x, nan=0.5, posinf=3.5, neginf=-4.5)
    nodes = [Node(op, ["x0"], [op.lower()], op) for op in ("Floor", "Ceil", "Round", "Sign")]
    got = _session_vs_reference(nodes, x, ["floor", "ceil", "round", "sign"], {}, cl)
    if not cl:  # (the identity conv may turn -0 into +0)
        for g, op in zip(got, ("Floor", "Ceil", "Round", "Sign"), strict=True):
            np.testing.assert_array_equal(np.signbit(g), np.signbit(ref_node(op, [x], {})),
                                          err_msg=f"{op}: signed zeros")


@pytest.mark.parametrize("threads", [1, 2])
def test_elementwise_large_threads(rng, isa, threads):
    x = (rng.standard_normal((2, 17, 33, 31)) * 4).astype(np.float32)
    inits = {"d": (rng.random((17, 1, 31)) + 0.5).astype(np.float32),
             "cond": rng.random((1, 17, 33, 1)) < 0.5, "ax": np.array(2, np.int64)}
    nodes = [Node("Round", ["x0"], ["r"], "r"), Node("Mod", ["x0", "d"], ["m"], "m", {"fmod": 1}),
             Node("Where", ["cond", "x0", "r"], ["w"], "w"),
             Node("CumSum", ["x0", "ax"], ["cs"], "cs"),
             Node("Less", ["x0", "r"], ["lt"], "lt"),
             Node("Where", ["lt", "x0", "m"], ["w2"], "w2")]
    for cl in (False, True):
        _session_vs_reference(nodes, x, ["r", "m", "w", "w2"], inits, cl, threads)
        _session_vs_reference(nodes, x, ["cs"], inits, cl, threads, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("fmod_b", ["same", "row", "scalar", "neg"])
def test_mod_fmod_broadcasting(rng, isa, fmod_b):
    x = (rng.standard_normal((2, 3, 4, 5)) * 7).astype(np.float32)
    d = {"same": rng.standard_normal((2, 3, 4, 5)), "row": rng.standard_normal((5,)),
         "scalar": np.array(2.5), "neg": -np.abs(rng.standard_normal((3, 1, 1))) - 0.5}[fmod_b]
    inits = {"d": d.astype(np.float32)}
    nodes = [Node("Mod", ["x0", "d"], ["m"], "m", {"fmod": 1}),
             Node("Mod", ["d", "x0"], ["m2"], "m2", {"fmod": 1})]
    _session_vs_reference(nodes, x, ["m", "m2"], inits, False)


def test_mod_floor_form_runs_at_opset_28(rng, isa):
    x = (rng.standard_normal((2, 3, 7)) * 5).astype(np.float32)
    inits = {"d": np.array([2.0, -2.0, 0.75], np.float32).reshape(3, 1)}
    _session_vs_reference([Node("Mod", ["x0", "d"], ["m"], "m")], x, ["m"], inits, False,
                          opset=28)
    with pytest.raises(ModelError, match="fmod must be 1"):
        _session_vs_reference([Node("Mod", ["x0", "d"], ["m"], "m")], x, ["m"], inits, False)


COND_SHAPES = [(1, 1, 1, 1), (1, 3, 1, 1), (2, 1, 5, 1), (5, 7), (7,), (2, 3, 5, 7)]


@pytest.mark.parametrize("cshape", COND_SHAPES)
@pytest.mark.parametrize("cl", [False, True])
def test_where_constant_condition_broadcasting(rng, isa, cshape, cl):
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    cond = rng.random(cshape) < 0.5
    inits = {"c": cond, "y": rng.standard_normal((3, 1, 7)).astype(np.float32),
             "s": np.array(-1.5, np.float32), "all": np.ones(cshape, bool),
             "none": np.zeros(cshape, bool)}
    nodes = [Node("Where", ["c", "x0", "y"], ["w1"], "w1"),
             Node("Where", ["c", "s", "x0"], ["w2"], "w2"),
             Node("Floor", ["x0"], ["f"], "f"), Node("Where", ["c", "x0", "f"], ["w3"], "w3"),
             Node("Where", ["all", "x0", "y"], ["w4"], "w4"),
             Node("Where", ["none", "x0", "y"], ["w5"], "w5")]
    _session_vs_reference(nodes, x, ["w1", "w2", "w3", "w4", "w5"], inits, cl)


def test_runtime_masks_feed_where_through_logical_ops(rng, isa):
    x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    inits = {"z": np.zeros((5, 1, 1), np.float32), "h": np.array(0.5, np.float32),
             "keep": rng.random((4, 3)) < 0.5}
    nodes = [Node("Greater", ["x0", "z"], ["gt"], "gt"),
             Node("LessOrEqual", ["x0", "h"], ["le"], "le"),
             Node("And", ["gt", "le"], ["band"], "and"), Node("Not", ["band"], ["nb"], "not"),
             Node("Xor", ["nb", "keep"], ["xr"], "xor"), Node("Or", ["xr", "gt"], ["orr"], "or"),
             Node("Equal", ["x0", "h"], ["eq"], "eq"),
             Node("GreaterOrEqual", ["x0", "z"], ["ge"], "ge"),
             Node("Less", ["x0", "h"], ["lt"], "lt"),
             Node("Equal", ["ge", "lt"], ["eqb"], "eqb"),
             Node("Where", ["orr", "x0", "h"], ["y1"], "w1"),
             Node("Where", ["eqb", "h", "x0"], ["y2"], "w2"),
             Node("Where", ["eq", "x0", "z"], ["y3"], "w3"),
             Node("Where", ["ge", "gt", "lt"], ["mb"], "wb"),
             Node("Where", ["mb", "x0", "z"], ["y4"], "w4")]
    for cl in (False, True):
        _session_vs_reference(nodes, x, ["y1", "y2", "y3", "y4"], inits, cl)


@pytest.mark.parametrize("consumer", ["Add", "Conv", "Relu", "output", "Concat"])
@pytest.mark.parametrize("src_shape,shape", [
    ((1, 3, 1, 1), (2, 3, 5, 7)), ((3, 1, 7), (2, 3, 5, 7)), ((1,), (2, 3, 5, 7)),
    ((2, 3, 1, 7), (1, 1, 5, 1)), ((2, 3, 5, 7), (3, 1, 1)), ((1, 3, 5, 1), (2, 1, 1, 7))])
def test_expand_forms_and_consumers(rng, isa, consumer, src_shape, shape):
    x = rng.standard_normal(src_shape).astype(np.float32)
    out = tuple(np.broadcast_shapes(src_shape, shape))
    inits = {"shape": np.array(shape, np.int64),
             "b": rng.standard_normal(out).astype(np.float32),
             "w": rng.standard_normal((4, out[1], 1, 1)).astype(np.float32)}
    nodes = [Node("Identity", ["x"], ["x0"], "ident"), Node("Expand", ["x0", "shape"], ["e"], "e")]
    outs = ["e"]
    tol = 0
    if consumer == "Add":
        nodes.append(Node("Add", ["e", "b"], ["y"], "add"))
        outs = ["y"]
    elif consumer == "Relu":
        nodes.append(Node("Relu", ["e"], ["y"], "relu"))
        outs = ["y"]
    elif consumer == "Conv":
        nodes.append(Node("Conv", ["e", "w"], ["y"], "conv"))
        outs, tol = ["y"], 1e-5
    elif consumer == "Concat":   # the expanded tensor goes to a slot of the concat buffer
        nodes.append(Node("Concat", ["e", "b"], ["y"], "cat", {"axis": 1}))
        outs = ["y"]
    m = _model(nodes, [("x", src_shape)], outs, inits)
    want = run_numpy(m, {"x": x})
    got = ce.InferenceSession(m).run(None, {"x": x})
    for o, g in zip(outs, got, strict=True):
        assert_close(g, want[o], atol=tol, rtol=tol, what=o) if tol else \
            np.testing.assert_array_equal(g, want[o])


def test_expand_is_a_view(rng):
    x = rng.standard_normal((1, 8, 1, 1)).astype(np.float32)
    inits = {"shape": np.array([2, 8, 9, 9], np.int64), "b": np.ones((2, 8, 9, 9), np.float32)}
    m = _model([Node("Identity", ["x"], ["x0"], "i"), Node("Expand", ["x0", "shape"], ["e"], "e"),
                Node("Mul", ["e", "b"], ["y"], "mul")], [("x", x.shape)], ["y"], inits)
    s = ce.InferenceSession(m)
    assert not [r for r in s.describe() if r["op"] == "Expand"]   # no copy step of its own
    np.testing.assert_array_equal(s.run(None, {"x": x})[0], np.broadcast_to(x, (2, 8, 9, 9)))


@pytest.mark.parametrize("shape,reps", [
    ((7,), (3,)), ((2, 3), (1, 4)), ((1, 5, 3), (2, 1, 3)), ((2, 3, 5, 7), (1, 2, 1, 3)),
    ((2, 1, 3, 1), (2, 3, 2, 3)), ((3, 1, 2, 5, 1), (2, 2, 2, 1, 3)),
    ((2, 2, 1, 2, 2, 1), (2, 2, 2, 2, 2, 2)), ((1, 17, 4, 4), (2, 1, 1, 1))])
def test_tile_every_rank(rng, isa, shape, reps):
    x = rng.standard_normal(shape).astype(np.float32)
    inits = {"reps": np.array(reps, np.int64)}
    nodes = [Node("Tile", ["x0", "reps"], ["t"], "tile")]
    _session_vs_reference(nodes, x, ["t"], inits, False)
    if 3 <= len(shape) <= 5:
        _session_vs_reference(nodes, x, ["t"], inits, True)
    m = _model([Node("Tile", ["x", "reps"], ["t"], "tile")], [("x", shape)], ["t"], inits)
    steps = [r for r in ce.InferenceSession(m).describe() if r["op"] == "Tile"]
    assert 1 <= len(steps) <= 4       # a few strided copies, not one per repetition


@pytest.mark.parametrize("b", [1, 2, 3])
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("cl", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_depth_to_space_and_back(rng, isa, b, mode, cl, threads):
    n, c, h, w = (2, 3 * b * b, 5, 7) if threads == 1 else (2, 17 * b * b, 23, 19)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    nodes = [Node("DepthToSpace", ["x0"], ["d"], "d2s", {"blocksize": b, "mode": mode}),
             Node("SpaceToDepth", ["d"], ["s"], "s2d", {"blocksize": b, "mode": mode}),
             Node("SpaceToDepth", ["x0"], ["s2"], "s2d2", {"blocksize": 1}),
             Node("Relu", ["d"], ["dr"], "relu")]
    got = _session_vs_reference(nodes, x, ["d", "s", "s2", "dr"], {}, cl, threads)
    np.testing.assert_array_equal(got[1], x)   # SpaceToDepth inverts DepthToSpace (same mode)
    # channels-last in, channels-last out: no relayout copy around the op
    if cl:  # channels-last in, channels-last out: the only relayout is the graph input's
        m = _model([Node("Conv", ["x", "wid"], ["x0"], "c"), *nodes[:1],
                    Node("Conv", ["d", "w2"], ["y"], "c2")], [("x", x.shape)], ["y"],
                   {"wid": _identity_conv(c, 4), "w2": _identity_conv(c // (b * b), 4)})
        rows = ce.InferenceSession(m).describe()
        assert sum("to_channels_last" in r["node"] for r in rows) == 1


def test_space_to_depth_odd_blocks(rng, isa):
    x = rng.standard_normal((3, 5, 9, 6)).astype(np.float32)
    nodes = [Node("SpaceToDepth", ["x0"], ["s"], "s2d", {"blocksize": 3})]
    for cl in (False, True):
        _session_vs_reference(nodes, x, ["s"], {}, cl)


def _gs_case(rng, rank, c, in_sp, out_sp, n=2):
    x = rng.standard_normal((n, c, *in_sp)).astype(np.float32)
    g = _grid(int(rng.integers(1 << 30)), n, out_sp, rank - 2)
    return x, g


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("pad", GS_PADS)
@pytest.mark.parametrize("align", [0, 1])
@pytest.mark.parametrize("c,in_sp,out_sp", [(1, (1, 1), (2, 3)), (3, (5, 7), (4, 6)),
                                            (17, (6, 1), (3, 5)), (40, (2, 9), (1, 1))])
def test_grid_sample_2d(rng, isa, mode, pad, align, c, in_sp, out_sp):
    x, g = _gs_case(rng, 4, c, in_sp, out_sp)
    nodes = [Node("GridSample", ["x0", "g"], ["y"], "gs",
                  {"mode": mode, "padding_mode": pad, "align_corners": align})]
    # float32 cubic weights (as onnxruntime) against the reference's float64 ones: 16 taps of
    # unit-normal data, up to ~3e-6 apart
    atol = 1e-5 if mode == "bicubic" else 2e-6
    for cl in (False, True):
        _session_vs_reference(nodes, x, ["y"], {}, cl, extra={"g": g}, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("mode", ["linear", "nearest", "cubic"])
@pytest.mark.parametrize("pad", GS_PADS)
@pytest.mark.parametrize("rank", [3, 5])
def test_grid_sample_1d_and_3d(rng, isa, mode, pad, rank):
    in_sp, out_sp = ((9,), (7,)) if rank == 3 else ((3, 4, 5), (2, 3, 4))
    x, g = _gs_case(rng, rank, 5, in_sp, out_sp)
    for align in (0, 1):
        nodes = [Node("GridSample", ["x0", "g"], ["y"], "gs",
                      {"mode": mode, "padding_mode": pad, "align_corners": align})]
        for cl in (False, True):
            _session_vs_reference(nodes, x, ["y"], {}, cl, opset=20, extra={"g": g},
                                  atol=2e-5 if mode == "cubic" else 3e-6, rtol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("c", [3, 19])
def test_grid_sample_threads_and_grid_views(rng, isa, threads, c):
    # a large image at 2 threads; the grid is a transposed view computed at run time; 3
    # channels take the kernel vectorised over samples
    x = rng.standard_normal((2, c, 31, 29)).astype(np.float32)
    gt = _r(5, 2, 2, 37, 41, scale=1.2)       # (N, 2, W_out, H_out)
    nodes = [Node("Transpose", ["gt"], ["g"], "t", {"perm": [0, 3, 2, 1]}),
             Node("GridSample", ["x0", "g"], ["y"], "gs", {"mode": "bilinear"}),
             Node("GridSample", ["x0", "g"], ["y2"], "gs2",
                  {"mode": "bicubic", "padding_mode": "border", "align_corners": 1}),
             Node("GridSample", ["x0", "g"], ["y3"], "gs3",
                  {"mode": "nearest", "padding_mode": "border", "align_corners": 1})]
    _session_vs_reference(nodes, x, ["y", "y2", "y3"], {}, True, threads, extra={"gt": gt},
                          atol=1e-5, rtol=1e-5)


def test_grid_sample_non_finite_grid(isa):
    x = _r(6, 1, 3, 4, 5, scale=1.0)
    g = np.array([np.nan, 0, 0, np.nan, np.inf, 0, -np.inf, 0.5, 1e30, -1e30],
                 np.float32).reshape(1, 1, 5, 2)
    for pad in GS_PADS:
        for mode in ("bilinear", "nearest", "bicubic"):
            attrs = {"mode": mode, "padding_mode": pad}
            m = _model([Node("GridSample", ["x", "g"], ["y"], "gs", attrs)],
                       [("x", x.shape), ("g", g.shape)], ["y"], {})
            got = ce.InferenceSession(m).run(None, {"x": x, "g": g})[0]
            want = ref_node("GridSample", [x, g], attrs)
            assert_close(got, want, atol=1e-6, rtol=1e-5, what=f"{mode} {pad}")
            assert np.isnan(got[..., :2]).all()                   # NaN in, NaN out
            assert np.isfinite(got[..., 2:]).all() == (pad != "reflection")


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (2, 17, 3, 5), (1, 2, 3, 2, 5)])
@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
def test_cumsum_every_axis(rng, isa, shape, exclusive, reverse):
    x = rng.standard_normal(shape).astype(np.float32)
    for axis in range(-len(shape), len(shape)):
        inits = {"ax": np.array(axis, np.int64 if axis % 2 else np.int32)}
        nodes = [Node("CumSum", ["x0", "ax"], ["y"], "cs",
                      {"exclusive": exclusive, "reverse": reverse})]
        for cl in ((False, True) if 3 <= len(shape) <= 5 else (False,)):
            _session_vs_reference(nodes, x, ["y"], inits, cl, atol=1e-5, rtol=1e-5)


GATHER_CASES = [
    # (op, attrs, x shape, indices)
    ("GatherElements", {"axis": 1}, (2, 5, 3, 7), _i(70, 2, 9, 3, 7, lo=-5, hi=5)),
    ("GatherElements", {"axis": -1}, (3, 17, 4, 6), _i(71, 2, 13, 4, 11, lo=-6, hi=6)),
    ("GatherElements", {"axis": 0}, (3, 5, 2, 2), _i(72, 1, 5, 2, 2, lo=0, hi=3)),
    ("GatherND", {}, (2, 7, 5, 3), _i(73, 4, 2, lo=-2, hi=2)),
    ("GatherND", {}, (2, 7, 5, 3), _i(74, 3, 3, 4, lo=-2, hi=2)),
    ("GatherND", {"batch_dims": 1}, (3, 5, 4, 3), _i(75, 3, 6, 1, lo=-5, hi=5)),
    ("GatherND", {"batch_dims": 2}, (2, 3, 4, 5), _i(76, 2, 3, 8, 2, lo=0, hi=4)),
]


@pytest.mark.parametrize("case", GATHER_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3].shape}" for c in GATHER_CASES])
@pytest.mark.parametrize("cl", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_gathers_with_constant_indices(rng, isa, case, cl, threads):
    op, attrs, shape, idx = case
    x = rng.standard_normal(shape).astype(np.float32)
    _session_vs_reference([Node(op, ["x0", "i"], ["y"], "g", attrs)], x, ["y"], {"i": idx}, cl,
                          threads)


def test_gather_large_output_threads(rng, isa):
    x = rng.standard_normal((1, 64, 40, 40)).astype(np.float32)
    idx = rng.integers(-40, 40, (1, 64, 40, 40))
    for threads in (1, 2):
        _session_vs_reference([Node("GatherElements", ["x0", "i"], ["y"], "g", {"axis": 3})], x,
                              ["y"], {"i": idx}, True, threads)


def test_gather_runtime_indices_are_refused(rng):
    x = np.ones((2, 3), np.float32)
    for op in ("GatherElements", "GatherND"):
        m = _model([Node(op, ["x", "i"], ["y"], "g")], [("x", x.shape), ("i", (2, 2))], ["y"], {})
        with pytest.raises(ModelError, match=r"node g.*indices 'i' must be a constant"):
            ce.InferenceSession(m).run(None, {"x": x, "i": np.zeros((2, 2), np.float32)})


def test_constant_subgraphs_fold_in_the_planner(rng):
    # Range / Mod / Equal / Where / EyeLike / Size of constants and of the input's shape fold
    # at plan time; the one run-time step left adds their result
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    inits = {"zero": np.array(0, np.int64), "one": np.array(1, np.int64),
             "two": np.array(2, np.int64), "idx": np.array([2], np.int64),
             "s2": np.array([8, 9], np.int64)}
    nodes = [Node("Shape", ["x"], ["s"], "shape"), Node("Gather", ["s", "idx"], ["h"], "g"),
             Node("Squeeze", ["h"], ["hs"], "sq"),
             Node("Range", ["zero", "hs", "one"], ["r"], "range"),
             Node("Mod", ["r", "two"], ["rm"], "mod"),
             Node("Equal", ["rm", "zero"], ["even"], "eq"),
             Node("Cast", ["r"], ["rf"], "cast", {"to": 1}),
             Node("Sub", ["rf", "rf"], ["zf"], "sub"),
             Node("Where", ["even", "rf", "zf"], ["sel"], "where"),
             Node("Reshape", ["x", "s2"], ["x2d"], "rs"),
             Node("EyeLike", ["x2d"], ["eye"], "eye"),
             Node("Size", ["x"], ["size"], "size"),
             Node("Add", ["x", "sel"], ["y"], "add")]
    m = _model(nodes, [("x", x.shape)], ["y", "eye", "size"], inits)
    s = ce.InferenceSession(m, optimize=False)
    y, eye, size = s.run(None, {"x": x})
    np.testing.assert_array_equal(
        y, x + np.where(np.arange(3) % 2 == 0, np.arange(3), 0).astype(np.float32))
    np.testing.assert_array_equal(eye, np.eye(8, 9, dtype=np.float32))
    assert size.dtype == np.int64 and size == x.size
    assert [r["op"] for r in s.describe() if not r["node"].startswith("output/")] == ["Add"]


# ------------------------------------------------------------------------------ whole graphs

@pytest.mark.parametrize("opset", [17, 20])
def test_graph_matches_onnxruntime(rng, opset):
    x = rng.standard_normal((2, 8, 6, 10)).astype(np.float32)
    grid = (rng.standard_normal((2, 5, 7, 2)) * 1.2).astype(np.float32)
    consts = {"w": rng.standard_normal((12, 8, 3, 3)).astype(np.float32),
              "zero": np.zeros(1, np.float32), "shape": np.array([2, 12, 1, 1], np.int64),
              "reps": np.array([2, 1, 6, 10], np.int64), "ax": np.array(3, np.int64),
              "cond": rng.random((1, 1, 6, 1)) < 0.5, "d": np.array(0.7, np.float32),
              "gate": rng.standard_normal((1, 12, 1, 1)).astype(np.float32)}
    gs_mode = "linear" if opset >= 20 else "bilinear"
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Expand", ["gate", "shape"], ["ge"]),
        helper.make_node("Mul", ["a", "ge"], ["am"]),
        helper.make_node("DepthToSpace", ["am"], ["d2s"], blocksize=2, mode="CRD"),
        helper.make_node("SpaceToDepth", ["d2s"], ["s2d"], blocksize=2),
        helper.make_node("Tile", ["gate", "reps"], ["t"]),
        helper.make_node("CumSum", ["s2d", "ax"], ["cs0"], exclusive=1),
        helper.make_node("Add", ["cs0", "t"], ["cs"]),
        helper.make_node("Greater", ["a", "zero"], ["pos"]),
        helper.make_node("Not", ["pos"], ["neg"]),
        helper.make_node("Where", ["neg", "a", "cs"], ["w1"]),
        helper.make_node("Where", ["cond", "w1", "zero"], ["w2"]),
        helper.make_node("GridSample", ["w2", "grid"], ["y"], mode=gs_mode,
                         padding_mode="reflection", align_corners=0),
        # rounding is discontinuous: only on the exact input
        helper.make_node("Round", ["x"], ["rd"]),
        helper.make_node("Mod", ["rd", "d"], ["md"], fmod=1),
    ]
    feeds = {"x": x, "grid": grid}
    proto = _proto(nodes, feeds, consts, {"y": np.float32, "cs": np.float32, "md": np.float32},
                   opset)
    want = _ort_session(proto).run(None, feeds)
    got = ce.InferenceSession(ce.from_onnx(proto.SerializeToString())).run(None, feeds)
    for g, w in zip(got, want, strict=True):  # the conv may run as Winograd: error ~1e-5 of scale
        assert_close(g, w, atol=2e-5 * float(np.abs(w).max()), rtol=1e-4)


# ------------------------------------------------------------------------------ errors

@pytest.mark.parametrize("nodes,inits,match", [
    ([Node("Greater", ["x", "z"], ["g"], "gt"), Node("Add", ["g", "g"], ["y"], "add")],
     {"z": np.zeros(1, np.float32)}, r"bool output 'g' is read by node add \(Add\)"),
    ([Node("Less", ["x", "z"], ["y"], "lt")], {"z": np.zeros(1, np.float32)},
     "bool output 'y' is a graph output"),
    ([Node("Mod", ["x", "z"], ["y"], "mod")], {"z": np.ones(1, np.float32)}, "fmod must be 1"),
    ([Node("DepthToSpace", ["x"], ["y"], "d", {"blocksize": 2})], {},
     "divisible by blocksize"),
    ([Node("SpaceToDepth", ["x"], ["y"], "s", {"blocksize": 2})], {}, "divisible by blocksize"),
    ([Node("Tile", ["x", "r"], ["y"], "t")], {"r": np.array([1, -1, 1, 1], np.int64)}, ">= 0"),
    ([Node("Tile", ["x", "r"], ["y"], "t")], {"r": np.array([1, 2], np.int64)},
     "one entry per input axis"),
    ([Node("Expand", ["x", "s"], ["y"], "e")], {"s": np.array([2, 3], np.int64)},
     "cannot be expanded"),
    ([Node("GridSample", ["x", "g"], ["y"], "gs")], {"g": np.zeros((1, 2, 2, 3), np.float32)},
     "grid must have shape"),
    ([Node("GridSample", ["x", "g"], ["y"], "gs", {"mode": "area"})],
     {"g": np.zeros((1, 2, 2, 2), np.float32)}, "mode"),
    ([Node("Where", ["c", "x", "i"], ["y"], "w")],
     {"c": np.ones(1, bool), "i": np.ones(1, np.int64)}, "int64 values chosen at run time"),
    ([Node("Not", ["x"], ["y"], "n")], {}, "bool"),
    ([Node("CumSum", ["x", "a"], ["y"], "cs")], {"a": np.array(4, np.int64)}, "out of range"),
    ([Node("GatherElements", ["x", "i"], ["y"], "g", {"axis": 3})],
     {"i": np.full((1, 3, 5, 7), 7, np.int64)}, r"node g.*index 7 is out of range \[-7, 7\)"),
    ([Node("GatherElements", ["x", "i"], ["y"], "g")], {"i": np.zeros((1, 3, 5), np.int64)},
     "same rank"),
    ([Node("GatherElements", ["x", "i"], ["y"], "g", {"axis": 1})],
     {"i": np.zeros((1, 3, 6, 7), np.int64)}, "exceeds data shape"),
    ([Node("GatherElements", ["x", "i"], ["y"], "g")], {"i": np.zeros((1, 3, 5, 7), np.float32)},
     "must be integers"),
    ([Node("GatherND", ["x", "i"], ["y"], "g")], {"i": np.zeros((2, 4), np.int32)},
     "indices must be int64, got int32"),
    ([Node("GatherND", ["x", "i"], ["y"], "g")], {"i": np.zeros((2, 5), np.int64)},
     r"last axis \(5\) must be in \[1, 4\]"),
    ([Node("GatherND", ["x", "i"], ["y"], "g", {"batch_dims": 1})],
     {"i": np.zeros((2, 1), np.int64)}, "batch_dims=1 axes"),
    ([Node("GatherND", ["x", "i"], ["y"], "g", {"batch_dims": 4})],
     {"i": np.zeros((1, 1), np.int64)}, "batch_dims 4 must be in"),
    ([Node("GatherND", ["x", "i"], ["y"], "g")], {"i": np.array([[0, 3]], np.int64)},
     r"index 3 is out of range \[-3, 3\) for axis 1"),
])
def test_errors_name_the_node(nodes, inits, match):
    x = np.ones((1, 3, 5, 7), np.float32)
    m = _model(nodes, [("x", x.shape)], [nodes[-1].outputs[0]], inits)
    with pytest.raises(ModelError, match=match):
        ce.InferenceSession(m).run(None, {"x": x})


def test_runtime_range_is_refused_by_name():
    from convengine._graph.planner import Planner
    from convengine._graph.views import PlanError, T
    m = _model([Node("Range", ["a", "b", "c"], ["y"], "rng")],
               [("a", ()), ("b", ()), ("c", ())], ["y"], {})
    p = Planner(m, {"a": (), "b": (), "c": ()})
    p.vals.update({k: T((), ()) for k in "abc"})
    with pytest.raises(PlanError, match="node rng.*Range with run-time inputs"):
        p.node(m.graph.nodes[0], "node rng (Range)")


def test_hostile_sizes_are_refused():
    big = np.array([1 << 20, 1 << 20], np.int64)
    for node, inits in ((Node("Expand", ["c", "s"], ["y"], "e"), {"s": big}),
                        (Node("Tile", ["c", "s"], ["y"], "t"), {"s": big}),
                        (Node("Range", ["z", "s1", "o"], ["y"], "r"),
                         {"z": np.array(0, np.int64), "s1": np.array(1 << 40, np.int64),
                          "o": np.array(1, np.int64)})):
        ins = [np.ones((1, 1), np.float32) if n == "c" else inits[n] for n in node.inputs]
        with pytest.raises(ModelError, match="limit"):
            eval_node(node, ins)


def test_attributes_validate_in_a_fresh_process():
    # the attribute kinds and enums of the data ops are known to validation before anything
    # imports the numpy reference
    import os
    import subprocess
    import sys
    code = (
        "import numpy as np, convengine as ce\n"
        "from convengine.model import Graph, Model, Node, ValueInfo\n"
        "n = [Node('DepthToSpace', ['x'], ['d'], 'd', {'blocksize': 2, 'mode': 'CRD'}),\n"
        "     Node('GridSample', ['d', 'g'], ['y'], 'g',\n"
        "          {'mode': 'bicubic', 'align_corners': 1}),\n"
        "     Node('Reshape', ['y', 's'], ['y2'], 'r'),\n"
        "     Node('EyeLike', ['y2'], ['e'], 'e', {'dtype': 1})]\n"
        "m = Model(Graph(n, [ValueInfo('x', [1, 4, 2, 3]), ValueInfo('g', [1, 2, 2, 2])],\n"
        "                [ValueInfo('y', None), ValueInfo('e', None)],\n"
        "                {'s': np.array([2, 2], np.int64)}))\n"
        "y, e = ce.InferenceSession(m).run(None, {'x': np.ones((1, 4, 2, 3), np.float32),\n"
        "                                         'g': np.zeros((1, 2, 2, 2), np.float32)})\n"
        "assert np.allclose(y, 1) and e.shape == (2, 2)\n")
    import convengine
    # the child imports the same convengine as this process (source tree or installed)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(convengine.__file__)))
    env = dict(os.environ, PYTHONPATH=pkg_parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
