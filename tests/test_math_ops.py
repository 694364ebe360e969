"""The element-wise math ops (Erf, Gelu, Mish, Softplus, ..., PRelu, Pow, Min/Max/Sum/Mean,
LogSoftmax): the runtime steps against the numpy reference over awkward shapes, layouts
(contiguous, transposed and strided views, channels-last conv outputs) and broadcasting forms,
on both ISAs and at 1 and 2 threads; the numpy reference and the runtime against onnxruntime;
constant folding with integer and float64 dtypes; bad input."""
import math

import numpy as np
import pytest

import convengine as ce
from convengine._graph.evaluate import eval_node, run_numpy
from convengine._graph.passes_fold import fold_constants
from convengine.model import Graph, Model, ModelError, Node, ValueInfo
from conftest import num_threads

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

FLT_MIN = 2.0 ** -126
# Results the kernels flush to zero: below 2^-126, or for mish and gelu_tanh below 2^-126 |x|
# (x e^x with e^x flushed): at most 1e-36 for the inputs here.
FLUSHED = 1e-36
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 1e-3, -1e-3],
                    np.float32)

# op, attrs, kernel error bound (relative, both ISAs; tests/test_math_accuracy.py has the
# tighter per-kernel figures), input scale
UNARY = [
    ("Erf", {}, 4e-7, 2.0),
    ("Gelu", {}, 6e-7, 3.0),
    ("Gelu", {"approximate": "tanh"}, 4e-7, 3.0),
    ("Mish", {}, 4e-7, 3.0),
    ("Softplus", {}, 3e-7, 3.0),
    ("Softsign", {}, 2e-7, 3.0),
    ("Exp", {}, 3e-7, 5.0),
    ("Log", {}, 2e-7, 5.0),
    ("Sqrt", {}, 0.0, 5.0),
    ("Abs", {}, 0.0, 3.0),
    ("Neg", {}, 0.0, 3.0),
    ("Reciprocal", {}, 0.0, 3.0),
    ("Sin", {}, 1.2e-7, 3.0),
    ("Cos", {}, 1.2e-7, 3.0),
    ("Elu", {}, 2e-7, 3.0),
    ("Elu", {"alpha": 0.7}, 2e-7, 3.0),
    ("Celu", {"alpha": 1.3}, 2e-7, 3.0),
    ("Selu", {}, 2.5e-7, 3.0),
    ("Selu", {"alpha": 1.5, "gamma": 0.9}, 2.5e-7, 3.0),
    ("ThresholdedRelu", {"alpha": 0.25}, 0.0, 3.0),
]
UNARY_IDS = [op + "".join(f"-{k}{v}" for k, v in a.items()) for op, a, _, _ in UNARY]

SHAPES = [(1,), (7,), (3, 5), (2, 3, 5, 7), (1, 1, 1, 1), (2, 13, 1, 17), (5, 4, 3, 2, 3),
          (1, 2, 1, 2, 1, 3, 1, 2), (3, 97, 131), (40009,),
          (15,), (16,), (17,), (31,), (33,), (100,)]  # around the 16-lane step and its tail


