"""LayerNormalization, InstanceNormalization, GroupNormalization, LpNormalization, LRN and
MeanVarianceNormalization: the numpy reference against onnxruntime, the runtime steps against
the reference (ranks 1-5, every LayerNormalization axis, prime channel counts, groups 1 / 2 / C,
channels-last inputs from a conv and plain ones, both ISAs, 1 and 2 threads), numerical
soundness on data with a large mean, and the pattern passes on real torch exports."""
from __future__ import annotations

import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import convengine  # noqa: E402
from convengine import ModelError  # noqa: E402
from convengine._graph import evaluate, ops, passes  # noqa: E402
from conftest import assert_close, needs_torch, num_threads  # noqa: E402


def make(nodes, x_shape, outs, inits=(), opset=17, extra_inputs=()):
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))]
    ins += [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s)) for n, s in extra_inputs]
    g = helper.make_graph(nodes, "g", ins,
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                          list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def conv_front(shape, rng, src="x", out="h"):
    c, r = shape[1], len(shape)
    w = (rng.standard_normal((c, c) + (3,) * (r - 2)) / np.sqrt(3 ** (r - 2) * c)).astype(np.float32)
    return ([helper.make_node("Conv", [src, "cw"], [out], pads=[1] * (2 * (r - 2)))],
            [numpy_helper.from_array(w, "cw")])


def arr(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def run_ort(m, feeds):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


def check_session(m, feeds, tol=2e-5):
    cm = convengine.from_onnx(m.SerializeToString())
    ref = evaluate.run_numpy(cm, feeds)
    sess = convengine.InferenceSession(cm)
    got = sess.run(None, feeds)
    for (name, r), a in zip(ref.items(), got, strict=True):
        assert_close(a, r, atol=tol * max(1.0, float(np.abs(r).max())), rtol=tol, what=name)
    return sess


def algorithms(sess):
    return {d["node"]: d["algorithm"] for d in sess.describe()}


# ---------------------------------------------------------------------------------------------
# the numpy reference against onnxruntime

def test_reference_matches_onnxruntime(rng):
    x = arr(rng, 2, 6, 5, 3)
    nodes, inits, outs = [], [], []

    def const(name, v):
        inits.append(numpy_helper.from_array(np.asarray(v, np.float32), name))
        return name
    for i, axis in enumerate([-1, 1, 0, 2]):
        sh = x.shape[axis:]
        ins = ["x", const(f"s{i}", rng.standard_normal(sh))]
        if i % 2 == 0:
            ins.append(const(f"b{i}", rng.standard_normal(sh)))
        nodes.append(helper.make_node("LayerNormalization", ins, [f"ln{i}", f"m{i}", f"r{i}"],
                                      axis=axis, epsilon=1e-3))
        outs += [f"ln{i}", f"m{i}", f"r{i}"]
    nodes.append(helper.make_node("InstanceNormalization",
                                  ["x", const("is", rng.standard_normal(6)),
                                   const("ib", rng.standard_normal(6))], ["in"], epsilon=1e-2))
    outs.append("in")
    for p in (1, 2):
        for axis in (-1, 1):
            nodes.append(helper.make_node("LpNormalization", ["xz"], [f"lp{p}{axis}"], p=p, axis=axis))
            outs.append(f"lp{p}{axis}")
    nodes.insert(0, helper.make_node("Mul", ["x", const("zero_row", np.r_[0, np.ones(2)].reshape(1, 1, 1, 3))], ["xz"]))
    for size in (1, 3, 5):
        nodes.append(helper.make_node("LRN", ["x"], [f"lrn{size}"], size=size, alpha=0.3,
                                      beta=0.75, bias=1.5))
        outs.append(f"lrn{size}")
    for i, axes in enumerate([[0, 2, 3], [1], [2, 3]]):
        nodes.append(helper.make_node("MeanVarianceNormalization", ["x"], [f"mvn{i}"], axes=axes))
        outs.append(f"mvn{i}")
    m = make(nodes, x.shape, outs, inits, opset=17)
    want = run_ort(m, {"x": x})
    ops.OPS.setdefault(("", "Mul"), ops.OpSpec("Mul", (2, 2), (1, 1), {}))
    got = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x})
    for o, w in zip(outs, want, strict=True):
        assert_close(got[o], w, atol=2e-5, rtol=1e-4, what=o)


