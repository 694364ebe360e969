"""The math activations in the conv epilogue (every conv algorithm, both ISAs), the
fuse_activation pass for them, the detect_activations pass on hand-built graphs (every operand
order) and on real torch.onnx.export output, and the exporters (to_onnx, to_torch) on graphs
that hold the fused and detected nodes."""
import io
import itertools
import math
import warnings

import numpy as np
import pytest

import convengine as ce
from convengine._graph import eval_math as em
from convengine._graph.evaluate import run_numpy
from convengine._graph.passes import PASSES, optimize
from convengine._graph.passes_activation import detect_activations
from convengine._graph.passes_fuse import fuse_activation
from convengine.model import CUSTOM_DOMAIN
from conftest import assert_close, needs_torch, randn
from conv_checks import EPILOGUE_SHAPES, check_conv_epilogue, epilogue_shape_id
from graphs import G, check, conv, ops

# activation -> (alpha, beta, float64 function of (v, alpha, beta)), relative kernel bound
ACTS = {
    "gelu": (0.0, 0.0, lambda v, a, b: em.gelu(v)),
    "gelu_tanh": (0.0, 0.0, lambda v, a, b: em.gelu(v, "tanh")),
    "mish": (0.0, 0.0, lambda v, a, b: em.mish(v)),
    "softplus": (0.0, 0.0, lambda v, a, b: em.softplus(v)),
    "softsign": (0.0, 0.0, lambda v, a, b: em.softsign(v)),
    "elu": (0.8, 0.0, lambda v, a, b: em.elu(v, a)),
    "selu": (1.6732632, 1.0507010, lambda v, a, b: em.selu(v, a, b)),
    "celu": (0.6, 0.0, lambda v, a, b: em.celu(v, a)),
    "thresholded_relu": (0.3, 0.0, lambda v, a, b: em.thresholded_relu(v, a)),
}


@pytest.mark.parametrize("shape", EPILOGUE_SHAPES, ids=epilogue_shape_id)
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("with_residual", [False, True])
def test_conv_epilogue_math_activations(rng, isa, shape, act, with_residual):
    alpha, beta, fn = ACTS[act]
    lo, hi = (-0.5, 2.0) if act in ("gelu", "mish", "elu") else (-np.inf, np.inf)
    # the conv's error enters through the activation's slope, at most 1.1 (gelu, selu)
    check_conv_epilogue(rng, shape, act, alpha, beta, lo, hi, fn, with_residual, batch=2,
                        slope=1.1)


# ---------------------------------------------------------------------------------------------
# fuse_activation

FUSABLE = [
    ("Gelu", {}, {"activation": "gelu"}),
    ("Gelu", {"approximate": "tanh"}, {"activation": "gelu_tanh"}),
    ("Mish", {}, {"activation": "mish"}),
    ("Softplus", {}, {"activation": "softplus"}),
    ("Softsign", {}, {"activation": "softsign"}),
    ("Elu", {"alpha": 0.7}, {"activation": "elu", "alpha": 0.7}),
    ("Selu", {}, {"activation": "selu", "alpha": 1.67326319217681884765625,
                  "beta": 1.05070102214813232421875}),
    ("Celu", {"alpha": 0.5}, {"activation": "celu", "alpha": 0.5}),
    ("ThresholdedRelu", {"alpha": 0.2}, {"activation": "thresholded_relu", "alpha": 0.2}),
]


@pytest.mark.parametrize("op,attrs,want", FUSABLE, ids=[f[0] + str(f[1]) for f in FUSABLE])
def test_fuse_activation_math(rng, isa, op, attrs, want):
    g = G(opset=20)
    x = g.input([2, 3, 7, 6])
    y = g("Relu", g(op, conv(g, rng, x, 3, 5), **attrs))   # the Relu becomes the clamp
    m = g.model(y)
    new = check(fuse_activation, m, rng)
    assert ops(new) == ["FusedConv"]
    n = new.graph.nodes[0]
    assert n.domain == CUSTOM_DOMAIN and n.attrs["clip_min"] == 0.0
    for k, v in want.items():
        assert n.attrs[k] == pytest.approx(v)
    feeds = {"in0": randn(rng, 2, 3, 7, 6)}
    (fused,) = ce.InferenceSession(m).run(None, feeds)
    (plain,) = ce.InferenceSession(m, optimize=False).run(None, feeds)
    assert len(ce.InferenceSession(m).describe()) < len(ce.InferenceSession(m, optimize=False).describe())
    assert_close(fused, plain, atol=1e-6, rtol=1e-5)
    assert_close(fused, run_numpy(m, feeds)[y], atol=1e-5, rtol=1e-4)