def close(got, want, rtol, atol=FLT_MIN, what=""):
    """|got - want| <= max(atol, rtol |want|) elementwise; NaN where want is NaN, equal
    infinities."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), \
        f"{what}: NaN at {np.argwhere(np.isnan(got) != nan)[:5].tolist()}"
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), f"{what}: infinities differ"
    ok = ~nan & ~inf
    err = np.abs(got[ok] - want[ok])
    tol = np.maximum(atol, rtol * np.abs(want[ok]))
    if err.size and (err > tol).any():
        i = np.argmax(err - tol)
        raise AssertionError(f"{what}: {(err > tol).sum()} of {err.size} outside tolerance; "
                             f"worst got {got[ok][i]!r} want {want[ok][i]!r}")


def data(rng, shape, scale=3.0, specials=True):
    x = np.asarray(rng.standard_normal(shape) * scale, np.float32)
    if specials and x.size >= 2 * SPECIALS.size:
        flat = x.reshape(-1)
        idx = rng.choice(flat.size, SPECIALS.size, replace=False)
        flat[idx] = SPECIALS
    return x


def model(nodes, inputs, outputs, inits=None, opset=20):
    return Model(Graph(nodes, [ValueInfo(n, list(s)) for n, s in inputs],
                       [ValueInfo(o) for o in outputs], dict(inits or {})), opset)


def run(m, feeds, optimize=True):
    return ce.InferenceSession(m, optimize=optimize).run(None, feeds)


def layouts(x):
    """(name, node list prefix, input name, feed) for the layouts a step sees: the graph
    input itself, a transposed view and a strided Slice view (both not contiguous)."""
    r = x.ndim
    yield "contiguous", [], x
    if r >= 2:
        perm = list(range(r))[::-1]
        yield "transposed", [Node("Transpose", ["x"], ["v"], "tr", {"perm": perm})], \
            np.ascontiguousarray(x.transpose(perm))
    if x.shape[-1] >= 3:
        big = np.repeat(x, 2, axis=-1)  # every other column is x
        yield "strided", [Node("Slice", ["x", "st", "en", "ax", "sp"], ["v"], "sl")], big


def _layout_model(name, prefix, op, attrs, shape, feed_shape):
    inits = {}
    if name == "strided":
        inits = {"st": np.array([0]), "en": np.array([1 << 30]), "ax": np.array([-1]),
                 "sp": np.array([2])}
    src = "v" if prefix else "x"
    return model(prefix + [Node(op, [src], ["y"], "op", attrs)], [("x", feed_shape)], ["y"],
                 inits)


# ---------------------------------------------------------------------------------------------
# unary ops: runtime vs numpy reference

@pytest.mark.parametrize("case", UNARY, ids=UNARY_IDS)
@pytest.mark.parametrize("threads", [1, 2])
def test_unary_runtime_matches_reference(rng, isa, case, threads):
    op, attrs, bound, scale = case
    with num_threads(threads):
        for shape in SHAPES:
            x = data(rng, shape, scale)
            for name, prefix, feed in layouts(x):
                m = _layout_model(name, prefix, op, attrs, shape, feed.shape)
                want = run_numpy(m, {"x": feed})["y"]
                (got,) = run(m, {"x": feed})
                close(got, want, bound, FLUSHED, what=f"{op} {shape} {name}")


@pytest.mark.parametrize("case", UNARY, ids=UNARY_IDS)
def test_unary_after_conv_channels_last(rng, isa, case):
    """The op reads a conv output (channels-last, C innermost; C = 37 is no multiple of the
    vector width) and writes channels-last; a 1x1 conv follows so the layout is used."""
    op, attrs, bound, scale = case
    c = 37
    inits = {"w": (rng.standard_normal((c, 5, 3, 3)) * scale / 4).astype(np.float32),
             "b": rng.standard_normal(c).astype(np.float32),
             "w2": (rng.standard_normal((4, c, 1, 1)) / 6).astype(np.float32)}
    if op in ("Log", "Sqrt"):
        inits["b"] = np.abs(inits["b"]) + 8  # mostly positive conv outputs
    m = model([Node("Conv", ["x", "w", "b"], ["c"], "conv", {"pads": [1, 1, 1, 1]}),
               Node(op, ["c"], ["y"], "op", attrs),
               Node("Conv", ["y", "w2"], ["z"], "conv2")],
              [("x", [2, 5, 9, 11])], ["y", "z", "c"], inits)
    x = data(rng, (2, 5, 9, 11), 1.0, specials=False)
    for optimize in (False, True):
        y, z, c_out = run(m, {"x": x}, optimize)
        # the op on the engine's own conv output (c is also a graph output, so it is not fused)
        want = eval_node(m.graph.nodes[1], [c_out], 20)[0]
        close(y, want, bound, FLUSHED, what=f"{op} optimize={optimize}")
        if np.all(np.isfinite(y)):
            zw = eval_node(m.graph.nodes[2], [y, inits["w2"]], 20)[0]
            close(z, zw, 1e-4, atol=1e-4 * np.abs(zw).max(), what=f"{op} conv after")


def test_unary_special_values(isa):
    """NaN propagates; +-inf and +-0 give what torch gives (and the reference)."""
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 3e38, -3e38], np.float32)
    want = {
        "Erf": [np.nan, 1, -1, 0, -0.0, 1, -1, 1, -1],
        "Gelu": [np.nan, np.inf, np.nan, 0, -0.0, 1e30, -0.0, 3e38, -0.0],
        "Mish": [np.nan, np.inf, np.nan, 0, -0.0, 1e30, -0.0, 3e38, -0.0],
        "Softplus": [np.nan, np.inf, 0, math.log(2), math.log(2), 1e30, 0, 3e38, 0],
        "Softsign": [np.nan, np.nan, np.nan, 0, -0.0, 1, -1, 1, -1],
        "Exp": [np.nan, np.inf, 0, 1, 1, np.inf, 0, np.inf, 0],
        "Log": [np.nan, np.inf, np.nan, -np.inf, -np.inf, math.log(1e30), np.nan,
                math.log(3e38), np.nan],
        "Elu": [np.nan, np.inf, -1, 0, -0.0, 1e30, -1, 3e38, -1],
        "ThresholdedRelu": [np.nan, np.inf, 0, 0, 0, 1e30, 0, 3e38, 0],
    }
    for op, w in want.items():
        attrs = {"alpha": 0.25} if op == "ThresholdedRelu" else {}
        m = model([Node(op, ["x"], ["y"], "op", attrs)], [("x", [x.size])], ["y"])
        (got,) = run(m, {"x": x})
        w = np.array(w, np.float32)
        close(got, w, 2e-7, what=op)
        np.testing.assert_array_equal(np.signbit(got[w == 0]), np.signbit(w[w == 0]),
                                      err_msg=f"{op}: sign of zero")
        close(run_numpy(m, {"x": x})["y"], w, 2e-7, what=f"{op} reference")


# ---------------------------------------------------------------------------------------------
# PRelu

PRELU_SLOPES = [  # x shape, slope shape
    ((2, 6, 5, 7), (6, 1, 1)),      # per channel (torch's nn.PReLU(C))
    ((2, 6, 5, 7), (1,)),           # shared (nn.PReLU())
    ((2, 6, 5, 7), (7,)),           # per column
    ((2, 6, 5, 7), (5, 7)),
    ((2, 6, 5, 7), (1, 6, 1, 1)),
    ((2, 6, 5, 7), (2, 6, 5, 7)),   # element-wise
    ((3, 40009), (40009,)),
    ((4, 17), ()),
]


@pytest.mark.parametrize("threads", [1, 2])
def test_prelu_runtime(rng, isa, threads):
    with num_threads(threads):
        for xs, ss in PRELU_SLOPES:
            x = data(rng, xs)
            s = np.asarray(rng.standard_normal(ss) * 0.5, np.float32)
            for const in (True, False):
                inits = {"s": s} if const else {}
                inputs = [("x", xs)] + ([] if const else [("s", ss)])
                m = model([Node("PRelu", ["x", "s"], ["y"], "p")], inputs, ["y"], inits)
                feeds = {"x": x} if const else {"x": x, "s": s}
                (got,) = run(m, feeds)
                close(got, run_numpy(m, feeds)["y"], 0.0, what=f"{xs} {ss} const={const}")


def test_prelu_per_channel_after_conv(rng, isa):
    c = 19
    inits = {"w": rng.standard_normal((c, 3, 3, 3)).astype(np.float32),
             "s": (rng.standard_normal((c, 1, 1)) * 0.3).astype(np.float32)}
    m = model([Node("Conv", ["x", "w"], ["c"], "conv", {"pads": [1, 1, 1, 1]}),
               Node("PRelu", ["c", "s"], ["y"], "p")], [("x", [3, 3, 8, 10])], ["y"], inits)
    x = data(rng, (3, 3, 8, 10), 1.0, specials=False)
    (got,) = run(m, {"x": x})
    close(got, run_numpy(m, {"x": x})["y"], 1e-5, atol=1e-5)
    rows = ce.InferenceSession(m).describe()
    assert [r["algorithm"] for r in rows if r["node"] == "p"][0].startswith("f32-vprelu")


# ---------------------------------------------------------------------------------------------
# Pow

POW_CONST = [2.0, 3.0, 0.5, -0.5, -1.0, 1.0, 0.0, 1.7, -2.25, np.int64(4), np.int64(-3)]


@pytest.mark.parametrize("threads", [1, 2])
def test_pow_constant_exponent(rng, isa, threads):
    with num_threads(threads):
        for e in POW_CONST:
            for xs in [(7,), (2, 3, 5, 7), (3, 97, 131)]:
                x = data(rng, xs)
                for shape in ((), (1,), (1, 1)):
                    dt = np.int64 if isinstance(e, np.integer) else np.float32
                    ev = np.array(e, dtype=dt).reshape(shape)
                    m = model([Node("Pow", ["x", "e"], ["y"], "p")], [("x", xs)], ["y"],
                              {"e": ev})
                    (got,) = run(m, {"x": x})
                    want = run_numpy(m, {"x": x})["y"]
                    bound = 1.2e-7 if float(e) in (3.0, -0.5) else 6e-8
                    close(got, want, bound, what=f"x^{e} {xs} exponent shape {shape}")


def test_pow_fast_paths_are_taken(isa):
    kinds = {}
    for e in [2.0, 3.0, 0.5, -0.5, -1.0, 1.0, 0.0, 1.7]:
        m = model([Node("Pow", ["x", "e"], ["y"], "p")], [("x", [4, 5])], ["y"],
                  {"e": np.array(e, np.float32)})
        (row,) = [r for r in ce.InferenceSession(m).describe() if r["node"] == "p"]
        kinds[e] = row["algorithm"]
    # AVX-512 versions of the compute-bound kernels only (rsqrt); the rest run their AVX2 ones
    vec = "scalar" if isa == "scalar" else "avx2"
    rsqrt = {"avx512": "avx512f", "avx2": "avx2", "scalar": "scalar"}[isa]
    assert kinds == {2.0: f"f32-vsqr-{vec}", 3.0: f"f32-vcube-{vec}", 0.5: f"f32-vsqrt-{vec}",
                     -0.5: f"f32-vrsqrt-{rsqrt}", -1.0: f"f32-vrecip-{vec}", 1.0: f"f32-vcopy-{vec}",
                     0.0: f"f32-vones-{vec}", 1.7: "f32-vpowc-scalar"}


def test_pow_runtime_and_broadcast_exponents(rng, isa):
    xs = (2, 3, 5, 7)
    x = np.abs(data(rng, xs, specials=False)) + 0.1
    cases = [((7,), True), ((3, 1, 1), True), (xs, False), ((5, 1), False), ((), False)]
    for es, const in cases:
        e = np.asarray(rng.standard_normal(es) * 2, np.float32)
        inits = {"e": e} if const else {}
        inputs = [("x", xs)] + ([] if const else [("e", es)])
        m = model([Node("Pow", ["x", "e"], ["y"], "p")], inputs, ["y"], inits)
        feeds = {"x": x} if const else {"x": x, "e": e}
        (got,) = run(m, feeds)
        close(got, run_numpy(m, feeds)["y"], 6e-8, what=f"exponent {es} const={const}")
    # a constant base with a run-time exponent (2^x), and an output larger than the base
    e = data(rng, (4, 6), specials=False)
    m = model([Node("Pow", ["b", "e"], ["y"], "p")], [("e", (4, 6))], ["y"],
              {"b": np.array([[2.0], [0.5], [3.0], [1.5]], np.float32)})
    (got,) = run(m, {"e": e})
    close(got, run_numpy(m, {"e": e})["y"], 6e-8)


def test_pow_special_values(isa):
    """C's pow (onnxruntime, numpy), but x ** 0.5 and x ** -0.5 as torch: sqrt and 1 / sqrt
    at -0 and -inf."""
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -2.0, 4.0], np.float32)
    want = {0.5: [np.nan, np.inf, np.nan, 0, -0.0, np.nan, 2],
            -0.5: [np.nan, 0, np.nan, np.inf, -np.inf, np.nan, 0.5],
            0.0: [1, 1, 1, 1, 1, 1, 1],
            2.0: [np.nan, np.inf, np.inf, 0, 0, 4, 16],
            3.0: [np.nan, np.inf, -np.inf, 0, -0.0, -8, 64],
            -1.0: [np.nan, 0, -0.0, np.inf, -np.inf, -0.5, 0.25],
            1.5: [np.nan, np.inf, np.inf, 0, 0, np.nan, 8]}
    for e, w in want.items():
        w = np.array(w, np.float32)
        for const in (True, False):  # a constant exponent, and a run-time scalar
            m = model([Node("Pow", ["x", "e"], ["y"], "p")], [("x", [x.size])] +
                      ([] if const else [("e", [])]), ["y"],
                      {"e": np.array(e, np.float32)} if const else {})
            feeds = {"x": x} if const else {"x": x, "e": np.array(e, np.float32)}
            (got,) = run(m, feeds)
            close(got, w, 0.0, what=f"pow {e}")
            np.testing.assert_array_equal(np.signbit(got[w == 0]), np.signbit(w[w == 0]))
            ref = run_numpy(m, feeds)["y"]
            close(ref, w, 0.0, what=f"reference pow {e}")
            np.testing.assert_array_equal(np.signbit(ref[w == 0]), np.signbit(w[w == 0]))


# ---------------------------------------------------------------------------------------------
# Min / Max / Sum / Mean

VARIADIC_SHAPES = [
    [(2, 3, 5, 7)],
    [(2, 3, 5, 7), (2, 3, 5, 7)],
    [(2, 3, 5, 7), (7,), (3, 1, 1)],
    [(5, 1), (1, 6), (), (2, 1, 1)],
    [(40009,), (1,)],
    [(3, 1), (3, 40009)],
    [(1,), (2, 3, 5, 7), (1, 1, 5, 1), (2, 3, 5, 7), (7,)],
    [(15,), (15,)], [(17,), (1,)], [(31,), (31,)], [(33,), (33,)], [(100,), (100,)], [(16,), (1,)],
]


@pytest.mark.parametrize("op", ["Min", "Max", "Sum", "Mean"])
@pytest.mark.parametrize("threads", [1, 2])
def test_variadic_runtime(rng, isa, op, threads):
    with num_threads(threads):
        for shapes in VARIADIC_SHAPES:
            xs = [data(rng, s) for s in shapes]
            for n_const in (0, 1):
                names = [f"x{i}" for i in range(len(xs))]
                inits = {names[0]: xs[0]} if n_const and len(xs) > 1 else {}
                inputs = [(n, s) for n, s in zip(names, shapes) if n not in inits]
                m = model([Node(op, names, ["y"], "v")], inputs, ["y"], inits)
                feeds = {n: x for n, x in zip(names, xs) if n not in inits}
                (got,) = run(m, feeds)
                want = run_numpy(m, feeds)["y"]
                close(got, want, 0.0 if op in ("Min", "Max") else 3e-7, atol=1e-5,
                      what=f"{op} {shapes}")


def test_variadic_after_conv_with_per_channel_constant(rng, isa):
    c = 21
    inits = {"w": rng.standard_normal((c, 4, 3, 3)).astype(np.float32),
             "k": rng.standard_normal((c, 1, 1)).astype(np.float32)}
    for op in ("Min", "Max", "Sum", "Mean"):
        m = model([Node("Conv", ["x", "w"], ["c"], "conv", {"pads": [1, 1, 1, 1]}),
                   Node(op, ["c", "k", "c"], ["y"], "v")], [("x", [2, 4, 6, 9])], ["y"], inits)
        x = data(rng, (2, 4, 6, 9), 1.0, specials=False)
        (got,) = run(m, {"x": x})
        close(got, run_numpy(m, {"x": x})["y"], 1e-5, atol=1e-5, what=op)


def test_min_max_nan_from_either_side(isa):
    a = np.array([np.nan, 1, np.nan, 2, -np.inf, 0.0], np.float32)
    b = np.array([1, np.nan, np.nan, -3, 5, -0.0], np.float32)
    for op, want in (("Min", [np.nan, np.nan, np.nan, -3, -np.inf, 0]),
                     ("Max", [np.nan, np.nan, np.nan, 2, 5, 0])):
        for order in ((a, b), (b, a)):
            m = model([Node(op, ["a", "b"], ["y"], "v")], [("a", [6]), ("b", [6])], ["y"])
            (got,) = run(m, {"a": order[0], "b": order[1]})
            close(got, np.array(want, np.float32), 0.0, what=op)
            # a broadcast scalar NaN too
            m = model([Node(op, ["a", "s"], ["y"], "v")], [("a", [6])], ["y"],
                      {"s": np.array(np.nan, np.float32)})
            assert np.isnan(run(m, {"a": a})[0]).all()


# ---------------------------------------------------------------------------------------------
# Softmax

@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_every_axis(rng, isa, opset):
    # The last axis of a contiguous tensor takes the exp kernel over rows ("rows"), others the
    # strided loop; rows around the 16-lane step and long ones.
    for shape in [(7,), (3, 5), (2, 3, 4, 5), (2, 1, 3, 1, 4), (4, 1000), (3, 16), (2, 33)]:
        x = data(rng, shape, 6.0, specials=False)
        for axis in list(range(-len(shape), len(shape))) + ([None] if len(shape) > 1 else []):
            attrs = {} if axis is None else {"axis": axis}
            m = model([Node("Softmax", ["x"], ["y"], "sm", attrs)], [("x", shape)], ["y"],
                      opset=opset)
            with num_threads(2):
                (got,) = run(m, {"x": x})
            close(got, run_numpy(m, {"x": x})["y"], 1e-6, atol=1e-9, what=f"{shape} {axis}")
    m = model([Node("Softmax", ["x"], ["y"], "sm", {"axis": -1})], [("x", (2, 40))], ["y"])
    algos = [r["algorithm"] for r in ce.InferenceSession(m).describe() if r["op"] == "Softmax"]
    assert algos == ["rows"]


def test_softmax_rows_special_values(isa):
    x = np.array([[1, np.nan, 2, 3], [np.inf, 0, 1, 2], [-np.inf] * 4, [0, -np.inf, 1, 88],
                  [-1e30, 1e30, 0, 5], [-100, -101, -102, -103]], np.float32)
    m = model([Node("Softmax", ["x"], ["y"], "sm", {"axis": -1})], [("x", x.shape)], ["y"])
    with np.errstate(invalid="ignore", over="ignore"):
        want = run_numpy(m, {"x": x})["y"]
    close(run(m, {"x": x})[0], want, 1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# LogSoftmax

@pytest.mark.parametrize("opset", [11, 13])
def test_log_softmax_every_axis(rng, isa, opset):
    for shape in [(7,), (3, 5), (2, 3, 4, 5), (2, 1, 3, 1, 4), (4, 1000)]:
        x = data(rng, shape, 4.0, specials=False)
        for axis in list(range(-len(shape), len(shape))) + ([None] if len(shape) > 1 else []):
            attrs = {} if axis is None else {"axis": axis}
            m = model([Node("LogSoftmax", ["x"], ["y"], "ls", attrs)], [("x", shape)], ["y"],
                      opset=opset)
            (got,) = run(m, {"x": x})
            close(got, run_numpy(m, {"x": x})["y"], 2e-7, atol=2e-7, what=f"{shape} {axis}")


def test_log_softmax_channels_after_conv_and_transposed(rng, isa):
    inits = {"w": rng.standard_normal((10, 3, 3, 3)).astype(np.float32)}
    m = model([Node("Conv", ["x", "w"], ["c"], "conv"),
               Node("LogSoftmax", ["c"], ["y"], "ls", {"axis": 1}),
               Node("Transpose", ["c"], ["t"], "tr", {"perm": [0, 3, 2, 1]}),
               Node("LogSoftmax", ["t"], ["z"], "ls2", {"axis": 2})],
              [("x", [2, 3, 7, 6])], ["y", "z"], inits)
    x = data(rng, (2, 3, 7, 6), 1.0, specials=False)
    got = run(m, {"x": x})
    want = run_numpy(m, {"x": x})
    for g, n in zip(got, ["y", "z"], strict=True):
        close(g, want[n], 1e-5, atol=1e-5, what=n)


# ---------------------------------------------------------------------------------------------
# against onnxruntime: the numpy reference and the runtime

def _onnx(op, attrs, ins, inits=None, opset=20, dtype=TensorProto.FLOAT):
    inits = inits or {}
    node = helper.make_node(op, [n for n, _ in ins], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info(n, dtype, list(s)) for n, s in ins
                      if n not in inits],
        [helper.make_tensor_value_info("y", dtype, None)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 9)
    return m


def _ort(m, feeds):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)[0]


# onnxruntime's own float32 error: the cancellation of 1 + erf(x / sqrt 2) (Gelu, x << 0),
# exp(x) - 1 (Elu, Celu, Selu near 0) and of log-softmax outputs near 0.
ORT_TOL = {"Gelu": (1e-5, 1e-6), "Elu": (2e-6, 1e-7), "Celu": (2e-6, 1e-7), "Selu": (2e-6, 1e-7),
           "LogSoftmax": (1e-6, 1e-6), "Mish": (1e-6, 1e-7)}


@pytest.mark.parametrize("case", UNARY, ids=UNARY_IDS)
def test_unary_against_onnxruntime(rng, case):
    op, attrs, bound, scale = case
    x = data(rng, (2, 3, 11, 13), scale, specials=False)
    if op in ("Log", "Sqrt"):
        x = np.abs(x) + 1e-3
    m = _onnx(op, attrs, [("x", x.shape)])
    want = _ort(m, {"x": x})
    cm = ce.from_onnx(m.SerializeToString())
    rtol, atol = ORT_TOL.get(op, (3e-7, 1e-7))
    close(run_numpy(cm, {"x": x})["y"], want, rtol, atol, what=f"reference {op}")
    close(run(cm, {"x": x})[0], want, rtol, atol, what=f"runtime {op}")


def test_specials_against_onnxruntime():
    """NaN and infinities as onnxruntime, except Gelu(+inf) (ours +inf, as onnxruntime; torch
    gives NaN) and ThresholdedRelu(NaN) (NaN; onnxruntime and ONNX's formula give 0)."""
    x = np.array([np.nan, np.inf, -np.inf, 0.0, 5.0, -5.0], np.float32)
    for op, attrs, _, _ in UNARY:
        m = _onnx(op, attrs, [("x", x.shape)])
        want = _ort(m, {"x": x})
        if op == "ThresholdedRelu":
            assert want[0] == 0
            want[0] = np.nan
        got = run(ce.from_onnx(m.SerializeToString()), {"x": x})[0]
        close(got, want, 2e-6, atol=1e-6, what=op)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32])