@pytest.mark.parametrize("opset", [18, 21])
@pytest.mark.parametrize("groups", [1, 2, 3, 6])
def test_group_norm_reference_matches_onnxruntime(opset, groups, rng):
    x = arr(rng, 2, 6, 4, 5)
    n = groups if opset == 18 else 6
    s, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    m = make([helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=groups,
                               epsilon=1e-3)], x.shape, ["y"],
             [numpy_helper.from_array(s, "s"), numpy_helper.from_array(b, "b")], opset=opset)
    (want,) = run_ort(m, {"x": x})
    got = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x})["y"]
    assert_close(got, want, atol=2e-5, rtol=1e-4)
    check_session(m, {"x": x})


# ---------------------------------------------------------------------------------------------
# LayerNormalization on the runtime

LN_SHAPES = [(17,), (3, 13), (2, 7, 5), (2, 5, 3, 7), (2, 3, 4, 3, 5)]


@pytest.mark.parametrize("shape", LN_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("threads", [1, 2])
def test_layer_norm_every_axis(shape, threads, isa, rng):
    r = len(shape)
    x = arr(rng, *shape)
    fronts = ["x"]
    nodes, inits = [], []
    if r >= 3:
        cn, ci = conv_front(shape, rng)
        nodes += cn
        inits += ci
        fronts.append("h")
    outs = []
    for src in fronts:
        for axis in range(-r, r):
            sh = shape[axis:]
            tag = f"{src}{axis + r}"
            inits.append(numpy_helper.from_array(arr(rng, *sh), f"s{tag}"))
            ins = [src, f"s{tag}"]
            if axis % 2 == 0:
                inits.append(numpy_helper.from_array(arr(rng, *sh), f"b{tag}"))
                ins.append(f"b{tag}")
            o = [f"y{tag}"] + ([f"m{tag}", f"r{tag}"] if axis == -1 else [])
            nodes.append(helper.make_node("LayerNormalization", ins, o, axis=axis, epsilon=1e-4))
            outs += o
    with num_threads(threads):
        check_session(make(nodes, shape, outs, inits), {"x": x})


@pytest.mark.parametrize("c", [1, 7, 96, 131])
@pytest.mark.parametrize("threads", [1, 2])
def test_convnext_channel_layer_norm_is_one_fused_step(c, threads, isa, rng):
    """Transpose(0, 2, 3, 1) -> LayerNormalization(-1) -> Transpose(0, 3, 1, 2) between convs:
    both Transposes are views of the channels-last tensors; the norm is one pass per pixel."""
    shape = (2, c, 9, 11)
    nodes, inits = conv_front(shape, rng)
    nodes += [helper.make_node("Transpose", ["h"], ["t"], perm=[0, 2, 3, 1]),
              helper.make_node("LayerNormalization", ["t", "s", "b"], ["n"], axis=-1,
                               epsilon=1e-6, name="ln"),
              helper.make_node("Transpose", ["n"], ["u"], perm=[0, 3, 1, 2])]
    c2, i2 = conv_front(shape, rng, "u", "y")
    i2[0].name = "cw2"
    c2[0].input[1] = "cw2"
    inits += [numpy_helper.from_array(arr(rng, c), "s"), numpy_helper.from_array(arr(rng, c), "b")]
    m = make(nodes + c2, shape, ["y"], inits + i2)
    with num_threads(threads):
        sess = check_session(m, {"x": arr(rng, *shape)})
    rows = sess.describe()
    assert [r["op"] for r in rows].count("Relayout") <= 1  # the graph input only
    assert c == 1 or algorithms(sess)["ln"].startswith("fused-rows-")
    (want,) = run_ort(m, {"x": (x := arr(rng, *shape))})
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-4, rtol=1e-4)


