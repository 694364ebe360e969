"""The graph passes: each alone on small hand-built graphs (structure and numbers), the
patterns that must not fuse, and optimize() on torch-exported blocks."""
import io
import warnings

import numpy as np
import pytest

from conftest import assert_close, needs_torch, randn
from convengine.model import CUSTOM_DOMAIN, ModelError
from convengine._graph.evaluate import run_numpy
from convengine._graph.passes import PASSES, optimize
from convengine._graph.passes_blocks import detect_channel_shuffle, fuse_squeeze_excite
from convengine._graph.passes_fold import (eliminate_dead_nodes, eliminate_identity, fold_batchnorm,
                                           fold_batchnorm_through_concat, fold_channel_affine,
                                           fold_clamp_affine, fold_constants,
                                           merge_parallel_convs)
from convengine._graph.passes_fuse import (fuse_activation, fuse_activation_through_concat,
                                           fuse_residual)
from convengine._graph.validate import validate_model
from graphs import G, check, conv, onnx_to_model, ops


# ---------------------------------------------------------------------------------------------
# fold_constants

def test_fold_constants_constant_nodes_and_arithmetic(rng):
    g = G()
    x = g.input([2, 3])
    c = g("Constant", value=np.full((2, 3), 2.0, np.float32))
    d = g("Mul", c, g.init(np.full((1, 3), 3.0, np.float32)))
    y = g("Add", x, d)
    m = check(fold_constants, g.model(y), rng)
    assert ops(m) == ["Add"]
    (k,) = [t for t in m.graph.nodes[0].inputs if t != x]
    np.testing.assert_array_equal(m.graph.initializers[k], np.full((2, 3), 6.0, np.float32))
    assert "w0" not in m.graph.initializers  # only the folded Mul read it


def test_fold_constants_shape_chain_with_static_input(rng):
    g = G(opset=13)
    x = g.input([2, 4, 3, 5])
    s = g("Shape", x)
    n = g("Gather", s, g.init(np.array(0, np.int64)), axis=0)
    nu = g("Unsqueeze", n, g.init(np.array([0], np.int64)))
    shape = g("Concat", nu, g.init(np.array([-1], np.int64)), axis=0)
    y = g("Reshape", x, shape)
    m = check(fold_constants, g.model(y), rng)
    assert ops(m) == ["Reshape"]
    np.testing.assert_array_equal(m.graph.initializers[m.graph.nodes[0].inputs[1]], [2, -1])


def test_fold_constants_keeps_shape_of_symbolic_input(rng):
    g = G(opset=13)
    x = g.input(["N", 4])
    s = g("Shape", x)
    y = g("Reshape", x, s)
    model = g.model(y)
    m = fold_constants(model)
    assert ops(m) == ["Shape", "Reshape"]
    out = run_numpy(m, {x: randn(rng, 3, 4)})[y]
    assert out.shape == (3, 4)


def test_fold_constants_output_that_is_constant(rng):
    g = G()
    x = g.input([2])
    a = g("Constant", value_floats=[1.0, 2.0])
    y = g("Relu", x)
    m = check(fold_constants, g.model(y, a), rng)
    assert ops(m) == ["Relu"] and a in m.graph.initializers


# ---------------------------------------------------------------------------------------------
# eliminate_identity

def test_eliminate_identity_inner_and_output(rng):
    g = G(opset=13)
    x = g.input([1, 3, 5, 5])
    a = g("Identity", x)
    b = conv(g, rng, a, 3, 4)
    c = g("Dropout", b)
    d = g("Cast", c, to=1)
    e = g("Reshape", d, g.init(np.array([1, 4, 5, 5], np.int64)))
    y = g("Identity", e, outputs=["y"])
    m = check(eliminate_identity, g.model(y), rng)
    assert ops(m) == ["Conv"]
    assert m.graph.nodes[0].inputs[0] == x and m.graph.nodes[0].outputs == ["y"]


def test_eliminate_identity_keeps_what_it_must(rng):
    g = G(opset=13)
    x = g.input([2, 3])
    y1 = g("Identity", x, outputs=["y1"])           # graph input -> graph output: kept
    r = g("Relu", x)
    y2 = g("Identity", r, outputs=["y2"])           # r is itself a graph output: kept
    d, mask = g("Dropout", x, outputs=["d", "mask"])  # mask is read: kept
    c = g("Cast", x, to=7)                          # to int64: kept
    z = g("Reshape", x, g.init(np.array([3, 2], np.int64)))  # new shape: kept
    m = check(eliminate_identity, g.model(y1, y2, r, mask, d, c, z), rng)
    assert ops(m) == ["Identity", "Relu", "Identity", "Dropout", "Cast", "Reshape"]


def test_eliminate_identity_training_dropout_kept(rng):
    g = G(opset=13)
    x = g.input([2, 3])
    t = g.input([], name="training", dtype="bool")
    y = g("Dropout", x, g.init(np.array(0.0, np.float32)), t)
    m = eliminate_identity(g.model(y))
    assert ops(m) == ["Dropout"]


# ---------------------------------------------------------------------------------------------
# fold_batchnorm

def bn(g, rng, x, c, eps=1e-3):
    scale = g.init(randn(rng, c))
    bias = g.init(randn(rng, c))
    mean = g.init(randn(rng, c))
    var = g.init(rng.uniform(0.5, 2.0, c).astype(np.float32))
    return g("BatchNormalization", x, scale, bias, mean, var, epsilon=eps)


@pytest.mark.parametrize("bias", [True, False])
def test_fold_batchnorm_conv(rng, bias):
    g = G()
    x = g.input([2, 4, 6, 6])
    y = bn(g, rng, conv(g, rng, x, 4, 6, bias=bias, group=2, strides=[2, 1]), 6)
    m = check(fold_batchnorm, g.model(y), rng)
    assert ops(m) == ["Conv"] and len(m.graph.nodes[0].inputs) == 3
    assert m.graph.nodes[0].outputs == [y]
    assert len(m.graph.initializers) == 2


def test_fold_batchnorm_conv_transpose_grouped(rng):
    g = G()
    x = g.input([1, 4, 5, 5])
    w = g.init(randn(rng, 4, 3, 3, 3))
    t = g("ConvTranspose", x, w, group=2, strides=[2, 2], pads=[1, 0, 0, 1])
    y = bn(g, rng, t, 6)
    m = check(fold_batchnorm, g.model(y), rng)
    assert ops(m) == ["ConvTranspose"]