def test_reference_dtypes_against_onnxruntime(rng, dtype):
    """The reference keeps float64 and integer dtypes as ONNX does (constant folding)."""
    tp = {np.float64: TensorProto.DOUBLE, np.int64: TensorProto.INT64,
          np.int32: TensorProto.INT32}[dtype]
    a = (rng.standard_normal((3, 4)) * 5).astype(dtype)
    b = (rng.standard_normal((4,)) * 5).astype(dtype)
    cases = [("Abs", [a]), ("Neg", [a]), ("Min", [a, b]), ("Max", [a, b, a])]
    if dtype == np.float64:  # the ops onnxruntime has double kernels for
        cases += [("Sum", [a, b]), ("Sqrt", [np.abs(a)]), ("Exp", [a / 5]), ("Sin", [a]),
                  ("Log", [np.abs(a) + 1]), ("Pow", [np.abs(a), b / 3]),
                  ("Reciprocal", [a + 0.5]), ("LogSoftmax", [a])]
    else:
        cases += [("Pow", [np.abs(a) % 4, np.abs(b) % 3])]
    for op, xs in cases:
        names = [f"x{i}" for i in range(len(xs))]
        m = _onnx(op, {}, [(n, x.shape) for n, x in zip(names, xs)], dtype=tp, opset=18)
        want = _ort(m, dict(zip(names, xs)))
        node = Node(op, names, ["y"], "n")
        (got,) = eval_node(node, xs, 18)
        assert got.dtype == want.dtype, op
        if dtype == np.float64:
            # absolute slack of a few ulps of the largest value: LogSoftmax's x - max - log(sum)
            # cancels to values near 0 whose relative error is unbounded
            atol = 8 * np.finfo(np.float64).eps * float(np.abs(want).max())
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=atol, err_msg=op)
        else:
            np.testing.assert_array_equal(got, want, err_msg=op)