def test_layer_norm_runtime_scale_and_broadcast_scale(rng):
    x = arr(rng, 2, 3, 4, 5)
    nodes = [helper.make_node("LayerNormalization", ["x", "s"], ["y"], axis=1),
             helper.make_node("LayerNormalization", ["x", "s1", "b1"], ["z"], axis=2)]
    m = make(nodes, x.shape, ["y", "z"],
             [numpy_helper.from_array(arr(rng, 1, 5), "s1"), numpy_helper.from_array(arr(rng, 4, 1), "b1")],
             extra_inputs=[("s", (3, 4, 5))])
    feeds = {"x": x, "s": arr(rng, 3, 4, 5)}
    check_session(m, feeds)
    (want, _) = run_ort(m, feeds)
    got = convengine.InferenceSession(convengine.from_onnx(m.SerializeToString())).run(None, feeds)
    assert_close(got[0], want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("op", ["LayerNormalization", "GroupNormalization", "MeanVarianceNormalization"])
def test_statistics_are_sound_on_a_large_mean(op, isa, rng):
    """mean 3000, std 0.5: E[x^2] - E[x]^2 in float32 would lose every digit of the variance."""
    shape = (2, 8, 16, 16)
    x = (3000.0 + 0.5 * rng.standard_normal(shape)).astype(np.float32)
    inits = []
    if op == "LayerNormalization":
        node = helper.make_node(op, ["x", "s"], ["y"], axis=1)
        inits.append(numpy_helper.from_array(np.ones((8, 16, 16), np.float32), "s"))
    elif op == "GroupNormalization":
        node = helper.make_node(op, ["x", "s", "b"], ["y"], num_groups=2)
        inits += [numpy_helper.from_array(np.ones(8, np.float32), "s"),
                  numpy_helper.from_array(np.zeros(8, np.float32), "b")]
    else:
        node = helper.make_node(op, ["x"], ["y"])
    m = make([node], shape, ["y"], inits, opset=21 if op == "GroupNormalization" else 17)
    got = convengine.InferenceSession(convengine.from_onnx(m.SerializeToString())).run(None, {"x": x})[0]
    ref = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x.astype(np.float64)})["y"]
    # float32 inputs near 3000 carry 2.4e-4 absolute rounding: 5e-4 of the unit-variance output
    assert np.abs(got - ref).max() < 2e-3


# ---------------------------------------------------------------------------------------------
# Group and instance norm

@pytest.mark.parametrize("shape", [(2, 12, 5, 7), (1, 7, 13), (2, 6, 3, 4, 5), (1, 64, 31, 29)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("front", ["input", "conv"])
@pytest.mark.parametrize("threads", [1, 2])
def test_group_and_instance_norm(shape, front, threads, isa, rng):
    c = shape[1]
    x = arr(rng, *shape)
    nodes, inits, src = [], [], "x"
    if front == "conv":
        nodes, inits = conv_front(shape, rng)
        src = "h"
    outs = []
    for i, g in enumerate(sorted({1, 2 if c % 2 == 0 else 1, c, 3 if c % 3 == 0 else c})):
        inits += [numpy_helper.from_array(arr(rng, c), f"s{i}"),
                  numpy_helper.from_array(arr(rng, c), f"b{i}")]
        nodes.append(helper.make_node("GroupNormalization", [src, f"s{i}", f"b{i}"], [f"g{i}"],
                                      num_groups=g, epsilon=10.0 ** -(i + 2), name=f"gn{i}"))
        outs.append(f"g{i}")
    nodes.append(helper.make_node("InstanceNormalization", [src, "s0", "b0"], ["in"], name="in"))
    outs.append("in")
    with num_threads(threads):
        sess = check_session(make(nodes, shape, outs, inits, opset=21), {"x": x})
    algo = algorithms(sess)
    want = "channels-last-" if front == "conv" else "horizontal-"
    assert algo["in"].startswith(want) and algo["gn0"].startswith(want)


def test_group_norm_per_group_runtime_parameters(rng):
    x = arr(rng, 2, 6, 4, 5)
    m = make([helper.make_node("Conv", ["x", "w"], ["h"]),
              helper.make_node("GroupNormalization", ["h", "s", "b"], ["y"], num_groups=3)],
             x.shape, ["y"], [numpy_helper.from_array(arr(rng, 6, 6, 1, 1), "w")], opset=18,
             extra_inputs=[("s", (3,)), ("b", (3,))])
    feeds = {"x": x, "s": arr(rng, 3), "b": arr(rng, 3)}
    check_session(m, feeds)
    (want,) = run_ort(m, feeds)
    got = convengine.InferenceSession(convengine.from_onnx(m.SerializeToString())).run(None, feeds)
    assert_close(got[0], want, atol=1e-5, rtol=1e-4)


def test_group_norm_bad_parameters_are_refused(rng):
    m = make([helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=4)],
             (1, 6, 3, 3), ["y"], [numpy_helper.from_array(arr(rng, 4), "s"),
                                   numpy_helper.from_array(arr(rng, 4), "b")], opset=18)
    with pytest.raises(ModelError, match="num_groups 4 does not divide the 6 channels"):
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))
    m = make([helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3)],
             (1, 6, 3, 3), ["y"], [numpy_helper.from_array(arr(rng, 4), "s"),
                                   numpy_helper.from_array(arr(rng, 4), "b")], opset=18)
    with pytest.raises(ModelError, match=r"scale has shape \[4\], expected \[3\].*or \[6\]"):
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))