@pytest.mark.parametrize("op,first", [("Mul", True), ("Mul", False), ("Div", True),
                                      ("Add", True), ("Add", False), ("Sub", True),
                                      ("Sub", False)])
@pytest.mark.parametrize("cshape", [(6, 1, 1), (1, 6, 1, 1), (), (1,), (1, 1, 1)])
def test_fold_channel_affine(rng, op, first, cshape):
    g = G()
    x = g.input([2, 4, 6, 6])
    t = conv(g, rng, x, 4, 6, bias=op != "Add", group=2)
    c = g.init(rng.uniform(0.5, 2.0, cshape).astype(np.float32))
    y = g(op, t, c) if first else g(op, c, t)
    m = check(fold_channel_affine, g.model(y), rng)
    assert ops(m) == ["Conv"] and m.graph.nodes[0].outputs == [y]


def test_fold_channel_affine_transposed_and_refusals(rng):
    g = G()
    x = g.input([1, 4, 5, 5])
    t = g("ConvTranspose", x, g.init(randn(rng, 4, 3, 3, 3)), group=2, strides=[2, 2])
    y = g("Mul", t, g.init(randn(rng, 6, 1, 1)))
    assert ops(check(fold_channel_affine, g.model(y), rng)) == ["ConvTranspose"]
    for cshape in [(6, 5, 1), (2, 6, 1, 1), (1, 1, 6, 1, 1)]:  # per pixel, per image, new axis
        g = G()
        x = g.input([2, 4, 5, 5])
        y = g("Mul", conv(g, rng, x, 4, 6), g.init(randn(rng, *cshape)))
        assert ops(check(fold_channel_affine, g.model(y), rng)) == ["Conv", "Mul"]
    g = G()
    x = g.input([1, 4, 5, 5])
    c = conv(g, rng, x, 4, 6)
    y = g("Mul", c, g.init(randn(rng, 6, 1, 1)))
    assert ops(check(fold_channel_affine, g.model(y, c), rng)) == ["Conv", "Mul"]  # shared
    g = G()
    x = g.input([1, 4, 5, 5])
    y = g("Div", g.init(randn(rng, 6, 1, 1)), conv(g, rng, x, 4, 6))  # c / conv: not affine
    assert ops(check(fold_channel_affine, g.model(y), rng)) == ["Conv", "Div"]


# ---------------------------------------------------------------------------------------------
# merge_parallel_convs

@pytest.mark.parametrize("k2,pad2,stride,dil,group", [
    (1, 0, 1, 1, 1), (1, 0, 2, 1, 2), (3, 1, 1, 1, 5), (1, 0, 1, 2, 1), (3, 2, 1, 2, 1),
    ((1, 3), (0, 1), 1, 1, 1), ((3, 1), (1, 0), 2, 1, 1)])