def test_binary_and_variadic_against_onnxruntime(rng, isa):
    x = data(rng, (2, 3, 5, 7), specials=False)
    cases = [
        ("PRelu", [("x", x), ("s", (rng.standard_normal((3, 1, 1)) * 0.3).astype(np.float32))],
         {"s"}),
        ("PRelu", [("x", x), ("s", np.array([0.2], np.float32))], set()),
        ("Pow", [("x", np.abs(x)), ("e", np.array(2.0, np.float32))], {"e"}),
        ("Pow", [("x", np.abs(x)), ("e", np.array(-0.5, np.float32))], {"e"}),
        ("Pow", [("x", np.abs(x)), ("e", np.float32(1.3) + np.zeros(7, np.float32))], set()),
        ("Pow", [("x", x), ("e", np.array(3, np.int64))], {"e"}),
        ("Min", [("x", x), ("a", data(rng, (5, 7), specials=False))], set()),
        ("Max", [("x", x), ("a", data(rng, (3, 1, 1), specials=False)), ("b", x)], {"a"}),
        ("Sum", [("x", x), ("a", data(rng, (7,), specials=False)), ("b", x)], set()),
        ("Mean", [("x", x), ("a", data(rng, (1, 3, 1, 7), specials=False))], set()),
        ("LogSoftmax", [("x", x)], set()),
    ]
    for op, ins, const in cases:
        inits = {n: v for n, v in ins if n in const}
        m = _onnx(op, {}, [(n, v.shape) for n, v in ins], inits)
        feeds = {n: v for n, v in ins if n not in const}
        want = _ort(m, feeds)
        cm = ce.from_onnx(m.SerializeToString())
        close(run_numpy(cm, feeds)["y"], want, 1e-6, atol=1e-6, what=f"reference {op}")
        close(run(cm, feeds)[0], want, 1e-6, atol=1e-6, what=f"runtime {op}")