# ---------------------------------------------------------------------------------------------
# LpNormalization, LRN, MeanVarianceNormalization

@pytest.mark.parametrize("front", ["input", "conv"])
def test_lp_lrn_mvn(front, isa, rng):
    shape = (2, 11, 6, 5)
    x = arr(rng, *shape)
    x[0, :, 0, 0] = 0  # a zero vector along the channels: LpNormalization gives 0
    nodes, inits, src = [], [], "x"
    if front == "conv":
        w = np.zeros((11, 11, 1, 1), np.float32)
        w[np.arange(11), np.arange(11)] = 1
        nodes = [helper.make_node("Conv", ["x", "w"], ["h"])]
        inits, src = [numpy_helper.from_array(w, "w")], "h"
    outs = []
    for p in (1, 2):
        for axis in (1, -1, 0):
            nodes.append(helper.make_node("LpNormalization", [src], [f"lp{p}{axis}"], p=p, axis=axis))
            outs.append(f"lp{p}{axis}")
    for size, beta in ((1, 0.75), (2, 0.5), (3, 1.0), (5, 0.75), (4, 0.6), (25, 0.75)):
        nodes.append(helper.make_node("LRN", [src], [f"lrn{size}"], size=size, alpha=1e-2,
                                      beta=beta, bias=1.0))
        outs.append(f"lrn{size}")
    for i, axes in enumerate([[0, 2, 3], [1], [2, 3], [0, 1, 2, 3], [-1]]):
        nodes.append(helper.make_node("MeanVarianceNormalization", [src], [f"mvn{i}"], axes=axes))
        outs.append(f"mvn{i}")
    m = make(nodes, shape, outs, inits)
    for threads in (1, 2):
        with num_threads(threads):
            check_session(m, {"x": x})
    # onnxruntime takes odd LRN sizes only
    odd = [o for o in outs if not (o.startswith("lrn") and int(o[3:]) % 2 == 0)]
    keep = [n for n in nodes if n.output[0] in odd or n.op_type == "Conv"]
    m_odd = make(keep, shape, odd, inits)
    want = run_ort(m_odd, {"x": x})
    got = convengine.InferenceSession(convengine.from_onnx(m_odd.SerializeToString())).run(None, {"x": x})
    for o, a, w in zip(odd, got, want, strict=True):
        assert_close(a, w, atol=3e-5, rtol=1e-4, what=o)


def test_lrn_large_image_threads(isa, rng):
    shape = (1, 96, 55, 55)  # AlexNet's first LRN
    x = arr(rng, *shape)
    m = make([helper.make_node("LRN", ["x"], ["y"], size=5, alpha=1e-4, beta=0.75, bias=2.0)],
             shape, ["y"])
    for threads in (1, 2):
        with num_threads(threads):
            check_session(m, {"x": x})


# ---------------------------------------------------------------------------------------------
# pattern passes on torch exports