def test_fuse_activation_not_for_negative_celu_or_shared_output(rng):
    g = G(opset=20)
    x = g.input([1, 3, 6, 6])
    a = g("Celu", conv(g, rng, x, 3, 4), alpha=-0.5)
    c = conv(g, rng, x, 3, 4)
    b = g("Gelu", c)
    m = check(fuse_activation, g.model(a, b, c), rng)
    assert ops(m) == ["Conv", "Celu", "Conv", "Gelu"]


# ---------------------------------------------------------------------------------------------
# detect_activations on hand-built graphs

S2 = math.sqrt(2)


def _gelu_erf_graph(rng, div, one_first, tail):
    """x / 2 (1 + erf(x / sqrt 2)) with the given operand orders; x is a conv output."""
    g = G(opset=17)
    x = conv(g, rng, g.input([2, 3, 5, 5]), 3, 4)
    c = lambda v: g.init(np.array(v, np.float32))
    u = {"div": lambda: g("Div", x, c(S2)), "mul": lambda: g("Mul", x, c(1 / S2)),
         "mul_r": lambda: g("Mul", c(1 / S2), x)}[div]()
    e = g("Erf", u)
    v = g("Add", c(1.0), e) if one_first else g("Add", e, c(1.0))
    if tail == "xv_half":
        y = g("Mul", g("Mul", x, v), c(0.5))
    elif tail == "vx_div2":
        y = g("Div", g("Mul", v, x), c(2.0))
    elif tail == "half_xv":
        y = g("Mul", c(0.5), g("Mul", v, x))
    elif tail == "vhalf_x":
        y = g("Mul", x, g("Mul", v, c(0.5)))
    elif tail == "xhalf_v":
        y = g("Mul", g("Mul", c(0.5), x), v)
    else:  # x / 2 * v
        y = g("Mul", v, g("Div", x, c(2.0)))
    return g.model(y)


@pytest.mark.parametrize("div,one_first,tail", list(itertools.product(
    ["div", "mul", "mul_r"], [False, True],
    ["xv_half", "vx_div2", "half_xv", "vhalf_x", "xhalf_v", "x2_v"])))
def test_detect_gelu_every_operand_order(rng, div, one_first, tail):
    m = _gelu_erf_graph(rng, div, one_first, tail)
    new = check(detect_activations, m, rng, atol=1e-6, rtol=1e-6)
    assert ops(new) == ["Conv", "Gelu"]
    assert len(new.graph.initializers) == 2  # the conv's weight and bias; constants dropped


def test_detect_gelu_tanh_and_mish_forms(rng):
    for cube in ("xxx", "xx_x", "pow"):
        g = G(opset=17)
        x = g("Relu", g.input([2, 7]))
        c = lambda v: g.init(np.array(v, np.float32))
        x3 = {"xxx": lambda: g("Mul", x, g("Mul", x, x)), "xx_x": lambda: g("Mul", g("Mul", x, x), x),
              "pow": lambda: g("Pow", x, c(3.0))}[cube]()
        inner = g("Mul", g("Add", g("Mul", x3, c(0.044715)), x), c(math.sqrt(2 / math.pi)))
        y = g("Mul", g("Mul", c(0.5), x), g("Add", g("Tanh", inner), c(1.0)))
        new = check(detect_activations, g.model(y), rng, atol=1e-6, rtol=1e-6)
        assert ops(new) == ["Relu", "Gelu"] and new.graph.nodes[1].attrs == {"approximate": "tanh"}
    for order in (0, 1):
        g = G(opset=17)
        x = g.input([2, 7])
        t = g("Tanh", g("Softplus", x))
        y = g("Mul", *((x, t) if order else (t, x)))
        new = check(detect_activations, g.model(y), rng)
        assert ops(new) == ["Mish"]