# ---------------------------------------------------------------------------------------------
# constant folding keeps dtypes

def test_folding_integer_and_float64_arithmetic():
    """Shape and weight arithmetic on constants folds with ONNX's dtypes: Pow, Neg, Min, Max,
    Sum on int64 stay int64; Sqrt, Pow on float64 stay float64."""
    i64 = lambda *v: np.array(v, np.int64)
    f64 = lambda *v: np.array(v, np.float64)
    nodes = [
        Node("Pow", ["a", "two"], ["p"], "pow"),               # [4, 9]
        Node("Neg", ["p"], ["n"], "neg"),                      # [-4, -9]
        Node("Max", ["n", "m3", "a"], ["mx"], "max"),          # [2, 3]
        Node("Min", ["p", "c8"], ["mn"], "min"),               # [4, 8]
        Node("Sum", ["mx", "mn", "a"], ["s"], "sum"),          # [8, 14]
        Node("Pow", ["f", "half"], ["fp"], "fpow"),
        Node("Sqrt", ["f"], ["fs"], "sqrt"),
        Node("Pow", ["a", "fneg"], ["ip"], "ipow"),            # int base, float exponent
        Node("Reshape", ["x", "shape"], ["r"], "reshape"),
        Node("Add", ["r", "r"], ["y"], "add"),
    ]
    inits = {"a": i64(2, 3), "two": i64(2), "m3": i64(-3), "c8": i64(8), "f": f64(2.0, 9.0),
             "half": f64(0.5), "fneg": np.array([1.5], np.float32)}
    nodes.insert(8, Node("Concat", ["s"], ["shape"], "cat", {"axis": 0}))
    m = Model(Graph(nodes, [ValueInfo("x", [8, 14])],
                    [ValueInfo("y"), ValueInfo("fp"), ValueInfo("fs"), ValueInfo("ip")], inits), 17)
    folded = fold_constants(m)
    init = folded.graph.initializers
    np.testing.assert_array_equal(init["shape"], [8, 14])
    assert init["shape"].dtype == np.int64
    assert init["fp"].dtype == np.float64 and init["fs"].dtype == np.float64
    np.testing.assert_array_equal(init["fs"], [math.sqrt(2), 3.0])
    assert init["ip"].dtype == np.int64
    np.testing.assert_array_equal(init["ip"], [2, 5])  # trunc(2^1.5), trunc(3^1.5)
    x = np.ones((8, 14), np.float32)
    y, fp, fs, ip = ce.InferenceSession(m).run(None, {"x": x})
    np.testing.assert_array_equal(y, 2 * x)
    assert fs.dtype == np.float64 and ip.dtype == np.int64