def test_merge_parallel_convs(rng, k2, pad2, stride, dil, group):
    # A 3x3 (pads = dilation) beside a smaller or equal branch centred on it.
    g = G()
    x = g.input([2, 10, 9, 8])
    k2 = (k2, k2) if isinstance(k2, int) else k2
    pad2 = (pad2, pad2) if isinstance(pad2, int) else pad2
    c_out = 10
    w1 = g.init(randn(rng, c_out, 10 // group, 3, 3))
    w2 = g.init(randn(rng, c_out, 10 // group, *k2))
    common = dict(strides=[stride] * 2, dilations=[dil] * 2, group=group)
    a = g("Conv", x, w1, g.init(randn(rng, c_out)), pads=[dil] * 4, **common)
    b = g("Conv", x, w2, pads=[pad2[0], pad2[1]] * 2, **common)
    y = g("Add", b, a)
    m = check(merge_parallel_convs, g.model(y), rng)
    assert ops(m) == ["Conv"] and m.graph.nodes[0].outputs == [y]
    assert m.graph.initializers[m.graph.nodes[0].inputs[1]].shape[2:] == (3, 3)


def _bn(g, rng, t, c):
    """An inference BatchNormalization of t (c channels) with random statistics."""
    stats = [rng.uniform(0.5, 2, c), randn(rng, c), randn(rng, c), rng.uniform(0.5, 2, c)]
    return g("BatchNormalization", t, *(g.init(v.astype(np.float32)) for v in stats))


def test_merge_parallel_convs_mobileone_block(rng):
    # timm's MobileOneBlock before re-parameterisation, in its order: (1x1 conv+BN) + BN(x),
    # then four 3x3 conv+BN branches added one by one, ReLU: one 3x3 conv.
    g = G()
    x = g.input([1, 8, 11, 11])

    def bn(t):
        return _bn(g, rng, t, 8)

    def conv_bn(k):
        return bn(g("Conv", x, g.init(randn(rng, 8, 8, k, k) * 0.3), pads=[k // 2] * 4))
    t = g("Add", conv_bn(1), bn(x))
    for _ in range(4):
        t = g("Add", t, conv_bn(3))
    y = g("Relu", t)
    m = check(optimize, g.model(y), rng)
    assert ops(m) == ["FusedConv"] and len(m.graph.nodes[0].inputs) == 3
    assert m.graph.initializers[m.graph.nodes[0].inputs[1]].shape == (8, 8, 3, 3)


@pytest.mark.parametrize("group", [1, 2, 6])
@pytest.mark.parametrize("identity", ["bn", "x"])
def test_merge_parallel_convs_identity_branch(rng, group, identity):
    # RepVGG's block: BN(3x3 conv) + BN(1x1 conv) + BN(x), ReLU -> one FusedConv (3x3).
    g = G()
    x = g.input([2, 6, 7, 9])

    def bn(t):
        return _bn(g, rng, t, 6)

    def conv_bn(k):
        w = g.init(randn(rng, 6, 6 // group, k, k) * 0.3)
        return bn(g("Conv", x, w, pads=[k // 2] * 4, group=group))
    ident = bn(x) if identity == "bn" else x
    y = g("Relu", g("Add", g("Add", conv_bn(3), conv_bn(1)), ident))
    m = check(optimize, g.model(y), rng)
    assert ops(m) == ["FusedConv"]
    n = m.graph.nodes[0]
    assert len(n.inputs) == 3 and m.graph.initializers[n.inputs[1]].shape == (6, 6 // group, 3, 3)


def test_merge_parallel_convs_corner_and_refusals(rng):
    def after(build):
        g = G()
        x = g.input([1, 4, 8, 8])
        return ops(check(merge_parallel_convs, g.model(build(g, x)), rng))

    def cv(g, x, k, pads, **kw):
        return g("Conv", x, g.init(randn(rng, 4, 4 // kw.get("group", 1), k, k)), pads=pads, **kw)
    # a 2x2 branch padded before only sits in the 3x3's top-left corner: merged
    assert after(lambda g, x: g("Add", cv(g, x, 3, [1, 1, 1, 1]), cv(g, x, 2, [1, 1, 0, 0]))) \
        == ["Conv"]
    # other groups; other dilations (a 3x3 dilated 2 spans the 5x5 with holes); other inputs
    assert after(lambda g, x: g("Add", cv(g, x, 3, [1, 1, 1, 1]),
                                cv(g, x, 3, [1, 1, 1, 1], group=2))) == ["Conv", "Conv", "Add"]
    assert after(lambda g, x: g("Add", cv(g, x, 3, [2, 2, 2, 2], dilations=[2, 2]),
                                cv(g, x, 5, [2, 2, 2, 2]))) == ["Conv", "Conv", "Add"]
    assert after(lambda g, x: g("Add", cv(g, x, 3, [1, 1, 1, 1]),
                                cv(g, g("Relu", x), 3, [1, 1, 1, 1]))) == \
        ["Conv", "Relu", "Conv", "Add"]

    def shared(g, x):  # a branch output read twice
        c = cv(g, x, 1, [0, 0, 0, 0])
        return g("Mul", g("Add", cv(g, x, 3, [1, 1, 1, 1]), c), c)
    assert after(shared) == ["Conv", "Conv", "Add", "Mul"]


# ---------------------------------------------------------------------------------------------
# fold_clamp_affine

def _clamped_conv(g, rng, x, act, cin=3, cout=5, **kw):
    c = conv(g, rng, x, cin, cout, **kw)
    if act == "relu":
        return g("Relu", c)
    return g("Clip", c, g.init(np.array(-1.0, np.float32)), g.init(np.array(2.0, np.float32)))


@pytest.mark.parametrize("op,first", [("Mul", True), ("Mul", False), ("Div", True),
                                      ("Add", True), ("Add", False), ("Sub", True),
                                      ("Sub", False)])
@pytest.mark.parametrize("value", [1.75, -0.625])
@pytest.mark.parametrize("act,cshape", [("relu", ()), ("relu", (1,)), ("clip", (1, 1, 1, 1)),
                                        ("clip", (1, 5, 1, 1))])
def test_fold_clamp_affine(rng, op, first, value, act, cshape):
    g = G(opset=13)
    x = g.input([2, 3, 7, 6])
    t = _clamped_conv(g, rng, x, act, bias=op != "Mul", group=1)
    c = g.init(np.full(cshape, value, np.float32))
    y = g(op, t, c) if first else g(op, c, t)
    fused = fuse_activation(g.model(y))
    m = check(fold_clamp_affine, fused, rng)
    assert ops(m) == ["FusedConv"] and m.graph.nodes[0].outputs == [y]
    e = m.graph.nodes[0].attrs
    lo, hi = (0.0, np.inf) if act == "relu" else (-1.0, 2.0)
    s, b = {"Mul": (value, 0.0), "Div": (1 / value, 0.0), "Add": (1.0, value),
            "Sub": (1.0, -value) if first else (-1.0, value)}[op]
    want = sorted([s * lo + b, s * hi + b])
    assert [e.get("clip_min", -np.inf), e.get("clip_max", np.inf)] == pytest.approx(want)


def test_fold_clamp_affine_learnable_affine_block(rng):
    # HGNetV2's LearnableAffineBlock after ReLU: Mul(scale, x) then Add(x, bias), both (1,).
    g = G(opset=13)
    x = g.input([1, 4, 9, 9])
    t = g("Relu", g("BatchNormalization", conv(g, rng, x, 4, 6, bias=False),
                    *(g.init(v.astype(np.float32)) for v in (rng.uniform(0.5, 2, 6),
                      randn(rng, 6), randn(rng, 6), rng.uniform(0.5, 2, 6)))))
    y = g("Add", g("Mul", g.init(np.array([1.3], np.float32)), t),
          g.init(np.array([-0.4], np.float32)))
    z = g("Relu", conv(g, rng, y, 6, 3))
    model = g.model(z)
    m = check(optimize, model, rng)
    assert ops(m) == ["FusedConv", "FusedConv"]
    assert m.graph.nodes[0].attrs["clip_min"] == pytest.approx(-0.4)
    import convengine as ce  # the engine's FusedConv with the moved clamp
    feed = {x: randn(rng, 1, 4, 9, 9)}
    sess = ce.InferenceSession(model)
    assert [r["op"] for r in sess.describe()].count("FusedConv") == 2
    assert_close(sess.run(None, feed)[0], run_numpy(model, feed)[z], atol=1e-5, rtol=1e-4)


def test_fold_clamp_affine_refusals(rng):
    def after(y_of):
        g = G(opset=13)
        x = g.input([1, 3, 6, 6])
        return ops(check(fold_clamp_affine, fuse_activation(g.model(y_of(g, x))), rng))
    # a value per channel: the clamp bounds would differ per channel
    assert after(lambda g, x: g("Mul", _clamped_conv(g, rng, x, "relu"),
                                g.init(rng.uniform(0.5, 2, (5, 1, 1)).astype(np.float32)))) == \
        ["FusedConv", "Mul"]
    # scale 0; c / conv
    assert after(lambda g, x: g("Mul", _clamped_conv(g, rng, x, "relu"),
                                g.init(np.array(0.0, np.float32)))) == ["FusedConv", "Mul"]
    assert after(lambda g, x: g("Div", g.init(np.array(2.0, np.float32)), g(
        "Clip", conv(g, rng, x, 3, 5), g.init(np.array(0.5, np.float32)),
        g.init(np.array(2.0, np.float32))))) == ["FusedConv", "Div"]
    # a refused candidate does not end the pass: the fold after it still happens
    def refused_then_folded(g, x):
        z = g("Mul", _clamped_conv(g, rng, x, "relu"), g.init(np.array(0.0, np.float32)))
        return g("Add", _clamped_conv(g, rng, z, "relu", cin=5), g.init(np.array(1.0, np.float32)))
    assert after(refused_then_folded) == ["FusedConv", "Mul", "FusedConv"]
    # an activation other than a clamp
    assert after(lambda g, x: g("Mul", g("HardSwish", conv(g, rng, x, 3, 5)),
                                g.init(np.array(2.0, np.float32)))) == ["FusedConv", "Mul"]
    # the clamped output also read by another node
    def shared(g, x):
        t = _clamped_conv(g, rng, x, "clip")
        return g("Add", g("Mul", t, g.init(np.array(2.0, np.float32))), t)
    assert after(shared) == ["FusedConv", "Mul", "Add"]
    # a residual in the epilogue: s * clamp(z + r) + b cannot scale r
    g = G(opset=13)
    x = g.input([1, 5, 6, 6])
    y = g("Mul", g("Relu", g("Add", conv(g, rng, x, 5, 5), x)), g.init(np.array(2.0, np.float32)))
    m = fuse_activation(fuse_residual(g.model(y)))
    assert ops(m) == ["FusedConv", "Mul"] and m.graph.nodes[0].inputs[3] == x
    assert ops(check(fold_clamp_affine, m, rng)) == ["FusedConv", "Mul"]


def mixed_conv(g, rng, x, cin, couts, ks, depthwise=False):
    """MixNet's MixedConv: x split along channels, each part through its own kernel size,
    the outputs concatenated along channels."""
    parts = [cin // len(ks)] * len(ks)
    parts[0] += cin - sum(parts)
    xs = g("Split", x, g.init(np.array(parts, np.int64)), axis=1, outputs=len(ks))
    xs = [xs] if isinstance(xs, str) else xs
    ys = [conv(g, rng, xi, ci, co, k=k, group=ci if depthwise else 1)
          for xi, ci, co, k in zip(xs, parts, couts, ks)]
    return g("Concat", *ys, axis=1)


@pytest.mark.parametrize("act", [None, "Relu", "SiLU", "HardSwish", "Clip"])
@pytest.mark.parametrize("depthwise", [False, True])
def test_batchnorm_and_activation_through_mixed_conv_concat(rng, act, depthwise):
    g = G(opset=13)
    cin = 7 if depthwise else 5
    couts = [3, 2, 2] if depthwise else [2, 5, 3]  # depthwise: each part's channels
    x = g.input([2, cin, 6, 7])
    ks = [3, 5, 7]
    y = bn(g, rng, mixed_conv(g, rng, x, cin, couts, ks, depthwise), sum(couts))
    if act == "SiLU":
        y = g("Mul", y, g("Sigmoid", y))
    elif act == "HardSwish":
        y = g("HardSwish", y)
    elif act == "Clip":
        y = g("Clip", y, g.init(np.float32(-0.5)), g.init(np.float32(1.5)))
    elif act:
        y = g(act, y)
    m = check(fold_batchnorm_through_concat, g.model(y), rng)
    assert "BatchNormalization" not in ops(m)
    m = check(fuse_activation_through_concat, m, rng)
    assert ops(m) == ["Split"] + ["FusedConv" if act else "Conv"] * 3 + ["Concat"]
    assert m.graph.nodes[-1].outputs == [y]
    m = check(optimize, g.model(y), rng)
    assert ops(m) == ["Split"] + ["FusedConv" if act else "Conv"] * 3 + ["Concat"]
    import convengine as ce  # the engine's convs writing the concat's slices, epilogues on
    model = g.model(y)
    feed = {x: randn(rng, 2, cin, 6, 7)}
    sess = ce.InferenceSession(model)
    assert not {"BatchNormalization", "Relu", "Sigmoid", "Mul"} & \
        {r["op"] for r in sess.describe()}
    assert_close(sess.run(None, feed)[0], run_numpy(model, feed)[y], atol=1e-5, rtol=1e-4)


def test_batchnorm_and_activation_through_concat_must_not_fuse(rng):
    def build(kind):
        g = G(opset=13)
        x = g.input([1, 6, 5, 5])
        a = conv(g, rng, x, 6, 2)
        b = conv(g, rng, x, 6, 3, k=1, pads=[0] * 4)
        extra = []
        if kind == "not_a_conv":
            b = g("Relu", b)
        elif kind == "shared_part":
            extra = [b]                                   # a part is also a graph output
        axis = 0 if kind == "batch_axis" else 1
        cat = g("Concat", a, b, axis=axis)
        if kind == "output":
            extra = [cat]                                 # the concat is a graph output
        if kind == "repeated":
            cat = g("Concat", a, a, axis=1)
        c = sum({"repeated": [2, 2], "batch_axis": [2]}.get(kind, [2, 3]))
        y = g("Relu", bn(g, rng, cat, c))
        return g.model(y, *extra)

    for kind in ["not_a_conv", "shared_part", "batch_axis", "output", "repeated"]:
        model = build(kind)
        m = fold_batchnorm_through_concat(model)
        assert "BatchNormalization" in ops(m), kind
        assert ops(fuse_activation_through_concat(model)) == ops(model), kind
    # a conv with an activation already takes no BatchNormalization; a part whose epilogue
    # cannot compose with the activation keeps the activation node
    g = G(opset=13)
    x = g.input([1, 4, 5, 5])
    a = conv(g, rng, x, 4, 2)
    b = conv(g, rng, x, 4, 3)
    cat = g("Concat", g("Tanh", a), b, axis=1)
    y = g("Sigmoid", cat)
    fused = fuse_activation(g.model(y))
    assert ops(fused) == ["FusedConv", "Conv", "Concat", "Sigmoid"]
    m = check(fuse_activation_through_concat, fused, rng)
    assert ops(m) == ops(fused)


def test_fold_batchnorm_not_when_conv_output_is_shared(rng):
    g = G()
    x = g.input([1, 3, 5, 5])
    c = conv(g, rng, x, 3, 4)
    y = bn(g, rng, c, 4)
    z = g("Relu", c)
    m = check(fold_batchnorm, g.model(y, z), rng)
    assert ops(m) == ["Conv", "BatchNormalization", "Relu"]
    g2 = G()
    x = g2.input([1, 3, 5, 5])
    c = conv(g2, rng, x, 3, 4)
    y = bn(g2, rng, c, 4)
    assert ops(fold_batchnorm(g2.model(y, c))) == ["Conv", "BatchNormalization"]


def test_fold_batchnorm_standalone_and_shared_weights(rng):
    g = G()
    x = g.input([1, 3, 5, 5])
    a = bn(g, rng, x, 3)                       # no conv before: stays
    w = g.init(randn(rng, 3, 3, 3, 3))
    c1 = g("Conv", a, w, pads=[1, 1, 1, 1])
    c2 = g("Conv", a, w, pads=[1, 1, 1, 1])    # the same weights, no BN after it
    y = bn(g, rng, c1, 3)
    m = check(fold_batchnorm, g.model(y, c2), rng)
    assert ops(m) == ["BatchNormalization", "Conv", "Conv"]
    assert w in m.graph.initializers            # still read by the second conv
    assert m.graph.nodes[1].inputs[1] != w


# ---------------------------------------------------------------------------------------------
# fuse_activation

ACTS = [
    ("Relu", {}, {"clip_min": 0.0}),
    ("LeakyRelu", {"alpha": 0.2}, {"activation": "leaky_relu", "alpha": 0.2}),
    ("HardSwish", {}, {"activation": "hardswish"}),
    ("HardSigmoid", {"alpha": 0.25, "beta": 0.4},
     {"activation": "hardsigmoid", "alpha": 0.25, "beta": 0.4}),
    ("Sigmoid", {}, {"activation": "sigmoid"}),
    ("Tanh", {}, {"activation": "tanh"}),
]


@pytest.mark.parametrize("op,attrs,want", ACTS, ids=[a[0] for a in ACTS])
def test_fuse_activation_each(rng, op, attrs, want):
    g = G(opset=14)
    x = g.input([1, 3, 6, 6])
    y = g(op, conv(g, rng, x, 3, 5, strides=[2, 2]), **attrs)
    m = check(fuse_activation, g.model(y), rng)
    assert ops(m) == ["FusedConv"]
    n = m.graph.nodes[0]
    assert n.domain == CUSTOM_DOMAIN and n.outputs == [y] and n.attrs["strides"] == [2, 2]
    for k, v in want.items():
        assert n.attrs[k] == pytest.approx(v)


@pytest.mark.parametrize("opset", [6, 13])
def test_fuse_activation_clip(rng, opset):
    g = G(opset=opset)
    x = g.input([1, 3, 6, 6])
    c = conv(g, rng, x, 3, 4)
    if opset < 11:
        y = g("Clip", c, min=-0.5, max=0.75)
    else:
        y = g("Clip", c, g.init(np.array(-0.5, np.float32)), g.init(np.array(0.75, np.float32)))
    m = check(fuse_activation, g.model(y), rng)
    n = m.graph.nodes[0]
    assert ops(m) == ["FusedConv"] and (n.attrs["clip_min"], n.attrs["clip_max"]) == (-0.5, 0.75)
    assert len(m.graph.initializers) == 2   # the clip bounds are gone


def test_fuse_activation_chains(rng):
    g = G(opset=13)
    x = g.input([1, 3, 6, 6])
    a = g("Relu", g("Tanh", conv(g, rng, x, 3, 4)))
    b = g("Clip", g("Relu", conv(g, rng, a, 4, 4)), "", g.init(np.array(6.0, np.float32)))
    c = g("Sigmoid", g("Relu", conv(g, rng, b, 4, 4)))  # sigmoid after a clamp: not fusable
    m = check(fuse_activation, g.model(c), rng)
    assert ops(m) == ["FusedConv", "FusedConv", "FusedConv", "Sigmoid"]
    n0, n1, n2 = m.graph.nodes[:3]
    assert n0.attrs["activation"] == "tanh" and n0.attrs["clip_min"] == 0.0
    assert (n1.attrs["clip_min"], n1.attrs["clip_max"]) == (0.0, 6.0)
    assert "activation" not in n1.attrs
    assert n2.attrs["clip_min"] == 0.0


def test_fuse_activation_silu_and_hardswish_patterns(rng):
    g = G(opset=13)
    x = g.input([1, 3, 6, 6])
    c = conv(g, rng, x, 3, 4)
    s = g("Mul", g("Sigmoid", c), c)
    c2 = conv(g, rng, s, 4, 4)
    y = g("Mul", c2, g("HardSigmoid", c2, alpha=1 / 6, beta=0.5))
    m = check(fuse_activation, g.model(y), rng)
    assert ops(m) == ["FusedConv", "FusedConv"]
    assert [n.attrs["activation"] for n in m.graph.nodes] == ["silu", "hardswish"]


def test_fuse_activation_must_not_fuse(rng):
    g = G(opset=13)
    x = g.input([1, 3, 6, 6])
    lo = g.input([], name="lo")
    c1 = conv(g, rng, x, 3, 4)
    r1 = g("Relu", c1)
    s1 = g("Sigmoid", c1)                 # c1 has two consumers
    c2 = conv(g, rng, x, 3, 4)
    r2 = g("Relu", c2)                    # c2 is a graph output
    c3 = conv(g, rng, x, 3, 4)
    r3 = g("Clip", c3, lo)                # bound is not a constant
    c4 = conv(g, rng, x, 3, 4)
    sg = g("Sigmoid", c4)
    r4 = g("Mul", sg, c4)                 # sigmoid output also a graph output
    model = g.model(r1, s1, r2, c2, r3, r4, sg)
    validate_model(model)
    m = fuse_activation(model)
    assert ops(m) == ops(model)
    feeds = {x: randn(rng, 1, 3, 6, 6), lo: np.array(0.1, np.float32)}
    want, got = run_numpy(model, feeds), run_numpy(m, feeds)
    for k in want:
        assert_close(got[k], want[k], what=k)


# ---------------------------------------------------------------------------------------------
# fuse_residual

def test_fuse_residual_then_activation(rng):
    g = G()
    x = g.input([2, 4, 5, 5])
    c = conv(g, rng, g("Relu", x), 4, 4)
    y = g("Relu", g("Add", x, c))
    m = check(fuse_residual, g.model(y), rng)
    assert ops(m) == ["Relu", "FusedConv", "Relu"]
    n = m.graph.nodes[1]
    assert n.inputs[3] == x and len(n.inputs) == 4
    m2 = check(fuse_activation, m, rng)
    assert ops(m2) == ["Relu", "FusedConv"] and m2.graph.nodes[1].attrs["clip_min"] == 0.0


def test_fuse_residual_without_bias_keeps_empty_slot(rng):
    g = G()
    x = g.input([1, 4, 5, 5])
    y = g("Add", conv(g, rng, x, 4, 4, bias=False), x)
    m = check(fuse_residual, g.model(y), rng)
    assert m.graph.nodes[0].inputs[2:] == ["", x]


def test_fuse_residual_two_convs_picks_the_later(rng):
    g = G()
    x = g.input([1, 4, 6, 6])
    a = conv(g, rng, x, 4, 8, strides=[2, 2])
    b = conv(g, rng, x, 4, 8, k=1, strides=[2, 2])
    y = g("Add", a, b)
    m = check(fuse_residual, g.model(y), rng)
    assert ops(m) == ["Conv", "FusedConv"]
    assert m.graph.nodes[1].inputs[3] == a


def test_fuse_residual_must_not_fuse(rng):
    g = G()
    x = g.input([1, 4, 5, 5])
    b1 = g.input([1, 4, 1, 1], name="b1")
    y1 = g("Add", conv(g, rng, x, 4, 4), b1)               # broadcasting
    c2 = conv(g, rng, x, 4, 4)
    y2 = g("Add", c2, x)
    z2 = g("Sigmoid", c2)                                  # conv output read twice
    c3 = conv(g, rng, x, 4, 4)
    y3 = g("Add", c3, x)                                   # conv output is a graph output
    c4 = g("Relu", conv(g, rng, x, 4, 4))
    y4 = g("Add", c4, x)                                   # activation before the add
    model = g.model(y1, y2, z2, y3, c3, y4)
    m = fuse_residual(model)
    assert ops(m) == ops(model)


def test_fuse_residual_on_fused_conv_without_epilogue(rng):
    g = G()
    x = g.input([1, 4, 5, 5])
    w = g.init(randn(rng, 4, 4, 3, 3))
    c = g("FusedConv", x, w, domain=CUSTOM_DOMAIN, pads=[1, 1, 1, 1])
    y = g("Add", c, x)
    m = check(fuse_residual, g.model(y), rng)
    assert ops(m) == ["FusedConv"] and m.graph.nodes[0].inputs == [x, w, "", x]
    g2 = G()
    x = g2.input([1, 4, 5, 5])
    c = g2("FusedConv", x, g2.init(randn(rng, 4, 4, 3, 3)), domain=CUSTOM_DOMAIN,
           pads=[1, 1, 1, 1], clip_min=0.0)
    assert ops(fuse_residual(g2.model(g2("Add", c, x)))) == ["FusedConv", "Add"]


# ---------------------------------------------------------------------------------------------
# detect_channel_shuffle

def shuffle_pattern(g, x, n, c, h, w, groups, second=None):
    a = g("Reshape", x, g.init(np.array([n, groups, c // groups, h, w], np.int64)))
    b = g("Transpose", a, perm=[0, 2, 1, 3, 4])
    return g("Reshape", b, g.init(np.array(second or [n, -1, h, w], np.int64)))


@pytest.mark.parametrize("groups", [2, 3, 4])
def test_detect_channel_shuffle(rng, groups):
    g = G()
    x = g.input([2, 12, 3, 4])
    y = shuffle_pattern(g, g("Relu", x), 2, 12, 3, 4, groups)
    m = check(detect_channel_shuffle, g.model(y), rng)
    assert ops(m) == ["Relu", "ChannelShuffle"]
    n = m.graph.nodes[1]
    assert n.attrs == {"group": groups} and n.domain == CUSTOM_DOMAIN and n.outputs == [y]
    assert not m.graph.initializers


def test_detect_channel_shuffle_must_not_fuse(rng):
    g = G()
    x = g.input([1, 8, 3, 3])
    a = g("Reshape", x, g.init(np.array([1, 2, 4, 3, 3], np.int64)))
    b = g("Transpose", a, perm=[0, 1, 2, 4, 3])            # not a channel swap
    y1 = g("Reshape", b, g.init(np.array([1, 8, 3, 3], np.int64)))
    a2 = g("Reshape", x, g.init(np.array([1, 2, 4, 3, 3], np.int64)))
    b2 = g("Transpose", a2, perm=[0, 2, 1, 3, 4])
    y2 = g("Reshape", b2, g.init(np.array([1, 8, 3, 3], np.int64)))
    z2 = g("Relu", b2)                                     # intermediate read twice
    a3 = g("Reshape", x, g.init(np.array([1, 2, 4, 3, 3], np.int64)))
    b3 = g("Transpose", a3, perm=[0, 2, 1, 3, 4])
    y3 = g("Reshape", b3, g.init(np.array([1, 8, 9], np.int64)))  # not back to NCHW
    model = g.model(y1, y2, z2, y3)
    assert ops(detect_channel_shuffle(model)) == ops(model)


@needs_torch
def test_detect_channel_shuffle_torch_export(rng):
    import torch

    class Shuffle(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(6, 6, 1)

        def forward(self, x):
            x = self.conv(x)
            b, c, h, w = x.shape
            x = x.view(b, 3, c // 3, h, w).transpose(1, 2).contiguous()
            return x.view(b, -1, h, w)

    torch.manual_seed(0)
    mod = Shuffle().eval()
    x = torch.randn(2, 6, 4, 5)
    model = onnx_to_model(export(mod, x))
    assert ops(model) == ["Conv", "Constant", "Reshape", "Transpose", "Constant", "Reshape"]
    m = optimize(model)
    assert ops(m) == ["Conv", "ChannelShuffle"] and m.graph.nodes[1].attrs["group"] == 3
    with torch.no_grad():
        want = mod(x).numpy()
    got = run_numpy(m, {model.graph.inputs[0].name: x.numpy()})
    assert_close(list(got.values())[0], want, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# fuse_squeeze_excite

def se_conv(g, rng, x, c, mid, act="Relu", gate="HardSigmoid"):
    p = g("GlobalAveragePool", x)
    h = conv(g, rng, p, c, mid, k=1, pads=[0, 0, 0, 0])
    if act == "SiLU":
        h = g("Mul", h, g("Sigmoid", h))
    elif act:
        h = g(act, h)
    s = conv(g, rng, h, mid, c, k=1, pads=[0, 0, 0, 0])
    s = g(gate, s) if gate != "HardSigmoid" else g(gate, s, alpha=1 / 6, beta=0.5)
    return g("Mul", x, s)


@pytest.mark.parametrize("act,gate", [("Relu", "HardSigmoid"), ("SiLU", "Sigmoid"),
                                      ("HardSwish", "Sigmoid"), (None, "Sigmoid")])
def test_fuse_squeeze_excite_conv(rng, act, gate):
    g = G(opset=14)
    x = g.input([2, 8, 5, 5])
    r = g("Relu", x)
    y = se_conv(g, rng, r, 8, 3, act, gate)
    m = check(fuse_squeeze_excite, g.model(y), rng)
    assert ops(m) == ["Relu", "SqueezeExcite"]
    n = m.graph.nodes[1]
    assert n.inputs[0] == r and n.outputs == [y] and n.domain == CUSTOM_DOMAIN
    w1, b1, w2, b2 = (m.graph.initializers[t] for t in n.inputs[1:])
    assert w1.shape == (3, 8) and b1.shape == (3,) and w2.shape == (8, 3) and b2.shape == (8,)
    assert n.attrs["gate"] == gate.lower()
    if act == "Relu":
        assert n.attrs["clip_min"] == 0.0
    if act in ("SiLU", "HardSwish"):
        assert n.attrs["activation"] == {"SiLU": "silu", "HardSwish": "hardswish"}[act]
    assert len(m.graph.initializers) == 4


def test_fuse_squeeze_excite_gemm(rng):
    g = G(opset=13)
    x = g.input([2, 6, 4, 4])
    p = g("Flatten", g("GlobalAveragePool", x))
    h = g("Relu", g("Gemm", p, g.init(randn(rng, 2, 6)), g.init(randn(rng, 2)), transB=1))
    s = g("Sigmoid", g("Gemm", h, g.init(randn(rng, 2, 6)), g.init(randn(rng, 1, 6)),
                       alpha=0.5, beta=2.0))
    s = g("Reshape", s, g.init(np.array([2, 6, 1, 1], np.int64)))
    y = g("Mul", s, x)
    m = check(fuse_squeeze_excite, g.model(y), rng)
    assert ops(m) == ["SqueezeExcite"] and m.graph.nodes[0].inputs[0] == x


def test_fuse_squeeze_excite_after_fuse_activation(rng):
    g = G(opset=14)
    x = g.input([1, 8, 5, 5])
    y = se_conv(g, rng, x, 8, 4, "Relu", "Sigmoid")
    fused = fuse_activation(g.model(y))
    assert ops(fused) == ["GlobalAveragePool", "FusedConv", "FusedConv", "Mul"]
    m = check(fuse_squeeze_excite, fused, rng)
    assert ops(m) == ["SqueezeExcite"]
    assert m.graph.nodes[0].attrs["clip_min"] == 0.0
    assert m.graph.nodes[0].attrs["gate"] == "sigmoid"


def test_fuse_squeeze_excite_must_not_fuse(rng):
    g = G(opset=14)
    x = g.input([1, 8, 5, 5])
    x2 = g.input([1, 8, 5, 5], name="x2")
    p = g("GlobalAveragePool", x2)                  # pooled from another tensor
    h = g("Relu", conv(g, rng, p, 8, 2, k=1, pads=[0] * 4))
    y1 = g("Mul", x, g("Sigmoid", conv(g, rng, h, 2, 8, k=1, pads=[0] * 4)))
    p2 = g("GlobalAveragePool", x)
    h2 = conv(g, rng, p2, 8, 2, k=1, pads=[0] * 4)
    r2 = g("Relu", h2)
    s2 = g("Sigmoid", conv(g, rng, r2, 2, 8, k=1, pads=[0] * 4))
    y2 = g("Mul", x, s2)                            # s2 is also a graph output
    model = g.model(y1, y2, s2)
    assert ops(fuse_squeeze_excite(model)) == ops(model)


# ---------------------------------------------------------------------------------------------
# eliminate_dead_nodes, optimize

def test_eliminate_dead_nodes(rng):
    g = G()
    x = g.input([2, 3])
    a = g("Relu", x)
    g("Sigmoid", a)                                   # dangling
    g("Add", x, g.init(np.ones(3, np.float32)))       # dangling, with an initializer
    s1, s2 = g("Split", a, axis=1, split=[1, 2], outputs=2)  # one output read: kept
    g.init(np.zeros(2, np.float32), name="unused")
    y = g("Tanh", s1)
    m = check(eliminate_dead_nodes, g.model(y), rng)
    assert ops(m) == ["Relu", "Split", "Tanh"]
    assert m.graph.initializers == {}


def test_optimize_disabled_and_errors(rng):
    g = G()
    x = g.input([1, 3, 5, 5])
    y = g("Relu", bn(g, rng, conv(g, rng, x, 3, 4), 4))
    model = g.model(y)
    assert ops(check(optimize, model, rng)) == ["FusedConv"]
    m = check(lambda mm: optimize(mm, disabled=["fuse_activation"]), model, rng)
    assert ops(m) == ["Conv", "Relu"]
    m = check(lambda mm: optimize(mm, disabled=("fold_batchnorm", "fuse_activation")), model,
              rng)
    assert ops(m) == ["Conv", "BatchNormalization", "Relu"]
    with pytest.raises(ValueError, match="fold_bn"):
        optimize(model, disabled=["fold_bn"])
    with pytest.raises(TypeError):
        optimize("model.json")
    assert list(PASSES) == ["fold_constants", "eliminate_identity", "fuse_pad",
                            "detect_activations", "fold_batchnorm",
                            "fold_batchnorm_through_concat", "merge_parallel_convs",
                            "detect_channel_shuffle",
                            "fuse_squeeze_excite", "fuse_layer_norm", "fuse_group_norm",
                            "matmul_to_conv", "sink_transposes", "fold_channel_affine",
                            "fuse_residual", "fuse_activation",
                            "fuse_activation_through_concat", "fold_clamp_affine",
                            "eliminate_dead_nodes"]


def test_optimize_broken_constant_subgraph_raises_nothing_silent(rng):
    g = G()
    x = g.input([2, 3])
    bad = g("Reshape", g.init(np.ones(6, np.float32)), g.init(np.array([4, 4], np.int64)))
    y = g("Add", x, bad)
    m = optimize(g.model(y))
    assert ops(m) == ["Reshape", "Add"]     # not folded: the reference rejects it
    with pytest.raises(ModelError, match="Reshape"):
        run_numpy(m, {x: randn(rng, 2, 3)})


# ---------------------------------------------------------------------------------------------
# torch-exported blocks

def export(module, x, **kw):
    import torch
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), f, dynamo=False, opset_version=kw.pop("opset", 17),
                          input_names=["x"], output_names=["y"], **kw)
    return f.getvalue()


def _randomise_bn(module, seed):
    import torch
    gen = torch.Generator().manual_seed(seed)
    for mod in module.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
            mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.weight.data.copy_(torch.randn(c, generator=gen) * 0.5 + 1)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


def _compare_torch(mod, x, model, optimized, atol):
    import torch
    with torch.no_grad():
        want = mod(x).numpy()
    for m in (model, optimized):
        got = run_numpy(m, {"x": x.numpy()})["y"]
        assert_close(got, want, atol=atol, rtol=1e-3)


@needs_torch
@pytest.mark.parametrize("downsample", [False, True])
def test_optimize_resnet_basic_block(rng, downsample):
    import torch
    nn = torch.nn

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            idt = x if self.down is None else self.down(x)
            return torch.relu(out + idt)

    torch.manual_seed(1)
    mod = Basic(8, 16, 2) if downsample else Basic(8, 8, 1)
    _randomise_bn(mod, 2)
    mod.eval()
    x = torch.randn(2, 8, 10, 10)
    model = onnx_to_model(export(mod, x, training=torch.onnx.TrainingMode.EVAL,
                                 do_constant_folding=False))
    validate_model(model)
    m = optimize(model)
    validate_model(m)
    if downsample:
        assert ops(m) == ["FusedConv", "Conv", "FusedConv"]
        last = m.graph.nodes[2]
        assert last.inputs[3] == m.graph.nodes[1].outputs[0]
    else:
        assert ops(m) == ["FusedConv"] * 2
        last = m.graph.nodes[1]
        assert last.inputs[3] == "x"
    assert m.graph.nodes[0].attrs["clip_min"] == 0.0 and last.attrs["clip_min"] == 0.0
    assert last.outputs == ["y"]
    _compare_torch(mod, x, model, m, atol=1e-4)


@needs_torch
def test_optimize_mobilenet_v2_block_with_se(rng):
    import torch
    nn = torch.nn

    class SE(nn.Module):
        def __init__(self, c, mid):
            super().__init__()
            self.fc1 = nn.Conv2d(c, mid, 1)
            self.fc2 = nn.Conv2d(mid, c, 1)

        def forward(self, x):
            s = nn.functional.adaptive_avg_pool2d(x, 1)
            s = nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(s))))
            return x * s

    class Inverted(nn.Module):
        def __init__(self, c, expand):
            super().__init__()
            h = c * expand
            self.body = nn.Sequential(
                nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                nn.Conv2d(h, h, 3, 1, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                SE(h, 8),
                nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

        def forward(self, x):
            return x + self.body(x)

    torch.manual_seed(3)
    mod = Inverted(8, 4)
    _randomise_bn(mod, 4)
    mod.eval()
    x = torch.randn(1, 8, 9, 9)
    model = onnx_to_model(export(mod, x))
    validate_model(model)
    m = optimize(model)
    validate_model(m)
    assert ops(m) == ["FusedConv", "FusedConv", "SqueezeExcite", "FusedConv"]
    a, b, se, c = m.graph.nodes
    assert (a.attrs["clip_min"], a.attrs["clip_max"]) == (0.0, 6.0)
    assert b.attrs["group"] == 32 and (b.attrs["clip_min"], b.attrs["clip_max"]) == (0.0, 6.0)
    assert se.attrs["gate"] == "hardsigmoid" and se.attrs["clip_min"] == 0.0
    assert se.attrs["gate_alpha"] == pytest.approx(1 / 6)
    assert c.inputs[3] == "x" and "clip_min" not in c.attrs and c.outputs == ["y"]
    _compare_torch(mod, x, model, m, atol=1e-4)
    for name in PASSES:
        alone = PASSES[name](model)
        validate_model(alone)
        got = run_numpy(alone, {"x": x.numpy()})["y"]
        assert_close(got, run_numpy(model, {"x": x.numpy()})["y"], atol=1e-4, what=name)


@needs_torch
def test_optimize_with_symbolic_batch(rng):
    import torch
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
            self.c2 = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4))
            self.fc = nn.Linear(4 * 5 * 5, 3)

        def forward(self, x):
            y = torch.relu(self.c2(torch.relu(self.c1(x))) + x)
            b, c, h, w = y.shape
            y = y.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)
            return self.fc(y.view(y.size(0), -1))

    torch.manual_seed(5)
    mod = Net()
    _randomise_bn(mod, 6)
    mod.eval()
    x = torch.randn(2, 4, 5, 5)
    model = onnx_to_model(export(mod, x, dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}))
    assert model.graph.inputs[0].shape[0] == "N"
    assert "Shape" in ops(model)
    m = optimize(model)
    validate_model(m)
    assert ops(m)[:3] == ["FusedConv", "FusedConv", "ChannelShuffle"]
    assert m.graph.nodes[1].inputs[3] == "x" and m.graph.nodes[1].attrs["clip_min"] == 0.0
    assert "Shape" in ops(m)          # the batch size is read at run time: not folded
    for batch in (1, 3):
        xb = torch.randn(batch, 4, 5, 5)
        with torch.no_grad():
            want = mod(xb).numpy()
        assert_close(run_numpy(m, {"x": xb.numpy()})["y"], want, atol=1e-4)


def test_fold_batchnorm_deform_conv(rng):
    g = G(opset=19)
    x = g.input([1, 4, 6, 6])
    off = g.input([1, 2 * 9, 6, 6], name="off")
    mask = g.input([1, 9, 6, 6], name="mask")
    w = g.init(randn(rng, 6, 4, 3, 3))
    d1 = g("DeformConv", x, w, off, "", mask, pads=[1, 1, 1, 1])
    y1 = bn(g, rng, d1, 6)
    d2 = g("DeformConv", x, w, off, g.init(randn(rng, 6)), pads=[1, 1, 1, 1])
    y2 = bn(g, rng, d2, 6)
    m = check(fold_batchnorm, g.model(y1, y2), rng, atol=1e-4)
    assert ops(m) == ["DeformConv", "DeformConv"]
    a, b = m.graph.nodes
    assert a.inputs[2] == off and a.inputs[3] in m.graph.initializers and a.inputs[4] == mask
    assert len(b.inputs) == 4 and b.inputs[3] in m.graph.initializers


def test_fuse_residual_moves_the_conv_when_the_residual_comes_later(rng):
    # Xception's skip: the 1x1 conv comes first, the main branch (ending in a pool) after it
    g = G()
    x = g.input([1, 4, 8, 8])
    skip = conv(g, rng, x, 4, 6, k=1, pads=[0] * 4, strides=[2, 2])
    main = g("MaxPool", conv(g, rng, g("Relu", x), 4, 6), kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1])
    y = g("Add", skip, main)
    m = check(fuse_residual, g.model(y), rng)
    assert ops(m) == ["Relu", "Conv", "MaxPool", "FusedConv"]
    f = m.graph.nodes[3]
    assert f.inputs[0] == x and f.inputs[3] == main and f.outputs == [y]