def _export(module, shape):
    import torch
    f = io.BytesIO()
    torch.onnx.export(module.eval(), torch.randn(*shape), f, opset_version=17, dynamo=False,
                      input_names=["x"], output_names=["y"])
    return f.getvalue()


@pytest.fixture
def math_ops(monkeypatch):
    """Pow / Sqrt / Reciprocal in the op table if the math family has not added them yet: the
    layer-norm pass removes them, so the optimised model runs either way."""
    for n in ("Pow", "Sqrt", "Reciprocal"):
        if ("", n) not in ops.OPS:
            monkeypatch.setitem(ops.OPS, ("", n), ops.OpSpec(n, (1, 2), (1, 1), {}))


@needs_torch
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("form", ["div", "rsqrt", "square"])
def test_manual_channel_layer_norm_becomes_fused_step(form, affine, math_ops, isa, rng):
    import torch

    class LayerNorm2d(torch.nn.Module):  # ConvNeXt's channels_first LayerNorm, timm's fallbacks
        def __init__(self, c):
            super().__init__()
            self.conv = torch.nn.Conv2d(c, c, 3, padding=1)
            self.w = torch.nn.Parameter(torch.randn(c))
            self.b = torch.nn.Parameter(torch.randn(c))

        def forward(self, x):
            x = self.conv(x)
            u = x.mean(1, keepdim=True)
            d = x - u
            v = (d * d if form == "square" else d.pow(2)).mean(1, keepdim=True)
            x = d * torch.rsqrt(v + 1e-6) if form == "rsqrt" else d / torch.sqrt(v + 1e-6)
            return self.w[:, None, None] * x + self.b[:, None, None] if affine else x

    torch.manual_seed(0)
    mod = LayerNorm2d(13)
    data = _export(mod, (2, 13, 7, 6))
    model = convengine.from_onnx(data)
    opt = passes.optimize(model)
    kinds = [n.op_type for n in opt.graph.nodes]
    assert kinds == ["Conv", "Transpose", "LayerNormalization", "Transpose"], kinds
    sess = convengine.InferenceSession(opt, optimize=False)
    assert any(a.startswith("fused-rows-") for a in algorithms(sess).values())
    x = np.random.default_rng(1).standard_normal((2, 13, 7, 6)).astype(np.float32)
    with torch.no_grad():
        want = mod(torch.from_numpy(x)).numpy()
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-4, rtol=1e-4)


@needs_torch
@pytest.mark.parametrize("groups,c", [(1, 6), (3, 6), (6, 6), (32, 64)])
@pytest.mark.parametrize("affine", [True, False])
def test_torch_group_norm_becomes_one_step(groups, c, affine, isa, rng):
    import torch
    torch.manual_seed(groups)
    mod = torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1),
                              torch.nn.GroupNorm(groups, c, affine=affine), torch.nn.SiLU())
    if affine:
        with torch.no_grad():
            mod[1].weight.normal_()
            mod[1].bias.normal_()
    shape = (2, c, 9, 7)
    model = convengine.from_onnx(_export(mod, shape))
    assert "InstanceNormalization" in [n.op_type for n in model.graph.nodes]
    sess = convengine.InferenceSession(model)
    kinds = [n.op_type for n in sess.model.graph.nodes]
    assert "InstanceNormalization" not in kinds and "Reshape" not in kinds, kinds
    rows = sess.describe()
    gn = [r for r in rows if r["op"] == "GroupNormalization"]
    assert len(gn) == 1 and gn[0]["algorithm"].startswith("channels-last-")
    assert [r["op"] for r in rows].count("Relayout") == 1
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = mod(torch.from_numpy(x)).numpy()
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-4, rtol=1e-4)