def test_integer_pow_rules():
    node = Node("Pow", ["a", "b"], ["y"], "p")
    a = np.array([2, -2, 1, -1, 3, 7], np.int64)
    b = np.array([-1, -1, -5, -3, 0, 2], np.int64)
    (y,) = eval_node(node, [a, b], 17)
    np.testing.assert_array_equal(y, [0, 0, 1, -1, 1, 49])
    assert y.dtype == np.int64
    with pytest.raises(ModelError, match="0 to a negative power"):
        eval_node(node, [np.array([0]), np.array([-1])], 17)


# ---------------------------------------------------------------------------------------------
# bad input

def _plan_error(m, match):
    with pytest.raises(ModelError, match=match):
        ce.InferenceSession(m)


def test_bad_input_is_refused_with_the_node_named(rng):
    x4 = [("x", [2, 3, 5, 7])]
    _plan_error(model([Node("PRelu", ["x", "s"], ["y"], "pr")], x4, ["y"],
                      {"s": np.ones(5, np.float32)}),
                r"pr.*slope of shape \[5\] does not broadcast")
    _plan_error(model([Node("PRelu", ["x", "s"], ["y"], "pr")], x4, ["y"],
                      {"s": np.ones((2, 2, 3, 5, 7), np.float32)}), "pr.*does not broadcast")
    _plan_error(model([Node("Celu", ["x"], ["y"], "ce", {"alpha": 0.0})], x4, ["y"]),
                "ce.*alpha")
    _plan_error(model([Node("Gelu", ["x"], ["y"], "ge", {"approximate": "fast"})], x4, ["y"]),
                "ge.*approximate")
    _plan_error(model([Node("Pow", ["x", "e"], ["y"], "pw")], x4, ["y"],
                      {"e": np.ones(4, np.float32)}), "pw.*broadcast")
    _plan_error(model([Node("Pow", ["b", "x"], ["y"], "pw")], x4, ["y"],
                      {"b": np.array(2, np.int64)}), "pw.*integer")
    _plan_error(model([Node("Max", ["x", "e"], ["y"], "mx")], x4, ["y"],
                      {"e": np.ones((2, 6), np.float32)}), "mx.*broadcast")
    _plan_error(model([Node("LogSoftmax", ["x"], ["y"], "ls", {"axis": 4})], x4, ["y"]),
                "ls.*axis")
    with pytest.raises(ModelError, match="Exp needs a floating-point"):
        eval_node(Node("Exp", ["a"], ["y"], "e"), [np.array([1, 2])], 17)
    with pytest.raises(ModelError, match="Mean needs floating-point"):
        eval_node(Node("Mean", ["a", "a"], ["y"], "e"), [np.array([1]), np.array([2])], 17)