def test_detect_activations_leaves_lookalikes(rng):
    g = G(opset=17)
    x = g.input([2, 7])
    c = lambda v: g.init(np.array(v, np.float32))
    # 0.6 instead of 0.5
    y1 = g("Mul", g("Mul", x, g("Add", g("Erf", g("Div", x, c(S2))), c(1.0))), c(0.6))
    # erf(x / 2)
    y2 = g("Mul", g("Mul", x, g("Add", g("Erf", g("Div", x, c(2.0))), c(1.0))), c(0.5))
    # 1 + erf(...) also read elsewhere
    v = g("Add", g("Erf", g("Div", x, c(S2))), c(1.0))
    y3 = g("Mul", g("Mul", x, v), c(0.5))
    # tanh(softplus(x)) * z with z not x
    z = g.input([2, 7])
    y4 = g("Mul", g("Tanh", g("Softplus", x)), z)
    # a (1, 1, 1) constant would broadcast (2, 7) to (1, 2, 7)
    y5 = g("Mul", g("Mul", x, g("Add", g("Erf", g("Div", x, c(S2))), c(1.0))),
           g.init(np.full((1, 1, 1), 0.5, np.float32)))
    m = g.model(y1, y2, y3, v, y4, y5)
    new = check(detect_activations, m, rng)
    assert ops(new) == ops(m)


def test_detect_activations_runs_before_fuse_activation():
    names = list(PASSES)
    assert names.index("fold_constants") < names.index("detect_activations") < \
        names.index("fuse_activation")


# ---------------------------------------------------------------------------------------------
# real torch exports

def _export(torch, module, x, opset=17):
    b = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), b, opset_version=opset, dynamo=False,
                          input_names=["x"], output_names=["y"])
    return ce.from_onnx(b.getvalue())


@needs_torch
def test_detect_on_torch_exports(rng, isa):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class ConvAct(nn.Module):
        def __init__(self, act):
            super().__init__()
            self.c, self.act = nn.Conv2d(3, 16, 3, padding=1), act

        def forward(self, x):
            return self.act(self.c(x))

    class MlpAct(nn.Module):  # ConvNeXt's MLP: channels-last Linear, activation, Linear
        def __init__(self, act):
            super().__init__()
            self.a, self.b, self.act = nn.Linear(8, 32), nn.Linear(32, 8), act

        def forward(self, x):
            return self.b(self.act(self.a(x.permute(0, 2, 3, 1)))).permute(0, 3, 1, 2)

    acts = {
        "nn.GELU": (nn.GELU(), "gelu", "Gelu"),
        "nn.GELU(tanh)": (nn.GELU("tanh"), "gelu_tanh", "Gelu"),
        "F.gelu": (lambda t: F.gelu(t), "gelu", "Gelu"),
        "F.gelu(tanh)": (lambda t: F.gelu(t, approximate="tanh"), "gelu_tanh", "Gelu"),
        "nn.Mish": (nn.Mish(), "mish", "Mish"),
        "timm-style": (lambda t: t * 0.5 * (1.0 + torch.erf(t / math.sqrt(2.0))), "gelu", "Gelu"),
        "0.7071": (lambda t: 0.5 * t * (1 + torch.erf(t * 0.7071067811865476)), "gelu", "Gelu"),
    }
    torch.manual_seed(0)
    for name, (act, kind, op) in acts.items():
        for opset in (17, 18):
            conv_m = ConvAct(act).eval()
            x = torch.from_numpy(randn(rng, 2, 3, 9, 10))
            m = _export(torch, conv_m, x, opset)
            opt = optimize(m)
            assert [n.op_type for n in opt.graph.nodes] == ["FusedConv"], name
            assert opt.graph.nodes[0].attrs["activation"] == kind, name
            (got,) = ce.InferenceSession(m).run(None, {"x": x.numpy()})
            assert_close(got, conv_m(x).detach().numpy(), atol=2e-6, rtol=1e-5, what=name)

            mlp = MlpAct(act).eval()
            x = torch.from_numpy(randn(rng, 2, 8, 5, 6))
            m = _export(torch, mlp, x, opset)
            opt = optimize(m)
            # the Linear layers become 1x1 convs (matmul_to_conv), which the activation joins
            assert [n.attrs.get("activation") for n in opt.graph.nodes
                    if n.op_type == "FusedConv"].count(kind) == 1, name
            assert not {"Erf", "Tanh", "Softplus", "MatMul", op} & {n.op_type for n in opt.graph.nodes}, name
            (got,) = ce.InferenceSession(m).run(None, {"x": x.numpy()})
            assert_close(got, mlp(x).detach().numpy(), atol=2e-6, rtol=1e-5, what=name)