@needs_torch
def test_timm_layer_norm_2d(isa, rng):
    timm = pytest.importorskip("timm")
    import torch
    from timm.layers import LayerNorm2d
    torch.manual_seed(0)
    mod = torch.nn.Sequential(torch.nn.Conv2d(24, 24, 3, padding=1), LayerNorm2d(24),
                              torch.nn.Conv2d(24, 8, 1))
    with torch.no_grad():
        mod[1].weight.normal_()
        mod[1].bias.normal_()
    shape = (1, 24, 14, 14)
    sess = convengine.InferenceSession(convengine.from_onnx(_export(mod, shape)))
    assert any(r["op"] == "LayerNormalization" and r["algorithm"].startswith("fused-rows-")
               for r in sess.describe())
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = mod(torch.from_numpy(x)).numpy()
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-4, rtol=1e-4)
    del timm


@pytest.mark.parametrize("threads", [1, 2])
def test_statistics_merge_blocks_with_different_means(threads, isa, rng):
    """A ramp along the pixels: each block of pixels (the two-pass unit) has its own mean, so
    merging the blocks' moments must add the between-block term (Chan et al.)."""
    shape = (2, 16, 40, 37)
    ramp = np.linspace(-30, 30, 40 * 37, dtype=np.float32).reshape(1, 1, 40, 37)
    x = (ramp + rng.standard_normal(shape)).astype(np.float32)
    w = np.eye(16, dtype=np.float32).reshape(16, 16, 1, 1)
    nodes = [helper.make_node("Conv", ["x", "w"], ["h"]),
             helper.make_node("InstanceNormalization", ["h", "s", "b"], ["in"]),
             helper.make_node("GroupNormalization", ["h", "s", "b"], ["gn"], num_groups=4),
             helper.make_node("LayerNormalization", ["h", "ls"], ["ln"], axis=2),
             helper.make_node("MeanVarianceNormalization", ["h"], ["mvn"], axes=[2, 3])]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.ones(16, np.float32), "s"),
             numpy_helper.from_array(np.zeros(16, np.float32), "b"),
             numpy_helper.from_array(np.ones((40, 37), np.float32), "ls")]
    with num_threads(threads):
        check_session(make(nodes, shape, ["in", "gn", "ln", "mvn"], inits, opset=21), {"x": x},
                      tol=1e-5)


@needs_torch
@pytest.mark.parametrize("kind", ["StdConv2d", "ScaledStdConv2d"])
def test_weight_standardisation_folds(kind, isa):
    """timm's weight-standardised convs (BiT, NF-Nets) export the standardisation as
    BatchNormalization(training_mode=1) and ReduceMean over the constant weights: it folds into
    the conv weight, nothing of it runs."""
    pytest.importorskip("timm")
    import torch
    from timm import layers
    torch.manual_seed(0)
    mod = torch.nn.Sequential(getattr(layers, kind)(5, 12, 3, padding=1), torch.nn.ReLU(),
                              getattr(layers, kind)(12, 7, 1))
    shape = (2, 5, 9, 8)
    model = convengine.from_onnx(_export(mod, shape))
    assert any(n.op_type == "BatchNormalization" and n.attrs.get("training_mode")
               for n in model.graph.nodes)
    sess = convengine.InferenceSession(model)
    assert {r["op"] for r in sess.describe()} <= {"Relayout", "Conv", "FusedConv", "Output"}
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = mod(torch.from_numpy(x)).numpy()
    assert_close(sess.run(None, {"x": x})[0], want, atol=1e-4, rtol=1e-4)


def test_training_mode_batch_norm_reference_matches_onnxruntime(rng):
    x = arr(rng, 2, 3, 4, 5)
    inits = [numpy_helper.from_array(arr(rng, 3), n) for n in ("s", "b", "m")]
    inits.append(numpy_helper.from_array(np.abs(arr(rng, 3)) + 0.1, "v"))
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y", "rm", "rv"],
                            training_mode=1, momentum=0.7, epsilon=1e-3)
    m = make([node], x.shape, ["y", "rm", "rv"], inits, opset=15)
    want = run_ort(m, {"x": x})
    got = evaluate.run_numpy(convengine.from_onnx(m.SerializeToString()), {"x": x})
    for o, w in zip(("y", "rm", "rv"), want, strict=True):
        assert_close(got[o], w, atol=1e-5, rtol=1e-5, what=o)
    with pytest.raises(ModelError, match="training_mode=1 is not supported"):
        convengine.InferenceSession(convengine.from_onnx(m.SerializeToString()))
