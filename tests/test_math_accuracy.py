"""Accuracy of the element-wise approximations: every kernel swept over its float32 range (a
regular sample of bit patterns, both signs, about 2^20 inputs) against float64, with the
documented error bound asserted, on both ISAs, standalone and as a conv epilogue.
tools/measure_math_accuracy.py --step 1024 gave the figures the kernels' comments quote (every
1024th float32, Zen 4); the bounds here are those figures plus a margin, and a bound more than
4x the error measured here fails as stale."""
import math

import numpy as np
import pytest

import convengine as ce
from convengine._graph import eval_math as em
from convengine.model import Graph, Model, Node, ValueInfo
from conftest import num_threads

FLT_MIN = 2.0 ** -126

# name: (op, attrs, float64 reference, |x| range, AVX2 bound, scalar bound). Relative error
# over inputs and outputs of magnitude >= 2^-126 (for mish and gelu_tanh >= 2^-126 |x|:
# x e^x with e^x flushed).
KERNELS = {
    "erf": ("Erf", {}, em.erf, 4.0, 3.2e-7, 6.5e-8),
    "gelu": ("Gelu", {}, em.gelu, 14.0, 4.8e-7, 6.5e-8),
    "gelu_tanh": ("Gelu", {"approximate": "tanh"}, lambda x: em.gelu(x, "tanh"), 12.0,
                  3.4e-7, 6.5e-8),
    "mish": ("Mish", {}, em.mish, 100.0, 3.6e-7, 6.5e-8),
    "softplus": ("Softplus", {}, em.softplus, 100.0, 2.5e-7, 6.5e-8),
    "elu": ("Elu", {"alpha": 1.0}, lambda x: em.elu(x, 1.0), 100.0, 1.1e-7, 6.5e-8),
    "selu": ("Selu", {}, lambda x: em.selu(x, 1.67326319217681884765625,
                                           1.05070102214813232421875), 100.0, 1.8e-7, 1.1e-7),
    "celu": ("Celu", {"alpha": 0.5}, lambda x: em.celu(x, 0.5), 100.0, 1.1e-7, 6.5e-8),
    "exp": ("Exp", {}, np.exp, 89.0, 2e-7, 6.5e-8),
    "log": ("Log", {}, np.log, math.inf, 1e-7, 8e-8),
    "softsign": ("Softsign", {}, em.softsign, math.inf, 1.3e-7, 1.3e-7),
}
SCALED_FLUSH = {"mish", "gelu_tanh"}


def sweep(hi, n=1 << 19, positive_only=False):
    """n regularly spaced float32 bit patterns with 2^-126 <= |x| < hi, both signs."""
    a = int(np.float32(FLT_MIN).view(np.uint32))
    b = int(np.float32(min(hi, 3.4e38)).view(np.uint32)) if math.isfinite(hi) else 0x7F800000
    x = np.linspace(a, b - 1, n).astype(np.uint32).view(np.float32)
    return x if positive_only else np.concatenate([x, -x])


def max_rel_error(name, got, x):
    op, attrs, ref = KERNELS[name][:3]
    with np.errstate(all="ignore"):
        want = np.asarray(ref(x.astype(np.float64)), np.float64)
        want32 = want.astype(np.float32)
    fin = np.isfinite(want32)
    assert np.array_equal(got[~fin], want32[~fin], equal_nan=True), f"{name}: special values"
    tiny = FLT_MIN * (np.maximum(1.0, np.abs(x)) if name in SCALED_FLUSH else np.ones(x.size))
    big = fin & (np.abs(want32) >= tiny)
    small = fin & ~big
    assert np.all(np.abs(got[small] - want[small]) <= tiny[small]), f"{name}: flushed results"
    rel = np.abs(got[big] - want[big]) / np.abs(want[big])
    i = int(np.argmax(rel))
    return float(rel[i]), float(x[big][i])


def _run(op, attrs, x):
    g = Graph([Node(op, ["x"], ["y"], "n", dict(attrs))], [ValueInfo("x", [x.size])],
              [ValueInfo("y", [x.size])], {})
    return ce.InferenceSession(Model(g, 20)).run(None, {"x": x})[0].astype(np.float64)


@pytest.mark.parametrize("name", list(KERNELS))
def test_kernel_error_bound(isa, name):
    op, attrs, _, hi, bound_avx2, bound_scalar = KERNELS[name]
    x = sweep(hi, positive_only=name == "log")
    with num_threads(2):
        got = _run(op, attrs, x)
    err, at = max_rel_error(name, got, x)
    bound = bound_scalar if isa == "scalar" else bound_avx2
    assert err <= bound, f"{name} ({isa}): max relative error {err:.3g} at x = {at!r} > {bound:g}"
    if isa != "scalar":
        assert err > bound / 4, f"{name}: the bound {bound:g} is stale (error {err:.3g})"


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "mish", "softplus", "elu", "selu",
                                  "celu", "softsign"])
def test_epilogue_has_the_kernels_accuracy(isa, name):
    """The conv epilogue computes the same functions: a 1x1 conv with weight 1 passes x
    through exactly, so the fused output is the activation of x."""
    op, attrs, _, hi, bound_avx2, bound_scalar = KERNELS[name]
    x = sweep(min(hi, 40.0), n=1 << 16)
    n = x.size
    g = Graph([Node("Conv", ["x", "w"], ["c"], "conv"), Node(op, ["c"], ["y"], "act", dict(attrs))],
              [ValueInfo("x", [1, 1, 1, n])], [ValueInfo("y")],
              {"w": np.ones((1, 1, 1, 1), np.float32)})
    s = ce.InferenceSession(Model(g, 20))
    assert [r["op"] for r in s.describe() if r["op"] != "Output"] == ["FusedConv"]
    got = s.run(None, {"x": x.reshape(1, 1, 1, n)})[0].reshape(-1).astype(np.float64)
    err, at = max_rel_error(name, got, x)
    bound = bound_scalar if isa == "scalar" else bound_avx2
    assert err <= bound, f"{name} ({isa}) epilogue: {err:.3g} at x = {at!r} > {bound:g}"