@needs_torch
def test_torch_exports_of_the_other_activations(rng, isa):
    """nn.ELU, SELU, CELU, Softplus, Softsign, PReLU, LogSoftmax after a conv: exported as
    single ONNX ops, fused where the epilogue has them, equal to torch."""
    import torch
    import torch.nn as nn
    mods = {"ELU": (nn.ELU(0.7), "FusedConv"), "SELU": (nn.SELU(), "FusedConv"),
            "CELU": (nn.CELU(1.5), "FusedConv"), "Softplus": (nn.Softplus(), "FusedConv"),
            "Softsign": (nn.Softsign(), "FusedConv"), "PReLU": (nn.PReLU(16), "PRelu"),
            "PReLU1": (nn.PReLU(), "PRelu"), "LogSoftmax": (nn.LogSoftmax(1), "LogSoftmax")}
    torch.manual_seed(1)
    for name, (act, last) in mods.items():
        if name.startswith("PReLU"):
            with torch.no_grad():
                act.weight.uniform_(-0.5, 0.5)
        mod = nn.Sequential(nn.Conv2d(3, 16, 3), act).eval()
        x = torch.from_numpy(randn(rng, 2, 3, 8, 9))
        m = _export(torch, mod, x)
        assert optimize(m).graph.nodes[-1].op_type == last, name
        (got,) = ce.InferenceSession(m).run(None, {"x": x.numpy()})
        assert_close(got, mod(x).detach().numpy(), atol=2e-6, rtol=1e-5, what=name)


# ---------------------------------------------------------------------------------------------
# exporters

@needs_torch
def test_to_torch_runs_fused_math_activations(rng):
    import torch
    from convengine.torch_export import to_torch
    for op, attrs, _ in FUSABLE:
        g = G(opset=20)
        x = g.input([2, 3, 7, 6])
        y = g(op, conv(g, rng, x, 3, 5), **attrs)
        m = optimize(g.model(y))
        assert ops(m) == ["FusedConv"]
        feeds = randn(rng, 2, 3, 7, 6)
        want = ce.InferenceSession(m).run(None, {"in0": feeds})[0]
        got = to_torch(m)(torch.from_numpy(feeds)).detach().numpy()
        assert_close(got, want, atol=1e-5, rtol=1e-5, what=op)


def test_to_onnx_writes_detected_gelu_and_mish_for_old_opsets(rng):
    ort = pytest.importorskip("onnxruntime")
    from convengine.onnx_export import to_onnx
    for opset in (17, 20):
        g = G(opset=opset)
        x = g.input([2, 7, 5])
        a = g("Gelu", x)
        b = g("Gelu", a, approximate="tanh")
        y = g("Mish", b)
        m = g.model(y)
        proto = to_onnx(m)
        kinds = {n.op_type for n in proto.graph.node}
        if opset < 18:
            assert not {"Gelu", "Mish"} & kinds and {"Erf", "Tanh", "Softplus"} <= kinds
        else:
            assert {"Gelu", "Mish"} <= kinds
        feeds = {"in0": randn(rng, 2, 7, 5) * 3}
        s = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        assert_close(s.run(None, feeds)[0], run_numpy(m, feeds)[y], atol=1e-6, rtol=1e-5)
        # and back: the written-out form is detected again
        back = optimize(ce.from_onnx(proto.SerializeToString()))
        assert [n.op_type for n in back.graph.nodes] == ["Gelu", "Gelu", "Mish"]


def test_squeeze_excite_with_math_activation(rng):
    g = G(opset=20)
    x = conv(g, rng, g.input([2, 8, 6, 6]), 8, 8)
    p = g("GlobalAveragePool", x)
    h = g("Mish", conv(g, rng, p, 8, 4, k=1))
    s = g("Sigmoid", conv(g, rng, h, 4, 8, k=1))
    y = g("Mul", x, s)
    m = g.model(y)
    opt = optimize(m)
    se = [n for n in opt.graph.nodes if n.op_type == "SqueezeExcite"]
    assert len(se) == 1 and se[0].attrs["activation"] == "mish"
    feeds = {"in0": randn(rng, 2, 8, 6, 6)}
    assert_close(ce.InferenceSession(m).run(None, feeds)[0], run_numpy(m, feeds)[y],
                 atol=1e-5, rtol=1e-4)
